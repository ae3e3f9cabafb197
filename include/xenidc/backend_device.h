// SPDX-License-Identifier: GPL-2.0-only
//
// BackendDevice: the lifecycle every backend repeats, so a driver supplies
// only what differs (its rings, how it handles and answers a request).
//
//   class Ring : public BackendDevice { ... };
//   // connect: map the rings, then
//   XI_TRY(Start(xendev, evtchn, "blkback2", &Ring::Pass));
//   // the work (Pass): answer what completed, then take new requests
//   for (auto *r = TakeCompleted(); r; r = next) { ...answer...; Drop(); }
//   if (!stopping()) ring.Consume(...);      // Hold() per request taken
//   // any context, when a request's I/O is done:
//   Completed(req);                          // the work answers it, or
//   Answered(req);                           // answered already: released lazily
//   // taking requests: BeginPass(), ring.Consume(...), EndPass(outcome, n):
//   // a pass stalled for lack of slots or frames comes back once one completes
//   // disconnect, from xenwatch: never waits for the guest's I/O
//   BeginStop(&Ring::Stopped);  // no new requests; Stopped(this) runs from
//                               // a work once every one taken was answered
//   // module unload and tests:
//   Stop();   // the same, and returns once it ran
//
// Reference counting: a started device holds one reference, and every
// request taken off a ring holds one until it is answered. Stopping drops
// the device's own; when the count reaches zero a work unbinds the event
// channel, stops the pass work and calls the owner back. So rings, grants
// and the device's memory outlive every request that uses them, a frontend
// that disappears mid-I/O still gets (and no longer needs) every answer,
// and no caller waits for I/O the guest chose unless it asks to (Stop).
#ifndef XENIDC_BACKEND_DEVICE_H
#define XENIDC_BACKEND_DEVICE_H

#include <xenidc/channel.h>
#include <xenidc/mapper_pool.h>

namespace xenidc {

// What a refused request costs its ring (BackendDevice::Rejected), and the
// longest one pass's refusals make it wait.
constexpr uint32_t kRejectWaitUs = 1000;
constexpr uint32_t kMaxRejectWaitUs = 100000;

// Drivers derive their request type from this (for the completed list).
struct BackendRequest {
	BackendRequest *next = nullptr;
};

class BackendDevice {
public:
	using Pass = void (*)(BackendDevice *self);
	// The device is stopped: nothing taken is unanswered, the event
	// channel is unbound and the pass work is gone. In process context;
	// may free the device.
	using Stopped = void (*)(BackendDevice *self);

	BackendDevice() { xi_waitq_init(&stopped_wq_); }
	~BackendDevice() { Release(); }
	BackendDevice(const BackendDevice &) = delete;
	BackendDevice &operator=(const BackendDevice &) = delete;

	// Any context: the request's I/O finished; the work will answer it.
	void Completed(BackendRequest *r) { Queue(r, true); }
	// Any context: the request's I/O finished and the caller answered it.
	// The work releases it on its next pass, which need not come at once:
	// no wakeup per request, unless a pass waits for it (Stalled, Stop) or
	// the caller asks for one (wake).
	void Answered(BackendRequest *r, bool wake = false) { Queue(r, wake); }

	EventWorker &events() { return events_; }
	// Any context: answers on one of the device's rings (a MappedRing),
	// with an event if the frontend asked for one.
	template <class Ring> void Respond(Ring &ring, const typename Ring::Response &rsp)
	{
		if (ring.Respond(rsp))
			events_.Notify();
	}
	template <class Ring, class Fill> void RespondBatch(Ring &ring, Fill &&fill)
	{
		if (ring.RespondBatch(fill))
			events_.Notify();
	}
	bool started() const { return events_.open(); }
	bool stopping() const { return stopping_.Load(); }
	// Requests taken and not yet answered.
	uint32_t in_flight() const
	{
		int32_t r = refs_.Load() - (stopping() ? 0 : 1);
		return r > 0 ? (uint32_t)r : 0;
	}

protected:
	// Binds the event channel and starts the work, which calls pass.
	Status Start(xi_xendev *dev, unsigned port, const char *name, Pass pass)
		XI_EXPORT(xi_backend_start);
	// Stops intake and returns at once. Once every request taken was
	// answered, a work unbinds the event channel, stops the pass work and
	// calls stopped(this), unless stopped is nullptr. Idempotent (the first
	// call's stopped counts); false if the device was not started (nothing
	// will be called).
	bool BeginStop(Stopped stopped) XI_EXPORT(xi_backend_begin_stop);
	// BeginStop(nullptr), then waits until the device is stopped. For
	// module unload and tests: the wait lasts as long as the I/O does.
	void Stop() XI_EXPORT(xi_backend_stop);

	// In the work: a request was taken off a ring / n were answered.
	void Hold() { refs_.FetchAdd(1); }
	void Drop(uint32_t n = 1);
	// The completed requests, oldest first (the work's to answer).
	BackendRequest *TakeCompleted() XI_EXPORT(xi_backend_take_completed);
	// In the work: bracket the part of a pass that takes requests off the
	// ring (EventWorker's, plus: a stalled pass resumes once a request
	// completes and gives back what it lacked). BeginPass() is false while
	// the ring waits for the requests it rejected: then take none now, a
	// timed pass follows.
	bool BeginPass() XI_EXPORT(xi_backend_begin_pass);
	void EndPass(Outcome o, unsigned consumed) XI_EXPORT(xi_backend_end_pass);
	// In the work: a request taken this pass was refused as malformed (or
	// named nothing). Each costs its frontend kRejectWaitUs before its ring
	// is looked at again, its events masked meanwhile: a guest that floods
	// garbage gets about a thousand answers a second per ring, for little
	// dom0 CPU (xen-blkback sleeps a millisecond per refused request).
	void Rejected() { pass_rejected_++; }
	// In the work: this pass stopped for lack of resources that completed
	// requests give back. Makes sure another pass comes once one completes.
	void Stalled() XI_EXPORT(xi_backend_stalled);

	// The driver's unused request slots (only the work touches them).
	// Taking one holds the device until its answer's Drop().
	BackendRequest *TakeSlot()
	{
		BackendRequest *r = free_;
		if (r) {
			free_ = r->next;
			Hold();
		}
		return r;
	}
	void PutSlot(BackendRequest *r)
	{
		r->next = free_;
		free_ = r;
	}
	// In the work: answers the completed requests, oldest first (Req has
	// a Mapping named mapping). ready(r) readies each; their grants are
	// unmapped in one batch (scratch has room for all in flight) before
	// any answer; answer(r), each one's response, goes out in one publish,
	// with one event; then the slots go back.
	template <class Req, class Ring, class Ready, class Answer>
	void AnswerCompleted(Ring &ring, RbrMapperPool *pool, Mapping **scratch, Ready &&ready,
			     Answer &&answer)
	{
		auto *fifo = static_cast<Req *>(TakeCompleted());
		uint32_t n = 0;

		if (!fifo)
			return;
		for (Req *r = fifo; r; r = static_cast<Req *>(r->next)) {
			ready(r);
			if (r->mapping.mapped())
				scratch[n++] = &r->mapping;
		}
		pool->UnmapBatch(ktl::Span<Mapping *const>(scratch, n));
		RespondBatch(ring, [&](auto put) {
			for (Req *r = fifo; r; r = static_cast<Req *>(r->next))
				put(answer(r));
		});
		PutSlots(fifo);
	}
	// A list of answered requests back to the free slots, then Drop().
	void PutSlots(BackendRequest *list)
	{
		uint32_t n = 0;

		for (; list; n++) {
			BackendRequest *next = list->next;
			PutSlot(list);
			list = next;
		}
		Drop(n);
	}

private:
	void Release() XI_EXPORT(xi_backend_release);
	static void Work(void *arg);
	static void StopWork(void *arg);
	static bool IsStopped(void *arg);
	void Queue(BackendRequest *r, bool kick) XI_EXPORT(xi_backend_queue);

	EventWorker events_;
	Pass pass_ = nullptr;
	Stopped stopped_fn_ = nullptr;
	xi_work *stop_work_ = nullptr; // runs once the count reaches zero
	uint32_t pass_rejected_ = 0;   // the work's
	uint64_t throttled_until_ = 0; // the work's: xi_now_ns()
	ktl::Atomic<int32_t> refs_{0};
	ktl::Atomic<bool> stopping_{false};
	ktl::Atomic<bool> stopped_{false};
	// done_, waiting_, and setting stopping_ and stopped_fn_
	SpinLock done_lock_{XI_LOCK_CLASS("BackendDevice::done_lock_")};
	BackendRequest *done_ XI_GUARDED_BY(done_lock_) = nullptr; // newest first
	bool waiting_ XI_GUARDED_BY(done_lock_) = false;	   // a stalled pass waits for one
	BackendRequest *free_ = nullptr;
	xi_waitq stopped_wq_;
};

inline void BackendDevice::Drop(uint32_t n)
{
	if (n && refs_.FetchSub((int32_t)n) == (int32_t)n)
		xi_work_queue(stop_work_);
}

} // namespace xenidc

#endif // XENIDC_BACKEND_DEVICE_H
