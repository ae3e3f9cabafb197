// SPDX-License-Identifier: GPL-2.0-only
//
// xenbus_lite's key parsing and state machine with both real descriptors
// (vbd, vusb): the input writes any value to any key of the frontend's and
// the backend's directories and moves the frontend through any states.
#include <xenidc/xenbus_lite_glue.h>

#include "fake_disk.h"
#include "fake_usb.h"
#include "world.h"

extern "C" struct bb2_limits bb2_limits;
struct bb2_limits bb2_limits;

namespace {

const char *const kFrontKeys[] = {
	"ring-ref",
	"ring-ref0",
	"ring-ref1",
	"ring-ref3",
	"ring-page-order",
	"event-channel",
	"protocol",
	"feature-persistent",
	"multi-queue-num-queues",
	"queue-0/ring-ref",
	"queue-1/ring-ref",
	"queue-0/event-channel",
	"queue-1/event-channel",
	"device-type",
	"urb-ring-ref",
	"conn-ring-ref",
};
const char *const kBackKeys[] = {"physical-device", "mode",   "discard-enable", "num-ports",
				 "usb-ver",	    "port/1", "online"};

std::string Value(fuzz::Input &in, sim::Sim &s, const std::vector<xi_gref_t> &grants)
{
	switch (in.U8() % 4) {
	case 0: // a real grant, or an event channel
		return std::to_string(grants[in.U8() % grants.size()]);
	case 1:
		return std::to_string(in.U32());
	case 2:
		return std::to_string(in.U8() % 8);
	default: { // any bytes
		std::string v;
		for (unsigned n = in.U8() % 24; n; n--)
			v += (char)(in.U8() | 1);
		return v;
	}
	}
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz::Input in(data, size);
	sim::Sim s;
	s.AddDomain(fuzz::kGuest, 64);
	sim::Xenstore xs;
	sim::FakeDisk disk(202, 1, 64);
	bb2_limits = {64, 2, 2, 96, 32, 1, 8};
	bool vusb = in.U8() & 1;
	sim::XbDev dev(vusb ? "vusb" : "vbd", fuzz::kGuest, 1);
	void *device = nullptr;
	bool removed = false, pending = false;
	dev.on_unregister = [&] {
		pending = !xbl_remove(device);
		removed = true;
	};
	xs.Write(dev.Back("num-ports"), "2");
	xs.Write(dev.Back("usb-ver"), "2");
	std::vector<xi_gref_t> grants;
	uint32_t f = s.domain(fuzz::kGuest).AllocFrames(8);
	for (uint32_t i = 0; i < 8; i++)
		grants.push_back(s.GrantAccess(fuzz::kGuest, f + i, sim::kDom0, false));
	grants.push_back(s.AllocPort(fuzz::kGuest));
	if (xbl_probe(vusb ? ub_xenbus_driver() : bb2_xenbus_driver(), dev.xb(), &device))
		return 0;
	while (!in.empty() && !removed) {
		uint8_t op = in.U8();
		switch (op % 4) {
		case 0:
		case 1:
			xs.Write(dev.Front(kFrontKeys[in.U8() % std::size(kFrontKeys)]),
				 Value(in, s, grants));
			break;
		case 2: {
			const char *k = kBackKeys[in.U8() % std::size(kBackKeys)];
			xs.Write(dev.Back(k), Value(in, s, grants));
			xbl_backend_changed(device, dev.Back(k).c_str());
			break;
		}
		case 3:
			xbl_frontend_changed(device, in.U8() % 10);
			break;
		}
		s.RunUntilIdle(1 << 16);
	}
	fuzz::RemoveAndDrain(s, dev, device, removed, pending);
	fuzz::CheckNothingLeft(s);
	return 0;
}
