// SPDX-License-Identifier: GPL-2.0-only
//
// blkback2's xenbus glue: the vbd keys, declared for xenbus_lite.
#include "io.h"

namespace blkback2 {
namespace {

struct Queue {
	xb::GrantRefsValue refs;
	uint32_t evtchn;
};

struct VbdConfig {
	xb::DevNumValue pdev; // backend: written by the hotplug script
	char mode[8];
	uint32_t discard_enable;
	uint32_t protocol; // frontend
	uint32_t persistent;
	char device_type[16];
	uint32_t queues;
	Queue queue[xb::kMaxQueues];
};

// Index = blkif::Abi. No key at all means x86_32 (as xen-blkback).
const char *const kProtocols[] = {"x86_32-abi", "x86_64-abi", nullptr};
static_assert((int)blkif::Abi::kX86_32 == 0 && (int)blkif::Abi::kX86_64 == 1);

constexpr xb::Key kKeys[] = {
	xb::DevNum("physical-device", xb::Dir::kBackend, XB_AT(VbdConfig, pdev)),
	xb::String("mode", xb::Dir::kBackend, XB_AT(VbdConfig, mode), 8),
	xb::U32("discard-enable", xb::Dir::kBackend, XB_AT(VbdConfig, discard_enable), 0, 1)
		.Optional(1),
	xb::GrantRefs("ring-ref", xb::Dir::kFrontend, XB_AT(VbdConfig, queue[0].refs),
		      "ring-page-order", &bb2_limits.max_ring_page_order)
		.PerQueue(),
	xb::U32("event-channel", xb::Dir::kFrontend, XB_AT(VbdConfig, queue[0].evtchn), 0, ~0u)
		.PerQueue(),
	xb::Enum("protocol", xb::Dir::kFrontend, XB_AT(VbdConfig, protocol), kProtocols)
		.Optional(0),
	xb::Flag("feature-persistent", xb::Dir::kFrontend, XB_AT(VbdConfig, persistent)),
	xb::String("device-type", xb::Dir::kFrontend, XB_AT(VbdConfig, device_type), 16)
		.Optional(0),
};
constexpr const char *kWatch[] = {"physical-device"};
// Named and ordered as xen-blkback names them (enum bb2_stat), plus errors,
// event coalescing's (bursts polled, and the looks they took) and the
// requests refused as malformed.
constexpr const char *kStats[] = {"oo_req",  "rd_req", "wr_req", "f_req", "ds_req",  "rd_sect",
				  "wr_sect", "errors", "bursts", "looks", "rejected"};
static_assert(ktl::ArraySize(kStats) == BB2_NR_STATS);

const VbdConfig &Cfg(const void *c)
{
	return *static_cast<const VbdConfig *>(c);
}
Vbd &V(void *ctx)
{
	return *static_cast<Vbd *>(ctx);
}

Status Advertise(void *, xb::Writer &w)
{
	XI_TRY(w.Printf("feature-max-indirect-segments", "%u", bb2_limits.max_indirect_segments));
	XI_TRY(w.Printf("multi-queue-max-queues", "%u", bb2_limits.max_queues));
	return w.Printf("max-ring-page-order", "%u", bb2_limits.max_ring_page_order);
}

Status Configure(void *ctx, const void *config)
{
	const VbdConfig &c = Cfg(config);
	bool writable = false;
	for (const char *m = c.mode; *m; m++)
		writable |= *m == 'w';
	return V(ctx).Configure(c.pdev.major, c.pdev.minor, !writable, c.discard_enable);
}

Status Connect(void *ctx, const void *config)
{
	const VbdConfig &c = Cfg(config);
	Ring::Config rings[xb::kMaxQueues];
	for (uint32_t q = 0; q < c.queues; q++)
		rings[q] = {c.queue[q].refs.count, c.queue[q].refs.refs, c.queue[q].evtchn,
			    blkif::Abi(c.protocol), c.persistent && bb2_limits.persistent};
	bool cdrom = !__builtin_strcmp(c.device_type, "cdrom");
	return V(ctx).Connect(ktl::Span<const Ring::Config>(rings, c.queues), cdrom);
}

} // namespace

const xb::Driver kVbdDriver = {
	.type = "vbd",
	.keys = kKeys,
	.watch = kWatch,
	.queues_key = "multi-queue-num-queues",
	.max_queues = &bb2_limits.max_queues,
	.queues_offset = XB_AT(VbdConfig, queues),
	.queue_stride = sizeof(Queue),
	.config_size = sizeof(VbdConfig),
	.stats = kStats,
	// No .changed: a new physical-device is ignored, as in xen-blkback.
	.ops = {
		.probe = [](xb::Device &d) -> void * { return ktl::New<Vbd>(d); },
		.advertise = Advertise,
		.configure = Configure,
		.connect = Connect,
		.publish = [](void *ctx, xb::Writer &w) { return V(ctx).Publish(w); },
		.disconnect = [](void *ctx) { return V(ctx).Disconnect(); },
		.remove = [](void *ctx) { ktl::Delete(&V(ctx)); },
		.stat = [](void *ctx, unsigned i) { return V(ctx).stat(Stat(i)); },
	},
};

} // namespace blkback2

extern "C" const void *bb2_xenbus_driver(void)
{
	return &blkback2::kVbdDriver;
}
