/* SPDX-License-Identifier: GPL-2.0-only */
/* The kernel side of struct bb2_backing, shared by backing.c and bio.c. */
#ifndef BLKBACK2_BDEV_H
#define BLKBACK2_BDEV_H

#include <linux/blkdev.h>
#include <linux/version.h>

/* 6.9 replaced blkdev_get_by_dev() with opening the device as a file. */
#define BB2_BDEV_FILE (LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0))

struct bb2_backing {
	struct block_device *bdev;
#if BB2_BDEV_FILE
	struct file *file;
#else
	fmode_t mode;
#endif
};

#endif
