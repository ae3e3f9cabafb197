// SPDX-License-Identifier: GPL-2.0-only
//
// BackendDevice: see include/xenidc/backend_device.h.
#include <xenidc/backend_device.h>

namespace xenidc {

Status BackendDevice::Start(xi_xendev *dev, unsigned port, const char *name, Pass pass)
{
	if (XI_WARN_ON(started() || refs_.Load() != 0))
		return Status::Error(err::kBusy);
	pass_ = pass;
	stopping_.Store(false);
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

bool BackendDevice::Drained(void *arg)
{
	return static_cast<BackendDevice *>(arg)->refs_.Load() == 0;
}

void BackendDevice::Stop()
{
	if (!started())
		return;
	bool first;
	{
		// Under the lock, so Queue() either sees it or queued before it.
		SpinGuard g(done_lock_);
		first = !stopping_.Exchange(true);
	}
	if (first) {
		events_.Kick(); // answer what completes meanwhile
		Drop();
	}
	xi_wait_until(&drained_wq_, &BackendDevice::Drained, this);
	events_.Close();
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
