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
//   // disconnect:
//   Stop();   // no new requests; returns once every one taken was answered
//
// Reference counting: a started device holds one reference, and every
// request taken off a ring holds one until it is answered. Stop() drops the
// device's own and waits for the count to reach zero, so rings, grants and
// the device's memory outlive every request that uses them, and a frontend
// that disappears mid-I/O still gets (and no longer needs) every answer.
#ifndef XENIDC_BACKEND_DEVICE_H
#define XENIDC_BACKEND_DEVICE_H

#include <xenidc/channel.h>

namespace xenidc {

// Drivers derive their request type from this (for the completed list).
struct BackendRequest {
	BackendRequest *next = nullptr;
};

class BackendDevice {
public:
	using Pass = void (*)(BackendDevice *self);

	BackendDevice() { xi_waitq_init(&drained_wq_); }
	~BackendDevice() { XI_WARN_ON(refs_.Load() != 0); }
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
	// Stops intake, waits until every request taken was answered, then
	// unbinds the event channel and stops the work. Idempotent.
	void Stop() XI_EXPORT(xi_backend_stop);

	// In the work: a request was taken off a ring / n were answered.
	void Hold() { refs_.FetchAdd(1); }
	void Drop(uint32_t n = 1);
	// The completed requests, oldest first (the work's to answer).
	BackendRequest *TakeCompleted() XI_EXPORT(xi_backend_take_completed);
	// In the work: bracket the part of a pass that takes requests off the
	// ring (EventWorker's, plus: a stalled pass resumes once a request
	// completes and gives back what it lacked).
	void BeginPass() { events_.BeginPass(); }
	void EndPass(Outcome o, unsigned consumed)
	{
		events_.EndPass(o, consumed);
		if (o == Outcome::kStalled)
			Stalled();
	}
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
	static void Work(void *arg);
	static bool Drained(void *arg);
	void Queue(BackendRequest *r, bool kick) XI_EXPORT(xi_backend_queue);

	EventWorker events_;
	Pass pass_ = nullptr;
	ktl::Atomic<int32_t> refs_{0};
	ktl::Atomic<bool> stopping_{false};
	SpinLock done_lock_;		 // done_, waiting_ and setting stopping_
	BackendRequest *done_ = nullptr; // newest first
	bool waiting_ = false;		 // a stalled pass waits for a completion
	BackendRequest *free_ = nullptr;
	xi_waitq drained_wq_;
};

inline void BackendDevice::Drop(uint32_t n)
{
	if (n && refs_.FetchSub((int32_t)n) == (int32_t)n)
		xi_wake_all(&drained_wq_);
}

} // namespace xenidc

#endif // XENIDC_BACKEND_DEVICE_H
