// SPDX-License-Identifier: GPL-2.0-only
//
// blkback2's rings: requests in, bios out. See io.h for the stages.
#include <xenidc/grant_copy.h>

#include "io.h"

namespace blkback2 {

namespace {

constexpr uint32_t kSectorSize = 1u << blkif::kSectorShift;
// One discard bio covers at most this many sectors (bi_size is 32-bit).
constexpr uint64_t kMaxDiscardSectors = 1ull << 22;

static_assert(sizeof(SgElement) == sizeof(bb2_vec) &&
		      __builtin_offsetof(SgElement, page) == __builtin_offsetof(bb2_vec, page) &&
		      __builtin_offsetof(SgElement, offset) ==
			      __builtin_offsetof(bb2_vec, offset) &&
		      __builtin_offsetof(SgElement, length) == __builtin_offsetof(bb2_vec, len),
	      "a mapped SG list is passed to bb2_submit as is");

} // namespace

Result<Ring *> Ring::Create(Vbd *vbd, unsigned index, const Config &c)
{
	void *mem = xi_zalloc(sizeof(Ring));
	if (!mem)
		return Status::Error(err::kNoMem);
	Ring *r = new (mem) Ring();
	r->vbd_ = vbd;
	r->index_ = index;
	Status s = r->Open(c);
	if (!s.ok()) {
		Free(r); // Start() is Open's last step: nothing runs
		return s;
	}
	return r;
}

// Sizes the ring's state for what the frontend negotiated; what holds its
// requests is made as they come (RequestStore, the pool's frames).
Status Ring::Open(const Config &c)
{
	abi_ = c.abi;
	size_t entry = abi_ == blkif::Abi::kX86_32 ? BackRing<blkif::ProtoX86_32>::kEntrySize
						   : BackRing<blkif::ProtoX86_64>::kEntrySize;
	entries_ = RingEntries(c.nr_pages * XI_PAGE_SIZE, entry);
	max_segs_ = ktl::Max(bb2_limits.max_indirect_segments, blkif::kMaxSegments);
	finishing_ = ktl::AllocArray<Mapping *>(entries_);
	if (!finishing_)
		return Status::Error(err::kNoMem);
	XI_TRY(store_.Init(this, entries_, max_segs_, vbd_->budget()));
	indirect_.Init(ktl::Span<SgElement>(indirect_sg_, blkif::kMaxIndirectPages),
		       ktl::Span<MappedElem>(indirect_elems_, blkif::kMaxIndirectPages));

	RbrMapperPool::Config pc;
	pc.frames = ktl::Max(bb2_limits.pool_frames, max_segs_);
	pc.max_elems = max_segs_;
	pc.persistent_max = c.persistent ? ktl::Min(bb2_limits.max_persistent, pc.frames) : 0;
	pc.budget = vbd_->budget();
	pc.budget_cap = (uint64_t)bb2_limits.max_guest_mib << 20;
	auto pool = RbrMapperPool::Create(pc);
	if (!pool.ok())
		return pool.status();
	pool_ = pool.value();
	pool_->SetPersistent(c.persistent);

	xi_xendev *x = vbd_->device().xendev();
	Status s = Status::Ok();
	WithRing([&](auto &ring) {
		s = ring.Map(x, ktl::Span<const GrantRef>(c.refs, c.nr_pages));
	});
	if (s.ok())
		s = Start(x, c.evtchn, "blkback2", &Ring::Pass);
	if (!s.ok())
		xi_log(XI_LOG_ERR, "%s: ring %u: cannot connect (%d)", vbd_->device().nodename(),
		       index_, s.code());
	return s;
}

bool Ring::BeginDestroy(Ring *r)
{
	if (r->BeginStop(&Ring::Stopped))
		return true;
	Free(r);
	return false;
}

// Every request in flight answered, the channel closed: in the ring's stop
// work.
void Ring::Stopped(BackendDevice *self)
{
	auto *r = static_cast<Ring *>(self);
	Vbd *v = r->vbd_;

	Free(r);
	v->RingGone();
}

void Ring::Free(Ring *r)
{
	r->ring32_.Unmap();
	r->ring64_.Unmap();
	RbrMapperPool::Destroy(r->pool_);
	r->store_.Release();
	xi_free(r->finishing_);
	r->~Ring();
	xi_free(r);
}

void Ring::Pass(BackendDevice *self)
{
	auto *r = static_cast<Ring *>(self);

	r->look_after_.Store(0); // what completes during the pass goes out at its end
	// the writable parameters, as they are for this pass
	r->coalesce_us_ = ktl::ReadOnce(bb2_limits.coalesce_us);
	r->pool_->SetMapBatch(ktl::ReadOnce(bb2_limits.map_batch));
	r->WithRing([](auto &ring) { ring.HoldResponses(); });
	r->FinishCompleted();
	r->consumed_ = 0;
	r->pass_segs_ = 0;
	r->outcome_ = Outcome::kIdle;
	if (!r->stopping() && !r->broken_) {
		r->vbd_->CheckSize();
		bb2_plugged(&Ring::ConsumePlugged, r);
	}
	r->FinishPass();
	if (r->consumed_)
		r->vbd_->MaybeLogStats(xi_now_ns());
	r->MaybeTrim();
}

// A ring gives back what it no longer uses (indirect arrays, frames, then
// each persistent grant once unused for persistent_grant_unused_seconds)
// this long after it last took a request, once idle. If it is busy then,
// the answers that end the business wake its work (even those answered
// from their completion), so the trim is not missed. One timer per ring,
// none on a ring that holds nothing.
constexpr uint64_t kTrimDelayNs = 10ull * 1000000000;

void Ring::MaybeTrim()
{
	uint64_t now = xi_now_ns();
	bool holds = pool_->live_frames() || store_.held();

	if (stopping())
		return;
	if (squeeze_.Exchange(false)) { // what is free goes now; grants stay
		store_.Trim();
		pool_->Trim(0);
		holds = pool_->live_frames() || store_.held();
	}
	if (consumed_ && holds)
		trim_at_ = now + kTrimDelayNs;
	if (in_flight() || polling_) {
		if (trim_at_ && now >= trim_at_)
			trim_at_ = 0;
		if (!trim_at_ && holds)
			wake_on_answer_.Store(true);
	} else if (holds && !trim_at_) {
		trim_at_ = now + kTrimDelayNs;
	} else if (trim_at_ && now >= trim_at_) {
		store_.Trim();
		uint64_t idle = (uint64_t)ktl::ReadOnce(bb2_limits.persistent_idle_s) * 1000000000;
		uint64_t next = pool_->Trim(idle);
		trim_at_ = next ? now + ktl::Max<uint64_t>(next, 1000000000) : 0;
	}
	if (trim_at_)
		events().KickAfter((uint32_t)((trim_at_ - now) / 1000));
}

// Coalescing waits only while the frontend has at least this many requests
// out. With fewer it is waiting on these answers (queue depth 1), and
// holding them would add latency and save nothing. (A 1 MiB read is about
// eight blkif requests, so even fio's QD4 1 MiB job is deep here.)
constexpr uint32_t kCoalesceDepth = 4;
// A polling ring is looked at again once a quarter of the requests it had
// in flight are answered, or once the frontend queued a quarter of the
// requests it has out anew, if that comes before coalesce_us: the looks
// follow the device and the frontend (a QD4 frontend's next request kicks
// at once), and coalesce_us bounds the wait of a device that stalls.
constexpr uint32_t kLookShare = 4;
// ... and only while a pass's requests average at most this many segments
// (16 KiB): an event costs about what a small request does, while a large
// one's transfer dwarfs it and its frontend sends several per kick anyway.
constexpr uint32_t kSmallSegs = 4;

// Publishes the pass's answers, with at most one event. With coalesce_us,
// while the frontend keeps small requests coming, has kCoalesceDepth or
// more out and the device has some of them in flight, the ring is polled:
// its kicks are off, answers are held between looks, and each look takes
// the new requests and publishes what was held with one event. The first
// look of a burst keeps its answers for the next. With nothing in flight
// nothing would end the wait but the frontend's next requests, which a
// frontend waiting on these answers never sends (a disk that completes as
// it is submitted): the answers go out now and the burst ends, as it does
// for large requests, a shallow ring, or coalesce_us switched to 0 (it is
// read at each pass).
void Ring::FinishPass()
{
	// the pass took all there was, and the ring goes on
	bool usable = !stopping() && !broken_ && outcome_ == Outcome::kIdle;
	uint32_t depth = 0;

	// What completed during the pass: in_flight() is then the device's. Not
	// after a stall, which a completion ends by kicking (taking them here
	// would clear that wait).
	if (usable)
		FinishCompleted();
	bool poll = usable && coalesce_us_ && in_flight() && pass_segs_ <= consumed_ * kSmallSegs;

	if (polling_)
		Publish();
	if (poll) {
		WithRing([&](auto &ring) { depth = ring.FrontendDepth(); });
		poll = depth >= kCoalesceDepth;
	}
	if (!poll && !polling_)
		Publish();
	if (poll) {
		bool more = false;
		if (polling_)
			WithRing([](auto &ring) { ring.HoldResponses(); });
		else
			vbd_->Count(kBursts);
		vbd_->Count(kLooks);
		polling_ = true;
		waiting_answers_.Store(0);
		look_after_.Store(ktl::Max(in_flight() / kLookShare, 1u));
		WithRing([&](auto &ring) {
			more = ring.ArmEventAfter(ktl::Max(depth / kLookShare, 1u));
		});
		if (more)
			events().Kick();
		else
			events().KickAfter(coalesce_us_);
	} else if (usable && (coalesce_us_ || polling_)) {
		bool more = false;
		polling_ = false;
		WithRing([&](auto &ring) { more = ring.ArmEvent(); });
		if (more)
			events().Kick();
	}
}

void Ring::Publish()
{
	WithRing([this](auto &ring) {
		if (ring.ReleaseResponses())
			events().Notify();
	});
}

void Ring::ConsumePlugged(void *arg)
{
	static_cast<Ring *>(arg)->Consume();
}

void Ring::Consume()
{
	if (!BeginPass()) {
		outcome_ = Outcome::kStalled; // waits for its refusals: no look now
		return;
	}
	WithRing([this](auto &ring) {
		unsigned n;
		Outcome o = ring.Consume(
			ktl::ReadOnce(bb2_limits.batch),
			[this](const blkif::Request &r) { return Handle(r); }, &n,
			coalesce_us_ ? WhenEmpty::kPoll : WhenEmpty::kArmEvent);
		EndPass(o, n);
		consumed_ += n;
		outcome_ = o;
		if (o == Outcome::kBroken) {
			broken_ = true;
			vbd_->RingBroken();
		}
	});
}

// One request from the ring. false: out of resources, offer it again later.
bool Ring::Handle(const blkif::Request &r)
{
	// A barrier orders after everything in flight: wait until it drained.
	if (r.operation == blkif::kOpWriteBarrier && in_flight() > 0)
		return false;
	auto *q = static_cast<Request *>(TakeSlot());
	for (Request *more = q ? nullptr : store_.MoreSlots(), *next; more; more = next) {
		next = static_cast<Request *>(more->next);
		PutSlot(more);
	}
	if (!q)
		q = static_cast<Request *>(TakeSlot());
	if (!q) {
		vbd_->Count(kOoReq);
		return false;
	}
	if (!store_.Arrange(q, r.operation == blkif::kOpIndirect)) {
		// No memory for its arrays now: wait for another in flight to
		// give some back, or fail it if none is (the budget is spent).
		vbd_->Count(kOoReq);
		bool wait = in_flight() > 1;
		if (!wait) {
			q->id = r.id;
			q->op = r.indirect_op; // only indirect requests get here
			Answer(q, blkif::kRspError);
			xi_log_ratelimited(XI_LOG_WARN, "%s: no memory for request %llu",
					   vbd_->device().nodename(), (unsigned long long)r.id);
		}
		PutSlot(q);
		Drop();
		return !wait;
	}
	const char *why = nullptr;
	bb2_trace(BB2_RECEIVED, vbd_->device().nodename(), index_, r.id, r.operation, r.sector,
		  r.nr_segments);
	int16_t st = Prepare(r, q, &why);
	if (st != blkif::kRspOkay) {
		Reject(q, st, why);
		return true;
	}
	if (q->nseg) {
		Direction dir = q->kind == Kind::kRead ? Direction::kFromDevice
						       : Direction::kToDevice;
		Status s = pool_->Map(
			SgRbr{vbd_->device().otherend(), ktl::Span<const Rbr>(q->seg, q->nseg)},
			dir, &q->mapping);
		// The pool is full: wait for completions, unless nothing is in
		// flight to give frames back (then this request can never fit).
		if (s.code() == -err::kAgain && in_flight() > 1) {
			vbd_->Count(kOoReq);
			Release(q);
			return false;
		}
		if (!s.ok()) {
			Reject(q, blkif::kRspError, "its grants do not map");
			return true;
		}
		Trace(BB2_MAPPED, q, q->nseg);
	}
	pass_segs_ += q->nseg;
	Submit(q);
	return true;
}

// Answers a request the frontend should not have sent, and counts it: in
// statistics/rejected, in the log (rate-limited), and against its ring.
void Ring::Reject(Request *q, int16_t status, const char *why)
{
	vbd_->Count(kRejected);
	Rejected();
	xi_log_ratelimited(XI_LOG_WARN, "%s: request %llu op %u refused: %s",
			   vbd_->device().nodename(), (unsigned long long)q->id, q->op, why);
	bb2_trace_rejected(vbd_->device().nodename(), index_, q->id, q->op, status, why);
	Answer(q, status);
	Release(q);
}

// A request taken and answered (or to be offered again): its slot back.
void Ring::Release(Request *q)
{
	store_.Return(q);
	PutSlot(q);
	Drop();
}

// Validates the private copy into q. Returns the status to answer with at
// once if the request is invalid (*why says why), kRspOkay if it goes to
// the device.
int16_t Ring::Prepare(const blkif::Request &r, Request *q, const char **why)
{
	const bb2_info &info = vbd_->info();
	auto refuse = [why](const char *w, int16_t st = blkif::kRspError) {
		*why = w;
		return st;
	};

	q->id = r.id;
	q->op = r.operation;
	q->sector = r.sector;
	q->nr_sectors = 0;
	q->nseg = 0;
	q->secure = false;
	q->answered = false;
	q->pending.Store(0);
	q->error.Store(0);
	switch (r.operation) {
	case blkif::kOpRead:
		q->kind = Kind::kRead;
		break;
	case blkif::kOpWrite:
		q->kind = Kind::kWrite;
		break;
	case blkif::kOpFlushDiskcache:
		q->kind = Kind::kFlush;
		break;
	case blkif::kOpWriteBarrier:
		q->kind = Kind::kBarrier;
		break;
	case blkif::kOpIndirect:
		if (r.indirect_op != blkif::kOpRead && r.indirect_op != blkif::kOpWrite)
			return refuse("an indirect request neither reads nor writes");
		q->op = r.indirect_op; // the response carries the inner op
		q->kind = r.indirect_op == blkif::kOpRead ? Kind::kRead : Kind::kWrite;
		break;
	case blkif::kOpDiscard:
		q->kind = Kind::kDiscard;
		q->nr_sectors = r.nr_sectors;
		q->secure = (r.discard_flag & blkif::kDiscardSecure) && info.secure_erase;
		if (!vbd_->discard_enabled())
			return refuse("discard is not offered", blkif::kRspEopnotsupp);
		break;
	default:
		return refuse("unknown operation", blkif::kRspEopnotsupp);
	}
	if (q->kind != Kind::kRead && info.readonly)
		return refuse("the device is read-only");
	if (q->kind != Kind::kDiscard) {
		int16_t st = PrepareSegments(r, q, why);
		if (st != blkif::kRspOkay)
			return st;
	}
	uint64_t size = bb2_backing_sectors(vbd_->backing());
	if (q->nr_sectors && (q->sector > size || q->nr_sectors > size - q->sector))
		return refuse("beyond the end of the device");
	uint32_t lbs_mask = info.logical_block_size / kSectorSize - 1;
	if (q->nr_sectors && ((q->sector | q->nr_sectors) & lbs_mask))
		return refuse("not aligned to the device's logical blocks");
	return blkif::kRspOkay;
}

int16_t Ring::PrepareSegments(const blkif::Request &r, Request *q, const char **why)
{
	const blkif::Segment *src = r.seg;
	uint32_t n = r.nr_segments;
	uint32_t lbs_mask = vbd_->info().logical_block_size / kSectorSize - 1;

	if (r.operation == blkif::kOpIndirect) {
		if (n == 0 || n > max_segs_) {
			*why = "bad indirect segment count";
			return blkif::kRspError;
		}
		q->nseg = n;
		if (!CopyIndirect(r, q)) {
			*why = "its indirect descriptors cannot be read";
			return blkif::kRspError;
		}
		src = q->desc;
	} else if (n > blkif::kMaxSegments ||
		   (n == 0 && q->kind != Kind::kFlush && q->kind != Kind::kBarrier)) {
		*why = "bad segment count";
		return blkif::kRspError;
	}
	q->nseg = n;
	for (uint32_t i = 0; i < n; i++) {
		blkif::Segment s = src[i];
		uint32_t nsec = s.last_sect - s.first_sect + 1;
		if (s.last_sect >= blkif::kSectorsPerPage || s.first_sect > s.last_sect ||
		    (nsec & lbs_mask)) {
			*why = "a segment's sectors are out of its page, or misaligned";
			return blkif::kRspError;
		}
		q->seg[i] = {GrantRef(s.gref), (uint16_t)(s.first_sect * kSectorSize),
			     (uint16_t)(nsec * kSectorSize)};
		q->nr_sectors += nsec;
	}
	return blkif::kRspOkay;
}

// The descriptors of an indirect request, copied out of the guest's pages
// once (no double fetch). With persistent grants the frontend reuses its
// indirect pages like its data pages, so they are read through the pool's
// cache: no hypercall once mapped, where a grant copy costs one per request.
// Without, or if they do not map, a grant copy.
bool Ring::CopyIndirect(const blkif::Request &r, Request *q)
{
	Rbr pages[blkif::kMaxIndirectPages];
	uint32_t bytes = q->nseg * sizeof(blkif::Segment);
	uint32_t n = (bytes + XI_PAGE_SIZE - 1) / XI_PAGE_SIZE;

	if (n > blkif::kMaxIndirectPages)
		return false;
	for (uint32_t p = 0; p < n; p++)
		pages[p] = {GrantRef(r.indirect_grefs[p]), 0,
			    (uint16_t)ktl::Min<uint32_t>(bytes - p * XI_PAGE_SIZE, XI_PAGE_SIZE)};
	SgRbr sg{vbd_->device().otherend(), ktl::Span<const Rbr>(pages, n)};
	if (pool_->persistent() && pool_->Map(sg, Direction::kToDevice, &indirect_).ok()) {
		auto *to = reinterpret_cast<uint8_t *>(q->desc);
		for (const SgElement &e : indirect_.lbr().sg()) {
			ktl::MemCopy(to, static_cast<uint8_t *>(xi_page_address(e.page)) + e.offset,
				     e.length);
			to += e.length;
		}
		pool_->Unmap(&indirect_);
		return true;
	}
	return GrantCopy(sg, q->desc, bytes, false).ok();
}

// The statistics xen-blkback keeps, for a request going to the device.
void Ring::CountSubmitted(const Request *q)
{
	switch (q->kind) {
	case Kind::kRead:
		vbd_->Count(kRdReq);
		vbd_->Count(kRdSect, q->nr_sectors);
		break;
	case Kind::kWrite:
		vbd_->Count(kWrReq);
		vbd_->Count(kWrSect, q->nr_sectors);
		break;
	case Kind::kFlush:
	case Kind::kBarrier:
		vbd_->Count(kFReq);
		vbd_->Count(kWrSect, q->nr_sectors);
		break;
	case Kind::kDiscard:
		vbd_->Count(kDsReq);
		break;
	}
}

// A discard (or secure erase) as bios of at most kMaxDiscardSectors.
void Ring::SubmitDiscard(Request *q)
{
	uint64_t nbios = (q->nr_sectors + kMaxDiscardSectors - 1) / kMaxDiscardSectors;
	uint64_t sector = q->sector, left = q->nr_sectors;

	Trace(BB2_SUBMITTED, q, (int)nbios);
	if (nbios == 0) { // nothing to discard: answer at once
		q->pending.Store(1);
		bb2_io_done(q, 0);
		return;
	}
	q->pending.Store((int32_t)nbios);
	// After the last submit, q may already be answered: locals only.
	for (uint64_t i = 0; i < nbios; i++) {
		uint64_t n = ktl::Min(left, kMaxDiscardSectors);
		bb2_submit(vbd_->backing(), q->secure ? BB2_SECURE_ERASE : BB2_DISCARD, 0, sector,
			   n, nullptr, 0, q);
		sector += n;
		left -= n;
	}
}

void Ring::Submit(Request *q)
{
	bb2_backing *b = vbd_->backing();

	XI_DEBUG("%s: request %llu op %u sector %llu+%u, %u segments", vbd_->device().nodename(),
		 (unsigned long long)q->id, q->op, (unsigned long long)q->sector,
		 (unsigned)q->nr_sectors, q->nseg);
	CountSubmitted(q);
	if (q->kind == Kind::kDiscard) {
		SubmitDiscard(q);
		return;
	}
	// Flush and barrier: earlier writes durable first, this one durable
	// when it completes.
	bool ordered = q->kind == Kind::kFlush || q->kind == Kind::kBarrier;
	enum bb2_op op = q->kind == Kind::kRead ? BB2_READ : BB2_WRITE;
	if (q->nseg == 0) {
		Trace(BB2_SUBMITTED, q, 1);
		q->pending.Store(1);
		bb2_submit(b, BB2_WRITE, BB2_PREFLUSH, q->sector, 0, nullptr, 0, q);
		return;
	}
	auto sg = q->mapping.lbr().sg();
	const auto *vecs = reinterpret_cast<const bb2_vec *>(sg.data());
	uint32_t per_bio = bb2_max_bio_vecs(b);
	uint32_t nseg = q->nseg, nbios = (nseg + per_bio - 1) / per_bio;
	uint64_t sector = q->sector;
	Trace(BB2_SUBMITTED, q, (int)nbios);
	q->pending.Store((int32_t)nbios);
	// After the last submit, q may already be answered: locals only.
	for (uint32_t i = 0, first = 0; i < nbios; i++, first += per_bio) {
		uint32_t n = ktl::Min(per_bio, nseg - first);
		uint64_t bytes = 0;
		unsigned flags = ordered ? (BB2_FUA | (i == 0 ? BB2_PREFLUSH : 0)) : 0;
		for (uint32_t k = 0; k < n; k++)
			bytes += vecs[first + k].len;
		bb2_submit(b, op, flags, sector, 0, vecs + first, n, q);
		sector += bytes / kSectorSize;
	}
}

int16_t Ring::ResponseStatus(const Request *q)
{
	int32_t e = q->error.Load();

	if (e == 0)
		return blkif::kRspOkay;
	vbd_->Count(kErrors);
	if (e != -err::kOpNotSupp)
		return blkif::kRspError;
	// The device cannot flush, order or discard: say so, and stop
	// advertising it, as xen-blkfront expects.
	if (q->kind == Kind::kFlush)
		vbd_->Withdraw("feature-flush-cache");
	else if (q->kind == Kind::kBarrier)
		vbd_->Withdraw("feature-barrier");
	return q->kind == Kind::kFlush || q->kind == Kind::kBarrier || q->kind == Kind::kDiscard
		       ? blkif::kRspEopnotsupp
		       : blkif::kRspError;
}

void Ring::Trace(bb2_stage stage, const Request *q, int val) const
{
	bb2_trace(stage, vbd_->device().nodename(), index_, q->id, q->op, q->sector, val);
}

void Ring::Answer(const Request *q, int16_t status)
{
	Trace(BB2_ANSWERED, q, status);
	WithRing([&](auto &ring) { Respond(ring, {q->id, q->op, status}); });
}

// In the completion context of q's last bio. A request that succeeded and
// has no grant to unmap first (none, or all persistent) is answered here,
// as soon as the device is done, and the work releases its mapping and slot
// on its next pass (at queue depth 1: the pass that takes the guest's next
// request), so such a request costs one wakeup of the work instead of two.
void Ring::Finished(Request *q)
{
	Trace(BB2_COMPLETED, q, q->error.Load());
	if (q->error.Load() == 0 && q->mapping.AnswerableBeforeUnmap()) {
		uint32_t after = look_after_.Load();

		q->status = blkif::kRspOkay;
		q->answered = true;
		Answer(q, q->status);
		// Coalescing: enough answers wait to look at the ring now; or an
		// idle trim waits for the ring to go idle.
		bool wake = (after && waiting_answers_.FetchAdd(1) + 1 == after) ||
			    (wake_on_answer_.Load() && wake_on_answer_.Exchange(false));
		Answered(q, wake);
		return;
	}
	Completed(q);
}

// Releases every request whose bios all completed and answers those not
// answered yet: one unmap batch, then one response batch and at most one
// event.
void Ring::FinishCompleted()
{
	auto *fifo = static_cast<Request *>(TakeCompleted());
	uint32_t n = 0;

	if (!fifo)
		return;
	for (Request *q = fifo; q; q = static_cast<Request *>(q->next)) {
		if (!q->answered)
			q->status = ResponseStatus(q); // may write xenstore: no lock held
		XI_DEBUG("%s: request %llu answered %d (%d)", vbd_->device().nodename(),
			 (unsigned long long)q->id, q->status, q->error.Load());
		if (q->mapping.mapped())
			finishing_[n++] = &q->mapping;
	}
	// Grants are unmapped before the guest hears the request is done.
	pool_->UnmapBatch(ktl::Span<Mapping *const>(finishing_, n));
	WithRing([&](auto &ring) {
		RespondBatch(ring, [&](auto put) {
			for (Request *q = fifo; q; q = static_cast<Request *>(q->next))
				if (!q->answered) {
					Trace(BB2_ANSWERED, q, q->status);
					put({q->id, q->op, q->status});
				}
		});
	});
	for (Request *q = fifo; q; q = static_cast<Request *>(q->next))
		store_.Return(q);
	PutSlots(fifo);
}

} // namespace blkback2

extern "C" void bb2_io_done(void *cookie, int err)
{
	auto *q = static_cast<blkback2::Request *>(cookie);
	int32_t none = 0;

	if (err)
		q->error.CompareExchange(none, err); // the first error sticks
	if (q->pending.FetchSub(1) == 1)
		q->ring->Finished(q);
}
