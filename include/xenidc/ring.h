// SPDX-License-Identifier: GPL-2.0-only
//
// BackRing<Proto>: the backend half of a Xen shared ring (xen/io/ring.h),
// typed by a protocol. The frontend is untrusted, so:
//   - each request is copied exactly once out of shared memory, and only the
//     private copy is decoded and used (no double fetch, XSA-155);
//   - a producer index more than a ring ahead of our consumer marks the ring
//     broken; the owner disconnects the device;
//   - responses are built whole in private memory, padding zeroed (XSA-216),
//     then copied into their slot.
//
// A protocol supplies:
//   struct Proto {
//     using WireRequest = ...;    // layout in the shared ring
//     using WireResponse = ...;
//     using Request = ...;        // private, decoded form
//     using Response = ...;
//     static void Decode(const WireRequest &, Request *);
//     static void Encode(const Response &, WireResponse *);  // fill every byte
//   };
//
// Not thread-safe: one consumer context pops, and response production must be
// serialised by the owner (Channel holds a lock for it).
#ifndef XENIDC_RING_H
#define XENIDC_RING_H

#include <xenidc/ktl.h>

namespace xenidc {

using RingIdx = uint32_t;

// The header every Xen shared ring starts with.
struct SharedRingHeader {
	RingIdx req_prod;
	RingIdx req_event;
	RingIdx rsp_prod;
	RingIdx rsp_event;
	uint8_t pad[48];
};
static_assert(sizeof(SharedRingHeader) == 64);

// Entries of a ring of `bytes` bytes with entries of `entry_size`: the largest
// power of two that fits after the header (__RING_SIZE in xen/io/ring.h).
constexpr uint32_t RingEntries(size_t bytes, size_t entry_size)
{
	return bytes < sizeof(SharedRingHeader) + entry_size
		       ? 0
		       : ktl::RoundDownPow2(
				 (uint32_t)((bytes - sizeof(SharedRingHeader)) / entry_size));
}

template <class Proto> class BackRing {
public:
	using Request = typename Proto::Request;
	using Response = typename Proto::Response;
	union Entry {
		typename Proto::WireRequest req;
		typename Proto::WireResponse rsp;
	};
	static constexpr size_t kEntrySize = sizeof(Entry);

	// kFull: a request is waiting but every response slot is taken by
	// requests in flight (only a hostile frontend gets there).
	enum class Pop { kEmpty, kRequest, kFull, kBroken };

	// Attaches to a mapped ring of `bytes` bytes. Like BACK_RING_ATTACH, takes
	// the indexes the frontend published (0 on a fresh ring).
	void Attach(void *shared, size_t bytes)
	{
		sring_ = static_cast<SharedRingHeader *>(shared);
		entries_ = reinterpret_cast<Entry *>(sring_ + 1);
		size_ = RingEntries(bytes, kEntrySize);
		rsp_prod_pvt_ = ktl::ReadOnce(sring_->rsp_prod);
		rsp_published_ = rsp_prod_pvt_;
		req_cons_ = rsp_prod_pvt_;
		req_prod_seen_ = req_cons_;
		broken_ = false;
	}
	void Detach() { sring_ = nullptr; }
	bool attached() const { return sring_ != nullptr; }

	uint32_t size() const { return size_; }
	bool broken() const { return broken_; }
	RingIdx req_cons() const { return req_cons_; }
	RingIdx rsp_prod_pvt() const { return rsp_prod_pvt_; }

	// Copies the next request out of the ring and decodes the copy.
	Pop PopRequest(Request *out)
	{
		if (broken_)
			return Pop::kBroken;
		if (req_cons_ == req_prod_seen_ && !RefreshProducer())
			return broken_ ? Pop::kBroken : Pop::kEmpty;
		// Never consume more requests than we have response slots for.
		if (req_cons_ - rsp_prod_pvt_ >= size_)
			return Pop::kFull;
		typename Proto::WireRequest copy;
		ktl::MemCopy(&copy, &entries_[req_cons_ & (size_ - 1)].req, sizeof(copy));
		// From here on only `copy` is read: the compiler may not reload the
		// shared slot in its place.
		ktl::CompilerBarrier();
		req_cons_++;
		Proto::Decode(copy, out);
		return Pop::kRequest;
	}

	// Requests published but not yet consumed (bounded by the ring size).
	bool HasUnconsumedRequests()
	{
		return !broken_ && (req_cons_ != req_prod_seen_ || RefreshProducer());
	}

	// RING_FINAL_CHECK_FOR_REQUESTS: asks for an event at the next request,
	// then looks again so a request published meanwhile is not missed.
	bool FinalCheckForRequests() { return ArmEventAfter(1); }
	// Asks for an event once n requests are waiting; true if they already
	// are (then take them: the event may not come).
	bool ArmEventAfter(uint32_t n)
	{
		if (HasUnconsumedRequests() && req_prod_seen_ - req_cons_ >= n)
			return true;
		ktl::WriteOnce(sring_->req_event, req_cons_ + n);
		ktl::VirtMb();
		return !broken_ && RefreshProducer() && req_prod_seen_ - req_cons_ >= n;
	}

	// Requests the frontend has out: taken here, answers not yet consumed
	// there, judged by the rsp_event it sets when it drains the ring. The
	// frontend's word, so a hint only; a value beyond the ring reads as 0.
	uint32_t FrontendDepth() const { return SinceConsumed(req_cons_); }
	// Responses published that the frontend has not consumed, judged (and
	// trusted) the same way. Any context.
	uint32_t UnreadResponses() const { return SinceConsumed(ktl::ReadOnce(rsp_published_)); }

	// Responses. The caller serialises these.
	void PutResponse(const Response &r)
	{
		typename Proto::WireResponse w;
		ktl::MemZero(&w, sizeof(w));
		Proto::Encode(r, &w);
		ktl::MemCopy(&entries_[rsp_prod_pvt_ & (size_ - 1)].rsp, &w, sizeof(w));
		rsp_prod_pvt_++;
	}

	// RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publishes what PutResponse wrote;
	// true if the frontend asked to be notified.
	bool PushResponses()
	{
		RingIdx old = ktl::ReadOnce(sring_->rsp_prod);
		RingIdx now = rsp_prod_pvt_;
		ktl::VirtWmb();
		ktl::WriteOnce(sring_->rsp_prod, now);
		ktl::WriteOnce(rsp_published_, now); // read without the caller's lock
		ktl::VirtMb();
		RingIdx event = ktl::ReadOnce(sring_->rsp_event);
		return (RingIdx)(now - event) < (RingIdx)(now - old);
	}

private:
	// idx minus the responses the frontend consumed (rsp_event - 1); a
	// value beyond the ring reads as 0.
	uint32_t SinceConsumed(RingIdx idx) const
	{
		RingIdx d = idx - (ktl::ReadOnce(sring_->rsp_event) - 1);
		return d <= size_ ? d : 0;
	}

	// Reads req_prod once. A producer more than a ring ahead is hostile.
	bool RefreshProducer()
	{
		RingIdx prod = ktl::ReadOnce(sring_->req_prod);
		ktl::VirtRmb(); // requests up to prod are visible after this
		if (prod - req_cons_ > size_) {
			broken_ = true;
			return false;
		}
		req_prod_seen_ = prod;
		return prod != req_cons_;
	}

	SharedRingHeader *sring_ = nullptr;
	Entry *entries_ = nullptr;
	uint32_t size_ = 0;
	RingIdx req_cons_ = 0;
	RingIdx req_prod_seen_ = 0;
	RingIdx rsp_prod_pvt_ = 0;
	RingIdx rsp_published_ = 0; // the last rsp_prod written
	bool broken_ = false;
};

} // namespace xenidc

#endif // XENIDC_RING_H
