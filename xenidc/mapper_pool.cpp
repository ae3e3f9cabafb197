// SPDX-License-Identifier: GPL-2.0-only
//
// RbrMapperPool: see include/xenidc/mapper_pool.h.
#include <xenidc/grant_copy.h>
#include <xenidc/mapper_pool.h>

namespace xenidc {

// A persistently mapped grant. Entries with users == 0 sit on the LRU list.
struct RbrMapperPool::CacheEntry {
	GrantRef gref;
	uint32_t frame;
	uint32_t handle;
	uint32_t users;
	int32_t hash_next; // also the free-list link
	int32_t lru_prev;
	int32_t lru_next;
	bool failed;	    // its map failed: unhashed, freed by the last user
	bool stuck;	    // ... and could not be undone: its frame is quarantined
	uint64_t last_used; // xi_now_ns() when it went idle
};

namespace {

constexpr uint32_t kUnmapChunk = 32;

uint32_t RoundUpPow2(uint32_t v)
{
	uint32_t p = 1;
	while (p < v)
		p *= 2;
	return p;
}

} // namespace

Result<RbrMapperPool *> RbrMapperPool::Create(const Config &c)
{
	if (c.max_elems == 0 || c.persistent_max > c.frames ||
	    (c.sg_capable && c.frames < c.max_elems) ||
	    (!c.sg_capable && (!c.staging_buffers || !c.staging_bytes)) ||
	    (!c.staging_buffers != !c.staging_bytes))
		return Status::Error(err::kInval);

	void *mem = xi_zalloc(sizeof(RbrMapperPool));
	if (!mem)
		return Status::Error(err::kNoMem);
	auto *p = new (mem) RbrMapperPool();
	p->cfg_ = c;
	p->unmaps_cap_ = kUnmapChunk;
	p->ops_ = ktl::AllocArray<xi_map_op>(c.max_elems);
	p->op_slot_ = ktl::AllocArray<OpSlot>(c.max_elems);
	p->unmaps_ = ktl::AllocArray<xi_map_op>(kUnmapChunk);
	p->unmap_frame_ = ktl::AllocArray<uint32_t>(kUnmapChunk);
	bool ok = p->ops_ && p->op_slot_ && p->unmaps_ && p->unmap_frame_;

	if (ok && c.frames) {
		uint32_t nchunks = (c.frames + kFrameChunk - 1) / kFrameChunk;
		p->frames_ = ktl::AllocArray<xi_page *>(c.frames);
		p->free_ = ktl::AllocArray<uint32_t>(c.frames);
		p->chunk_live_ = ktl::AllocArray<uint8_t>(nchunks);
		p->chunk_free_ = ktl::AllocArray<uint16_t>(nchunks);
		ok = p->frames_ && p->free_ && p->chunk_live_ && p->chunk_free_;
		p->nchunks_ = ok ? nchunks : 0;
	}
	if (ok && c.persistent_max) {
		p->nbuckets_ = RoundUpPow2(c.persistent_max * 2);
		p->cache_ = ktl::AllocArray<CacheEntry>(c.persistent_max);
		p->buckets_ = ktl::AllocArray<int32_t>(p->nbuckets_);
		ok = p->cache_ && p->buckets_;
		for (uint32_t i = 0; ok && i < p->nbuckets_; i++)
			p->buckets_[i] = -1;
		for (uint32_t i = 0; ok && i < c.persistent_max; i++)
			p->cache_[i].hash_next = i + 1 < c.persistent_max ? (int32_t)i + 1 : -1;
		p->cache_free_ = 0;
	}
	if (ok && c.staging_buffers) {
		p->staging_ = ktl::AllocArray<void *>(c.staging_buffers);
		p->staging_free_ = ktl::AllocArray<int32_t>(c.staging_buffers);
		ok = p->staging_ && p->staging_free_;
		for (uint32_t i = 0; ok && i < c.staging_buffers; i++) {
			p->staging_[i] = xi_dma_alloc(c.staging_bytes);
			ok = p->staging_[i] != nullptr;
			if (ok)
				p->staging_free_[p->nstaging_free_++] = (int32_t)i;
		}
	}
	if (!ok) {
		Destroy(p);
		return Status::Error(err::kNoMem);
	}
	return p;
}

void RbrMapperPool::Destroy(RbrMapperPool *p)
{
	if (!p)
		return;
	p->CacheFlush();
	// Never free a frame a foreign grant may still be mapped onto: the
	// chunks all free, then the free frames of those with a quarantined one.
	if (!XI_WARN_ON(p->frames_in_use() != 0)) {
		p->FreeIdleChunks();
		for (uint32_t i = 0; i < p->nfree_; i++)
			xi_pages_free(1, &p->frames_[p->free_[i]]);
		// (the quarantined stay allocated, counted in debugfs' live)
		if (p->cfg_.budget)
			xi_budget_uncharge(p->cfg_.budget,
					   (uint64_t)p->live_frames_ * XI_PAGE_SIZE);
	}
	for (uint32_t i = 0; p->staging_ && i < p->cfg_.staging_buffers; i++)
		xi_dma_free(p->staging_[i]);
	xi_free(p->frames_);
	xi_free(p->free_);
	xi_free(p->chunk_live_);
	xi_free(p->chunk_free_);
	xi_free(p->ops_);
	xi_free(p->op_slot_);
	xi_free(p->unmaps_);
	xi_free(p->unmap_frame_);
	xi_free(p->staging_);
	xi_free(p->staging_free_);
	xi_free(p->cache_);
	xi_free(p->buckets_);
	p->~RbrMapperPool();
	xi_free(p);
}

uint32_t RbrMapperPool::frames_in_use() const
{
	return live_frames_ - nfree_ - cache_used_ - quarantined_;
}

uint32_t RbrMapperPool::ChunkFrames(uint32_t c) const
{
	return ktl::Min(kFrameChunk, cfg_.frames - c * kFrameChunk);
}

// One more chunk of frames, charged to the domain's budget. May sleep.
bool RbrMapperPool::Grow()
{
	for (uint32_t c = 0; c < nchunks_; c++) {
		if (chunk_live_[c])
			continue;
		uint32_t n = ChunkFrames(c), first = c * kFrameChunk;
		uint64_t bytes = (uint64_t)n * XI_PAGE_SIZE;
		if (cfg_.budget && !xi_budget_charge(cfg_.budget, bytes, cfg_.budget_cap)) {
			stats_.over_budget++;
			return false;
		}
		if (xi_pages_alloc(n, frames_ + first) != 0) {
			if (cfg_.budget)
				xi_budget_uncharge(cfg_.budget, bytes);
			return false;
		}
		chunk_live_[c] = 1;
		live_frames_ += n;
		for (uint32_t i = n; i-- > 0;)
			free_[nfree_++] = first + i;
		return true;
	}
	return false;
}

// Frees every live chunk whose frames are all on the free stack.
void RbrMapperPool::FreeIdleChunks()
{
	for (uint32_t c = 0; c < nchunks_; c++)
		chunk_free_[c] = 0;
	for (uint32_t i = 0; i < nfree_; i++)
		chunk_free_[free_[i] / kFrameChunk]++;
	uint32_t kept = 0;
	for (uint32_t i = 0; i < nfree_; i++)
		if (chunk_free_[free_[i] / kFrameChunk] != ChunkFrames(free_[i] / kFrameChunk))
			free_[kept++] = free_[i];
	nfree_ = kept;
	for (uint32_t c = 0; c < nchunks_; c++) {
		uint32_t n = ChunkFrames(c);
		if (!chunk_live_[c] || chunk_free_[c] != n)
			continue;
		xi_pages_free(n, frames_ + c * kFrameChunk);
		if (cfg_.budget)
			xi_budget_uncharge(cfg_.budget, (uint64_t)n * XI_PAGE_SIZE);
		chunk_live_[c] = 0;
		live_frames_ -= n;
	}
}

uint64_t RbrMapperPool::Trim(uint64_t idle_ns)
{
	uint64_t now = xi_now_ns();
	uint32_t nunmap = 0;

	// The LRU's head went idle first: evict while it idled long enough.
	while (idle_ns && lru_head_ >= 0 && now - cache_[lru_head_].last_used >= idle_ns)
		EvictOne(&nunmap);
	FlushUnmaps(nunmap);
	FreeIdleChunks();
	if (!idle_ns || lru_head_ < 0)
		return 0;
	return cache_[lru_head_].last_used + idle_ns - now;
}

void RbrMapperPool::SetPersistent(bool on)
{
	if (!on)
		CacheFlush();
	persistent_on_ = on && cfg_.persistent_max > 0 && cfg_.sg_capable;
}

Status RbrMapperPool::Check(const SgRbr &sg, Direction dir, Mapping *m)
{
	size_t n = sg.elems.size();

	if (XI_WARN_ON(m->mapped()))
		return Status::Error(err::kBusy);
	if (n == 0 || n > cfg_.max_elems || n > m->sg_.size() || n > m->elems_.size())
		return Status::Error(err::kInval);
	for (const Rbr &r : sg.elems)
		if (!r.Valid())
			return Status::Error(err::kInval);
	m->rbr_ = sg;
	m->dir_ = dir;
	return Status::Ok();
}

Status RbrMapperPool::Map(const SgRbr &sg, Direction dir, Mapping *m)
{
	XI_TRY(Check(sg, dir, m));
	return cfg_.sg_capable ? MapSg(sg, dir, m) : Stage(sg, dir, m);
}

Status RbrMapperPool::MapStaged(const SgRbr &sg, Direction dir, Mapping *m)
{
	if (!cfg_.staging_buffers)
		return Status::Error(err::kInval);
	XI_TRY(Check(sg, dir, m));
	return Stage(sg, dir, m);
}

Status RbrMapperPool::MapSg(const SgRbr &sg, Direction dir, Mapping *m)
{
	uint32_t nops = 0, nunmap = 0;
	size_t n = sg.elems.size();
	// The cache belongs to one frontend.
	bool use_cache = persistent_on_ && (cache_used_ == 0 || sg.dom == cache_dom_);

	if (use_cache && cache_used_ == 0)
		cache_dom_ = sg.dom;
	m->count_ = 0;
	for (const Rbr &r : sg.elems) {
		MappedElem &e = m->elems_[m->count_];
		if (!ClaimFrame(r, sg.dom, dir, use_cache, m->count_, &e, &nops, &nunmap))
			break;
		uint32_t frame = e.persistent ? cache_[e.slot].frame : e.slot;
		m->sg_[m->count_++] = {frames_[frame], r.offset, r.length};
	}
	FlushUnmaps(nunmap); // the evictions queued above
	nunmap = 0;

	bool complete = m->count_ == n;
	bool mapped = SettleMaps(nops, complete, m);
	if (complete && mapped) {
		m->bytes_ = sg.Bytes();
		return Status::Ok();
	}
	if (complete)
		stats_.map_failures++;
	else
		stats_.exhausted++;
	ReleaseSg(m, &nunmap);
	FlushUnmaps(nunmap);
	return Status::Error(complete ? err::kFault : err::kAgain);
}

// Gives element `idx` a frame: a cache hit, a new cache entry, or a transient
// mapping; the last two queue a map op. false: no frame left.
bool RbrMapperPool::ClaimFrame(const Rbr &r, DomId dom, Direction dir, bool use_cache, uint32_t idx,
			       MappedElem *e, uint32_t *nops, uint32_t *nunmap)
{
	int32_t c = use_cache ? CacheFind(r.gref) : -1;

	if (c >= 0) {
		if (cache_[c].users++ == 0)
			LruUnlink(c); // idle entries are exactly those on the LRU
		*e = {(uint32_t)c, kNoHandle, true, false};
		return true;
	}
	// More frames while they may be had; then an evicted one, free once
	// its unmap is done: flush it now.
	while (nfree_ == 0 && !Grow()) {
		if (!use_cache || !EvictOne(nunmap))
			return false;
		FlushUnmaps(*nunmap);
		*nunmap = 0;
	}
	uint32_t frame = free_[--nfree_];
	if (use_cache && cache_used_ == cfg_.persistent_max)
		EvictOne(nunmap);
	c = use_cache && cache_used_ < cfg_.persistent_max ? CacheInsert(r.gref, frame) : -1;
	// Persistent grants may serve reads and writes later: they are mapped
	// writable, as the protocol has the frontend grant them.
	bool ro = c < 0 && dir == Direction::kToDevice;
	ops_[*nops] = {dom.value(), ro, 1, r.gref.value(), 0, frames_[frame]};
	op_slot_[*nops] = c >= 0 ? OpSlot{true, (uint32_t)c} : OpSlot{false, idx};
	(*nops)++;
	*e = c >= 0 ? MappedElem{(uint32_t)c, kNoHandle, true, false}
		    : MappedElem{frame, kNoHandle, false, false};
	return true;
}

// Runs the queued map ops (or, if !run, abandons them) and records each
// outcome where its element or cache entry keeps it. true: all mapped.
bool RbrMapperPool::SettleMaps(uint32_t nops, bool run, Mapping *m)
{
	bool all = true;

	if (!nops)
		return true;
	uint32_t step = cfg_.map_batch ? cfg_.map_batch : nops;
	for (uint32_t k = 0; k < nops; k += step) {
		uint32_t n = ktl::Min(step, nops - k);
		if (!run || xi_grant_map(ops_ + k, n) != 0)
			for (uint32_t j = k; j < k + n; j++)
				ops_[j].status = XI_GNTST_GENERAL_ERROR;
	}
	if (run)
		stats_.maps += nops;
	for (uint32_t k = 0; k < nops; k++) {
		const xi_map_op &op = ops_[k];
		bool ok = op.status == XI_GNTST_OKAY;
		bool stuck = op.status == XI_GNTST_STILL_MAPPED;
		uint32_t idx = op_slot_[k].idx;
		all &= ok;
		if (!op_slot_[k].persistent) {
			m->elems_[idx].handle = ok ? op.handle : kNoHandle;
			m->elems_[idx].stuck = stuck;
			continue;
		}
		CacheEntry &ce = cache_[idx];
		ce.handle = op.handle;
		if (!ok) {
			ce.failed = true;
			ce.stuck = stuck;
			CacheRemove((int32_t)idx);
		}
	}
	return all;
}

Status RbrMapperPool::Stage(const SgRbr &sg, Direction dir, Mapping *m)
{
	size_t bytes = sg.Bytes();

	if (bytes > cfg_.staging_bytes)
		return Status::Error(err::kInval);
	if (nstaging_free_ == 0) {
		stats_.exhausted++;
		return Status::Error(err::kAgain);
	}
	int32_t idx = staging_free_[--nstaging_free_];
	if (dir == Direction::kToDevice) {
		Status s = Copy(sg, staging_[idx], bytes, false);
		if (!s.ok()) {
			staging_free_[nstaging_free_++] = idx;
			stats_.map_failures++;
			return s;
		}
	}
	m->staging_ = idx;
	m->buffer_ = staging_[idx];
	m->bytes_ = bytes;
	return Status::Ok();
}

Status RbrMapperPool::CopyOut(Mapping *m, size_t bytes, size_t offset)
{
	if (m->staging_ < 0 || m->dir_ != Direction::kFromDevice || offset >= m->bytes_)
		return Status::Ok();
	bytes = ktl::Min(bytes, m->bytes_ - offset);
	return bytes ? Copy(m->rbr_, m->buffer_, bytes, true, offset) : Status::Ok();
}

Status RbrMapperPool::Copy(const SgRbr &sg, void *buf, size_t bytes, bool to_remote, size_t offset)
{
	XI_TRY(GrantCopy(sg, buf, bytes, to_remote, offset));
	stats_.copied_bytes += bytes;
	return Status::Ok();
}

void RbrMapperPool::UnmapBatch(ktl::Span<Mapping *const> ms)
{
	uint32_t nunmap = 0;

	for (Mapping *m : ms) {
		if (m->staging_ >= 0) {
			staging_free_[nstaging_free_++] = m->staging_;
			m->staging_ = -1;
			m->buffer_ = nullptr;
		} else {
			ReleaseSg(m, &nunmap);
		}
		m->bytes_ = 0;
	}
	FlushUnmaps(nunmap);
}

// Drops m's claims. A mapped frame goes back to the free stack once its
// queued unmap is done (FlushUnmaps), never before.
void RbrMapperPool::ReleaseSg(Mapping *m, uint32_t *nunmap)
{
	uint64_t now = 0; // read once, if a persistent grant goes idle

	for (uint32_t i = 0; i < m->count_; i++) {
		MappedElem &e = m->elems_[i];
		if (e.persistent) {
			CacheEntry &ce = cache_[e.slot];
			if (XI_WARN_ON(ce.users == 0) || --ce.users)
				continue;
			if (ce.failed) {
				FreeFrame(ce.frame, ce.stuck);
				ce.hash_next = cache_free_;
				cache_free_ = (int32_t)e.slot;
				cache_used_--;
			} else {
				ce.last_used = now ? now : (now = xi_now_ns());
				LruPushBack((int32_t)e.slot);
			}
			continue;
		}
		if (e.handle != kNoHandle)
			QueueUnmap(e.handle, e.slot, nunmap);
		else
			FreeFrame(e.slot, e.stuck);
	}
	m->count_ = 0;
}

void RbrMapperPool::QueueUnmap(uint32_t handle, uint32_t frame, uint32_t *nunmap)
{
	if (*nunmap == unmaps_cap_) {
		FlushUnmaps(*nunmap);
		*nunmap = 0;
	}
	unmap_frame_[*nunmap] = frame;
	unmaps_[(*nunmap)++] = {0, 0, XI_GNTST_OKAY, 0, handle, frames_[frame]};
}

// Unmaps what is queued; each frame is free again once its unmap is done.
void RbrMapperPool::FlushUnmaps(uint32_t n)
{
	uint32_t step = cfg_.map_batch ? cfg_.map_batch : n;
	for (uint32_t k = 0; k < n; k += step) {
		uint32_t c = ktl::Min(step, n - k);
		if (xi_grant_unmap(unmaps_ + k, c) != 0)
			for (uint32_t j = k; j < k + c; j++)
				unmaps_[j].status = XI_GNTST_STILL_MAPPED;
	}
	for (uint32_t k = 0; k < n; k++)
		FreeFrame(unmap_frame_[k], unmaps_[k].status != XI_GNTST_OKAY);
	stats_.unmaps += n;
}

// A frame still holding a foreign mapping is quarantined: never mapped onto
// again, never freed (Destroy leaves it), counted.
void RbrMapperPool::FreeFrame(uint32_t frame, bool still_mapped)
{
	if (!still_mapped) {
		free_[nfree_++] = frame;
		return;
	}
	quarantined_++;
	stats_.quarantined++;
}

// ---- Persistent cache ----

static uint32_t HashGref(GrantRef g, uint32_t nbuckets)
{
	return (g.value() * 2654435761u) & (nbuckets - 1);
}

int32_t RbrMapperPool::CacheFind(GrantRef g) const
{
	if (!cache_used_)
		return -1;
	for (int32_t e = buckets_[HashGref(g, nbuckets_)]; e >= 0; e = cache_[e].hash_next)
		if (cache_[e].gref == g)
			return e;
	return -1;
}

// A new entry for g on `frame`, in use by the caller, not yet mapped.
int32_t RbrMapperPool::CacheInsert(GrantRef g, uint32_t frame)
{
	int32_t e = cache_free_;
	if (XI_WARN_ON(e < 0))
		return -1;
	CacheEntry &ce = cache_[e];
	cache_free_ = ce.hash_next;
	uint32_t b = HashGref(g, nbuckets_);
	ce = {g, frame, kNoHandle, 1, buckets_[b], -1, -1, false, false, 0};
	buckets_[b] = e;
	cache_used_++;
	return e;
}

// Unhashes e (it stays allocated until its users are gone).
void RbrMapperPool::CacheRemove(int32_t e)
{
	int32_t *p = &buckets_[HashGref(cache_[e].gref, nbuckets_)];
	while (*p >= 0 && *p != e)
		p = &cache_[*p].hash_next;
	if (*p == e)
		*p = cache_[e].hash_next;
	cache_[e].hash_next = -1;
}

void RbrMapperPool::LruUnlink(int32_t e)
{
	CacheEntry &ce = cache_[e];
	(ce.lru_prev >= 0 ? cache_[ce.lru_prev].lru_next : lru_head_) = ce.lru_next;
	(ce.lru_next >= 0 ? cache_[ce.lru_next].lru_prev : lru_tail_) = ce.lru_prev;
	ce.lru_prev = ce.lru_next = -1;
}

void RbrMapperPool::LruPushBack(int32_t e)
{
	CacheEntry &ce = cache_[e];
	ce.lru_prev = lru_tail_;
	ce.lru_next = -1;
	(lru_tail_ >= 0 ? cache_[lru_tail_].lru_next : lru_head_) = e;
	lru_tail_ = e;
}

// Queues the unmap of the least recently used idle entry (its frame is
// free once that is flushed). false: every entry is in use.
bool RbrMapperPool::EvictOne(uint32_t *nunmap)
{
	int32_t e = lru_head_;
	if (e < 0)
		return false;
	CacheEntry &ce = cache_[e];
	LruUnlink(e);
	CacheRemove(e);
	QueueUnmap(ce.handle, ce.frame, nunmap);
	ce.hash_next = cache_free_;
	cache_free_ = e;
	cache_used_--;
	stats_.persistent_evictions++;
	return true;
}

void RbrMapperPool::CacheFlush()
{
	uint32_t nunmap = 0;

	while (EvictOne(&nunmap))
		;
	FlushUnmaps(nunmap);
	XI_WARN_ON(cache_used_ != 0);
	stats_.persistent_evictions = 0;
}

} // namespace xenidc
