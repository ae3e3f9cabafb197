// SPDX-License-Identifier: GPL-2.0-only
//
// EventWorker and RingMapping: the protocol-independent parts of a channel.
#include <xenidc/channel.h>

namespace xenidc {

Status EventWorker::Open(xi_xendev *dev, unsigned port, xi_work_fn work, void *arg,
			 const char *name)
{
	if (XI_WARN_ON(work_ != nullptr))
		return Status::Error(err::kBusy);
	work_ = xi_work_create(work, arg);
	if (!work_)
		return Status::Error(err::kNoMem);
	ready_.Store(false);
	event_pending_.Store(false);
	eoi_owed_ = false;
	found_work_ = false;
	xi_evtchn *ch = nullptr;
	int rc = xi_evtchn_bind(dev, port, &EventWorker::OnEvent, this, name, &ch);
	if (rc) {
		Close();
		return Status::Error(rc);
	}
	evtchn_ = ch;
	ready_.Store(true);
	// One pass right away: the frontend may have queued requests, or
	// kicked, before we were bound.
	Kick();
	return Status::Ok();
}

void EventWorker::Close()
{
	ready_.Store(false);
	if (evtchn_) {
		xi_evtchn_unbind(evtchn_);
		evtchn_ = nullptr;
	}
	if (work_) {
		xi_work_cancel_sync(work_);
		xi_work_destroy(work_);
		work_ = nullptr;
	}
}

void EventWorker::OnEvent(void *arg)
{
	auto *self = static_cast<EventWorker *>(arg);

	self->events_.Add();
	self->event_pending_.Store(true);
	if (self->ready_.Load())
		xi_work_queue(self->work_);
}

void EventWorker::BeginPass()
{
	if (event_pending_.Exchange(false))
		eoi_owed_ = true;
}

void EventWorker::EndPass(Outcome o, unsigned consumed)
{
	if (consumed)
		found_work_ = true;
	switch (o) {
	case Outcome::kBusy:
		Kick();
		return;
	case Outcome::kStalled:
	case Outcome::kBroken:
		// The event stays masked: the owner kicks us when it can go on,
		// or tears the channel down.
		return;
	case Outcome::kIdle:
		break;
	}
	if (!eoi_owed_)
		return;
	if (!found_work_)
		spurious_.Add();
	xi_evtchn_eoi(evtchn_, !found_work_);
	eoi_owed_ = false;
	found_work_ = false;
}

Status RingMapping::Map(xi_xendev *dev, ktl::Span<const GrantRef> refs)
{
	if (XI_WARN_ON(addr_ != nullptr))
		return Status::Error(err::kBusy);
	if (refs.empty() || refs.size() > kMaxRingPages)
		return Status::Error(err::kInval);
	xi_gref_t raw[kMaxRingPages];
	for (size_t i = 0; i < refs.size(); i++)
		raw[i] = refs[i].value();
	int rc = xi_ring_map(dev, raw, (unsigned)refs.size(), &addr_);
	if (rc) {
		addr_ = nullptr;
		return Status::Error(rc);
	}
	dev_ = dev;
	bytes_ = refs.size() * XI_PAGE_SIZE;
	return Status::Ok();
}

void RingMapping::Unmap()
{
	if (!addr_)
		return;
	xi_ring_unmap(dev_, addr_);
	addr_ = nullptr;
	bytes_ = 0;
}

} // namespace xenidc
