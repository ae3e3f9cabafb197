// SPDX-License-Identifier: GPL-2.0-only
//
// FrontRing<Proto>: the frontend half of a shared ring, in a simulated
// domain's memory, for tests that play the guest (well-behaved or hostile).
#ifndef XENIDC_TESTS_FRONT_RING_H
#define XENIDC_TESTS_FRONT_RING_H

#include <cstring>
#include <vector>

#include <xenidc/ring.h>
#include <xenidc/strong.h>

#include "sim.h"

namespace sim {

template <class Proto> class FrontRing {
public:
	using Entry = typename xenidc::BackRing<Proto>::Entry;

	// port: share another ring's event channel (usbif); 0 allocates one.
	FrontRing(Sim &s, xi_domid_t dom, unsigned pages = 1, unsigned port = 0)
	    : s_(s), dom_(dom), pages_(pages)
	{
		Domain &d = s.domain(dom);
		first_ = d.AllocFrames(pages);
		for (unsigned i = 0; i < pages; i++)
			refs_.push_back(s.GrantAccess(dom, first_ + i, kDom0, false));
		base_ = d.Frame(first_);
		memset(base_, 0, pages * XI_PAGE_SIZE);
		hdr()->req_event = hdr()->rsp_event = 1; // SHARED_RING_INIT
		size_ = xenidc::RingEntries(pages * XI_PAGE_SIZE, sizeof(Entry));
		port_ = port ? port : s.AllocPort(dom);
	}

	// Start indexes near the 32-bit wrap (call before the backend attaches).
	void SetIndexes(xenidc::RingIdx idx)
	{
		hdr()->req_prod = hdr()->rsp_prod = idx;
		hdr()->req_event = hdr()->rsp_event = idx + 1;
		req_prod_pvt_ = rsp_cons_ = idx;
	}

	std::vector<xenidc::GrantRef> refs() const
	{
		std::vector<xenidc::GrantRef> r;
		for (auto g : refs_)
			r.push_back(xenidc::GrantRef(g));
		return r;
	}
	unsigned port() const { return port_; }
	uint32_t size() const { return size_; }
	xenidc::SharedRingHeader *hdr()
	{
		return reinterpret_cast<xenidc::SharedRingHeader *>(base_);
	}
	Entry *slot(xenidc::RingIdx i) { return entries() + (i & (size_ - 1)); }

	bool Full() const { return req_prod_pvt_ - rsp_cons_ >= size_; }

	// Writes a request into the next slot (not yet published).
	void Put(const typename Proto::WireRequest &r)
	{
		memcpy(&slot(req_prod_pvt_++)->req, &r, sizeof(r));
	}

	// RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, then kicks if asked to.
	bool Push(bool kick = true)
	{
		xenidc::RingIdx old = hdr()->req_prod, now = req_prod_pvt_;
		__atomic_thread_fence(__ATOMIC_RELEASE);
		hdr()->req_prod = now;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		bool notify = (xenidc::RingIdx)(now - hdr()->req_event) <
			      (xenidc::RingIdx)(now - old);
		if (notify && kick)
			s_.Kick(port_);
		return notify;
	}

	// Collects published responses (RING_FINAL_CHECK_FOR_RESPONSES style).
	std::vector<typename Proto::WireResponse> Take()
	{
		std::vector<typename Proto::WireResponse> out;
		for (;;) {
			xenidc::RingIdx prod = hdr()->rsp_prod;
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			while (rsp_cons_ != prod) {
				typename Proto::WireResponse w;
				memcpy(&w, &slot(rsp_cons_++)->rsp, sizeof(w));
				out.push_back(w);
			}
			hdr()->rsp_event = rsp_cons_ + 1;
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (hdr()->rsp_prod == rsp_cons_)
				return out;
		}
	}

private:
	Entry *entries()
	{
		return reinterpret_cast<Entry *>(base_ + sizeof(xenidc::SharedRingHeader));
	}

	Sim &s_;
	xi_domid_t dom_;
	unsigned pages_;
	uint32_t first_;
	std::vector<xi_gref_t> refs_;
	uint8_t *base_;
	uint32_t size_;
	unsigned port_;
	xenidc::RingIdx req_prod_pvt_ = 0;
	xenidc::RingIdx rsp_cons_ = 0;
};

} // namespace sim

#endif // XENIDC_TESTS_FRONT_RING_H
