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

// What xen-blkback tolerates is tolerated: a ring-page-order that is not a
// number means one page (one out of range fails the device), and a
// feature-persistent other than 0 or 1 means off. Everything else that does
// not parse fails the device.
template <blkif::Arch A> struct VbdKeys {
	static constexpr xb::Key kKeys[] = {
		xb::DevNum("physical-device", xb::Dir::kBackend, XB_AT(VbdConfig, pdev)),
		xb::String("mode", xb::Dir::kBackend, XB_AT(VbdConfig, mode), 8),
		xb::U32("discard-enable", xb::Dir::kBackend, XB_AT(VbdConfig, discard_enable), 0, 1)
			.Optional(1),
		xb::GrantRefs("ring-ref", xb::Dir::kFrontend, XB_AT(VbdConfig, queue[0].refs),
			      "ring-page-order", &bb2_limits.max_ring_page_order)
			.PerQueue()
			.Lenient(),
		xb::U32("event-channel", xb::Dir::kFrontend, XB_AT(VbdConfig, queue[0].evtchn), 0,
			~0u)
			.PerQueue(),
		xb::Enum("protocol", xb::Dir::kFrontend, XB_AT(VbdConfig, protocol),
			 blkif::Protocols<A>::kNames)
			.Optional(blkif::Protocols<A>::kAbsent),
		xb::Flag("feature-persistent", xb::Dir::kFrontend, XB_AT(VbdConfig, persistent))
			.Lenient(),
		xb::String("device-type", xb::Dir::kFrontend, XB_AT(VbdConfig, device_type), 16)
			.Optional(0),
	};
};
constexpr const char *kWatch[] = {"physical-device"};
// Beside statistics/, as xen-blkback has them.
constexpr const char *kAttrs[] = {"physical_device", "mode"};
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
			    blkif::ProtocolAbi(c.protocol), false};
	bool cdrom = !__builtin_strcmp(c.device_type, "cdrom");
	return V(ctx).Connect(ktl::Span<Ring::Config>(rings, c.queues), c.persistent, cdrom);
}

// physical_device as xen-blkback shows it ("%x:%x"), and mode as written.
int Show(void *ctx, unsigned i, char *buf, size_t len)
{
	const VbdConfig &c = Cfg(V(ctx).device().config());
	if (i == 0)
		return xi_snprintf(buf, len, "%x:%x\n", c.pdev.major, c.pdev.minor);
	return xi_snprintf(buf, len, "%s\n", c.mode);
}

template <blkif::Arch A>
constexpr xb::Driver kVbdDriver = {
	.type = "vbd",
	.keys = VbdKeys<A>::kKeys,
	.watch = kWatch,
	.queues_key = "multi-queue-num-queues",
	.max_queues = &bb2_limits.max_queues,
	.queues_offset = XB_AT(VbdConfig, queues),
	.queue_stride = sizeof(Queue),
	.config_size = sizeof(VbdConfig),
	.stats = kStats,
	.attrs = kAttrs,
	.allow_rebind = true,
	// No .changed: a new physical-device is ignored, as in xen-blkback.
	.ops = {
		.probe = [](xb::Device &d) -> void * { return ktl::New<Vbd>(d); },
		.advertise = Advertise,
		.configure = Configure,
		.connect = Connect,
		.publish = [](void *ctx, xb::Writer &w) { return V(ctx).Publish(w); },
		.show = Show,
		.reclaim = [](void *ctx) { V(ctx).Reclaim(); },
		.disconnect = [](void *ctx) { return V(ctx).Disconnect(); },
		.remove = [](void *ctx) { ktl::Delete(&V(ctx)); },
		.stat = [](void *ctx, unsigned i) { return V(ctx).stat(Stat(i)); },
	},
};

} // namespace

const xb::Driver &VbdDriver(blkif::Arch arch)
{
	return arch == blkif::Arch::kArm ? kVbdDriver<blkif::Arch::kArm>
					 : kVbdDriver<blkif::Arch::kX86>;
}

} // namespace blkback2

extern "C" const void *bb2_xenbus_driver(void)
{
	return &blkback2::VbdDriver(xenidc::blkif::kArch);
}
