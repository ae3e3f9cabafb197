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
//
// Consecutive zero-copy bulk requests for one endpoint become one host URB
// (a batch): xen-hcd has no scatter-gather, so a guest's mass-storage read
// arrives as one request per page, and each host URB costs a transfer
// descriptor and an interrupt. They are merged only where the wire sees
// the same packets (every request but the last a whole number of packets;
// on IN, each of those stops at a short packet); the answers split the
// URB's result back at the request boundaries.
#ifndef USBBACK_VUSB_H
#define USBBACK_VUSB_H

#include <xenidc/abi/usbif.h>
#include <xenidc/backend_device.h>
#include <xenidc/mapper_pool.h>
#include <xenidc/xenbus_lite.h>

#include "host.h"

namespace usbback {

using namespace xenidc;

constexpr unsigned kUrbRingSize = 16; // one page of 148-byte entries
constexpr unsigned kMaxIsoPackets = 128;
constexpr unsigned kMaxTransfer = usbif::kMaxSegments * XI_PAGE_SIZE;
static_assert(kUrbRingSize * usbif::kMaxSegments <= UB_MAX_SGS, "a batch fits one host URB");

class Vusb;

// Per-controller counters (statistics/ in sysfs; names in xenbus.cpp).
enum Stat {
	kUrbs,
	kUnlinks,
	kRejected,
	kFailed,
	kPortEvents,
	kBytesIn,
	kBytesOut,
	kMerged, // requests that went to the host in another's URB
	kNumStats
};

struct Request : BackendRequest { // next: the free or completed list
	Vusb *vusb;
	uint16_t id;
	uint8_t port;
	bool in;
	ktl::Atomic<bool> done; // completed by the host, answer pending
	bool short_not_ok;	// IN: a short packet is an error
	ub_type type;
	uint8_t endpoint;
	ub_dev *dev;   // referenced while the URB exists
	ub_urb *urb;   // under urb_lock_; shared by a batch, its lead frees it
	Request *lead; // the batch's first request (itself if alone)
	Request *batch_next;
	int32_t status;
	uint32_t length;
	uint32_t actual;
	uint32_t error_count;
	uint32_t start_frame;
	uint32_t nbuf;	    // buffer segments
	uint32_t niso_segs; // iso descriptor segments after them
	uint32_t npackets;
	Rbr seg[usbif::kMaxSegments];
	SgElement sg[usbif::kMaxSegments];
	MappedElem elems[usbif::kMaxSegments];
	Mapping mapping;
	ub_iso_packet iso[kMaxIsoPackets];
};

struct Port {
	char busid[32]; // port/<n>; "" if none (under ub_busid_lock())
	ub_dev *dev;	// the host device on it (written under lock_ and urb_lock_)
	uint8_t speed;	// what the guest was last told
	bool notify;	// speed changed: owe the guest a conn event
};

class Vusb : public BackendDevice {
public:
	explicit Vusb(xb::Device &dev);
	~Vusb();

	// From xenbus (xenbus.cpp), serialised by xenbus_lite.
	Status Configure(uint32_t num_ports, uint32_t usb_ver);
	Status Connect(GrantRef urb_ring, GrantRef conn_ring, uint32_t evtchn);
	// Stops intake and asks the host to end every URB; true if nothing
	// was running, else xenbus_lite hears Disconnected() once all ended.
	bool Disconnect();
	void ReadPorts();

	// From the USB side (probe and disconnect of the usb_driver).
	static bool Assigned(const char *busid);
	static int Attach(const char *busid, ub_dev *d, bool asked);
	static void Detach(ub_dev *d, bool unplugged);

	// The host completed the URB of lead's batch; any context.
	void Finished(Request *lead, int status, uint32_t actual);

	uint64_t stat(unsigned i) const { return i < kNumStats ? stats_[i].Get() : 0; }

private:
	static void Pass(BackendDevice *self);
	static void Stopped(BackendDevice *self);
	bool Handle(const usbif::UrbRequest &req);
	const char *Validate(const usbif::UrbRequest &req, Request *r);
	int32_t Route(const usbif::UrbRequest &req, Request *r, bool *answered, const char **why);
	int32_t SpecialControl(const uint8_t setup[8], ub_dev *dev, bool *handled);
	int32_t MapAndSubmit(const usbif::UrbRequest &req, Request *r, bool *answered,
			     bool *stalled);
	int32_t CopyIso(Request *r, bool to_guest);
	bool CopyInData(Request *r);
	void Batch(Request *r);
	void Release(Request *r);
	void SubmitBatch();
	void AnswerNow(Request *r, int32_t status);
	void Unlink(const usbif::UrbRequest &req);
	void Answer(uint16_t id, int32_t status, uint32_t actual = 0, uint32_t start_frame = 0,
		    uint32_t error_count = 0);
	void FinishCompleted();
	void SendPortEvents();
	unsigned FindPort(const char *busid);
	int AttachPort(unsigned port, ub_dev *d);
	unsigned ReleasePort(ub_dev *d, bool unplugged, ub_pin **pins, unsigned *npins);
	int32_t Submit(Request *lead, ub_xfer *x);
	void UnlinkAll();

	// Locks (lock.h has the order): none is held across a call into the
	// USB core that sleeps, nor across xenstore I/O.
	Mutex lock_{XI_LOCK_CLASS("Vusb::lock_")};
	// Each Request::urb, and ports_[].dev for Submit.
	SpinLock urb_lock_{XI_LOCK_CLASS("Vusb::urb_lock_")};

	xb::Device &dev_;
	Vusb *next_ = nullptr; // the registry
	uint32_t num_ports_ = 0;
	uint32_t usb_ver_ = 2;
	Port ports_[usbif::kMaxPorts + 1] = {};	      // 1-based
	uint8_t addr_[128] XI_GUARDED_BY(lock_) = {}; // guest device address -> port

	MappedRing<usbif::UrbProto> urb_;
	MappedRing<usbif::ConnProto> conn_;
	bool connected_ XI_GUARDED_BY(lock_) = false;
	RbrMapperPool *pool_ = nullptr;

	Request slots_[kUrbRingSize];
	Mapping *finishing_[kUrbRingSize];
	// The batch being gathered in this pass: mapped, not yet submitted.
	Request *batch_ = nullptr, *batch_tail_ = nullptr;
	bool merge_ = true;	// ub_merge_bulk, read once per pass
	bool zero_copy_ = true; // ub_zero_copy, likewise
	ub_sg batch_sg_[UB_MAX_SGS];
	ktl::Counter stats_[kNumStats];
};

} // namespace usbback

#endif // USBBACK_VUSB_H
