/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The backing block device as blkback2's I/O path sees it: plain C, so the
 * same C++ request code runs over the kernel's block layer (bio.c, vbd.c)
 * and over the host tests' simulated disk (tests/sim/fake_disk.cpp).
 */
#ifndef BLKBACK2_BACKING_H
#define BLKBACK2_BACKING_H

#include <xenidc/xenbus_io.h>

#ifdef __cplusplus
extern "C" {
#endif

struct bb2_backing;

/*
 * Tunables: module parameters (module.c). The writable ones are read with
 * READ_ONCE where they apply: at a probe (max_queues), a connect
 * (feature_persistent, max_persistent_grants) or each pass (the rest).
 */
struct bb2_limits {
	uint32_t max_indirect_segments;
	uint32_t max_ring_page_order;
	uint32_t max_queues;
	uint32_t pool_frames;	 /* grant-mappable frames per ring */
	uint32_t max_persistent; /* persistent grants per ring */
	uint32_t persistent;	 /* offer feature-persistent */
	uint32_t batch;		 /* requests per work pass */
	uint32_t map_batch;	 /* grant ops per hypercall, 0: a request's */
	uint32_t coalesce_us;	 /* longest a deep ring holds an answer, 0: off */
	uint32_t max_guest_mib;	 /* dom0 memory one guest's vbds may hold, 0: no cap */
	uint32_t persistent_idle_s; /* unused this long, a persistent grant goes */
	uint32_t log_stats;	 /* every 10 s, a busy vbd logs its statistics */
};

extern struct bb2_limits bb2_limits;

/*
 * What blkback2 ships with (module.c), and what the host tests run at.
 * max_queues 0: one per online CPU, decided at load. pool_frames: a full
 * ring of xen-blkfront's default requests, 32 entries of 32 segments and
 * one indirect page each; fewer, and the ring's last requests wait for
 * frames while the persistent cache evicts exactly the grants the frontend
 * reuses next.
 */
#define BB2_DEFAULT_LIMITS {			\
	.max_indirect_segments = 256,		\
	.max_ring_page_order = 4,		\
	.max_queues = 0,			\
	.pool_frames = 1056,			\
	.max_persistent = 1056,			\
	.persistent = 1,			\
	.batch = 32,				\
	.map_batch = 0,				\
	.coalesce_us = 2000,			\
	.max_guest_mib = 256,			\
	.persistent_idle_s = 60,		\
	.log_stats = 0,				\
}

struct bb2_info {
	uint32_t logical_block_size;  /* bytes */
	uint32_t physical_block_size; /* bytes */
	bool readonly;		      /* opened read-only */
	bool cdrom;
	bool removable;
	bool write_cache; /* volatile cache: flushes mean something */
	bool discard;
	bool secure_erase;
	uint32_t discard_granularity; /* bytes */
	uint32_t discard_alignment;   /* bytes */
};

int bb2_backing_open(uint32_t major, uint32_t minor, bool readonly, struct bb2_backing **out);
void bb2_backing_close(struct bb2_backing *b);
void bb2_backing_info(struct bb2_backing *b, struct bb2_info *info);
/*
 * The current size in 512-byte sectors. It can change (online resize): the
 * rings look at each pass, as xen-blkback does, rather than a timer per vbd.
 */
uint64_t bb2_backing_sectors(struct bb2_backing *b);

enum bb2_op {
	BB2_READ,
	BB2_WRITE,
	BB2_DISCARD,
	BB2_SECURE_ERASE,
};

#define BB2_PREFLUSH 0x1u /* flush the volatile cache first */
#define BB2_FUA 0x2u	  /* the data is durable when the bio completes */

struct bb2_vec {
	struct xi_page *page;
	uint32_t offset;
	uint32_t len;
};

/*
 * Submits one bio: vecs for reads and writes (n == 0 with BB2_PREFLUSH is an
 * empty flush), nr_sectors for discards. Never fails here: the result comes
 * to bb2_io_done(cookie, 0 or -errno) from any context, possibly before this
 * returns.
 */
void bb2_submit(struct bb2_backing *b, enum bb2_op op, unsigned int flags, uint64_t sector,
		uint64_t nr_sectors, const struct bb2_vec *v, unsigned int n, void *cookie);
/* The most vecs in one bio. */
unsigned int bb2_max_bio_vecs(struct bb2_backing *b);
/* Runs fn with submissions plugged, so adjacent bios can merge. */
void bb2_plugged(void (*fn)(void *arg), void *arg);

/* Implemented by the I/O path (ring.cpp, xenbus.cpp, vbd.cpp). */
void bb2_io_done(void *cookie, int err);
const void *bb2_xenbus_driver(void); /* const xenidc::xb::Driver * */

/*
 * A request's life, as tracepoints (trace.c; events blkback2:bb2_*): dev is
 * the backend's xenstore node, queue its ring, id the frontend's. val is
 * what the stage knows: segments (received, mapped), bios (submitted), the
 * first bio error (completed: 0 or -errno), the response (answered).
 */
enum bb2_stage { BB2_RECEIVED, BB2_MAPPED, BB2_SUBMITTED, BB2_COMPLETED, BB2_ANSWERED };
void bb2_trace(enum bb2_stage stage, const char *dev, unsigned int queue, uint64_t id,
	       unsigned int op, uint64_t sector, int val);
/* Answered at once as malformed: status and why, as the log has them. */
void bb2_trace_rejected(const char *dev, unsigned int queue, uint64_t id, unsigned int op,
			int status, const char *why);

/* Per-vbd counters (statistics/ in sysfs, named in xenbus.cpp). */
enum bb2_stat { BB2_OO_REQ, BB2_RD_REQ, BB2_WR_REQ, BB2_F_REQ, BB2_DS_REQ,
		BB2_RD_SECT, BB2_WR_SECT, BB2_ERRORS, BB2_BURSTS, BB2_LOOKS,
		BB2_REJECTED, BB2_NR_STATS };

#ifdef __cplusplus
}
#endif

#endif /* BLKBACK2_BACKING_H */
