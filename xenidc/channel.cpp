// SPDX-License-Identifier: GPL-2.0-only
//
// ChannelBase: ring mapping, event channel and work shared by every Channel.
#include <xenidc/channel.h>

namespace xenidc {

Status ChannelBase::OpenBase(const Params &p, xi_work_fn work, void *arg, void **ring,
			     size_t *bytes)
{
	if (XI_WARN_ON(evtchn_ != nullptr))
		return Status::Error(err::kBusy);
	size_t pages = p.ring_refs.size();
	if (pages == 0 || pages > kMaxRingPages)
		return Status::Error(err::kInval);

	xi_gref_t refs[kMaxRingPages];
	for (size_t i = 0; i < pages; i++)
		refs[i] = p.ring_refs[i].value();
	int rc = xi_ring_map(p.dev, refs, (unsigned)pages, &ring_);
	if (rc)
		return Status::Error(rc);
	dev_ = p.dev;

	work_ = xi_work_create(work, arg);
	if (!work_) {
		CloseBase();
		return Status::Error(err::kNoMem);
	}
	event_pending_.Store(false);
	eoi_owed_ = false;
	found_work_ = false;
	rc = xi_evtchn_bind(p.dev, p.evtchn, &ChannelBase::OnEvent, this, p.name, &evtchn_);
	if (rc) {
		evtchn_ = nullptr;
		CloseBase();
		return Status::Error(rc);
	}
	*ring = ring_;
	*bytes = pages * XI_PAGE_SIZE;
	return Status::Ok();
}

void ChannelBase::CloseBase()
{
	// No new events, then no work left running, then the ring can go.
	if (evtchn_) {
		xi_evtchn_unbind(evtchn_);
		evtchn_ = nullptr;
	}
	if (work_) {
		xi_work_cancel_sync(work_);
		xi_work_destroy(work_);
		work_ = nullptr;
	}
	if (ring_) {
		xi_ring_unmap(dev_, ring_);
		ring_ = nullptr;
	}
}

void ChannelBase::OnEvent(void *arg)
{
	auto *self = static_cast<ChannelBase *>(arg);

	self->events_.Add();
	self->event_pending_.Store(true);
	xi_work_queue(self->work_);
}

void ChannelBase::BeginPass()
{
	if (event_pending_.Exchange(false))
		eoi_owed_ = true;
}

void ChannelBase::EndPass(Outcome o, unsigned consumed)
{
	if (consumed)
		found_work_ = true;
	switch (o) {
	case Outcome::kBusy:
		Kick();
		return;
	case Outcome::kStalled:
	case Outcome::kBroken:
		// Keep the event masked: the owner kicks us when it can go on,
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

} // namespace xenidc
