// SPDX-License-Identifier: GPL-2.0-only
//
// blkback2's I/O path: blkif requests in, bios out, one response per request.
//
//   Ring     one queue: a BackendDevice with one shared ring (either guest
//            ABI), a RbrMapperPool and a slot per ring entry; its work
//            answers completed requests and takes new ones
//   Request  one request in flight: its segments, mapping and bio count
//   Vbd      the virtual block device: the backing device and its rings
//
// Memory follows use (RequestStore): request slots come in chunks as the
// frontend keeps more in flight, an indirect request's large arrays when
// one comes, the pool's frames as grants are mapped; what idles goes back,
// and all of it counts against the guest's budget (max_guest_mib).
//
// The stages of a request, each one function:
//   Prepare  validate the private copy; build the segment list (Rbr)
//   Map      grants -> pages, through the pool (zero copy)
//   Submit   pages -> bios, split at bb2_max_bio_vecs(), counted
//   Finish   after the last bio: unmap (batched), respond (batched); a
//            request with nothing to unmap first is answered at once
// Every bio completion records its own status and the first error sticks,
// so an error on any bio of a request reaches the guest as BLKIF_RSP_ERROR.
#ifndef BLKBACK2_IO_H
#define BLKBACK2_IO_H

#include <xenidc/abi/blkif.h>
#include <xenidc/backend_device.h>
#include <xenidc/mapper_pool.h>
#include <xenidc/xenbus_lite.h>

#include "backing.h"

namespace blkback2 {

using namespace xenidc;

using Stat = enum bb2_stat;
constexpr Stat kOoReq = BB2_OO_REQ, kRdReq = BB2_RD_REQ, kWrReq = BB2_WR_REQ, kFReq = BB2_F_REQ,
	       kDsReq = BB2_DS_REQ, kRdSect = BB2_RD_SECT, kWrSect = BB2_WR_SECT,
	       kErrors = BB2_ERRORS, kBursts = BB2_BURSTS, kLooks = BB2_LOOKS,
	       kRejected = BB2_REJECTED;

class Ring;
class Vbd;

enum class Kind : uint8_t { kRead, kWrite, kFlush, kBarrier, kDiscard };

struct IndirectArrays;

struct Request : BackendRequest { // next: the free or completed list
	Ring *ring;
	uint64_t id;
	uint64_t sector;
	uint64_t nr_sectors;
	uint8_t op; // for the response: the indirect request's inner op
	Kind kind;
	int16_t status; // the response, once finished
	bool secure;
	bool answered; // by Ring::Finished, before the work released it
	uint32_t nseg;
	ktl::Atomic<int32_t> pending; // bios not completed yet
	ktl::Atomic<int32_t> error;   // the first bio error (-errno), sticky
	Rbr *seg;		      // nseg entries: seg_in, or arrays'
	blkif::Segment *desc;	      // indirect descriptors, copied
	IndirectArrays *arrays;	      // an indirect request's, else nullptr
	Mapping mapping;
	// A direct request's segments (at most 11) are kept here.
	Rbr seg_in[blkif::kMaxSegments];
	SgElement sg_in[blkif::kMaxSegments];
	MappedElem elems_in[blkif::kMaxSegments];
};

// An indirect request's segments, descriptors and mapping state, sized for
// the most segments a request may have (max_indirect_segments).
struct IndirectArrays {
	IndirectArrays *next; // the free list
	Rbr *seg;
	SgElement *sg;
	MappedElem *elems;
	blkif::Segment *desc;
};

// Where one ring's requests live; see the top of this file. Only the ring's
// work calls it.
class RequestStore {
public:
	Status Init(Ring *ring, uint32_t entries, uint32_t max_segs, xi_budget *budget);
	// Frees everything; every request must be back.
	void Release();
	// A new chunk of slots, linked through next; nullptr if the ring has
	// all it may have, or the budget or the allocator says no.
	Request *MoreSlots();
	// Points q at a direct request's arrays, or gives it an indirect one's
	// (false if none may be had now).
	bool Arrange(Request *q, bool indirect);
	// Back from q, once it is released.
	void Return(Request *q);
	// Frees the indirect arrays nobody uses. (Slots stay: at most one per
	// ring entry, as deep as the frontend went.)
	void Trim();
	bool held() const { return free_arrays_ != nullptr; }

private:
	static constexpr uint32_t kSlotChunk = 32;
	static constexpr uint32_t kMaxChunks = 512 / kSlotChunk; // 16 pages of entries
	size_t ArraysBytes() const;
	bool Charge(size_t bytes);
	void Uncharge(size_t bytes);

	Ring *ring_ = nullptr;
	xi_budget *budget_ = nullptr;
	uint32_t entries_ = 0;
	uint32_t max_segs_ = 0;
	Request *chunks_[kMaxChunks] = {};
	uint32_t nchunks_ = 0;
	IndirectArrays *free_arrays_ = nullptr;
	uint32_t narrays_ = 0; // made, in use or free
};

class Ring : public BackendDevice {
public:
	struct Config {
		uint32_t nr_pages;
		const GrantRef *refs;
		uint32_t evtchn;
		blkif::Abi abi;
		bool persistent;
	};

	static Result<Ring *> Create(Vbd *vbd, unsigned index, const Config &c);
	// Stops intake and returns. Once every request in flight is answered,
	// the ring closes its channel, frees everything and tells its Vbd
	// (RingGone). false: nothing was started, r is freed already.
	static bool BeginDestroy(Ring *r);

	RbrMapperPool *pool() { return pool_; }
	// Any context: the last bio of q completed.
	void Finished(Request *q);
	// dom0 is short of memory: the next pass gives back what is idle.
	void Squeeze()
	{
		squeeze_.Store(true);
		events().Kick();
	}

private:
	Ring() = default;
	~Ring() = default;
	Status Open(const Config &c);
	static void Free(Ring *r);

	static void Pass(BackendDevice *self);
	static void Stopped(BackendDevice *self);
	static void ConsumePlugged(void *arg);
	void Consume();
	bool Handle(const blkif::Request &r);
	void Reject(Request *q, int16_t status, const char *why);
	int16_t Prepare(const blkif::Request &r, Request *q, const char **why);
	int16_t PrepareSegments(const blkif::Request &r, Request *q, const char **why);
	bool CopyIndirect(const blkif::Request &r, Request *q);
	void CountSubmitted(const Request *q);
	void SubmitDiscard(Request *q);
	void Submit(Request *q);
	void FinishPass();
	void Publish();
	void FinishCompleted();
	void Release(Request *q);
	void MaybeTrim();
	int16_t ResponseStatus(const Request *q);
	void Answer(const Request *q, int16_t status);
	// q at a stage of its life, to its tracepoint (trace.h).
	void Trace(bb2_stage stage, const Request *q, int val) const;
	template <class Fn> void WithRing(Fn &&fn)
	{
		if (abi_ == blkif::Abi::kX86_32)
			fn(ring32_);
		else
			fn(ring64_);
	}

	Vbd *vbd_ = nullptr;
	unsigned index_ = 0;
	blkif::Abi abi_ = blkif::Abi::kX86_64;
	MappedRing<blkif::ProtoX86_32> ring32_;
	MappedRing<blkif::ProtoX86_64> ring64_;
	RbrMapperPool *pool_ = nullptr;

	uint32_t entries_ = 0;	// most slots, one per ring entry
	uint32_t max_segs_ = 0; // per request
	RequestStore store_;
	Mapping **finishing_ = nullptr;		  // scratch for batched unmaps
	uint64_t trim_at_ = 0;			  // xi_now_ns() of the next Trim, 0: none due
	ktl::Atomic<bool> wake_on_answer_{false}; // a trim waits for the ring to idle
	ktl::Atomic<bool> squeeze_{false};	  // trim now (memory pressure)
	// An indirect request's descriptor pages, while they are copied out.
	SgElement indirect_sg_[blkif::kMaxIndirectPages];
	MappedElem indirect_elems_[blkif::kMaxIndirectPages];
	Mapping indirect_;
	bool broken_ = false;
	// The last pass: requests taken, their segments, and how it ended.
	unsigned consumed_ = 0;
	uint32_t pass_segs_ = 0;
	Outcome outcome_ = Outcome::kIdle;
	// Coalescing (FinishPass): while polling_, the frontend's kicks are
	// off and answers are held between looks at the ring. The next look
	// comes coalesce_us after the last, once look_after_ answers wait or
	// once the frontend queued enough requests (its event).
	uint32_t coalesce_us_ = 0; // bb2_limits.coalesce_us, read at each pass
	bool polling_ = false;
	ktl::Atomic<uint32_t> look_after_{0}; // 0: no early look
	ktl::Atomic<uint32_t> waiting_answers_{0};
};

class Vbd {
public:
	explicit Vbd(xb::Device &dev) : dev_(dev) {}

	// From the xenbus glue (xenbus.cpp), serialised by xenbus_lite.
	Status Configure(uint32_t major, uint32_t minor, bool readonly, bool discard_enabled);
	// persistent: the frontend's feature-persistent.
	Status Connect(ktl::Span<Ring::Config> rings, bool persistent, bool cdrom);
	Status Publish(xb::Writer &w);
	// Starts stopping every ring; true if none is left running (else
	// xenbus_lite hears Disconnected() when the last one is gone).
	bool Disconnect();
	// From memory reclaim: each ring trims at its next pass.
	void Reclaim();
	~Vbd();

	// From the rings.
	void RingGone();
	// At each pass: a new size is announced, and with log_stats the
	// statistics are logged every 10 s.
	void CheckSize();
	void MaybeLogStats(uint64_t now_ns);
	xi_budget *budget() const { return budget_; }
	bb2_backing *backing() const { return backing_; }
	const bb2_info &info() const { return info_; }
	bool discard_enabled() const { return discard_enabled_; }
	void Count(Stat s, uint64_t n = 1) { stats_[s].Add(n); }
	void RingBroken();
	void Withdraw(const char *feature);

	uint64_t stat(Stat s) const { return stats_[s].Get(); }
	xb::Device &device() { return dev_; }

private:
	void Resized(uint64_t sectors);

	xb::Device &dev_;
	bb2_backing *backing_ = nullptr;
	xi_budget *budget_ = nullptr; // the guest's, shared with its other devices
	bb2_info info_{};
	bool discard_enabled_ = true;
	uint32_t offered_persistent_ = 0;  // feature_persistent at the connect
	ktl::Atomic<uint64_t> sectors_{0}; // the size the frontend was told
	ktl::Atomic<uint64_t> next_log_ns_{0};
	// Changed under xenbus_lite's lock; the lock is for Reclaim().
	SpinLock rings_lock_{XI_LOCK_CLASS("blkback2::Vbd::rings_lock_")};
	Ring *rings_[xb::kMaxQueues] XI_GUARDED_BY(rings_lock_) = {};
	uint32_t nrings_ XI_GUARDED_BY(rings_lock_) = 0;
	ktl::Atomic<uint32_t> stopping_rings_{0}; // and one while starting them
	ktl::Atomic<bool> connected_{false};
	ktl::Counter stats_[BB2_NR_STATS];
};

// The xenbus driver, with the protocol rules of either architecture (the
// module's is blkif::kArch's).
const xb::Driver &VbdDriver(blkif::Arch arch);

} // namespace blkback2

#endif // BLKBACK2_IO_H
