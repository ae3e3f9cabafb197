// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkback2: a Xen block backend (xenbus type "vbd") over the xenidc core.
 * Serves the standard blkif protocol to unmodified frontends such as Linux
 * xen-blkfront. The in-tree xen-blkback serves the same type: only one of
 * the two can be loaded, unless coexist=Y (see README.md, "Coexistence with
 * xen-blkback").
 */
#define pr_fmt(fmt) "blkback2: " fmt

#include <linux/cpumask.h>
#include <linux/module.h>
#include <xen/xenbus.h>

#include <xen/interface/io/blkif.h>

#include <xenidc/abi/layout.h>
#include <xenidc/xenbus_lite_glue.h>

#include "backing.h"

/* The wire layout blkback2's C++ declares (abi/blkif.h) is the kernel's. */
static_assert(sizeof(struct blkif_request) == XI_BLKIF64_REQ_SIZE);
static_assert(offsetof(struct blkif_request, u.rw.id) == XI_BLKIF64_RW_ID);
static_assert(offsetof(struct blkif_request, u.rw.sector_number) == XI_BLKIF64_RW_SECTOR);
static_assert(offsetof(struct blkif_request, u.rw.seg) == XI_BLKIF64_RW_SEG);
static_assert(offsetof(struct blkif_request, u.discard.nr_sectors) ==
	      XI_BLKIF64_DISCARD_NR_SECTORS);
static_assert(offsetof(struct blkif_request, u.indirect.nr_segments) ==
	      XI_BLKIF64_INDIRECT_NR_SEGMENTS);
static_assert(offsetof(struct blkif_request, u.indirect.handle) == XI_BLKIF64_INDIRECT_HANDLE);
static_assert(offsetof(struct blkif_request, u.indirect.indirect_grefs) ==
	      XI_BLKIF64_INDIRECT_GREFS);
static_assert(sizeof(struct blkif_response) == XI_BLKIF64_RSP_SIZE);
static_assert(offsetof(struct blkif_response, status) == XI_BLKIF64_RSP_STATUS);
static_assert(sizeof(struct blkif_request_segment) == XI_BLKIF_SEGMENT_SIZE);

#define BB2_MAX_QUEUES 16

struct bb2_limits bb2_limits = BB2_DEFAULT_LIMITS;
static_assert(XENBUS_MAX_RING_GRANT_ORDER == 4); /* BB2_DEFAULT_LIMITS' ring order */

module_param_named(max_indirect_segments, bb2_limits.max_indirect_segments, uint, 0444);
MODULE_PARM_DESC(max_indirect_segments,
		 "Most segments per indirect request, 11-512 (default 256)");
module_param_named(max_ring_page_order, bb2_limits.max_ring_page_order, uint, 0444);
MODULE_PARM_DESC(max_ring_page_order, "Largest ring a frontend may use, as log2 of pages, 0-4 (default 4)");
module_param_named(pool_pages, bb2_limits.pool_frames, uint, 0444);
MODULE_PARM_DESC(pool_pages, "Grant-mappable pages per ring; requests wait when they are used up (default 1056)");

/*
 * Writable parameters take effect where xen-blkback's do: max_queues at the
 * next vbd's probe, feature_persistent and max_persistent_grants at the
 * next connect, the rest at a ring's next pass. Each write is range-checked
 * as at load.
 */
#define BB2_WRITABLE(name, field, lo, hi)					\
	static int bb2_set_##name(const char *val, const struct kernel_param *kp) \
	{									\
		return param_set_uint_minmax(val, kp, lo, hi);			\
	}									\
	static const struct kernel_param_ops bb2_##name##_ops = {		\
		.set = bb2_set_##name,						\
		.get = param_get_uint,						\
	};									\
	module_param_cb(name, &bb2_##name##_ops, &bb2_limits.field, 0644)

static unsigned int bb2_default_queues(void)
{
	return min_t(unsigned int, num_online_cpus(), BB2_MAX_QUEUES);
}

static int bb2_set_max_queues(const char *val, const struct kernel_param *kp)
{
	int err = param_set_uint_minmax(val, kp, 0, BB2_MAX_QUEUES);

	if (!err && !bb2_limits.max_queues)
		bb2_limits.max_queues = bb2_default_queues();
	return err;
}

static const struct kernel_param_ops bb2_max_queues_ops = {
	.set = bb2_set_max_queues,
	.get = param_get_uint,
};

module_param_cb(max_queues, &bb2_max_queues_ops, &bb2_limits.max_queues, 0644);
MODULE_PARM_DESC(max_queues, "Most queues (rings) per vbd, 0-16; 0: one per online CPU (default; writable)");
BB2_WRITABLE(feature_persistent, persistent, 0, 1);
MODULE_PARM_DESC(feature_persistent, "Offer persistent grants to frontends, 0 or 1 (default 1; writable)");
BB2_WRITABLE(max_persistent_grants, max_persistent, 0, 1u << 20);
MODULE_PARM_DESC(max_persistent_grants,
		 "Persistent grants kept mapped per ring, at most pool_pages (default 1056; writable)");
BB2_WRITABLE(batch, batch, 1, 1024);
MODULE_PARM_DESC(batch, "Requests a ring handles before yielding to others, 1-1024 (default 32; writable)");
BB2_WRITABLE(map_batch, map_batch, 0, 512);
MODULE_PARM_DESC(map_batch,
		 "Most grant (un)map operations per hypercall, 0-512; 0: all of a request's at once (default), 1: no batching (for measurements; writable)");
BB2_WRITABLE(coalesce_us, coalesce_us, 0, 100000);
MODULE_PARM_DESC(coalesce_us,
		 "Event coalescing for a frontend with 4 or more small requests out: no kicks, answers held until a quarter of its requests in flight completed, it queued a quarter anew, or at most this many microseconds passed, 0-100000 (default 2000; 0: one event per request; writable)");
BB2_WRITABLE(log_stats, log_stats, 0, 1);
MODULE_PARM_DESC(log_stats, "Every 10 s, each busy vbd logs its statistics, 0 or 1 (default 0; writable)");

module_param_named(max_guest_mib, bb2_limits.max_guest_mib, uint, 0644);
MODULE_PARM_DESC(max_guest_mib,
		 "dom0 memory (MiB) the vbds of one guest may hold between them: frames for its grants and per-request state; past it requests wait for others to end (default 256; 0: no cap; writable)");
module_param_named(persistent_grant_unused_seconds, bb2_limits.persistent_idle_s, uint, 0644);
MODULE_PARM_DESC(persistent_grant_unused_seconds,
		 "An idle ring unmaps persistent grants unused for this long (default 60; 0: keep them; writable)");

static bool bb2_coexist;
module_param_named(coexist, bb2_coexist, bool, 0444);
MODULE_PARM_DESC(coexist,
		 "Register as driver \"blkback2\", not \"vbd\", so that xen-blkback can be loaded too; each new vbd then goes to the driver registered first unless bound by name with the xen-backend bus's drivers_autoprobe off (default N)");

static struct xbl_registration *bb2_reg;

static int bb2_check(const char *name, unsigned int v, unsigned int min, unsigned int max)
{
	if (v >= min && v <= max)
		return 0;
	pr_err("%s=%u is out of range %u-%u\n", name, v, min, max);
	return -EINVAL;
}

static int __init blkback2_init(void)
{
	struct bb2_limits *l = &bb2_limits;

	if (!l->max_queues)
		l->max_queues = bb2_default_queues();
	if (bb2_check("max_indirect_segments", l->max_indirect_segments, 11, 512) ||
	    bb2_check("max_ring_page_order", l->max_ring_page_order, 0,
		      XENBUS_MAX_RING_GRANT_ORDER) ||
	    bb2_check("max_queues", l->max_queues, 1, BB2_MAX_QUEUES) ||
	    bb2_check("pool_pages", l->pool_frames, l->max_indirect_segments, 1u << 20) ||
	    bb2_check("feature_persistent", l->persistent, 0, 1) ||
	    bb2_check("log_stats", l->log_stats, 0, 1))
		return -EINVAL;
	return xbl_register(bb2_xenbus_driver(), THIS_MODULE, KBUILD_MODNAME,
			    bb2_coexist ? KBUILD_MODNAME : NULL, &bb2_reg);
}

static void __exit blkback2_exit(void)
{
	xbl_unregister(bb2_reg);
}

module_init(blkback2_init);
module_exit(blkback2_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Xen block backend (vbd) over the xenidc core");
MODULE_ALIAS("xen-backend:vbd");
