// SPDX-License-Identifier: GPL-2.0-only
//
// usbback's urb ring: guest requests in, host URBs out, one answer each.
#include <xenidc/grant_copy.h>

#include "vusb.h"

namespace usbback {

using namespace usbif::setup;

static_assert(sizeof(ub_iso_packet) == sizeof(usbif::IsoDesc));

bool Vusb::Handle(const usbif::UrbRequest &req)
{
	if (stopping())
		return false; // a disconnect began during this pass: take no more
	if (usbif::PipeUnlink(req.pipe)) {
		stats_[kUnlinks].Add();
		Unlink(req);
		return true;
	}
	stats_[kUrbs].Add();
	auto *r = static_cast<Request *>(TakeSlot());
	if (!r)
		return false;
	r->id = req.id;
	r->dev = nullptr;
	bool answered = false;
	const char *why = Validate(req, r);
	int32_t st = why ? usbif::kStatusInval : Route(req, r, &answered, &why);
	if (st != usbif::kStatusOk) {
		// Malformed, or for no device on the port: the guest's doing.
		Rejected();
		xi_log_ratelimited(XI_LOG_WARN, "%s: urb %u pipe %#x refused: %s", dev_.nodename(),
				   req.id, req.pipe, why);
	} else if (!answered) {
		st = MapAndSubmit(r, &answered);
	}
	if (st == usbif::kStatusOk && !answered)
		return true; // in flight; FinishCompleted answers
	if (st != usbif::kStatusOk)
		stats_[kRejected].Add();
	// Never in flight: its resources back, then the answer.
	XI_DEBUG("%s: urb %u answered at once (%d)", dev_.nodename(), req.id, st);
	if (r->mapping.mapped())
		pool_->Unmap(&r->mapping);
	if (r->dev)
		ub_dev_put(r->dev);
	PutSlot(r);
	Drop();
	Respond(urb_, {req.id, 0, st, 0, 0});
	return true;
}

// Checks every field of the private copy; fills r's transfer. nullptr, or
// why the request is malformed.
const char *Vusb::Validate(const usbif::UrbRequest &req, Request *r)
{
	unsigned port = usbif::PipePort(req.pipe);
	ub_xfer &x = r->x;

	if (port == 0 || port > num_ports_)
		return "no such port";
	if ((req.pipe & (usbif::kPipeReservedLow | usbif::kPipeReservedMid)) ||
	    (req.transfer_flags & ~usbif::kShortNotOk))
		return "reserved pipe bits or transfer flags";
	r->port = (uint8_t)port;
	x.type = ub_type(usbif::PipeKind(req.pipe));
	x.in = usbif::PipeIn(req.pipe);
	x.endpoint = x.type == UB_CTRL ? 0 : (uint8_t)usbif::PipeEp(req.pipe);
	// Only the one flag the protocol defines, and only where it means
	// something; no guest bit reaches the host URB.
	x.short_not_ok = x.in && x.type != UB_ISOC && (req.transfer_flags & usbif::kShortNotOk);
	ktl::MemCopy(x.setup, req.u.ctrl, sizeof(x.setup));
	x.interval = x.type == UB_INT || x.type == UB_ISOC ? req.u.intr.interval : 0; // one field
	r->nbuf = req.nr_buffer_segs;
	r->niso = x.type == UB_ISOC ? req.u.isoc.nr_frame_desc_segs : 0;
	if (r->nbuf + r->niso > usbif::kMaxSegments)
		return "too many segments";
	uint32_t total = 0, desc_bytes = 0;
	for (uint32_t i = 0; i < r->nbuf + r->niso; i++) {
		const usbif::Segment &s = req.seg[i];
		r->seg[i] = {GrantRef(s.gref), s.offset, s.length};
		if (!r->seg[i].Valid())
			return "a segment is empty or leaves its page";
		(i < r->nbuf ? total : desc_bytes) += s.length;
	}
	// buffer_length is 16 bits: 64 KiB arrives as 0 with 16 full pages.
	uint32_t want = req.buffer_length ? req.buffer_length : r->nbuf ? kMaxTransfer : 0;
	if (total != want)
		return "the segments' lengths and buffer_length disagree";
	x.length = total;
	if (x.type == UB_CTRL) {
		// The data stage is IN only if bmRequestType says so and there is
		// one; the host's USB core WARNs on a pipe that disagrees.
		bool in = (x.setup[0] & kDirIn) && total;
		if (Word(x.setup, kLength) != total || in != x.in)
			return "the setup packet disagrees with the buffer or the pipe";
	}
	if (x.type != UB_ISOC)
		return nullptr;
	x.npackets = req.u.isoc.number_of_packets;
	if (!x.npackets || x.npackets > kMaxIsoPackets || !total ||
	    desc_bytes < x.npackets * sizeof(ub_iso_packet))
		return "bad isochronous packet count";
	if (!CopyIso(r, false))
		return "its isochronous descriptors cannot be read";
	for (uint32_t i = 0; i < x.npackets; i++)
		if (r->iso[i].offset > total || r->iso[i].length > total - r->iso[i].offset)
			return "an isochronous packet leaves the buffer";
	return nullptr;
}

// The iso packet descriptors: the guest's array, granted after the buffer.
bool Vusb::CopyIso(Request *r, bool to_guest)
{
	SgRbr descs{dev_.otherend(), ktl::Span<const Rbr>(r->seg + r->nbuf, r->niso)};
	return GrantCopy(descs, r->iso, r->x.npackets * sizeof(ub_iso_packet), to_guest).ok();
}

// Finds the host device: by port before the guest addressed it (devnum 0),
// by the address the guest gave it after. SET_ADDRESS is answered here: the
// host device keeps the address its own hub gave it.
int32_t Vusb::Route(const usbif::UrbRequest &req, Request *r, bool *answered, const char **why)
{
	MutexGuard g(lock_);
	unsigned devnum = usbif::PipeDev(req.pipe);
	Port &p = ports_[r->port];
	ub_dev *dev = devnum == 0 || p.addr == devnum ? p.dev : nullptr;
	const uint8_t *s = r->x.setup;

	*why = "no device at that port and address";
	if (!dev)
		return usbif::kStatusNoDev;
	*why = "a SET_ADDRESS out of range";
	if (r->x.type == UB_CTRL && s[0] == 0 && s[1] == kSetAddress) {
		unsigned a = Word(s, kValue);
		if (a == 0 || a > usbif::kPipeDevMask || r->x.length)
			return usbif::kStatusInval;
		p.addr = (uint8_t)a;
		*answered = true;
		return usbif::kStatusOk;
	}
	// Before SET_ADDRESS a guest only asks for the device descriptor.
	*why = "only GET_DESCRIPTOR goes to address 0";
	if (r->x.type == UB_CTRL && devnum == 0 && !(s[0] == kDirIn && s[1] == kGetDescriptor))
		return usbif::kStatusInval;
	ub_dev_get(dev);
	r->dev = dev;
	return usbif::kStatusOk;
}

// Standard requests that change the host's view of the device go through
// the host's USB core, not to the device raw: it keeps its own state (the
// configuration, altsettings, endpoint toggles and halts) in step.
int32_t Vusb::SpecialControl(const uint8_t s[8], ub_dev *dev, bool *handled)
{
	if ((s[0] & (kDirIn | kTypeMask)) != 0)
		return usbif::kStatusOk; // not a standard OUT request
	uint8_t recip = s[0] & kRecipMask;
	uint16_t value = Word(s, kValue), index = Word(s, kIndex);
	int rc;
	if (s[1] == kSetConfiguration && recip == kRecipDevice)
		rc = ub_reset_configuration(dev, value);
	else if (s[1] == kSetInterface && recip == kRecipInterface)
		rc = ub_set_interface(dev, index, value);
	else if (s[1] == kClearFeature && recip == kRecipEndpoint && value == kEndpointHalt)
		rc = ub_clear_halt(dev, index & 0x8f);
	else
		return usbif::kStatusOk;
	*handled = true;
	return usbif::StatusOf(rc);
}

// Copies an OUT buffer into the request's staging buffer, then submits,
// with no lock held, unless the USB core performs the request. The URB is
// published in r under urb_lock_, where a disconnect or the device's
// release is seen too: either Disconnect() or ReleasePort() finds it there,
// or it is ended here.
int32_t Vusb::MapAndSubmit(Request *r, bool *answered)
{
	ub_xfer &x = r->x;
	ub_urb *u;
	bool gone;

	if (x.type == UB_CTRL) {
		int32_t st = SpecialControl(x.setup, r->dev, answered);
		if (*answered)
			return st;
	}
	if (x.length) {
		SgRbr sg{dev_.otherend(), ktl::Span<const Rbr>(r->seg, r->nbuf)};
		Direction dir = x.in ? Direction::kFromDevice : Direction::kToDevice;
		if (!pool_->Map(sg, dir, &r->mapping).ok())
			return usbif::kStatusInval;
	}
	x.buffer = r->mapping.lbr().buffer();
	{
		SpinGuard g(urb_lock_);
		gone = stopping() || ports_[r->port].dev != r->dev;
	}
	int rc = gone ? -err::kNoDev : ub_urb_submit(r->dev, &x, &u);
	if (rc)
		return usbif::StatusOf(rc);
	{
		SpinGuard g(urb_lock_);
		r->urb = u;
		gone = stopping() || ports_[r->port].dev != r->dev;
	}
	if (gone)
		ub_urb_unlink(u);
	return usbif::kStatusOk;
}

// Asks the host to end the request early; both the unlink request and the
// original one get their answer (the original when its URB completes). An
// id not in flight is normal (it completed meanwhile): just answer.
void Vusb::Unlink(const usbif::UrbRequest &req)
{
	bool found = false;
	{
		SpinGuard g(urb_lock_);
		for (Request &r : slots_)
			if (r.urb && r.id == req.u.unlink.unlink_id &&
			    r.port == usbif::PipePort(req.pipe)) {
				ub_urb_unlink(r.urb);
				found = true;
			}
	}
	// Unlinks take no slot: one that names nothing costs like a refusal,
	// or a guest could keep the pass busy with them.
	if (!found)
		Rejected();
	Respond(urb_, {req.id, 0, usbif::kStatusOk, 0, 0});
}

// IN data to the guest, where the device put it: an iso packet's bytes sit
// at the packet's offset whatever the packets before it got. Runs of whole
// packets go in one copy; the gaps short packets leave are not copied (the
// staging buffer holds an earlier transfer's bytes there).
bool Vusb::CopyInData(Request *r)
{
	if (r->x.type != UB_ISOC)
		return pool_->CopyOut(&r->mapping, r->x.actual_length).ok();
	uint32_t start = 0, end = 0;
	for (uint32_t i = 0; i <= r->x.npackets; i++) {
		bool last = i == r->x.npackets;
		const ub_iso_packet &p = r->iso[last ? 0 : i];
		uint32_t off = last ? 0 : p.offset;
		if (last || off != end) {
			if (end > start && !pool_->CopyOut(&r->mapping, end - start, start).ok())
				return false;
			start = off;
		}
		end = off + ktl::Min(p.actual_length, p.length);
	}
	return true;
}

// Requests whose URB completed: IN data and iso results to the guest (the
// bytes the device produced, whatever the status), the URB freed, grants
// released, then the answers, with one event.
void Vusb::FinishCompleted()
{
	auto ready = [this](Request *r) {
		ub_xfer &x = r->x;
		ub_urb *u;
		x.actual_length = ktl::Min(x.actual_length, x.length);
		if ((x.in && x.actual_length && !CopyInData(r)) ||
		    (x.type == UB_ISOC && !CopyIso(r, true)))
			x.status = -22;
		{
			SpinGuard g(urb_lock_); // against Disconnect() and ReleasePort()
			u = r->urb;
			r->urb = nullptr;
		}
		ub_urb_free(u);
		ub_dev_put(r->dev);
		if (x.status)
			stats_[kFailed].Add();
		XI_DEBUG("%s: urb %u done (%d), %u bytes", dev_.nodename(), r->id, x.status,
			 x.actual_length);
		stats_[x.in ? kBytesIn : kBytesOut].Add(x.in ? x.actual_length : x.length);
	};
	AnswerCompleted<Request>(urb_, pool_, finishing_, ready, [](Request *r) {
		const ub_xfer &x = r->x;
		return usbif::UrbResponse{r->id, (uint16_t)x.start_frame, usbif::StatusOf(x.status),
					  (int32_t)x.actual_length, (int32_t)x.error_count};
	});
}

} // namespace usbback

extern "C" void ub_urb_done(void *cookie)
{
	auto *r = static_cast<usbback::Request *>(cookie);
	r->vusb->Completed(r);
}
