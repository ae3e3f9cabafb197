// SPDX-License-Identifier: GPL-2.0-only
//
// BackendDevice: see include/xenidc/backend_device.h.
#include <xenidc/backend_device.h>

namespace xenidc {

void BackendDevice::Release()
{
	XI_WARN_ON(refs_.Load() != 0);
	// From StopWork itself, through the owner's Stopped: a work may free
	// itself, and this one is never queued again.
	if (stop_work_)
		xi_work_destroy(stop_work_);
}

Status BackendDevice::Start(xi_xendev *dev, unsigned port, const char *name, Pass pass)
{
	if (XI_WARN_ON(started() || refs_.Load() != 0))
		return Status::Error(err::kBusy);
	// Everything stopping needs is allocated here: a teardown cannot fail.
	if (!stop_work_)
		stop_work_ = xi_work_create(&BackendDevice::StopWork, this);
	if (!stop_work_)
		return Status::Error(err::kNoMem);
	pass_ = pass;
	stopped_fn_ = nullptr;
	stopping_.Store(false);
	stopped_.Store(false);
	refs_.Store(1);
	Status s = events_.Open(dev, port, &BackendDevice::Work, this, name);
	if (!s.ok())
		refs_.Store(0);
	return s;
}

void BackendDevice::Work(void *arg)
{
	auto *self = static_cast<BackendDevice *>(arg);
	self->pass_(self);
}

bool BackendDevice::BeginStop(Stopped stopped)
{
	if (!started())
		return false;
	bool first;
	{
		// Under the lock, so Queue() either sees it or queued before it.
		SpinGuard g(done_lock_);
		first = !stopping_.Exchange(true);
		if (first)
			stopped_fn_ = stopped;
	}
	if (first) {
		events_.Kick(); // answer what completes meanwhile
		Drop();
	}
	return true;
}

// The last request was answered: no pass will take another.
void BackendDevice::StopWork(void *arg)
{
	auto *self = static_cast<BackendDevice *>(arg);
	Stopped fn = self->stopped_fn_;

	self->events_.Close();
	if (fn) {
		fn(self); // may free self
		return;
	}
	self->stopped_.Store(true);
	xi_wake_all(&self->stopped_wq_);
}

bool BackendDevice::IsStopped(void *arg)
{
	return static_cast<BackendDevice *>(arg)->stopped_.Load();
}

void BackendDevice::Stop()
{
	if (!BeginStop(nullptr))
		return;
	xi_wait_until(&stopped_wq_, &BackendDevice::IsStopped, this);
	// StopWork may still be returning from its wake-up.
	xi_work_cancel_sync(stop_work_);
}

void BackendDevice::Queue(BackendRequest *r, bool kick)
{
	SpinGuard g(done_lock_);
	r->next = done_;
	done_ = r;
	// Kick under the lock: once it is released, the work may answer r,
	// drop the last reference and let Stop() free this device.
	if (kick || waiting_ || stopping_.Load())
		events_.Kick();
	waiting_ = false;
}

bool BackendDevice::BeginPass()
{
	uint64_t now = xi_now_ns();

	if (now < throttled_until_) {
		events_.KickAfter((uint32_t)((throttled_until_ - now) / 1000) + 1);
		return false;
	}
	events_.BeginPass();
	return true;
}

void BackendDevice::EndPass(Outcome o, unsigned consumed)
{
	uint32_t rejected = pass_rejected_;

	pass_rejected_ = 0;
	if (rejected && o != Outcome::kBroken) {
		// Not requeued, not acknowledged: only the timer brings it back.
		uint32_t us = ktl::Min(rejected * kRejectWaitUs, kMaxRejectWaitUs);
		throttled_until_ = xi_now_ns() + (uint64_t)us * 1000;
		events_.EndPass(Outcome::kStalled, consumed);
		events_.KickAfter(us);
		return;
	}
	events_.EndPass(o, consumed);
	if (o == Outcome::kStalled)
		Stalled();
}

void BackendDevice::Stalled()
{
	bool kick;
	{
		SpinGuard g(done_lock_);
		kick = done_ != nullptr; // already back: go on at once
		waiting_ = !kick;
	}
	if (kick)
		events_.Kick();
}

BackendRequest *BackendDevice::TakeCompleted()
{
	BackendRequest *list;
	{
		SpinGuard g(done_lock_);
		list = done_;
		done_ = nullptr;
		waiting_ = false; // this pass stalls again if it must
	}
	BackendRequest *fifo = nullptr;
	while (list) {
		BackendRequest *next = list->next;
		list->next = fifo;
		fifo = list;
		list = next;
	}
	return fifo;
}

} // namespace xenidc
