// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkback2: submitting bios for the I/O path. Each bio reports its own
 * status to bb2_io_done(); the request is answered when its last bio is in.
 */
#include <linux/bio.h>

#include "backing.h"
#include "bdev.h"

static void bb2_end_io(struct bio *bio)
{
	void *cookie = bio->bi_private;
	int err = blk_status_to_errno(bio->bi_status);

	bio_put(bio);
	bb2_io_done(cookie, err);
}

static const blk_opf_t bb2_ops[] = {
	[BB2_READ] = REQ_OP_READ,
	[BB2_WRITE] = REQ_OP_WRITE | REQ_SYNC | REQ_IDLE,
	[BB2_DISCARD] = REQ_OP_DISCARD,
	[BB2_SECURE_ERASE] = REQ_OP_SECURE_ERASE,
};

void bb2_submit(struct bb2_backing *b, enum bb2_op op, unsigned int flags, u64 sector,
		u64 nr_sectors, const struct bb2_vec *v, unsigned int n, void *cookie)
{
	blk_opf_t opf = bb2_ops[op];
	struct bio *bio;
	unsigned int i;

	if (flags & BB2_PREFLUSH)
		opf |= REQ_PREFLUSH;
	if (flags & BB2_FUA)
		opf |= REQ_FUA;
	/* From a mempool with GFP_NOIO: this allocation does not fail. */
	bio = bio_alloc(b->bdev, n, opf, GFP_NOIO);
	bio->bi_private = cookie;
	bio->bi_end_io = bb2_end_io;
	bio->bi_iter.bi_sector = n || nr_sectors ? sector : 0;
	if (op == BB2_DISCARD || op == BB2_SECURE_ERASE)
		bio->bi_iter.bi_size = nr_sectors << SECTOR_SHIFT;
	for (i = 0; i < n; i++) {
		struct page *page = (struct page *)v[i].page;

		if (bio_add_page(bio, page, v[i].len, v[i].offset) != v[i].len) {
			bio_io_error(bio);
			return;
		}
	}
	submit_bio(bio);
}

unsigned int bb2_max_bio_vecs(struct bb2_backing *b)
{
	return BIO_MAX_VECS;
}

void bb2_plugged(void (*fn)(void *arg), void *arg)
{
	struct blk_plug plug;

	blk_start_plug(&plug);
	fn(arg);
	blk_finish_plug(&plug);
}
