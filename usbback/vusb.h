// SPDX-License-Identifier: GPL-2.0-only
//
// usbback: a virtual USB host controller for one guest (xenbus "vusb").
//
//   Vusb     the controller: a BackendDevice with two rings behind its one
//            event channel (urb, conn), num-ports ports, the mapper pool
//   Port     a root-hub port: the bus id the toolstack assigned to it and
//            the host device bound to it
//   Request  one urb-ring request in flight
//
// A request goes: Validate (every field of the private copy), Route (port,
// guest address -> host device; SET_ADDRESS and a few control requests are
// answered here), Map (staged, or zero-copy for bulk on SG controllers),
// Submit (a host URB), Finish (copy IN data and iso results back, unmap,
// answer). The conn ring carries plug, unplug and speed to xen-hcd.
#ifndef USBBACK_VUSB_H
#define USBBACK_VUSB_H

#include <xenidc/abi/usbif.h>
#include <xenidc/backend_device.h>
#include <xenidc/xenbus_ops.h>

#include "host.h"

namespace usbback {

using namespace xenidc;

constexpr unsigned kUrbRingSize = 16; // one page of 148-byte entries
constexpr unsigned kMaxIsoPackets = 128;
constexpr unsigned kMaxTransfer = usbif::kMaxSegments * XI_PAGE_SIZE;

// Per-controller counters (statistics/ in sysfs; names in xenbus.cpp).
enum Stat { kUrbs, kUnlinks, kRejected, kFailed, kPortEvents, kBytesIn, kBytesOut, kNumStats };

struct Request : BackendRequest { // next: the free or completed list
	class Vusb *vusb;
	uint16_t id;
	uint8_t port;
	ub_xfer x;	     // what the host gets (Validate fills it)
	ub_dev *dev;	     // referenced while the URB exists
	ub_urb *urb;	     // under urb_lock_; freed once answered
	uint32_t nbuf, niso; // buffer segments, then iso descriptor segments
	Rbr seg[usbif::kMaxSegments];
	SgElement sg[usbif::kMaxSegments];
	MappedElem elems[usbif::kMaxSegments];
	Mapping mapping;
	ub_iso_packet iso[kMaxIsoPackets];
};

struct Port {
	char busid[32]; // port/<n>; "" if none (under Registry::busids)
	ub_dev *dev;	// the host device on it (written under lock_ and urb_lock_)
	uint8_t speed;	// what the guest was last told (under lock_)
	bool gone;	// the device the guest was told of left (under lock_)
	uint8_t addr;	// the address the guest gave it (under lock_)
};

// The keys xenbus_lite reads (xenbus.cpp).
struct VusbConfig {
	uint32_t num_ports; // backend, written by the toolstack
	uint32_t usb_ver;
	xb::GrantRefsValue urb_ring, conn_ring; // frontend
	uint32_t evtchn;
};

class Vusb : public BackendDevice {
public:
	explicit Vusb(xb::Device &dev);
	~Vusb();

	// From xenbus (xb::OpsFor), serialised by xenbus_lite.
	Status Configure(const VusbConfig &c);
	Status Connect(const VusbConfig &c);
	// Stops intake and asks the host to end every URB; true if nothing
	// was running, else xenbus_lite hears Disconnected() once all ended.
	bool Disconnect();
	void Changed(const char *) { ReadPorts(); } // port/<n>
	void ReadPorts();

	// The USB side (probe and disconnect of the usb_driver): vusb.cpp.
	friend int ::ub_attach(const char *busid, ub_dev *d, bool asked);
	friend void ::ub_detach(ub_dev *d, bool unplugged);

	uint64_t stat(unsigned i) const { return i < kNumStats ? stats_[i].Get() : 0; }
	// The controller and port the toolstack assigned busid to, if any.
	static Vusb *Find(const char *busid, unsigned *port);

private:
	static void Pass(BackendDevice *self);
	void UnmapRings() { urb_.Unmap(), conn_.Unmap(); }
	bool Handle(const usbif::UrbRequest &req);
	const char *Validate(const usbif::UrbRequest &req, Request *r);
	int32_t Route(const usbif::UrbRequest &req, Request *r, bool *answered, const char **why);
	int32_t SpecialControl(const uint8_t setup[8], ub_dev *dev, bool *handled);
	int32_t MapAndSubmit(Request *r, bool *answered);
	bool CopyIso(Request *r, bool to_guest);
	bool CopyInData(Request *r);
	void Unlink(const usbif::UrbRequest &req);
	void FinishCompleted();
	void SendPortEvents();
	int AttachPort(unsigned port, ub_dev *d);
	unsigned ReleasePort(ub_dev *d, bool unplugged, ub_pin **pins, unsigned *npins);

	// Locks (lock.h has the order): none is held across a call into the
	// USB core that sleeps, nor across xenstore I/O.
	Mutex lock_{XI_LOCK_CLASS("Vusb::lock_")};
	// Each Request::urb, and ports_[].dev for Submit.
	SpinLock urb_lock_{XI_LOCK_CLASS("Vusb::urb_lock_")};

	xb::Device &dev_;
	Vusb *next_ = nullptr; // the registry
	uint32_t num_ports_ = 0;
	uint32_t usb_ver_ = 2;
	Port ports_[usbif::kMaxPorts + 1] = {}; // 1-based

	MappedRing<usbif::UrbProto> urb_;
	MappedRing<usbif::ConnProto> conn_;
	bool connected_ XI_GUARDED_BY(lock_) = false;
	RbrMapperPool *pool_ = nullptr;

	Request slots_[kUrbRingSize];
	Mapping *finishing_[kUrbRingSize];
	ktl::Counter stats_[kNumStats];
};

} // namespace usbback

#endif // USBBACK_VUSB_H
