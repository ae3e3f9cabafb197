// SPDX-License-Identifier: GPL-2.0-only
//
// Channel<Proto>: one shared ring (one or more pages) plus one event channel,
// typed by a protocol, with the worker that consumes it.
//
//   Channel<BlkifProto<kX86_64>> ch;
//   XI_TRY(ch.Open(params, &RingWork, this));  // RingWork calls ch.Consume()
//   ...
//   ch.Consume(budget, [&](const Request &r) { return Handle(r); });
//   ch.Respond(rsp);                            // from any context
//   ch.Close();
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

// The protocol-independent half: ring mapping, event channel, work, EOI.
class ChannelBase {
public:
	struct Params {
		xi_xendev *dev = nullptr;
		ktl::Span<const GrantRef> ring_refs;
		unsigned int evtchn = 0;
		const char *name = ""; // for /proc/interrupts
	};

	// How a pass over the ring ended.
	enum class Outcome {
		kIdle,	  // ring empty, event acknowledged
		kBusy,	  // budget used up, work queued again
		kStalled, // out of resources or response slots: Kick() once some free
		kBroken,  // hostile producer index: disconnect the device
	};

	ChannelBase() = default;
	ChannelBase(const ChannelBase &) = delete;
	ChannelBase &operator=(const ChannelBase &) = delete;
	~ChannelBase() { XI_WARN_ON(evtchn_ != nullptr); }

	// Runs the work (again) soon. Any context.
	void Kick() { xi_work_queue(work_); }
	// Wakes the frontend.
	void Notify() { xi_evtchn_notify(evtchn_); }

	bool open() const { return evtchn_ != nullptr; }
	uint64_t events() const { return events_.Get(); }
	uint64_t spurious_events() const { return spurious_.Get(); }

protected:
	// Maps the ring, creates the work, binds the event channel (last, so no
	// event arrives before the rest is ready). On error nothing is left.
	Status OpenBase(const Params &p, xi_work_fn work, void *arg, void **ring, size_t *bytes);
	// Unbinds, waits for the work, unmaps. Idempotent.
	void CloseBase();

	// Brackets one pass of the work. EndPass acknowledges the event when the
	// ring went idle, flagging it spurious if no pass since the last
	// acknowledgement found a request.
	void BeginPass();
	void EndPass(Outcome o, unsigned consumed);

private:
	static void OnEvent(void *arg);

	xi_xendev *dev_ = nullptr;
	void *ring_ = nullptr;
	xi_work *work_ = nullptr;
	xi_evtchn *evtchn_ = nullptr;
	ktl::Atomic<bool> event_pending_;
	bool eoi_owed_ = false; // only the work touches these two
	bool found_work_ = false;
	ktl::Counter events_;
	ktl::Counter spurious_;
};

template <class Proto> class Channel : public ChannelBase {
public:
	using Request = typename Proto::Request;
	using Response = typename Proto::Response;

	~Channel() { Close(); }

	Status Open(const Params &p, xi_work_fn work, void *arg)
	{
		void *ring;
		size_t bytes;
		XI_TRY(OpenBase(p, work, arg, &ring, &bytes));
		ring_.Attach(ring, bytes);
		has_stalled_ = false;
		return Status::Ok();
	}

	void Close()
	{
		CloseBase();
		ring_.Detach();
	}

	// Called from the work only. handle(const Request &) returns true when it
	// took the request (answered, or will answer later) and false when it is
	// out of resources: the request is kept and offered first next time.
	template <class Handler> Outcome Consume(unsigned budget, Handler &&handle)
	{
		BeginPass();
		unsigned n = 0;
		Outcome o = ConsumeLoop(budget, handle, &n);
		EndPass(o, n);
		return o;
	}

	// Answers one request. Any context.
	void Respond(const Response &r)
	{
		bool notify;
		{
			SpinGuard g(rsp_lock_);
			ring_.PutResponse(r);
			notify = ring_.PushResponses();
		}
		if (notify)
			Notify();
	}

	// Answers several requests with one publish and at most one event.
	template <class Fn> void RespondBatch(Fn &&fill)
	{
		bool notify;
		{
			SpinGuard g(rsp_lock_);
			fill([this](const Response &r) { ring_.PutResponse(r); });
			notify = ring_.PushResponses();
		}
		if (notify)
			Notify();
	}

	BackRing<Proto> &ring() { return ring_; }

private:
	template <class Handler> Outcome ConsumeLoop(unsigned budget, Handler &handle, unsigned *n)
	{
		if (has_stalled_) {
			if (!handle(static_cast<const Request &>(stalled_)))
				return Outcome::kStalled;
			has_stalled_ = false;
		}
		while (*n < budget) {
			switch (ring_.PopRequest(&stalled_)) {
			case BackRing<Proto>::Pop::kBroken:
				return Outcome::kBroken;
			case BackRing<Proto>::Pop::kFull:
				return Outcome::kStalled;
			case BackRing<Proto>::Pop::kEmpty:
				if (ring_.FinalCheckForRequests())
					continue;
				return ring_.broken() ? Outcome::kBroken : Outcome::kIdle;
			case BackRing<Proto>::Pop::kRequest:
				++*n;
				if (!handle(static_cast<const Request &>(stalled_))) {
					has_stalled_ = true;
					return Outcome::kStalled;
				}
			}
		}
		return Outcome::kBusy;
	}

	BackRing<Proto> ring_;
	SpinLock rsp_lock_;
	// The request being handled; kept when the handler stalls on it.
	Request stalled_;
	bool has_stalled_ = false;
};

} // namespace xenidc

#endif // XENIDC_CHANNEL_H
