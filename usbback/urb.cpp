// SPDX-License-Identifier: GPL-2.0-only
//
// usbback's urb ring: guest requests in, host URBs out, one answer each.
#include <xenidc/grant_copy.h>

#include "vusb.h"

namespace usbback {

namespace {

// Standard requests (USB 2.0, 9.4) usbback answers or performs itself.
constexpr uint8_t kClearFeature = 1;
constexpr uint8_t kSetAddress = 5;
constexpr uint8_t kGetDescriptor = 6;
constexpr uint8_t kSetConfiguration = 9;
constexpr uint8_t kSetInterface = 11;
constexpr uint8_t kDirIn = 0x80;
constexpr uint8_t kTypeMask = 0x60; // 0 = standard
constexpr uint8_t kRecipMask = 0x1f;
constexpr uint8_t kRecipDevice = 0, kRecipInterface = 1, kRecipEndpoint = 2;
constexpr uint16_t kEndpointHalt = 0;
constexpr int kErrConnReset = -104, kErrRemoteIo = -121;

static_assert(sizeof(ub_iso_packet) == sizeof(usbif::IsoDesc));
static_assert(sizeof(ub_sg) == sizeof(SgElement) &&
		      __builtin_offsetof(ub_sg, length) == __builtin_offsetof(SgElement, length),
	      "a mapped SG list is handed to the host as is");

uint16_t Le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

// A host result as one of the seven statuses xen-hcd knows; it turns any
// other value into -ESHUTDOWN, "the device is gone".
int32_t UsbifStatus(int err)
{
	switch (err) {
	case 0:
		return usbif::kStatusOk;
	case -32: // EPIPE
		return usbif::kStatusStall;
	case -75: // EOVERFLOW
		return usbif::kStatusBabble;
	case -19:  // ENODEV
	case -108: // ESHUTDOWN
		return usbif::kStatusNoDev;
	case -22: // EINVAL
		return usbif::kStatusInval;
	case -104: // ECONNRESET: unlinked; the guest reports its own status
	case -2:   // ENOENT: killed
		return usbif::kStatusShutdown;
	default: // EPROTO, EILSEQ, ETIME, EREMOTEIO (short), ...
		return usbif::kStatusIoError;
	}
}

} // namespace

bool Vusb::Handle(const usbif::UrbRequest &req)
{
	if (stopping())
		return false; // a disconnect began during this pass: take no more
	if (usbif::PipeUnlink(req.pipe)) {
		stats_[kUnlinks].Add();
		SubmitBatch(); // the request it names may be waiting there
		Unlink(req);
		return true;
	}
	stats_[kUrbs].Add();
	auto *r = static_cast<Request *>(TakeSlot());
	if (!r)
		return false;
	r->id = req.id;
	r->dev = nullptr;
	r->lead = r;
	r->batch_next = nullptr;
	r->done.Store(false);
	bool answered = false, stalled = false;
	const char *why = Validate(req, r);
	int32_t st = why ? usbif::kStatusInval : Route(req, r, &answered, &why);
	if (st != usbif::kStatusOk) {
		// Malformed, or for no device on the port: the guest's doing.
		Rejected();
		xi_log_ratelimited(XI_LOG_WARN, "%s: urb %u pipe %#x refused: %s", dev_.nodename(),
				   req.id, req.pipe, why);
	} else if (!answered) {
		st = MapAndSubmit(req, r, &answered, &stalled);
	}
	if (st == usbif::kStatusOk && !answered && !stalled) {
		XI_DEBUG("%s: urb %u pipe %#x, %u bytes submitted", dev_.nodename(), req.id,
			 req.pipe, r->length);
		return true; // in flight (or in the batch); Finish answers
	}
	if (stalled) {
		Release(r);
		return false; // no staging buffer or frame free: offered again
	}
	if (st != usbif::kStatusOk)
		stats_[kRejected].Add();
	AnswerNow(r, st);
	return true;
}

// A request taken but never in flight: its resources back, and no answer.
void Vusb::Release(Request *r)
{
	if (r->mapping.mapped())
		pool_->Unmap(&r->mapping);
	if (r->dev)
		ub_dev_put(r->dev);
	PutSlot(r);
	Drop();
}

// Answers a request that never reached the host, or failed to.
void Vusb::AnswerNow(Request *r, int32_t st)
{
	uint16_t id = r->id;

	XI_DEBUG("%s: urb %u answered at once (%d)", dev_.nodename(), id, st);
	Release(r);
	Answer(id, st);
}

// Checks every field of the private copy; fills r's geometry. nullptr, or
// why the request is malformed.
const char *Vusb::Validate(const usbif::UrbRequest &req, Request *r)
{
	uint32_t pipe = req.pipe;
	unsigned port = usbif::PipePort(pipe);

	if (port == 0 || port > num_ports_)
		return "no such port";
	if ((pipe & (usbif::kPipeReservedLow | usbif::kPipeReservedMid)) ||
	    (req.transfer_flags & ~usbif::kShortNotOk))
		return "reserved pipe bits or transfer flags";
	r->port = (uint8_t)port;
	r->type = ub_type(usbif::PipeKind(pipe));
	r->in = usbif::PipeIn(pipe);
	r->endpoint = r->type == UB_CTRL ? 0 : (uint8_t)usbif::PipeEp(pipe);
	// Only the one flag the protocol defines, and only where it means
	// something; no guest bit reaches the host URB.
	r->short_not_ok = r->in && r->type != UB_ISOC && (req.transfer_flags & usbif::kShortNotOk);
	r->nbuf = req.nr_buffer_segs;
	r->niso_segs = r->type == UB_ISOC ? req.u.isoc.nr_frame_desc_segs : 0;
	r->npackets = 0;
	if (r->nbuf + r->niso_segs > usbif::kMaxSegments)
		return "too many segments";
	uint32_t total = 0, desc_bytes = 0;
	for (uint32_t i = 0; i < r->nbuf + r->niso_segs; i++) {
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
	r->length = total;

	switch (r->type) {
	case UB_CTRL: {
		// The data stage is IN only if bmRequestType says so and there is
		// one; the host's USB core WARNs on a pipe that disagrees.
		bool in = (req.u.ctrl[0] & kDirIn) && total;
		if (Le16(req.u.ctrl + 6) != total || in != r->in)
			return "the setup packet disagrees with the buffer or the pipe";
		break;
	}
	case UB_ISOC:
		r->npackets = req.u.isoc.number_of_packets;
		if (!r->npackets || r->npackets > kMaxIsoPackets || !total ||
		    desc_bytes < r->npackets * sizeof(ub_iso_packet))
			return "bad isochronous packet count";
		if (CopyIso(r, false))
			return "its isochronous descriptors cannot be read";
		for (uint32_t i = 0; i < r->npackets; i++) {
			const ub_iso_packet &p = r->iso[i];
			if (p.offset > total || p.length > total - p.offset)
				return "an isochronous packet leaves the buffer";
		}
		break;
	case UB_INT:
	case UB_BULK:
		break;
	}
	return nullptr;
}

// The iso packet descriptors: the guest's array, granted after the buffer.
int32_t Vusb::CopyIso(Request *r, bool to_guest)
{
	SgRbr descs{dev_.otherend(), ktl::Span<const Rbr>(r->seg + r->nbuf, r->niso_segs)};
	Status s = GrantCopy(descs, r->iso, r->npackets * sizeof(ub_iso_packet), to_guest);
	return s.ok() ? usbif::kStatusOk : usbif::kStatusInval;
}

// Finds the host device: by port before the guest addressed it (devnum 0),
// by the address the guest gave it after. SET_ADDRESS is answered here: the
// host device keeps the address its own hub gave it.
int32_t Vusb::Route(const usbif::UrbRequest &req, Request *r, bool *answered, const char **why)
{
	MutexGuard g(lock_);
	unsigned devnum = usbif::PipeDev(req.pipe);
	ub_dev *dev = devnum == 0 || addr_[devnum] == r->port ? ports_[r->port].dev : nullptr;

	*why = "no device at that port and address";
	if (!dev)
		return usbif::kStatusNoDev;
	*why = "a SET_ADDRESS out of range";
	if (r->type == UB_CTRL) {
		const uint8_t *s = req.u.ctrl;
		if (s[0] == 0 && s[1] == kSetAddress) {
			unsigned a = Le16(s + 2);
			if (a == 0 || a >= ktl::ArraySize(addr_) || r->length)
				return usbif::kStatusInval;
			for (uint8_t &x : addr_)
				if (x == r->port)
					x = 0;
			addr_[a] = r->port;
			*answered = true;
			return usbif::kStatusOk;
		}
		// Before SET_ADDRESS a guest only asks for the device descriptor.
		*why = "only GET_DESCRIPTOR goes to address 0";
		if (devnum == 0 && !(s[0] == kDirIn && s[1] == kGetDescriptor))
			return usbif::kStatusInval;
	}
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
	uint16_t value = Le16(s + 2), index = Le16(s + 4);
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
	return UsbifStatus(rc);
}

int32_t Vusb::MapAndSubmit(const usbif::UrbRequest &req, Request *r, bool *answered, bool *stalled)
{
	if (r->type != UB_BULK)
		SubmitBatch(); // what the guest sent first goes first
	if (r->type == UB_CTRL) {
		int32_t st = SpecialControl(req.u.ctrl, r->dev, answered);
		if (*answered)
			return st;
	}
	if (r->length) {
		SgRbr sg{dev_.otherend(), ktl::Span<const Rbr>(r->seg, r->nbuf)};
		Direction dir = r->in ? Direction::kFromDevice : Direction::kToDevice;
		// Zero copy where the controller takes any scatter-gather list
		// (bulk on xHCI); one contiguous buffer otherwise.
		bool sg_ok = r->type == UB_BULK && zero_copy_ && ub_sg_capable(r->dev);
		Status s = sg_ok ? pool_->Map(sg, dir, &r->mapping)
				 : pool_->MapStaged(sg, dir, &r->mapping);
		if (s.code() == -err::kAgain) {
			*stalled = true;
			return usbif::kStatusOk;
		}
		if (!s.ok())
			return usbif::kStatusInval;
		if (sg_ok) {
			Batch(r); // answered if it fails
			return usbif::kStatusOk;
		}
	}
	SubmitBatch();

	ub_xfer x{};
	x.type = r->type;
	x.endpoint = r->endpoint;
	x.in = r->in;
	x.short_not_ok = r->short_not_ok;
	ktl::MemCopy(x.setup, req.u.ctrl, sizeof(x.setup));
	if (r->length)
		x.buffer = r->mapping.lbr().buffer();
	x.length = r->length;
	x.interval = r->type == UB_INT	  ? req.u.intr.interval
		     : r->type == UB_ISOC ? req.u.isoc.interval
					  : 0;
	x.npackets = r->npackets;
	x.iso = r->iso;
	x.cookie = r;

	return Submit(r, &x);
}

// Submits the URB of lead's batch, with no lock held. It is published in
// the batch's requests under urb_lock_, where a disconnect or the device's
// release is seen too: either UnlinkAll() or ReleasePort() finds it there,
// or it is ended here.
int32_t Vusb::Submit(Request *lead, ub_xfer *x)
{
	ub_urb *u;
	bool gone;
	{
		SpinGuard g(urb_lock_);
		gone = stopping() || ports_[lead->port].dev != lead->dev;
	}
	if (gone)
		return usbif::kStatusNoDev;
	int rc = ub_urb_submit(lead->dev, x, &u);
	if (rc)
		return UsbifStatus(rc);
	{
		SpinGuard g(urb_lock_);
		for (Request *r = lead; r; r = r->batch_next)
			r->urb = u;
		gone = stopping() || ports_[lead->port].dev != lead->dev;
	}
	if (gone)
		ub_urb_unlink(u);
	return usbif::kStatusOk;
}

// Adds a mapped zero-copy bulk request to the pass's batch, which goes to
// the host first if merging the two would change what the device or the
// guest can tell.
void Vusb::Batch(Request *r)
{
	if (batch_) {
		Request *t = batch_tail_;
		unsigned mps = ub_bulk_maxpacket(r->dev, r->endpoint, r->in);
		bool joins = merge_ && t->dev == r->dev && t->endpoint == r->endpoint &&
			     t->in == r->in && mps && t->length % mps == 0 &&
			     (!r->in || t->short_not_ok);
		if (!joins)
			SubmitBatch();
	}
	if (batch_) {
		batch_tail_->batch_next = r;
		stats_[kMerged].Add();
	} else {
		batch_ = r;
	}
	batch_tail_ = r;
	if (!merge_)
		SubmitBatch();
}

// One host URB for the batch: the requests' pages end to end.
void Vusb::SubmitBatch()
{
	Request *lead = batch_;
	uint32_t nsg = 0, length = 0;
	bool short_not_ok = false;

	if (!lead)
		return;
	batch_ = batch_tail_ = nullptr;
	for (Request *r = lead; r; r = r->batch_next) {
		ktl::Span<const SgElement> sg = r->mapping.lbr().sg();
		for (const SgElement &e : sg)
			batch_sg_[nsg++] = {e.page, e.offset, e.length};
		length += r->length;
		short_not_ok |= r->short_not_ok;
		r->lead = lead;
	}
	ub_xfer x{};
	x.type = UB_BULK;
	x.endpoint = lead->endpoint;
	x.in = lead->in;
	x.short_not_ok = short_not_ok;
	x.sg = batch_sg_;
	x.nsg = nsg;
	x.length = length;
	x.cookie = lead;

	int32_t st = Submit(lead, &x);
	if (st == usbif::kStatusOk)
		return;
	for (Request *r = lead, *next; r; r = next) {
		next = r->batch_next;
		stats_[kRejected].Add();
		AnswerNow(r, st);
	}
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
			if (r.urb && !r.done.Load() && r.id == req.u.unlink.unlink_id &&
			    r.port == usbif::PipePort(req.pipe)) {
				ub_urb_unlink(r.urb);
				found = true;
			}
	}
	// Unlinks take no slot: one that names nothing costs like a refusal,
	// or a guest could keep the pass busy with them.
	if (!found)
		Rejected();
	Answer(req.id, usbif::kStatusOk);
}

void Vusb::Answer(uint16_t id, int32_t status, uint32_t actual, uint32_t start_frame,
		  uint32_t error_count)
{
	usbif::UrbResponse rsp{id, (uint16_t)start_frame, status, (int32_t)actual,
			       (int32_t)error_count};
	if (urb_.Respond(rsp))
		events().Notify();
}

// The URB's result, request by request: each one the transfer filled
// succeeded; the one where it stopped gets its status (a short packet is
// an error only where the guest asked so); any after it never reached the
// device and are answered as unlinked. All are marked done before the work
// may see one: the lead's answer frees the URB the others point to.
void Vusb::Finished(Request *lead, int status, uint32_t actual)
{
	bool ended = false;

	for (Request *r = lead; r; r = r->batch_next) {
		if (ended) {
			r->status = kErrConnReset;
			r->actual = 0;
		} else {
			r->actual = ktl::Min(actual, r->length);
			actual -= r->actual;
			if (r->batch_next && r->actual == r->length) {
				r->status = 0;
			} else {
				bool short_read = status == kErrRemoteIo ||
						  (status == 0 && r->actual < r->length);
				r->status = short_read && !r->short_not_ok ? 0 : status;
				ended = true;
			}
		}
		if (r != lead)
			r->error_count = r->start_frame = 0;
		r->done.Store(true);
	}
	for (Request *r = lead, *next; r; r = next) {
		next = r->batch_next; // r may be reused once answered
		Completed(r);
	}
}

// IN data to the guest, where the device put it: an iso packet's bytes sit
// at the packet's offset whatever the packets before it got. Runs of whole
// packets go in one copy; the gaps short packets leave are not copied (the
// staging buffer holds an earlier transfer's bytes there).
bool Vusb::CopyInData(Request *r)
{
	if (r->type != UB_ISOC)
		return pool_->CopyOut(&r->mapping, r->actual).ok();
	uint32_t start = 0, end = 0;
	for (uint32_t i = 0; i <= r->npackets; i++) {
		bool last = i == r->npackets;
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
// bytes the device produced, whatever the status), grants released, then
// the answers, with one event.
void Vusb::FinishCompleted()
{
	auto *fifo = static_cast<Request *>(TakeCompleted());
	uint32_t n = 0;

	if (!fifo)
		return;
	for (Request *r = fifo; r; r = static_cast<Request *>(r->next)) {
		r->actual = ktl::Min(r->actual, r->length);
		if (r->in && r->actual && !CopyInData(r))
			r->status = -22;
		if (r->type == UB_ISOC && CopyIso(r, true))
			r->status = -22;
		ub_urb *u;
		{
			SpinGuard g(urb_lock_); // against UnlinkAll() and ReleasePort()
			u = r->urb;
			r->urb = nullptr;
		}
		if (r->lead == r)
			ub_urb_free(u);
		ub_dev_put(r->dev);
		if (r->mapping.mapped())
			finishing_[n++] = &r->mapping;
		if (r->status)
			stats_[kFailed].Add();
		XI_DEBUG("%s: urb %u done (%d), %u bytes", dev_.nodename(), r->id, r->status,
			 r->actual);
		stats_[r->in ? kBytesIn : kBytesOut].Add(r->in ? r->actual : r->length);
	}
	pool_->UnmapBatch(ktl::Span<Mapping *const>(finishing_, n));
	bool notify = urb_.RespondBatch([&](auto put) {
		for (Request *r = fifo; r; r = static_cast<Request *>(r->next))
			put({r->id, (uint16_t)r->start_frame, UsbifStatus(r->status),
			     (int32_t)r->actual, (int32_t)r->error_count});
	});
	if (notify)
		events().Notify();
	PutSlots(fifo);
}

} // namespace usbback

extern "C" void ub_urb_done(void *cookie, int status, uint32_t actual_length, uint32_t error_count,
			    uint32_t start_frame)
{
	auto *r = static_cast<usbback::Request *>(cookie);

	r->error_count = error_count;
	r->start_frame = start_frame;
	r->vusb->Finished(r, status, actual_length);
}
