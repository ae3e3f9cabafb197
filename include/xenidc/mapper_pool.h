// SPDX-License-Identifier: GPL-2.0-only
//
// RbrMapperPool: turns remote buffers (SgRbr) into local ones (Lbr) and back.
// Memory follows use: the frames grants are mapped onto come in chunks as
// they are needed (in the owner's work, which may sleep), up to
// Config::frames and the domain's budget, and go back once idle (Trim).
//
//   auto r = RbrMapperPool::Create({.frames = 1024, .max_elems = 256, ...});
//   RbrMapperPool *pool = r.value();
//   Status s = pool->Map(sg, Direction::kFromDevice, &mapping);  // -EAGAIN: requeue
//   ... I/O on mapping.lbr() ...
//   pool->CopyOut(&mapping, bytes_done);   // staging only: results to the guest
//   pool->Unmap(&mapping);                 // or UnmapBatch() for many at once
//   RbrMapperPool::Destroy(pool);
//
// Two ways to reach the data; Config::sg_capable picks Map()'s default:
//   - SG (zero copy): each element's grant is mapped onto a pool frame and
//     the Lbr lists (frame, offset, length). For drivers whose device takes
//     scatter-gather lists (block bios, USB host controllers with SG).
//   - Staging: one contiguous pool buffer; grant copy fills it before a
//     transfer to the device and empties it after one from the device.
//
// Persistent grants (SetPersistent): mapped grants stay mapped in a bounded
// per-pool cache keyed by grant reference, so a frontend that reuses its
// grants costs no map or unmap at all. When the cache is full (and no more
// frames may be had), the least recently used idle entry is evicted; Trim()
// also unmaps those unused for a while.
//
// Not thread-safe: one context (the owner's work) calls it.
#ifndef XENIDC_MAPPER_POOL_H
#define XENIDC_MAPPER_POOL_H

#include <xenidc/rbr.h>
#include <xenidc/status.h>

namespace xenidc {

class RbrMapperPool;

constexpr uint32_t kNoHandle = ~0u;

// One element's claim on the pool while its I/O is in flight.
struct MappedElem {
	uint32_t slot;	 // frame index, or cache entry index if persistent
	uint32_t handle; // transient: grant handle, kNoHandle if not mapped
	bool persistent;
	bool stuck; // transient, not mapped: its failed map could not be undone
};

// The state of one mapped SgRbr. The caller provides its storage (sized for
// the most elements it will map) and keeps `sg` alive until Unmap.
class Mapping {
public:
	void Init(ktl::Span<SgElement> sg, ktl::Span<MappedElem> elems)
	{
		sg_ = sg;
		elems_ = elems;
		count_ = 0;
		staging_ = -1;
	}
	bool mapped() const { return count_ > 0 || staging_ >= 0; }
	// True if the guest may be told the I/O is done before Unmap(): no
	// staging buffer to copy back, no grant that must be unmapped first
	// (every element is a persistent grant, which stays mapped anyway).
	bool AnswerableBeforeUnmap() const
	{
		if (staging_ >= 0)
			return false;
		for (uint32_t i = 0; i < count_; i++)
			if (!elems_[i].persistent)
				return false;
		return true;
	}
	Lbr lbr() const
	{
		return staging_ >= 0 ? Lbr::Contiguous(buffer_, bytes_)
				     : Lbr::Sg(ktl::Span<const SgElement>(sg_.data(), count_));
	}
	size_t bytes() const { return bytes_; }

private:
	friend class RbrMapperPool;
	ktl::Span<SgElement> sg_;
	ktl::Span<MappedElem> elems_;
	SgRbr rbr_;
	Direction dir_ = Direction::kToDevice;
	uint32_t count_ = 0;   // mapped elements (SG mode)
	int32_t staging_ = -1; // staging buffer index
	void *buffer_ = nullptr;
	size_t bytes_ = 0;
};

class RbrMapperPool {
public:
	struct Config {
		uint32_t frames = 0;	      // most grant-mappable frames (SG mode, cache)
		uint32_t max_elems = 0;	      // most elements in one Map()
		uint32_t persistent_max = 0;  // cache capacity, <= frames
		bool sg_capable = true;	      // Map() maps; else it stages
		uint32_t staging_buffers = 0; // for staging: buffers ...
		uint32_t staging_bytes = 0;   // ... of this many bytes each
		uint32_t map_batch = 0;	      // most grant ops per call, 0: all
		xi_budget *budget = nullptr;  // frames are charged to it ...
		uint64_t budget_cap = 0;      // ... up to this many bytes (0: no cap)
	};
	// Frames are allocated this many at a time.
	static constexpr uint32_t kFrameChunk = 32;

	struct Stats {
		uint64_t maps;	       // grants mapped (hypercall ops)
		uint64_t unmaps;       // grants unmapped
		uint64_t map_failures; // Map() calls failed by a bad grant
		uint64_t exhausted;    // Map() calls that got -EAGAIN
		uint64_t persistent_hits;
		uint64_t persistent_evictions;
		uint64_t copied_bytes; // staging mode, both ways
		uint64_t quarantined;  // frames whose unmap failed: never used again
		uint64_t over_budget;  // frames wanted past the domain's budget
	};

	static Result<RbrMapperPool *> Create(const Config &c) XI_EXPORT(xi_pool_create);
	// Unmaps the cache and frees everything; all mappings must be released.
	static void Destroy(RbrMapperPool *pool) XI_EXPORT(xi_pool_destroy);

	// Persistent grants are negotiated per connection. Turning them off
	// unmaps the cache.
	void SetPersistent(bool on) XI_EXPORT(xi_pool_set_persistent);
	bool persistent() const { return persistent_on_; }
	// Config::map_batch, changeable between Map()/Unmap() calls.
	void SetMapBatch(uint32_t n) { cfg_.map_batch = n; }

	// All or nothing. -EAGAIN: not enough free frames or buffers now, nor
	// more to be had (try again after some Unmap). -EINVAL: malformed.
	// -EFAULT: a grant did not map or copy (the frontend's fault).
	Status Map(const SgRbr &sg, Direction dir, Mapping *m) XI_EXPORT(xi_pool_map);
	// Stages whatever the default: for transfers that need one contiguous
	// buffer even on a scatter-gather device (USB control, interrupt, iso).
	Status MapStaged(const SgRbr &sg, Direction dir, Mapping *m) XI_EXPORT(xi_pool_map_staged);
	// Staging, kFromDevice: copies `bytes` of the buffer from `offset` on
	// to the same place in the frontend's. A no-op for SG mappings (the
	// device wrote in place).
	Status CopyOut(Mapping *m, size_t bytes, size_t offset = 0) XI_EXPORT(xi_pool_copy_out);
	void Unmap(Mapping *m) { UnmapBatch(ktl::Span<Mapping *const>(&m, 1)); }
	// Releases many mappings with one unmap hypercall batch.
	void UnmapBatch(ktl::Span<Mapping *const> ms) XI_EXPORT(xi_pool_unmap_batch);

	// Gives back what idles: persistent grants unused for idle_ns or more
	// (0: none), then every chunk of frames none of which is in use.
	// Returns in how many ns the next persistent grant will have idled that
	// long, 0 if none will (nothing left that time gives back).
	uint64_t Trim(uint64_t idle_ns) XI_EXPORT(xi_pool_trim);

	const Config &config() const { return cfg_; }
	uint32_t free_frames() const { return nfree_; }
	uint32_t live_frames() const { return live_frames_; }
	uint32_t quarantined() const { return quarantined_; }
	uint32_t persistent_count() const { return cache_used_; }
	uint32_t frames_in_use() const XI_EXPORT(xi_pool_frames_in_use);
	Stats stats() const { return stats_; }

private:
	struct CacheEntry;
	struct OpSlot {
		bool persistent; // idx is a cache entry, else an element
		uint32_t idx;
	};
	RbrMapperPool() = default;
	~RbrMapperPool() = default;

	Status Check(const SgRbr &sg, Direction dir, Mapping *m);
	Status MapSg(const SgRbr &sg, Direction dir, Mapping *m);
	Status Stage(const SgRbr &sg, Direction dir, Mapping *m);
	bool ClaimFrame(const Rbr &r, DomId dom, Direction dir, bool use_cache, uint32_t idx,
			MappedElem *e, uint32_t *nops, uint32_t *nunmap);
	bool SettleMaps(uint32_t nops, bool run, Mapping *m);
	bool Grow();
	uint32_t ChunkFrames(uint32_t c) const;
	void FreeIdleChunks();
	Status Copy(const SgRbr &sg, void *buf, size_t bytes, bool to_remote, size_t offset = 0);
	void ReleaseSg(Mapping *m, uint32_t *nunmap);
	void QueueUnmap(uint32_t handle, uint32_t frame, uint32_t *nunmap);
	void FlushUnmaps(uint32_t n);
	void FreeFrame(uint32_t frame, bool still_mapped);

	// Persistent cache.
	int32_t CacheFind(GrantRef g) const;
	int32_t CacheInsert(GrantRef g, uint32_t frame);
	void CacheRemove(int32_t e);
	void LruUnlink(int32_t e);
	void LruPushBack(int32_t e);
	bool EvictOne(uint32_t *nunmap);
	void CacheFlush();

	Config cfg_;
	Stats stats_{};
	xi_page **frames_ = nullptr; // Config::frames; those of live chunks valid
	uint8_t *chunk_live_ = nullptr;
	uint16_t *chunk_free_ = nullptr; // scratch: free frames per chunk
	uint32_t nchunks_ = 0;
	uint32_t live_frames_ = 0;
	uint32_t *free_ = nullptr; // stack of free frame indexes
	uint32_t nfree_ = 0;
	xi_map_op *ops_ = nullptr;	  // scratch, max_elems entries
	OpSlot *op_slot_ = nullptr;	  // what each op in ops_ maps for
	xi_map_op *unmaps_ = nullptr;	  // scratch for batched unmaps ...
	uint32_t *unmap_frame_ = nullptr; // ... and their frames
	uint32_t unmaps_cap_ = 0;
	uint32_t quarantined_ = 0;

	void **staging_ = nullptr;
	int32_t *staging_free_ = nullptr;
	uint32_t nstaging_free_ = 0;

	bool persistent_on_ = false;
	CacheEntry *cache_ = nullptr; // persistent_max entries
	int32_t *buckets_ = nullptr;  // hash heads, nbuckets_ (power of 2)
	uint32_t nbuckets_ = 0;
	int32_t cache_free_ = -1; // free entry list
	uint32_t cache_used_ = 0;
	int32_t lru_head_ = -1; // idle entries, least recently used first
	int32_t lru_tail_ = -1;
	DomId cache_dom_;
};

} // namespace xenidc

#endif // XENIDC_MAPPER_POOL_H
