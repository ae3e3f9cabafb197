// SPDX-License-Identifier: GPL-2.0-only
//
// RbrMapperPool: zero-copy SG mapping, staging by grant copy (data compared
// byte for byte, both directions), failures in the middle of a batch,
// exhaustion and requeue, persistent grants and their eviction.
#include <cstdio>
#include <sys/wait.h>
#include <unistd.h>

#include <xenidc/mapper_pool.h>

#include "sim_test.h"

using namespace xenidc;

namespace {

// A guest buffer of whole pages with one grant per page.
struct GuestBuf {
	GuestBuf(sim::Sim &s, xi_domid_t dom, unsigned pages, bool readonly) : s(s), dom(dom)
	{
		first = s.domain(dom).AllocFrames(pages);
		for (unsigned i = 0; i < pages; i++)
			grefs.push_back(s.GrantAccess(dom, first + i, sim::kDom0, readonly));
	}
	uint8_t *page(unsigned i) { return s.domain(dom).Frame(first + i); }
	// Elements covering [off, off+len) of each page.
	std::vector<Rbr> Elems(uint16_t off = 0, uint16_t len = XI_PAGE_SIZE)
	{
		std::vector<Rbr> v;
		for (auto g : grefs)
			v.push_back({GrantRef(g), off, len});
		return v;
	}
	sim::Sim &s;
	xi_domid_t dom;
	uint32_t first;
	std::vector<xi_gref_t> grefs;
};

struct Slot {
	explicit Slot(size_t n) : sg(n), elems(n)
	{
		m.Init(ktl::Span<SgElement>(sg.data(), n), ktl::Span<MappedElem>(elems.data(), n));
	}
	std::vector<SgElement> sg;
	std::vector<MappedElem> elems;
	Mapping m;
};

SgRbr Sg(xi_domid_t dom, const std::vector<Rbr> &v)
{
	return {DomId(dom), ktl::Span<const Rbr>(v.data(), v.size())};
}

} // namespace

class PoolTest : public SimTest {
protected:
	RbrMapperPool *Make(RbrMapperPool::Config c)
	{
		auto r = RbrMapperPool::Create(c);
		EXPECT_TRUE(r.ok());
		return r.ok() ? r.value() : nullptr;
	}
	static RbrMapperPool::Config Sg(uint32_t frames, uint32_t max_elems,
					uint32_t persistent = 0)
	{
		RbrMapperPool::Config c;
		c.frames = frames;
		c.max_elems = max_elems;
		c.persistent_max = persistent;
		return c;
	}
	static RbrMapperPool::Config Staged(uint32_t bufs, uint32_t bytes, uint32_t max_elems)
	{
		RbrMapperPool::Config c;
		c.sg_capable = false;
		c.max_elems = max_elems;
		c.staging_buffers = bufs;
		c.staging_bytes = bytes;
		return c;
	}
};

TEST_F(PoolTest, CreateFailsCleanlyAtEveryAllocation)
{
	for (int n = 1; n <= 12; n++) {
		sim_.FailNth(sim::Fault::kAlloc, n);
		auto r = RbrMapperPool::Create(Sg(64, 16, 32));
		if (r.ok())
			RbrMapperPool::Destroy(r.value());
		else
			EXPECT_EQ(r.status().code(), -err::kNoMem);
		EXPECT_EQ(sim_.counters().allocs, 0) << "failing allocation " << n;
		EXPECT_EQ(sim_.counters().pages, 0);
	}
	sim_.FailNth(sim::Fault::kAlloc, 0);
	EXPECT_EQ(sim_.counters().pages, 0) << "no frame before one is needed";
}

// Frames come a chunk at a time as requests need them, and go back once
// idle; a chunk that cannot be had makes the request wait, not fail.
TEST_F(PoolTest, FramesFollowUse)
{
	const uint32_t chunk = RbrMapperPool::kFrameChunk;
	RbrMapperPool *pool = Make(Sg(3 * chunk, 2 * chunk));
	GuestBuf buf(sim_, kGuest, 2 * chunk, false);
	auto all = buf.Elems();
	std::vector<Rbr> few(all.begin(), all.begin() + 3);
	std::vector<Rbr> many(all.begin() + 3, all.begin() + 3 + chunk);
	Slot a(2 * chunk), b(2 * chunk);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, few), Direction::kFromDevice, &a.m).ok());
	EXPECT_EQ(sim_.counters().pages, (long)chunk);
	sim_.FailNth(sim::Fault::kPageAlloc, 1);
	EXPECT_EQ(pool->Map(::Sg(kGuest, many), Direction::kFromDevice, &b.m).code(), -err::kAgain);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, many), Direction::kFromDevice, &b.m).ok());
	EXPECT_EQ(sim_.counters().pages, (long)(2 * chunk));
	pool->Unmap(&b.m);
	EXPECT_EQ(pool->Trim(0), 0u);
	EXPECT_EQ(pool->live_frames(), RbrMapperPool::kFrameChunk) << "a chunk is still in use";
	EXPECT_EQ(sim_.counters().pages, (long)chunk);
	pool->Unmap(&a.m);
	EXPECT_EQ(pool->Trim(0), 0u);
	EXPECT_EQ(sim_.counters().pages, 0);
	EXPECT_EQ(pool->live_frames(), 0u);
	RbrMapperPool::Destroy(pool);
}

// A domain's budget caps the frames every pool serving it holds together.
TEST_F(PoolTest, TheDomainsBudgetCapsTheFrames)
{
	const uint32_t chunk = RbrMapperPool::kFrameChunk;
	xi_budget *budget = xi_budget_get(kGuest);
	RbrMapperPool::Config c = Sg(4 * chunk, chunk);
	c.budget = budget;
	c.budget_cap = 2ull * chunk * XI_PAGE_SIZE;
	RbrMapperPool *p1 = Make(c), *p2 = Make(c);
	GuestBuf buf(sim_, kGuest, 3 * chunk, false);
	auto all = buf.Elems();
	std::vector<Rbr> e1(all.begin(), all.begin() + chunk),
		e2(all.begin() + chunk, all.begin() + 2 * chunk),
		e3(all.begin() + 2 * chunk, all.end());
	Slot s1(chunk), s2(chunk), s3(chunk);
	ASSERT_TRUE(p1->Map(::Sg(kGuest, e1), Direction::kFromDevice, &s1.m).ok());
	ASSERT_TRUE(p2->Map(::Sg(kGuest, e2), Direction::kFromDevice, &s2.m).ok());
	EXPECT_EQ(xi_budget_charged(budget), 2ull * chunk * XI_PAGE_SIZE);
	EXPECT_EQ(p1->Map(::Sg(kGuest, e3), Direction::kFromDevice, &s3.m).code(), -err::kAgain)
		<< "a third chunk is past the domain's cap, whichever pool asks";
	EXPECT_EQ(p1->stats().over_budget, 1u);
	p2->Unmap(&s2.m);
	p2->Trim(0);
	ASSERT_TRUE(p1->Map(::Sg(kGuest, e3), Direction::kFromDevice, &s3.m).ok());
	p1->Unmap(&s1.m);
	p1->Unmap(&s3.m);
	RbrMapperPool::Destroy(p1);
	RbrMapperPool::Destroy(p2);
	EXPECT_EQ(xi_budget_charged(budget), 0u);
	xi_budget_put(budget);
}

// Persistent grants unused for the given time are unmapped by Trim().
TEST_F(PoolTest, IdlePersistentGrantsAreReleased)
{
	RbrMapperPool *pool = Make(Sg(64, 8, 64));
	pool->SetPersistent(true);
	GuestBuf a(sim_, kGuest, 4, false), b(sim_, kGuest, 4, false);
	auto ea = a.Elems(), eb = b.Elems();
	Slot s(8);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, ea), Direction::kFromDevice, &s.m).ok());
	pool->Unmap(&s.m);
	sim_.Advance(30ull * 1000000000);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, eb), Direction::kFromDevice, &s.m).ok());
	pool->Unmap(&s.m);
	sim_.Advance(31ull * 1000000000);
	EXPECT_EQ(pool->Trim(60ull * 1000000000), 29ull * 1000000000) << "b ages out in 29 s";
	EXPECT_EQ(pool->persistent_count(), 4u) << "a's grants, idle 61 s, went; b's stay";
	EXPECT_EQ(sim_.counters().mappings, 4);
	sim_.Advance(30ull * 1000000000);
	EXPECT_EQ(pool->Trim(60ull * 1000000000), 0u);
	EXPECT_EQ(sim_.counters().mappings, 0);
	EXPECT_EQ(sim_.counters().pages, 0);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, RejectsInconsistentConfig)
{
	EXPECT_FALSE(RbrMapperPool::Create(Sg(8, 0)).ok());
	EXPECT_FALSE(RbrMapperPool::Create(Sg(8, 16)).ok()) << "fewer frames than one request";
	EXPECT_FALSE(RbrMapperPool::Create(Sg(8, 8, 9)).ok()) << "cache larger than the pool";
	EXPECT_FALSE(RbrMapperPool::Create(Staged(0, 4096, 4)).ok());
}

TEST_F(PoolTest, SgMappingIsZeroCopyBothWays)
{
	RbrMapperPool *pool = Make(Sg(16, 8));
	GuestBuf buf(sim_, kGuest, 3, false);
	memset(buf.page(1), 0x5c, XI_PAGE_SIZE);
	auto elems = buf.Elems(512, 1024);
	Slot s(8);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).ok());
	Lbr l = s.m.lbr();
	ASSERT_TRUE(l.is_sg());
	ASSERT_EQ(l.sg().size(), 3u);
	EXPECT_EQ(s.m.bytes(), 3u * 1024);
	auto *p1 = static_cast<uint8_t *>(xi_page_address(l.sg()[1].page));
	EXPECT_EQ(l.sg()[1].offset, 512u);
	EXPECT_EQ(p1[700], 0x5c) << "the backend sees the guest's bytes";
	p1[600] = 0x42;
	EXPECT_EQ(buf.page(1)[600], 0x42) << "and the guest sees the backend's, no copy";
	EXPECT_EQ(sim_.counters().map_calls, 1) << "one batch for the request";
	pool->Unmap(&s.m);
	EXPECT_EQ(sim_.counters().mappings, 0);
	EXPECT_EQ(pool->free_frames(), 16u);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, WritesToTheDeviceAreMappedReadOnly)
{
	RbrMapperPool *pool = Make(Sg(4, 4));
	GuestBuf buf(sim_, kGuest, 1, true); // the guest grants read-only
	auto elems = buf.Elems();
	Slot s(4);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kToDevice, &s.m).ok());
	auto *p = static_cast<volatile uint8_t *>(xi_page_address(s.m.lbr().sg()[0].page));
	(void)p[0]; // reading is fine
	pid_t child = fork();
	if (child == 0) {
		freopen("/dev/null", "w", stderr); // the sanitizer's fault report
		p[0] = 1;			   // a write through a read-only mapping must fault
		_exit(0);
	}
	int st = 0;
	waitpid(child, &st, 0);
	EXPECT_FALSE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		<< "write to a read-only grant did not fault";
	pool->Unmap(&s.m);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, ReadOnlyGrantCannotBeMappedForAReadFromTheDevice)
{
	RbrMapperPool *pool = Make(Sg(4, 4));
	GuestBuf buf(sim_, kGuest, 2, true);
	auto elems = buf.Elems();
	Slot s(4);
	EXPECT_EQ(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).code(),
		  -err::kFault);
	EXPECT_FALSE(s.m.mapped());
	EXPECT_EQ(sim_.counters().mappings, 0);
	EXPECT_EQ(pool->free_frames(), 4u);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, MapFailureInTheMiddleOfABatchReleasesTheRest)
{
	RbrMapperPool *pool = Make(Sg(16, 8));
	GuestBuf buf(sim_, kGuest, 5, false);
	auto elems = buf.Elems();
	Slot s(8);
	sim_.FailNth(sim::Fault::kMap, 3);
	EXPECT_EQ(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).code(),
		  -err::kFault);
	EXPECT_EQ(sim_.counters().mappings, 0) << "the 4 grants that mapped were unmapped";
	EXPECT_EQ(sim_.counters().unmap_ops, 4);
	EXPECT_EQ(pool->free_frames(), 16u);
	EXPECT_EQ(pool->stats().map_failures, 1u);
	// and the pool still works
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).ok());
	pool->Unmap(&s.m);
	RbrMapperPool::Destroy(pool);
}

// An unmap that fails leaves the grant mapped onto its frame: the frame is
// quarantined, never mapped onto again nor freed, and counted.
TEST_F(PoolTest, AFrameWhoseUnmapFailedIsNeverReused)
{
	RbrMapperPool *pool = Make(Sg(4, 4));
	GuestBuf a(sim_, kGuest, 2, false), b(sim_, kGuest, 4, false);
	auto ea = a.Elems(), eb = b.Elems();
	Slot sa(4), sb(4);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, ea), Direction::kFromDevice, &sa.m).ok());
	xi_page *stuck = sa.sg[1].page;
	sim_.FailNth(sim::Fault::kUnmap, 2);
	pool->Unmap(&sa.m);
	EXPECT_EQ(pool->stats().quarantined, 1u);
	EXPECT_EQ(pool->free_frames(), 3u);
	EXPECT_TRUE(sim::PageIsMapped(stuck)) << "it still holds the guest's page";
	EXPECT_EQ(pool->Map(::Sg(kGuest, eb), Direction::kFromDevice, &sb.m).code(), -err::kAgain)
		<< "four frames are left no more";
	eb.pop_back();
	ASSERT_TRUE(pool->Map(::Sg(kGuest, eb), Direction::kFromDevice, &sb.m).ok());
	for (int i = 0; i < 3; i++)
		EXPECT_NE(sb.sg[i].page, stuck) << i;
	pool->Unmap(&sb.m);
	EXPECT_EQ(pool->frames_in_use(), 0u);
	RbrMapperPool::Destroy(pool); // every frame but the quarantined one
	EXPECT_EQ(sim_.counters().pages, 1);
	EXPECT_EQ(sim_.counters().mappings, 1);
	sim::ReclaimQuarantined(stuck);
}

// The same for a persistent grant evicted to make room: its frame is not
// the one the new grant gets.
TEST_F(PoolTest, AnEvictionWhoseUnmapFailedGivesNoFrame)
{
	RbrMapperPool *pool = Make(Sg(2, 2, 2));
	pool->SetPersistent(true);
	GuestBuf a(sim_, kGuest, 2, false), b(sim_, kGuest, 1, false);
	auto ea = a.Elems(), eb = b.Elems();
	Slot sa(2), sb(2);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, ea), Direction::kFromDevice, &sa.m).ok());
	xi_page *stuck = sa.sg[0].page; // the least recently used, evicted first
	pool->Unmap(&sa.m);
	sim_.FailNth(sim::Fault::kUnmap, 1);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, eb), Direction::kFromDevice, &sb.m).ok());
	EXPECT_NE(sb.sg[0].page, stuck);
	EXPECT_EQ(pool->stats().quarantined, 1u);
	pool->Unmap(&sb.m);
	RbrMapperPool::Destroy(pool);
	EXPECT_EQ(sim_.counters().pages, 1);
	sim::ReclaimQuarantined(stuck);
}

TEST_F(PoolTest, UngrantedOrForeignGrantFails)
{
	RbrMapperPool *pool = Make(Sg(4, 4));
	std::vector<Rbr> bogus{{GrantRef(4242), 0, 512}};
	Slot s(4);
	EXPECT_EQ(pool->Map(::Sg(kGuest, bogus), Direction::kToDevice, &s.m).code(), -err::kFault);
	// A grant the guest gave to another domain, not to us.
	uint32_t f = sim_.domain(kGuest).AllocFrames(1);
	std::vector<Rbr> other{{GrantRef(sim_.GrantAccess(kGuest, f, 3, false)), 0, 512}};
	EXPECT_EQ(pool->Map(::Sg(kGuest, other), Direction::kToDevice, &s.m).code(), -err::kFault);
	EXPECT_EQ(pool->free_frames(), 4u);
	RbrMapperPool::Destroy(pool);
}

// An element must lie within its page: the last byte of the page may be
// named, the one after it may not.
TEST_F(PoolTest, AnElementEndsAtItsPagesEnd)
{
	EXPECT_TRUE((Rbr{GrantRef(1), 4095, 1}).Valid());
	EXPECT_FALSE((Rbr{GrantRef(1), 4095, 2}).Valid());
	EXPECT_TRUE((Rbr{GrantRef(1), 0, 4096}).Valid());
	EXPECT_FALSE((Rbr{GrantRef(1), 1, 4096}).Valid());
	EXPECT_FALSE((Rbr{GrantRef(1), 0, 0}).Valid());
}

TEST_F(PoolTest, MalformedElementsAreRejectedBeforeAnyMap)
{
	RbrMapperPool *pool = Make(Sg(8, 4));
	GuestBuf buf(sim_, kGuest, 1, false);
	Slot s(4);
	std::vector<Rbr> cross{{GrantRef(buf.grefs[0]), 4000, 200}}; // crosses the page end
	EXPECT_EQ(pool->Map(::Sg(kGuest, cross), Direction::kToDevice, &s.m).code(), -err::kInval);
	std::vector<Rbr> empty{{GrantRef(buf.grefs[0]), 0, 0}};
	EXPECT_EQ(pool->Map(::Sg(kGuest, empty), Direction::kToDevice, &s.m).code(), -err::kInval);
	std::vector<Rbr> none;
	EXPECT_EQ(pool->Map(::Sg(kGuest, none), Direction::kToDevice, &s.m).code(), -err::kInval);
	std::vector<Rbr> many(5, {GrantRef(buf.grefs[0]), 0, 512});
	EXPECT_EQ(pool->Map(::Sg(kGuest, many), Direction::kToDevice, &s.m).code(), -err::kInval);
	EXPECT_EQ(sim_.counters().map_ops, 0);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, ExhaustionAsksToRequeueAndRecovers)
{
	RbrMapperPool *pool = Make(Sg(8, 8));
	GuestBuf a(sim_, kGuest, 5, false), b(sim_, kGuest, 5, false);
	auto ea = a.Elems(), eb = b.Elems();
	Slot sa(8), sb(8);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, ea), Direction::kFromDevice, &sa.m).ok());
	EXPECT_EQ(pool->Map(::Sg(kGuest, eb), Direction::kFromDevice, &sb.m).code(), -err::kAgain);
	EXPECT_EQ(sim_.counters().map_calls, 1) << "no hypercall for a request that cannot fit";
	EXPECT_EQ(pool->stats().exhausted, 1u);
	EXPECT_EQ(pool->free_frames(), 3u);
	pool->Unmap(&sa.m);
	EXPECT_TRUE(pool->Map(::Sg(kGuest, eb), Direction::kFromDevice, &sb.m).ok());
	pool->Unmap(&sb.m);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, UnmapBatchUsesOneHypercall)
{
	RbrMapperPool *pool = Make(Sg(16, 4));
	GuestBuf buf(sim_, kGuest, 12, false);
	std::vector<std::unique_ptr<Slot>> slots;
	std::vector<Mapping *> ms;
	std::vector<std::vector<Rbr>> elems;
	for (int i = 0; i < 4; i++) {
		elems.push_back({});
		for (int j = 0; j < 3; j++)
			elems.back().push_back({GrantRef(buf.grefs[i * 3 + j]), 0, 4096});
		slots.push_back(std::make_unique<Slot>(4));
		ASSERT_TRUE(pool->Map(::Sg(kGuest, elems.back()), Direction::kToDevice,
				      &slots.back()->m)
				    .ok());
		ms.push_back(&slots.back()->m);
	}
	long before = sim_.counters().unmap_calls;
	pool->UnmapBatch(ktl::Span<Mapping *const>(ms.data(), ms.size()));
	EXPECT_EQ(sim_.counters().unmap_calls - before, 1);
	EXPECT_EQ(sim_.counters().mappings, 0);
	RbrMapperPool::Destroy(pool);
}

// map_batch caps the grant ops per call, and can change between calls.
TEST_F(PoolTest, MapBatchSplitsTheCallsAndCanChange)
{
	RbrMapperPool *pool = Make(Sg(16, 8));
	GuestBuf buf(sim_, kGuest, 3, false);
	auto elems = buf.Elems(0, 4096);
	Slot s(8);
	pool->SetMapBatch(1);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).ok());
	EXPECT_EQ(sim_.counters().map_calls, 3) << "one call per grant";
	pool->Unmap(&s.m);
	EXPECT_EQ(sim_.counters().unmap_calls, 3);
	pool->SetMapBatch(0);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).ok());
	EXPECT_EQ(sim_.counters().map_calls, 4) << "one call for the request";
	pool->Unmap(&s.m);
	EXPECT_EQ(sim_.counters().unmap_calls, 4);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, StagingCopiesInBeforeAWriteToTheDevice)
{
	RbrMapperPool *pool = Make(Staged(2, 16 * XI_PAGE_SIZE, 16));
	GuestBuf buf(sim_, kGuest, 3, true);
	for (unsigned p = 0; p < 3; p++)
		for (unsigned i = 0; i < XI_PAGE_SIZE; i++)
			buf.page(p)[i] = (uint8_t)(p * 31 + i * 7);
	// Like xen-hcd: the first element starts mid-page, the rest at 0.
	std::vector<Rbr> elems{{GrantRef(buf.grefs[0]), 1000, 3096},
			       {GrantRef(buf.grefs[1]), 0, 4096},
			       {GrantRef(buf.grefs[2]), 0, 100}};
	Slot s(16);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kToDevice, &s.m).ok());
	Lbr l = s.m.lbr();
	ASSERT_FALSE(l.is_sg());
	ASSERT_EQ(l.length(), 3096u + 4096 + 100);
	auto *b = static_cast<uint8_t *>(l.buffer());
	std::vector<uint8_t> want;
	want.insert(want.end(), buf.page(0) + 1000, buf.page(0) + 4096);
	want.insert(want.end(), buf.page(1), buf.page(1) + 4096);
	want.insert(want.end(), buf.page(2), buf.page(2) + 100);
	EXPECT_EQ(0, memcmp(b, want.data(), want.size()));
	EXPECT_EQ(sim_.counters().map_ops, 0) << "staging never maps";
	EXPECT_TRUE(pool->CopyOut(&s.m, l.length()).ok()) << "no copy back for kToDevice";
	pool->Unmap(&s.m);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, StagingCopiesOutOnlyWhatTheDeviceProduced)
{
	RbrMapperPool *pool = Make(Staged(1, 4 * XI_PAGE_SIZE, 16));
	GuestBuf buf(sim_, kGuest, 2, false);
	memset(buf.page(0), 0xEE, XI_PAGE_SIZE);
	memset(buf.page(1), 0xEE, XI_PAGE_SIZE);
	std::vector<Rbr> elems{{GrantRef(buf.grefs[0]), 2048, 2048},
			       {GrantRef(buf.grefs[1]), 0, 4096}};
	Slot s(16);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).ok());
	auto *b = static_cast<uint8_t *>(s.m.lbr().buffer());
	for (size_t i = 0; i < s.m.bytes(); i++)
		b[i] = (uint8_t)(i * 13);
	const size_t produced = 3000; // a short transfer
	ASSERT_TRUE(pool->CopyOut(&s.m, produced).ok());
	for (size_t i = 0; i < 2048; i++)
		ASSERT_EQ(buf.page(0)[2048 + i], (uint8_t)(i * 13)) << i;
	for (size_t i = 2048; i < produced; i++)
		ASSERT_EQ(buf.page(1)[i - 2048], (uint8_t)(i * 13)) << i;
	for (size_t i = produced - 2048; i < XI_PAGE_SIZE; i++)
		ASSERT_EQ(buf.page(1)[i], 0xEE) << "byte past the transfer was written: " << i;
	EXPECT_EQ(buf.page(0)[0], 0xEE);
	pool->Unmap(&s.m);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, StagingFailuresAndLimits)
{
	RbrMapperPool *pool = Make(Staged(1, 2 * XI_PAGE_SIZE, 4));
	GuestBuf buf(sim_, kGuest, 3, true);
	auto elems = buf.Elems();
	Slot s(4), t(4);
	EXPECT_EQ(pool->Map(::Sg(kGuest, elems), Direction::kToDevice, &s.m).code(), -err::kInval)
		<< "larger than a staging buffer";
	elems.pop_back();
	sim_.FailNth(sim::Fault::kCopy, 2);
	EXPECT_EQ(pool->Map(::Sg(kGuest, elems), Direction::kToDevice, &s.m).code(), -err::kFault);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kToDevice, &s.m).ok())
		<< "the buffer came back after the failure";
	EXPECT_EQ(pool->Map(::Sg(kGuest, elems), Direction::kToDevice, &t.m).code(), -err::kAgain);
	pool->Unmap(&s.m);
	// Copying results into a read-only grant fails.
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).ok());
	EXPECT_EQ(pool->CopyOut(&s.m, 100).code(), -err::kFault);
	pool->Unmap(&s.m);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, PersistentGrantsAreMappedOnce)
{
	RbrMapperPool *pool = Make(Sg(32, 8, 16));
	pool->SetPersistent(true);
	GuestBuf buf(sim_, kGuest, 4, false);
	auto elems = buf.Elems();
	for (int round = 0; round < 5; round++) {
		Slot s(8);
		ASSERT_TRUE(pool->Map(::Sg(kGuest, elems),
				      round % 2 ? Direction::kToDevice : Direction::kFromDevice,
				      &s.m)
				    .ok());
		pool->Unmap(&s.m);
	}
	EXPECT_EQ(sim_.counters().map_ops, 4) << "mapped on first use only";
	EXPECT_EQ(sim_.counters().unmap_ops, 0);
	EXPECT_EQ(pool->persistent_count(), 4u);
	EXPECT_EQ(sim_.counters().mappings, 4);
	pool->SetPersistent(false);
	EXPECT_EQ(sim_.counters().mappings, 0) << "turning persistence off unmaps the cache";
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, PersistentCacheEvictsLeastRecentlyUsed)
{
	RbrMapperPool *pool = Make(Sg(8, 4, 4));
	pool->SetPersistent(true);
	GuestBuf buf(sim_, kGuest, 6, false);
	auto map_one = [&](int i) {
		std::vector<Rbr> e{{GrantRef(buf.grefs[i]), 0, 4096}};
		Slot s(4);
		EXPECT_TRUE(pool->Map(::Sg(kGuest, e), Direction::kFromDevice, &s.m).ok());
		pool->Unmap(&s.m);
	};
	for (int i = 0; i < 4; i++)
		map_one(i); // cache: 0 1 2 3
	map_one(0);	    // 0 is now the most recent
	long maps = sim_.counters().map_ops;
	map_one(4); // evicts 1, the least recently used
	EXPECT_EQ(pool->stats().persistent_evictions, 1u);
	map_one(0);
	EXPECT_EQ(sim_.counters().map_ops, maps + 1) << "0 survived the eviction";
	map_one(1);
	EXPECT_EQ(sim_.counters().map_ops, maps + 2) << "1 was the one evicted";
	EXPECT_EQ(pool->persistent_count(), 4u);
	RbrMapperPool::Destroy(pool);
	EXPECT_EQ(sim_.counters().mappings, 0);
}

TEST_F(PoolTest, PersistentEntriesInUseAreNeverEvicted)
{
	RbrMapperPool *pool = Make(Sg(6, 4, 4));
	pool->SetPersistent(true);
	GuestBuf buf(sim_, kGuest, 8, false);
	std::vector<Rbr> a, b;
	for (int i = 0; i < 4; i++)
		a.push_back({GrantRef(buf.grefs[i]), 0, 4096});
	for (int i = 4; i < 7; i++)
		b.push_back({GrantRef(buf.grefs[i]), 0, 4096});
	Slot sa(4), sb(4);
	ASSERT_TRUE(
		pool->Map(::Sg(kGuest, a), Direction::kFromDevice, &sa.m).ok()); // fills the cache
	// b needs 3 frames: 2 free, and no idle entry to evict.
	EXPECT_EQ(pool->Map(::Sg(kGuest, b), Direction::kFromDevice, &sb.m).code(), -err::kAgain);
	EXPECT_EQ(sim_.counters().mappings, 4);
	pool->Unmap(&sa.m);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, b), Direction::kFromDevice, &sb.m).ok());
	pool->Unmap(&sb.m);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, PersistentCacheFullFallsBackToTransientMaps)
{
	RbrMapperPool *pool = Make(Sg(8, 8, 2));
	pool->SetPersistent(true);
	GuestBuf buf(sim_, kGuest, 5, false);
	auto elems = buf.Elems();
	Slot s(8);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).ok());
	EXPECT_EQ(pool->persistent_count(), 2u);
	pool->Unmap(&s.m);
	EXPECT_EQ(sim_.counters().mappings, 2) << "only the cached grants stay mapped";
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, DuplicateGrantInOneRequestSharesTheCacheEntry)
{
	RbrMapperPool *pool = Make(Sg(8, 4, 4));
	pool->SetPersistent(true);
	GuestBuf buf(sim_, kGuest, 1, false);
	std::vector<Rbr> e{{GrantRef(buf.grefs[0]), 0, 512}, {GrantRef(buf.grefs[0]), 512, 512}};
	Slot s(4);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, e), Direction::kFromDevice, &s.m).ok());
	EXPECT_EQ(sim_.counters().map_ops, 1);
	EXPECT_EQ(s.m.lbr().sg()[0].page, s.m.lbr().sg()[1].page);
	pool->Unmap(&s.m);
	RbrMapperPool::Destroy(pool);
}

TEST_F(PoolTest, PersistentMapFailureLeavesNoEntry)
{
	RbrMapperPool *pool = Make(Sg(8, 4, 4));
	pool->SetPersistent(true);
	GuestBuf buf(sim_, kGuest, 3, false);
	auto elems = buf.Elems();
	Slot s(4);
	sim_.FailNth(sim::Fault::kMap, 2);
	EXPECT_EQ(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).code(),
		  -err::kFault);
	EXPECT_EQ(pool->persistent_count(), 2u) << "the grants that did map stay cached";
	EXPECT_EQ(pool->free_frames(), 6u);
	ASSERT_TRUE(pool->Map(::Sg(kGuest, elems), Direction::kFromDevice, &s.m).ok());
	EXPECT_EQ(sim_.counters().map_ops, 4) << "only the failed grant is mapped again";
	pool->Unmap(&s.m);
	RbrMapperPool::Destroy(pool);
}
