// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkback2's block-layer glue (backing.c, bio.c) against a real in-kernel
 * disk: null_blk, memory backed, with a write cache and discard (the KUnit
 * VM's /init loads it). Each bio's status must reach bb2_io_done(), which
 * this test module provides in place of the I/O path.
 */
/* First: they define pr_fmt before any header uses it. */
#include "../../blkback2/backing.c"
#include "../../blkback2/bio.c"

#include <kunit/test.h>
#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/highmem.h>
#include <linux/module.h>

struct bb2_limits bb2_limits;

/* What bb2_io_done() saw. */
static struct {
	struct completion done;
	int err;
	int calls;
} io;

void bb2_io_done(void *cookie, int err)
{
	io.err = err;
	io.calls++;
	complete(&io.done);
}

/* Submits one bio and waits for its completion; returns its status. */
static int bb2k_io(struct kunit *t, struct bb2_backing *b, enum bb2_op op, unsigned int flags,
		   u64 sector, u64 nr, struct page **pages, unsigned int n)
{
	struct bb2_vec v[4];
	unsigned int i;

	for (i = 0; i < n; i++)
		v[i] = (struct bb2_vec){ (struct xi_page *)pages[i], 0, PAGE_SIZE };
	init_completion(&io.done);
	io.calls = 0;
	bb2_submit(b, op, flags, sector, nr, v, n, &io);
	KUNIT_ASSERT_NE(t, wait_for_completion_timeout(&io.done, 10 * HZ), 0);
	KUNIT_EXPECT_EQ(t, io.calls, 1);
	return io.err;
}

static struct bb2_backing *bb2k_open(struct kunit *t, bool ro)
{
	struct bb2_backing *b = NULL;
	dev_t dev;

	KUNIT_ASSERT_EQ_MSG(t, lookup_bdev("/dev/nullb0", &dev), 0, "null_blk not loaded");
	KUNIT_ASSERT_EQ(t, bb2_backing_open(MAJOR(dev), MINOR(dev), ro, &b), 0);
	return b;
}

static void bb2k_free_pages(struct page **p, int n)
{
	while (n--)
		__free_page(p[n]);
}

static void bb2k_info(struct kunit *t)
{
	struct bb2_backing *b = bb2k_open(t, false);
	struct bb2_info info;

	bb2_backing_info(b, &info);
	KUNIT_EXPECT_EQ(t, info.logical_block_size, 512u);
	KUNIT_EXPECT_FALSE(t, info.readonly);
	KUNIT_EXPECT_TRUE(t, info.write_cache);
	KUNIT_EXPECT_TRUE(t, info.discard);
	KUNIT_EXPECT_FALSE(t, info.secure_erase);
	KUNIT_EXPECT_EQ(t, bb2_backing_sectors(b), (u64)(1 << 30) >> 9);
	KUNIT_EXPECT_EQ(t, bb2_max_bio_vecs(b), (unsigned int)BIO_MAX_VECS);
	bb2_backing_close(b);

	b = bb2k_open(t, true);
	bb2_backing_info(b, &info);
	KUNIT_EXPECT_TRUE(t, info.readonly);
	bb2_backing_close(b);
}

static void bb2k_open_errors(struct kunit *t)
{
	struct bb2_backing *b;

	KUNIT_EXPECT_LT(t, bb2_backing_open(4095, 1048575, false, &b), 0);
	KUNIT_EXPECT_EQ(t, bb2_backing_open(1u << 12, 0, false, &b), -EINVAL);
}

static void bb2k_write_read(struct kunit *t)
{
	struct bb2_backing *b = bb2k_open(t, false);
	struct page *w[3], *r[3];
	int i;

	for (i = 0; i < 3; i++) {
		w[i] = alloc_page(GFP_KERNEL);
		r[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		KUNIT_ASSERT_TRUE(t, w[i] && r[i]);
		memset(page_address(w[i]), 0x30 + i, PAGE_SIZE);
	}
	KUNIT_EXPECT_EQ(t, bb2k_io(t, b, BB2_WRITE, 0, 64, 0, w, 3), 0);
	KUNIT_EXPECT_EQ(t, bb2k_io(t, b, BB2_READ, 0, 64, 0, r, 3), 0);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(t, memcmp(page_address(w[i]), page_address(r[i]), PAGE_SIZE), 0);
	bb2k_free_pages(w, 3);
	bb2k_free_pages(r, 3);
	bb2_backing_close(b);
}

static void bb2k_error_propagates(struct kunit *t)
{
	struct bb2_backing *b = bb2k_open(t, false);
	struct page *p = alloc_page(GFP_KERNEL);
	u64 end = bb2_backing_sectors(b);

	KUNIT_ASSERT_NOT_NULL(t, p);
	/*
	 * The I/O path validates ranges; the glue must still pass the block
	 * layer's verdict on a bad bio through, not turn it into success.
	 */
	KUNIT_EXPECT_NE(t, bb2k_io(t, b, BB2_READ, 0, end - 4, 0, &p, 1), 0);
	KUNIT_EXPECT_EQ(t, bb2k_io(t, b, BB2_SECURE_ERASE, 0, 0, 8, NULL, 0), -EOPNOTSUPP);
	__free_page(p);
	bb2_backing_close(b);
}

static void bb2k_flush_fua_discard(struct kunit *t)
{
	struct bb2_backing *b = bb2k_open(t, false);
	struct page *p = alloc_page(GFP_KERNEL), *r = alloc_page(GFP_KERNEL);

	KUNIT_ASSERT_TRUE(t, p && r);
	memset(page_address(p), 0xee, PAGE_SIZE);
	KUNIT_EXPECT_EQ(t, bb2k_io(t, b, BB2_WRITE, BB2_PREFLUSH, 0, 0, NULL, 0), 0);
	KUNIT_EXPECT_EQ(t, bb2k_io(t, b, BB2_WRITE, BB2_PREFLUSH | BB2_FUA, 256, 0, &p, 1), 0);
	KUNIT_EXPECT_EQ(t, bb2k_io(t, b, BB2_WRITE, BB2_FUA, 264, 0, &p, 1), 0);
	KUNIT_EXPECT_EQ(t, bb2k_io(t, b, BB2_DISCARD, 0, 256, 16, NULL, 0), 0);
	KUNIT_EXPECT_EQ(t, bb2k_io(t, b, BB2_READ, 0, 256, 0, &r, 1), 0);
	KUNIT_EXPECT_PTR_EQ(t, memchr_inv(page_address(r), 0, PAGE_SIZE), NULL);
	__free_page(p);
	__free_page(r);
	bb2_backing_close(b);
}

static void bb2k_plugged_fn(void *arg)
{
	(*(int *)arg)++;
}

static void bb2k_plugged(struct kunit *t)
{
	int n = 0;

	bb2_plugged(bb2k_plugged_fn, &n);
	KUNIT_EXPECT_EQ(t, n, 1);
}

static struct kunit_case bb2k_cases[] = {
	KUNIT_CASE(bb2k_info),
	KUNIT_CASE(bb2k_open_errors),
	KUNIT_CASE(bb2k_write_read),
	KUNIT_CASE(bb2k_error_propagates),
	KUNIT_CASE(bb2k_flush_fua_discard),
	KUNIT_CASE(bb2k_plugged),
	{}
};

static struct kunit_suite bb2k_suite = {
	.name = "blkback2_glue",
	.test_cases = bb2k_cases,
};

kunit_test_suite(bb2k_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of blkback2's block-layer glue on null_blk");
