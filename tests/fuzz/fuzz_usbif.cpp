// SPDX-License-Identifier: GPL-2.0-only
//
// usbback's urb and conn rings under any input: a controller is connected,
// a fake device plugged into a port, then the input writes raw urb requests
// (grants mapped onto real ones most of the time), conn credits, device
// completion statuses, unplugs, and may pull the frontend away. Every
// request is answered at most once, with one of the seven statuses, and
// nothing leaks: no grant, URB or device reference.
#include <map>

#include <xenidc/abi/usbif.h>
#include <xenidc/xenbus_lite_glue.h>

#include "fake_usb.h"
#include "front_ring.h"
#include "world.h"

using namespace xenidc;
using namespace xenidc::usbif;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz::Input in(data, size);
	sim::Sim s;
	s.AddDomain(fuzz::kGuest, 512);
	sim::Xenstore xs;
	uint8_t cfg = in.U8();
	sim::FakeUsbDevice dev_usb("1-1", 1 + cfg % 3);
	uint32_t st = in.U32();
	dev_usb.status = [st](const sim::FakeUrb &u) {
		static const int errs[] = {0, -32, -71, -75, -108, -19, -110, -121};
		return errs[(st >> ((u.x.length + u.x.endpoint) % 29)) & 7];
	};
	dev_usb.in_data.assign(in.U16() % 2048, 0x5a);

	sim::XbDev dev("vusb", fuzz::kGuest, 0);
	void *device = nullptr;
	bool removed = false, pending = false;
	dev.on_unregister = [&] {
		pending = !xbl_remove(device);
		removed = true;
	};
	unsigned ports = 1 + cfg % 4;
	xs.Write(dev.Back("num-ports"), std::to_string(ports));
	xs.Write(dev.Back("usb-ver"), "2");
	xs.Write(dev.Back("port/1"), "1-1");
	if (xbl_probe(ub_xenbus_driver(), dev.xb(), &device))
		abort();
	bool plugged = dev_usb.Plug() == 0;

	sim::FrontRing<UrbProto> urb(s, fuzz::kGuest, 1);
	sim::FrontRing<ConnProto> conn(s, fuzz::kGuest, 1, urb.port());
	fuzz::Grants g;
	g.Add(s, 20, false);
	g.Add(s, 4, true);
	for (uint16_t i = 0; i < in.U8(); i++)
		conn.Put(ConnRequest{i});
	conn.Push(false);
	xs.Write(dev.Front("urb-ring-ref"), std::to_string(urb.refs()[0].value()));
	xs.Write(dev.Front("conn-ring-ref"), std::to_string(conn.refs()[0].value()));
	xs.Write(dev.Front("event-channel"), std::to_string(urb.port()));
	xbl_frontend_changed(device, 4);

	// Each request its own id (an unlink names one of them, or none).
	uint16_t next_id = 0x100;
	std::map<uint16_t, int> answers;
	while (!in.empty()) {
		uint8_t op = in.U8();
		if ((op & 7) == 7 && plugged) {
			dev_usb.Unplug(op & 8);
			plugged = false;
			continue;
		}
		if ((op & 7) == 6) { // the conn ring, raw
			conn.hdr()->req_prod = in.U8() & 1 ? in.U32() : conn.hdr()->req_prod + 1;
			s.Kick(urb.port());
			continue;
		}
		if (urb.Full())
			break;
		UrbRequest r;
		in.Bytes(&r, sizeof(r));
		for (auto &seg : r.seg)
			seg.gref = g.Pick(seg.gref);
		if (op & 0x10) // a well-formed pipe for port 1 more often
			r.pipe = (r.pipe & ~(kPipePortMask | kPipeReservedLow | kPipeReservedMid)) |
				 1;
		r.id = next_id++;
		if (PipeUnlink(r.pipe))
			r.u.unlink.unlink_id = (uint16_t)(0x100 +
							  r.u.unlink.unlink_id % (r.id - 0xff));
		answers[r.id] = 0;
		urb.Put(r);
		if (op & 0x20)
			urb.Push();
		if (op & 0x40)
			s.RunOne();
	}
	urb.Push();
	s.RunUntilIdle(1 << 20);
	for (auto &r : urb.Take()) {
		if (!answers.count(r.id) || answers[r.id]++)
			abort(); // an answer to a request never sent, or a second one
		switch (r.status) {
		case kStatusOk:
		case kStatusNoDev:
		case kStatusInval:
		case kStatusStall:
		case kStatusIoError:
		case kStatusBabble:
		case kStatusShutdown:
			break;
		default:
			abort();
		}
	}
	for (auto &e : conn.Take())
		if (e.portnum < 1 || e.portnum > ports || e.speed > kSpeedHigh)
			abort(); // xen-hcd treats these as fatal protocol errors
	for (auto &a : answers)
		if (a.second != 1)
			abort(); // a request taken and never answered
	xbl_frontend_changed(device, in.U8() & 1 ? 6 : 0);
	fuzz::RemoveAndDrain(s, dev, device, removed, pending);
	if (plugged)
		dev_usb.Unplug(false);
	s.RunUntilIdle();
	if (dev_usb.refs)
		abort();
	fuzz::CheckNothingLeft(s);
	return 0;
}
