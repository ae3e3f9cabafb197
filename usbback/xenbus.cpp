// SPDX-License-Identifier: GPL-2.0-only
//
// usbback's xenbus glue: the vusb keys, declared for xenbus_lite.
#include "vusb.h"

namespace usbback {
namespace {

struct VusbConfig {
	uint32_t num_ports; // backend, written by the toolstack
	uint32_t usb_ver;
	xb::GrantRefsValue urb_ring; // frontend
	xb::GrantRefsValue conn_ring;
	uint32_t evtchn;
};

constexpr xb::Key kKeys[] = {
	xb::U32("num-ports", xb::Dir::kBackend, XB_AT(VusbConfig, num_ports), 1, usbif::kMaxPorts),
	xb::U32("usb-ver", xb::Dir::kBackend, XB_AT(VusbConfig, usb_ver), 1, 2),
	xb::GrantRefs("urb-ring-ref", xb::Dir::kFrontend, XB_AT(VusbConfig, urb_ring), nullptr,
		      nullptr),
	xb::GrantRefs("conn-ring-ref", xb::Dir::kFrontend, XB_AT(VusbConfig, conn_ring), nullptr,
		      nullptr),
	xb::U32("event-channel", xb::Dir::kFrontend, XB_AT(VusbConfig, evtchn), 0, ~0u),
};
// port/<n> holds the bus id of the device the toolstack assigned.
constexpr const char *kWatch[] = {"port"};
constexpr const char *kStats[] = {"urbs",	 "unlinks",  "rejected",  "failed",
				  "port_events", "bytes_in", "bytes_out", "merged"};
static_assert(ktl::ArraySize(kStats) == kNumStats);

const VusbConfig &Cfg(const void *c)
{
	return *static_cast<const VusbConfig *>(c);
}
Vusb &V(void *ctx)
{
	return *static_cast<Vusb *>(ctx);
}

} // namespace

const xb::Driver kVusbDriver = {
	.type = "vusb",
	.keys = kKeys,
	.watch = kWatch,
	.queues_key = nullptr,
	.max_queues = nullptr,
	.queues_offset = 0,
	.queue_stride = 0,
	.config_size = sizeof(VusbConfig),
	.stats = kStats,
	.ops = {
		.probe = [](xb::Device &d) -> void * { return ktl::New<Vusb>(d); },
		.advertise = nullptr,
		.configure =
			[](void *ctx, const void *c) {
				return V(ctx).Configure(Cfg(c).num_ports, Cfg(c).usb_ver);
			},
		.connect =
			[](void *ctx, const void *c) {
				return V(ctx).Connect(Cfg(c).urb_ring.refs[0],
						      Cfg(c).conn_ring.refs[0], Cfg(c).evtchn);
			},
		.publish = nullptr,
		.disconnect = [](void *ctx) { return V(ctx).Disconnect(); },
		.changed = [](void *ctx, const char *) { V(ctx).ReadPorts(); },
		.remove = [](void *ctx) { ktl::Delete(&V(ctx)); },
		.stat = [](void *ctx, unsigned i) { return V(ctx).stat(i); },
	},
};

} // namespace usbback

extern "C" const void *ub_xenbus_driver(void)
{
	return &usbback::kVusbDriver;
}
