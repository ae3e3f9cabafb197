// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkback2: opening the backing block device, and its properties.
 */
#define pr_fmt(fmt) "blkback2: " fmt

#include <linux/cdrom.h>
#include <linux/slab.h>

#include "backing.h"
#include "bdev.h"

int bb2_backing_open(u32 major, u32 minor, bool readonly, struct bb2_backing **out)
{
	dev_t dev = MKDEV(major, minor);
	struct bb2_backing *b;

	if (MAJOR(dev) != major || MINOR(dev) != minor)
		return -EINVAL;
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
#if BB2_BDEV_FILE
	b->file = bdev_file_open_by_dev(dev, BLK_OPEN_READ | (readonly ? 0 : BLK_OPEN_WRITE),
					NULL, NULL);
	if (IS_ERR(b->file)) {
		int err = PTR_ERR(b->file);

		kfree(b);
		return err;
	}
	b->bdev = file_bdev(b->file);
#else
	b->mode = FMODE_READ | (readonly ? 0 : FMODE_WRITE);
	b->bdev = blkdev_get_by_dev(dev, b->mode, NULL);
	if (IS_ERR(b->bdev)) {
		int err = PTR_ERR(b->bdev);

		kfree(b);
		return err;
	}
#endif
	/* dom0's cached pages of the device must not shadow the guest's writes. */
	sync_blockdev(b->bdev);
	invalidate_bdev(b->bdev);
	*out = b;
	return 0;
}

void bb2_backing_close(struct bb2_backing *b)
{
#if BB2_BDEV_FILE
	fput(b->file);
#else
	blkdev_put(b->bdev, b->mode);
#endif
	kfree(b);
}

void bb2_backing_info(struct bb2_backing *b, struct bb2_info *info)
{
	struct block_device *bdev = b->bdev;

	info->logical_block_size = bdev_logical_block_size(bdev);
	info->physical_block_size = bdev_physical_block_size(bdev);
#if BB2_BDEV_FILE
	info->readonly = !(b->file->f_mode & FMODE_WRITE) || bdev_read_only(bdev);
#else
	info->readonly = !(b->mode & FMODE_WRITE) || bdev_read_only(bdev);
#endif
	info->cdrom = !!disk_to_cdi(bdev->bd_disk);
	info->removable = bdev->bd_disk->flags & GENHD_FL_REMOVABLE;
	info->write_cache = bdev_write_cache(bdev);
	info->discard = bdev_max_discard_sectors(bdev) != 0;
	info->secure_erase = bdev_max_secure_erase_sectors(bdev) != 0;
	info->discard_granularity = bdev_discard_granularity(bdev);
	info->discard_alignment = bdev_discard_alignment(bdev);
}

u64 bb2_backing_sectors(struct bb2_backing *b)
{
	return bdev_nr_sectors(b->bdev);
}
