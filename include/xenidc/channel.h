// SPDX-License-Identifier: GPL-2.0-only
//
// Channels: shared rings plus the event channel that signals them.
//
//   EventWorker   one event channel and the work it wakes, with late EOI
//   MappedRing<P> one shared ring of protocol P, mapped from the frontend
//   Channel<P>    the usual pairing: one ring, one event channel
//
//   Channel<blkif::ProtoX86_64> ch;
//   XI_TRY(ch.Open(params, &RingWork, this));   // RingWork calls ch.Consume()
//   ch.Consume(budget, [&](const Request &r) { return Handle(r); });
//   ch.Respond(rsp);                             // any context
//   ch.Close();
//
// usbif has two rings behind one event channel; it uses an EventWorker and
// two MappedRings directly.
//
// Events: the interrupt only queues the work. The work consumes a bounded
// batch (fairness between devices), re-checks the ring before going idle so
// no request is missed, and only then acknowledges the event (late EOI): a
// frontend that floods events gets them throttled as spurious (XSA-332).
#ifndef XENIDC_CHANNEL_H
#define XENIDC_CHANNEL_H

#include <xenidc/lock.h>
#include <xenidc/ring.h>
#include <xenidc/status.h>
#include <xenidc/strong.h>

namespace xenidc {

// The most ring pages a frontend may offer (XENBUS_MAX_RING_GRANTS).
constexpr unsigned kMaxRingPages = 16;

// How a pass over a ring ended.
enum class Outcome {
	kIdle,	  // ring empty (after the final re-check)
	kBusy,	  // budget used up, more requests wait
	kStalled, // out of resources or response slots: Kick() once some free
	kBroken,  // hostile producer index: disconnect the device
};

// What a pass does when the ring runs dry: ask for an event at the
// frontend's next request (the protocol's way), or leave its events off
// because the backend looks at the ring again by itself (KickAfter).
enum class WhenEmpty { kArmEvent, kPoll };

class EventWorker {
public:
	EventWorker() = default;
	EventWorker(const EventWorker &) = delete;
	EventWorker &operator=(const EventWorker &) = delete;
	~EventWorker() { XI_WARN_ON(evtchn_ != nullptr || work_ != nullptr); }

	// Creates the work, then binds the event channel (so no event arrives
	// before the work exists). On error nothing is left.
	Status Open(xi_xendev *dev, unsigned port, xi_work_fn work, void *arg, const char *name)
		XI_EXPORT(xi_event_worker_open);
	// Unbinds, then waits for a running work and drops a queued one.
	void Close() XI_EXPORT(xi_event_worker_close);
	bool open() const { return evtchn_ != nullptr; }

	// Runs the work (again) soon. Any context.
	void Kick() { xi_work_queue(work_); }
	// From the work: runs it again in usecs. Not once Close() began.
	void KickAfter(unsigned usecs)
	{
		if (ready_.Load())
			xi_work_queue_after(work_, usecs);
	}
	// Wakes the frontend.
	void Notify() { xi_evtchn_notify(evtchn_); }

	// Bracket one pass of the work. EndPass requeues a busy pass and
	// acknowledges the event once the rings went idle, flagged spurious if
	// no pass since the previous acknowledgement found a request.
	void BeginPass() XI_EXPORT(xi_event_worker_begin_pass);
	void EndPass(Outcome o, unsigned consumed) XI_EXPORT(xi_event_worker_end_pass);

	uint64_t events() const { return events_.Get(); }
	uint64_t spurious_events() const { return spurious_.Get(); }

private:
	static void OnEvent(void *arg);

	xi_work *work_ = nullptr;
	xi_evtchn *evtchn_ = nullptr;
	// An event can fire inside xi_evtchn_bind(), before evtchn_ is known:
	// the work only runs once ready_ is set.
	ktl::Atomic<bool> ready_;
	ktl::Atomic<bool> event_pending_;
	bool eoi_owed_ = false; // only the work touches these two
	bool found_work_ = false;
	ktl::Counter events_;
	ktl::Counter spurious_;
};

// Maps and unmaps the pages of one shared ring.
class RingMapping {
public:
	RingMapping() = default;
	RingMapping(const RingMapping &) = delete;
	RingMapping &operator=(const RingMapping &) = delete;
	~RingMapping() { XI_WARN_ON(addr_ != nullptr); }

	Status Map(xi_xendev *dev, ktl::Span<const GrantRef> refs) XI_EXPORT(xi_ring_mapping_map);
	void Unmap() XI_EXPORT(xi_ring_mapping_unmap);
	void *addr() const { return addr_; }
	size_t bytes() const { return bytes_; }

private:
	xi_xendev *dev_ = nullptr;
	void *addr_ = nullptr;
	size_t bytes_ = 0;
};

template <class Proto> class MappedRing {
public:
	using Request = typename Proto::Request;
	using Response = typename Proto::Response;

	Status Map(xi_xendev *dev, ktl::Span<const GrantRef> refs)
	{
		XI_TRY(mapping_.Map(dev, refs));
		ring_.Attach(mapping_.addr(), mapping_.bytes());
		has_stalled_ = false;
		return Status::Ok();
	}
	void Unmap()
	{
		ring_.Detach();
		mapping_.Unmap();
	}
	bool mapped() const { return ring_.attached(); }

	// From the work only. handle(const Request &) returns true when it took
	// the request (answered it, or will) and false when it is out of
	// resources: the request is kept and offered first next time.
	template <class Handler>
	Outcome Consume(unsigned budget, Handler &&handle, unsigned *n,
			WhenEmpty when = WhenEmpty::kArmEvent)
	{
		*n = 0;
		if (has_stalled_) {
			if (!handle(static_cast<const Request &>(current_)))
				return Outcome::kStalled;
			has_stalled_ = false;
		}
		while (*n < budget) {
			switch (ring_.PopRequest(&current_)) {
			case BackRing<Proto>::Pop::kBroken:
				return Outcome::kBroken;
			case BackRing<Proto>::Pop::kFull:
				return Outcome::kStalled;
			case BackRing<Proto>::Pop::kEmpty:
				if (when == WhenEmpty::kArmEvent && ring_.FinalCheckForRequests())
					continue;
				return ring_.broken() ? Outcome::kBroken : Outcome::kIdle;
			case BackRing<Proto>::Pop::kRequest:
				++*n;
				if (!handle(static_cast<const Request &>(current_))) {
					has_stalled_ = true;
					return Outcome::kStalled;
				}
			}
		}
		return Outcome::kBusy;
	}

	// Answers several requests with one publish; true if the frontend
	// wants an event. Any context.
	template <class Fn> bool RespondBatch(Fn &&fill)
	{
		SpinGuard g(rsp_lock_);
		fill([this](const Response &r) { ring_.PutResponse(r); });
		return !held_ && ring_.PushResponses();
	}
	// From the work, around a pass: responses written meanwhile (by a
	// device that completes as the pass submits) are published together
	// when it ends, so a frontend that consumes while the pass runs takes
	// one event for them, not one per response. Release returns true if
	// the frontend wants that event.
	void HoldResponses()
	{
		SpinGuard g(rsp_lock_);
		held_ = true;
	}
	bool ReleaseResponses()
	{
		SpinGuard g(rsp_lock_);
		held_ = false;
		return ring_.PushResponses();
	}
	bool Respond(const Response &r)
	{
		return RespondBatch([&](auto put) { put(r); });
	}
	// From the work, after passes with WhenEmpty::kPoll: asks for an event
	// at the next request; true if requests came meanwhile (take them).
	bool ArmEvent() { return ring_.FinalCheckForRequests(); }
	// ... or at the nth request from now, while polling.
	bool ArmEventAfter(uint32_t n) { return ring_.ArmEventAfter(n); }
	uint32_t FrontendDepth() const { return ring_.FrontendDepth(); }
	uint32_t UnreadResponses() const { return ring_.UnreadResponses(); }

	BackRing<Proto> &ring() { return ring_; }

private:
	RingMapping mapping_;
	BackRing<Proto> ring_;
	SpinLock rsp_lock_{XI_LOCK_CLASS("MappedRing::rsp_lock_")};
	bool held_ XI_GUARDED_BY(rsp_lock_) = false;
	Request current_; // the request being handled; kept if it stalls
	bool has_stalled_ = false;
};

template <class Proto> class Channel {
public:
	using Request = typename Proto::Request;
	using Response = typename Proto::Response;

	struct Params {
		xi_xendev *dev = nullptr;
		ktl::Span<const GrantRef> ring_refs;
		unsigned int evtchn = 0;
		const char *name = ""; // for /proc/interrupts
	};

	~Channel() { Close(); }

	Status Open(const Params &p, xi_work_fn work, void *arg)
	{
		XI_TRY(ring_.Map(p.dev, p.ring_refs));
		Status s = events_.Open(p.dev, p.evtchn, work, arg, p.name);
		if (!s.ok())
			ring_.Unmap();
		return s;
	}

	// No new events, no work left running, then the ring goes. Idempotent.
	void Close()
	{
		events_.Close();
		ring_.Unmap();
	}
	bool open() const { return events_.open(); }

	template <class Handler> Outcome Consume(unsigned budget, Handler &&handle)
	{
		unsigned n;
		events_.BeginPass();
		Outcome o = ring_.Consume(budget, handle, &n);
		events_.EndPass(o, n);
		return o;
	}

	void Respond(const Response &r)
	{
		if (ring_.Respond(r))
			events_.Notify();
	}
	template <class Fn> void RespondBatch(Fn &&fill)
	{
		if (ring_.RespondBatch(fill))
			events_.Notify();
	}

	void Kick() { events_.Kick(); }
	EventWorker &events() { return events_; }
	BackRing<Proto> &ring() { return ring_.ring(); }

private:
	MappedRing<Proto> ring_;
	EventWorker events_;
};

} // namespace xenidc

#endif // XENIDC_CHANNEL_H
