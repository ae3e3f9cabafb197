// SPDX-License-Identifier: GPL-2.0-only
//
// The simulated host USB device; see fake_usb.h.
#include "fake_usb.h"

#include <cstring>
#include <utility>

namespace sim {

// A device descriptor: USB 2.0, vendor 0x1d6b (Linux Foundation), product 0x0104.
static const uint8_t kDeviceDescriptor[18] = {18,   1,	  0x00, 0x02, 0,    0, 0, 64, 0x6b,
					      0x1d, 0x04, 0x01, 0x00, 0x01, 1, 2, 3,  1};

FakeUsbDevice::FakeUsbDevice(std::string b, unsigned s) : busid(std::move(b)), speed(s) {}

FakeUsbDevice::~FakeUsbDevice()
{
	for (FakeUrb *u : urbs)
		if (!u->freed)
			Sim::Get().on_warning("URB never freed by usbback");
		else
			delete u;
	if (refs)
		Sim::Get().on_warning("device references leaked: " + std::to_string(refs));
}

int FakeUsbDevice::Plug(bool asked)
{
	return ub_attach(busid.c_str(), dev(), asked);
}

void FakeUsbDevice::Unplug(bool pulled)
{
	ub_detach(dev(), pulled);
}

std::vector<FakeUrb *> FakeUsbDevice::Pending() const
{
	std::vector<FakeUrb *> v;
	for (FakeUrb *u : urbs)
		if (!u->done)
			v.push_back(u);
	return v;
}

// What the device does with a transfer when it completes.
void FakeUsbDevice::Complete(FakeUrb *u, int st)
{
	if (u->done)
		return;
	ub_xfer &x = u->x;
	uint32_t actual = 0;
	auto *buf = static_cast<uint8_t *>(x.buffer);
	auto write = [&](const uint8_t *src, uint32_t n) { // device -> host memory
		actual = std::min(n, x.length);
		if (actual)
			memcpy(buf, src, actual);
	};
	auto read = [&]() { // host memory -> device
		if (buf)
			u->data.assign(buf, buf + x.length);
		actual = x.length;
	};
	if (st == 0) {
		if (x.type == UB_CTRL && x.setup[0] == 0x80 && x.setup[1] == 6 && x.setup[3] == 1)
			write(kDeviceDescriptor, sizeof(kDeviceDescriptor));
		else if (x.type == UB_ISOC) {
			for (uint32_t i = 0; i < x.npackets; i++) {
				uint32_t n = x.iso[i].length;
				if (x.in && iso_actual)
					n = std::min(iso_actual(i, n), n);
				x.iso[i].actual_length = n;
				x.iso[i].status = 0;
				if (x.in && buf)
					memset(buf + x.iso[i].offset, 0x40 + (int)i, n);
				actual += n; // the packets' sum, as the USB core counts it
			}
		} else if (x.in) {
			write(in_data.data(), (uint32_t)in_data.size());
			if (actual < x.length && x.short_not_ok)
				st = -121; // EREMOTEIO, as a host controller says it
		} else {
			read();
		}
	}
	u->done = true;
	u->submitted->status = st;
	u->submitted->actual_length = actual;
	u->submitted->error_count = 0;
	u->submitted->start_frame = x.type == UB_ISOC ? 77 : 0;
	ub_urb_done(x.cookie);
}

void FakeUsbDevice::Finish(FakeUrb *u, int st)
{
	Complete(u, st);
}

} // namespace sim

using sim::FakeUrb;
using sim::FakeUsbDevice;

static FakeUsbDevice *D(ub_dev *d)
{
	return reinterpret_cast<FakeUsbDevice *>(d);
}

struct ub_urb {
	FakeUrb *u;
	FakeUsbDevice *d;
};

extern "C" {

// usbback's registry, made once as the module's init does.
static const bool g_usbback_init = (ub_init(), true);

int ub_urb_submit(struct ub_dev *d, struct ub_xfer *x, struct ub_urb **out)
{
	FakeUsbDevice *dev = D(d);
	if (dev->on_submit)
		std::exchange(dev->on_submit, nullptr)();
	if (dev->submit_error)
		return dev->submit_error;
	auto *u = new FakeUrb{*x, x};
	dev->urbs.push_back(u);
	*out = new ub_urb{u, dev};
	if (!dev->hold) {
		sim::Sim::Get().Defer(
			[dev, u] { dev->Complete(u, dev->status ? dev->status(*u) : 0); });
	}
	return 0;
}

void ub_urb_unlink(struct ub_urb *h)
{
	h->d->unlinks++;
	FakeUsbDevice *d = h->d;
	FakeUrb *u = h->u;
	sim::Sim::Get().Defer([d, u] { d->Complete(u, -104); });
}

// A pin is the ub_urb handle's content, copied: the FakeUrb outlives it.
struct ub_pin {
	FakeUrb *u;
	FakeUsbDevice *d;
};

struct ub_pin *ub_urb_pin(struct ub_urb *h)
{
	return new ub_pin{h->u, h->d};
}

void ub_pin_kill(struct ub_pin *p)
{
	p->d->kills++;
	p->d->Complete(p->u, -2);
	delete p;
}

void ub_urb_free(struct ub_urb *h)
{
	if (!h->u->done)
		sim::Sim::Get().on_warning("URB freed before it completed");
	h->u->freed = true;
	delete h;
}

int ub_set_interface(struct ub_dev *d, unsigned int intf, unsigned int alt)
{
	if (D(d)->on_control)
		std::exchange(D(d)->on_control, nullptr)();
	D(d)->set_interface++;
	D(d)->last_intf = intf;
	D(d)->last_alt = alt;
	return 0;
}

int ub_clear_halt(struct ub_dev *d, unsigned int ep)
{
	if (D(d)->on_control)
		std::exchange(D(d)->on_control, nullptr)();
	D(d)->clear_halt++;
	D(d)->last_ep = ep;
	return 0;
}

int ub_reset_configuration(struct ub_dev *d, unsigned int config)
{
	D(d)->reset_config++;
	return config == D(d)->config ? 0 : -22;
}

int ub_reset(struct ub_dev *d)
{
	if (D(d)->on_reset)
		std::exchange(D(d)->on_reset, nullptr)();
	D(d)->resets++;
	return D(d)->reset_error;
}

unsigned int ub_speed(struct ub_dev *d)
{
	return D(d)->speed;
}

void ub_dev_get(struct ub_dev *d)
{
	D(d)->refs++;
}

void ub_dev_put(struct ub_dev *d)
{
	if (--D(d)->refs < 0)
		sim::Sim::Get().on_warning("device reference dropped twice");
}

} // extern "C"
