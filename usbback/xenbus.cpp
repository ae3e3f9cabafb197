// SPDX-License-Identifier: GPL-2.0-only
//
// usbback's xenbus glue: the vusb keys, declared for xenbus_lite.
#include "vusb.h"

namespace usbback {
namespace {

using xb::Dir;
constexpr xb::Key kKeys[] = {
	xb::U32("num-ports", Dir::kBackend, XB_AT(VusbConfig, num_ports), 1, usbif::kMaxPorts),
	xb::U32("usb-ver", Dir::kBackend, XB_AT(VusbConfig, usb_ver), 1, 2),
	xb::GrantRefs("urb-ring-ref", Dir::kFrontend, XB_AT(VusbConfig, urb_ring), nullptr,
		      nullptr),
	xb::GrantRefs("conn-ring-ref", Dir::kFrontend, XB_AT(VusbConfig, conn_ring), nullptr,
		      nullptr),
	xb::U32("event-channel", Dir::kFrontend, XB_AT(VusbConfig, evtchn), 0, ~0u),
};
// port/<n> holds the bus id of the device the toolstack assigned.
constexpr const char *kWatch[] = {"port"};
constexpr const char *kStats[] = {"urbs",	 "unlinks",  "rejected", "failed",
				  "port_events", "bytes_in", "bytes_out"};
static_assert(ktl::ArraySize(kStats) == kNumStats);

} // namespace

const xb::Driver kVusbDriver = {
	.type = "vusb",
	.keys = kKeys,
	.watch = kWatch,
	.config_size = sizeof(VusbConfig),
	.stats = kStats,
	.ops = xb::OpsFor<Vusb, VusbConfig>(),
};

} // namespace usbback

extern "C" const void *ub_xenbus_driver(void)
{
	return &usbback::kVusbDriver;
}
