// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkback2: opening the backing block device, its properties, and noticing
 * when it is resized.
 */
#define pr_fmt(fmt) "blkback2: " fmt

#include <linux/cdrom.h>
#include <linux/slab.h>

#include "backing.h"
#include "bdev.h"

/* How often to look for a new size; the block layer has no notifier for it. */
#define BB2_RESIZE_POLL (HZ)

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
	b->sectors = bdev_nr_sectors(b->bdev);
	*out = b;
	return 0;
}

void bb2_backing_close(struct bb2_backing *b)
{
	bb2_backing_watch_size(b, NULL, NULL);
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

static void bb2_resize_poll(struct work_struct *work)
{
	struct bb2_backing *b = container_of(to_delayed_work(work), struct bb2_backing, resize);
	sector_t now = bdev_nr_sectors(b->bdev);

	if (now != b->sectors) {
		b->sectors = now;
		b->on_resize(b->arg, now);
	}
	schedule_delayed_work(&b->resize, BB2_RESIZE_POLL);
}

void bb2_backing_watch_size(struct bb2_backing *b, void (*fn)(void *arg, u64 sectors), void *arg)
{
	if (b->on_resize)
		cancel_delayed_work_sync(&b->resize);
	b->on_resize = fn;
	b->arg = arg;
	if (fn) {
		INIT_DELAYED_WORK(&b->resize, bb2_resize_poll);
		schedule_delayed_work(&b->resize, BB2_RESIZE_POLL);
	}
}
