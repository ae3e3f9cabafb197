// SPDX-License-Identifier: GPL-2.0-only
//
// The xenidc core inside the kernel: the same classes the host tests drive,
// here on the kernel's workqueues, spinlocks and page allocator, against the
// fake Xen of fake_xen.c. Each case is an extern "C" function registered by
// core_kunit.c.
#include <xenidc/abi/blkif.h>
#include <xenidc/backend_device.h>
#include <xenidc/channel.h>
#include <xenidc/mapper_pool.h>

#include "core_cases.h"
#include "fake_xen.h"

using namespace xenidc;
using Proto = blkif::ProtoX86_64;

namespace {

bool deliberate; // set only by xi_kunit_deliberate_warning()

// A one-page blkif ring the test fills as the frontend.
struct FakeRing {
	explicit FakeRing(unsigned pages = 1) : pages(pages)
	{
		va = static_cast<uint8_t *>(fake_ring_alloc(pages, refs));
		if (!va)
			return;
		hdr()->req_event = hdr()->rsp_event = 1;
		for (unsigned i = 0; i < pages; i++)
			grefs[i] = GrantRef(refs[i]);
	}
	~FakeRing()
	{
		if (va)
			fake_ring_free(va, pages);
	}
	SharedRingHeader *hdr() { return reinterpret_cast<SharedRingHeader *>(va); }
	uint8_t *slot(RingIdx i, uint32_t size)
	{
		return va + sizeof(SharedRingHeader) +
		       (i & (size - 1)) * BackRing<Proto>::kEntrySize;
	}
	void Put(uint64_t id, uint32_t size)
	{
		uint8_t *b = slot(prod++, size);
		ktl::MemZero(b, 112);
		b[0] = blkif::kOpRead;
		b[1] = 1;
		blkif::Store<uint64_t>(b + 8, id);
	}
	void Publish()
	{
		ktl::VirtWmb();
		hdr()->req_prod = prod;
	}
	ktl::Span<const GrantRef> span() const { return ktl::Span<const GrantRef>(grefs, pages); }

	unsigned pages;
	uint8_t *va;
	xi_gref_t refs[16];
	GrantRef grefs[16];
	RingIdx prod = 0;
};

struct Backend {
	Channel<Proto> ch;
	ktl::Atomic<int> handled{0};
	ktl::Atomic<int> passes{0};
	int accept = 1 << 30;

	static void Work(void *arg)
	{
		auto *b = static_cast<Backend *>(arg);
		b->passes.FetchAdd(1);
		b->ch.Consume(8, [b](const blkif::Request &r) {
			if (b->accept <= 0)
				return false;
			b->accept--;
			b->ch.Respond({r.id, r.operation, blkif::kRspOkay});
			b->handled.FetchAdd(1);
			return true;
		});
	}
	Status Open(FakeRing &r, unsigned port)
	{
		Channel<Proto>::Params p;
		p.ring_refs = r.span();
		p.evtchn = port;
		p.name = "kunit";
		return ch.Open(p, &Backend::Work, this);
	}
};

struct WaitCount {
	ktl::Atomic<int> *v;
	int want;
	static bool Done(void *arg)
	{
		auto *w = static_cast<WaitCount *>(arg);
		return w->v->Load() >= w->want;
	}
};

bool WaitFor(ktl::Atomic<int> &v, int want)
{
	WaitCount w{&v, want};
	return fake_wait(&WaitCount::Done, &w, 5000);
}

fake_stats Stats()
{
	fake_stats s;
	fake_get_stats(&s);
	return s;
}

bool WaitForEois(long want)
{
	auto done = [](void *arg) { return Stats().eois >= *static_cast<long *>(arg); };
	return fake_wait(done, &want, 5000);
}

struct Slot {
	SgElement sg[5];
	MappedElem elems[5];
	Mapping m;
	Slot() { m.Init(ktl::Span<SgElement>(sg), ktl::Span<MappedElem>(elems)); }
};

RbrMapperPool *MakePool(uint32_t frames, uint32_t max_elems, uint32_t persistent, bool sg = true)
{
	RbrMapperPool::Config c;
	c.frames = sg ? frames : 0;
	c.max_elems = max_elems;
	c.persistent_max = persistent;
	c.sg_capable = sg;
	c.staging_buffers = sg ? 0 : 2;
	c.staging_bytes = sg ? 0 : 4 * XI_PAGE_SIZE;
	auto r = RbrMapperPool::Create(c);
	return r.ok() ? r.value() : nullptr;
}

struct EchoReq : BackendRequest {
	uint64_t id;
};

// Takes requests; the test completes them; the work answers them.
class Echo : public BackendDevice {
public:
	Status Open(FakeRing &f, unsigned port)
	{
		XI_TRY(ring.Map(nullptr, f.span()));
		return Start(nullptr, port, "kunit-echo", &Echo::Pass);
	}
	void Close()
	{
		Stop();
		ring.Unmap();
	}
	EchoReq reqs[32];
	ktl::Atomic<int> taken{0};
	ktl::Atomic<int> answered{0};
	MappedRing<Proto> ring;

private:
	static void Pass(BackendDevice *self)
	{
		auto *e = static_cast<Echo *>(self);
		uint32_t n = 0;
		for (auto *r = e->TakeCompleted(); r; r = r->next, n++) {
			if (e->ring.Respond({static_cast<EchoReq *>(r)->id, 0, 0}))
				e->events().Notify();
			e->answered.FetchAdd(1);
		}
		e->Drop(n);
		if (e->stopping())
			return;
		unsigned k;
		e->BeginPass();
		Outcome o = e->ring.Consume(
			32,
			[e](const blkif::Request &q) {
				int i = e->taken.FetchAdd(1);
				e->reqs[i].id = q.id;
				e->Hold();
				return true;
			},
			&k);
		e->EndPass(o, k);
	}
};

} // namespace

extern "C" {

// Fires a warning from C++ on purpose: the KUnit layer resolves this
// frame in the call trace to this file and line (DWARF kept for the C++).
// Here rather than in a helper, which gcc splits and inlines anyway.
void xi_kunit_deliberate_warning(void)
{
	deliberate = true;
	XI_WARN_ON(ktl::ReadOnce(deliberate)); // XENIDC-DELIBERATE-LINE
	deliberate = false;
}

void xi_kunit_backend_stop_drains(struct kunit *t)
{
	fake_xen_install();
	{
		FakeRing f;
		unsigned port = fake_port_alloc();
		Echo *e = ktl::New<Echo>(); // too big for a kernel stack
		KCHECK(t, e && e->Open(f, port).ok());
		for (int i = 0; i < 10; i++)
			f.Put(i, 32);
		f.Publish();
		fake_kick(port);
		KCHECK(t, WaitFor(e->taken, 10));
		KCHECK(t, e->in_flight() == 10);
		for (int i = 0; i < 10; i++)
			e->Completed(&e->reqs[i]); // as the device's interrupts would
		e->Close();			   // returns only once all 10 were answered
		KCHECK(t, e->answered.Load() == 10);
		KCHECK(t, f.hdr()->rsp_prod == 10);
		KCHECK(t, Stats().evtchns == 0);
		ktl::Delete(e);
	}
	fake_xen_uninstall();
}

void xi_kunit_ring_wraparound(struct kunit *t)
{
	FakeRing f;
	f.hdr()->req_prod = f.hdr()->rsp_prod = f.prod = 0xFFFFFFF8u;
	BackRing<Proto> ring;
	ring.Attach(f.va, XI_PAGE_SIZE);
	uint64_t next = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 16; i++)
			f.Put(round * 16 + i, ring.size());
		f.Publish();
		blkif::Request r;
		while (ring.PopRequest(&r) == BackRing<Proto>::Pop::kRequest) {
			KCHECK(t, r.id == next);
			next++;
			ring.PutResponse({r.id, r.operation, 0});
		}
		ring.PushResponses();
	}
	KCHECK(t, next == 48);
	KCHECK(t, f.hdr()->rsp_prod == 0xFFFFFFF8u + 48);
}

void xi_kunit_ring_hostile_producer(struct kunit *t)
{
	FakeRing f;
	BackRing<Proto> ring;
	ring.Attach(f.va, XI_PAGE_SIZE);
	f.hdr()->req_prod = 33; // 32-entry ring
	blkif::Request r;
	KCHECK(t, ring.PopRequest(&r) == BackRing<Proto>::Pop::kBroken);
	KCHECK(t, !ring.FinalCheckForRequests());
}

void xi_kunit_ring_response_padding(struct kunit *t)
{
	FakeRing f;
	BackRing<Proto> ring;
	ring.Attach(f.va, XI_PAGE_SIZE);
	__builtin_memset(f.slot(0, 32), 0xAA, 112);
	ring.PutResponse({7, blkif::kOpRead, blkif::kRspError});
	uint8_t *b = f.slot(0, 32);
	KCHECK(t, blkif::Load<uint64_t>(b) == 7);
	KCHECK(t, b[9] == 0);
	KCHECK(t, b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] == 0);
}

void xi_kunit_channel_workqueue(struct kunit *t)
{
	fake_xen_install();
	{
		FakeRing f(2);
		unsigned port = fake_port_alloc();
		Backend b;
		KCHECK(t, b.Open(f, port).ok());
		for (int i = 0; i < 40; i++)
			f.Put(i, 64);
		f.Publish();
		fake_kick(port);
		KCHECK(t, WaitFor(b.handled, 40));
		KCHECK(t, b.passes.Load() >= 5); // 40 requests, batches of 8
		KCHECK(t, f.hdr()->rsp_prod == 40);
		// The pass that answered the last batch may have used its whole
		// budget; the acknowledgement then comes from the next one.
		KCHECK(t, WaitForEois(1));
		b.ch.Close();
		fake_stats s = Stats();
		KCHECK(t, s.eois == 1 && s.spurious_eois == 0);
		KCHECK(t, s.rings == 0 && s.evtchns == 0);
	}
	fake_xen_uninstall();
}

void xi_kunit_channel_spurious(struct kunit *t)
{
	fake_xen_install();
	{
		FakeRing f;
		unsigned port = fake_port_alloc();
		Backend b;
		KCHECK(t, b.Open(f, port).ok());
		// Wait for each acknowledgement, not each pass: a pass counts
		// itself before it acknowledges, and Close() drops a queued pass.
		for (int i = 1; i <= 3; i++) {
			fake_kick(port);
			KCHECK(t, WaitForEois(i));
		}
		b.ch.Close();
		KCHECK(t, Stats().spurious_eois == 3);
		KCHECK(t, b.ch.events().spurious_events() == 3);
	}
	fake_xen_uninstall();
}

void xi_kunit_channel_stall_resume(struct kunit *t)
{
	fake_xen_install();
	{
		FakeRing f;
		unsigned port = fake_port_alloc();
		Backend b;
		b.accept = 3;
		KCHECK(t, b.Open(f, port).ok());
		for (int i = 0; i < 6; i++)
			f.Put(i, 32);
		f.Publish();
		fake_kick(port);
		KCHECK(t, WaitFor(b.passes, 1));
		KCHECK(t, WaitFor(b.handled, 3));
		KCHECK(t, Stats().eois == 0); // masked while stalled
		b.accept = 100;
		b.ch.Kick();
		KCHECK(t, WaitFor(b.handled, 6));
		b.ch.Close();
		KCHECK(t, Stats().eois == 1);
	}
	fake_xen_uninstall();
}

void xi_kunit_pool_sg_roundtrip(struct kunit *t)
{
	fake_xen_install();
	RbrMapperPool *pool = MakePool(8, 4, 0);
	KCHECK(t, pool != nullptr);
	auto *page = static_cast<uint8_t *>(fake_page_alloc());
	__builtin_memset(page, 0x3c, XI_PAGE_SIZE);
	Rbr e[1] = {{GrantRef(fake_grant(page, false)), 512, 1024}};
	Slot s;
	KCHECK(t,
	       pool->Map({DomId(FAKE_DOM), ktl::Span<const Rbr>(e)}, Direction::kFromDevice, &s.m)
		       .ok());
	auto *local = static_cast<uint8_t *>(xi_page_address(s.m.lbr().sg()[0].page));
	KCHECK(t, local[600] == 0x3c);
	local[600] = 0x99;
	pool->Unmap(&s.m);
	KCHECK(t, page[600] == 0x99); // the device's data reached the guest
	KCHECK(t, Stats().mapped == 0);
	RbrMapperPool::Destroy(pool);
	KCHECK(t, Stats().pages == 0);
	fake_page_free(page);
	fake_xen_uninstall();
}

void xi_kunit_pool_readonly_for_writes(struct kunit *t)
{
	fake_xen_install();
	RbrMapperPool *pool = MakePool(8, 4, 0);
	auto *page = fake_page_alloc();
	Rbr ro[1] = {{GrantRef(fake_grant(page, true)), 0, 4096}};
	Slot s;
	// A read from the device needs write access: a read-only grant fails.
	KCHECK(t,
	       pool->Map({DomId(FAKE_DOM), ktl::Span<const Rbr>(ro)}, Direction::kFromDevice, &s.m)
			       .code() == -err::kFault);
	// A write to the device maps it read-only and leaves it untouched.
	KCHECK(t, pool->Map({DomId(FAKE_DOM), ktl::Span<const Rbr>(ro)}, Direction::kToDevice, &s.m)
			  .ok());
	pool->Unmap(&s.m);
	KCHECK(t, Stats().ro_violations == 0);
	RbrMapperPool::Destroy(pool);
	fake_page_free(page);
	fake_xen_uninstall();
}

void xi_kunit_pool_fail_mid_batch(struct kunit *t)
{
	fake_xen_install();
	RbrMapperPool *pool = MakePool(8, 8, 0);
	void *pages[5];
	Rbr e[5];
	for (int i = 0; i < 5; i++) {
		pages[i] = fake_page_alloc();
		e[i] = {GrantRef(fake_grant(pages[i], false)), 0, 4096};
	}
	Slot s;
	fake_fail_nth_map(3);
	KCHECK(t,
	       pool->Map({DomId(FAKE_DOM), ktl::Span<const Rbr>(e)}, Direction::kFromDevice, &s.m)
			       .code() == -err::kFault);
	fake_stats st = Stats();
	KCHECK(t, st.mapped == 0);
	KCHECK(t, st.unmap_ops == 4);
	KCHECK(t, pool->free_frames() == 8);
	RbrMapperPool::Destroy(pool);
	for (auto *p : pages)
		fake_page_free(p);
	fake_xen_uninstall();
}

void xi_kunit_pool_exhaustion(struct kunit *t)
{
	fake_xen_install();
	RbrMapperPool *pool = MakePool(4, 4, 0);
	void *pages[6];
	Rbr a[3], b[3];
	for (int i = 0; i < 6; i++)
		pages[i] = fake_page_alloc();
	for (int i = 0; i < 3; i++) {
		a[i] = {GrantRef(fake_grant(pages[i], false)), 0, 4096};
		b[i] = {GrantRef(fake_grant(pages[3 + i], false)), 0, 4096};
	}
	Slot sa, sb;
	KCHECK(t,
	       pool->Map({DomId(FAKE_DOM), ktl::Span<const Rbr>(a)}, Direction::kFromDevice, &sa.m)
		       .ok());
	KCHECK(t,
	       pool->Map({DomId(FAKE_DOM), ktl::Span<const Rbr>(b)}, Direction::kFromDevice, &sb.m)
			       .code() == -err::kAgain);
	pool->Unmap(&sa.m);
	KCHECK(t,
	       pool->Map({DomId(FAKE_DOM), ktl::Span<const Rbr>(b)}, Direction::kFromDevice, &sb.m)
		       .ok());
	pool->Unmap(&sb.m);
	RbrMapperPool::Destroy(pool);
	for (auto *p : pages)
		fake_page_free(p);
	fake_xen_uninstall();
}

void xi_kunit_pool_staging(struct kunit *t)
{
	fake_xen_install();
	RbrMapperPool *pool = MakePool(0, 4, 0, false);
	KCHECK(t, pool != nullptr);
	auto *p0 = static_cast<uint8_t *>(fake_page_alloc());
	auto *p1 = static_cast<uint8_t *>(fake_page_alloc());
	for (int i = 0; i < 4096; i++) {
		p0[i] = (uint8_t)i;
		p1[i] = (uint8_t)(255 - i);
	}
	Rbr e[2] = {{GrantRef(fake_grant(p0, false)), 3000, 1096},
		    {GrantRef(fake_grant(p1, false)), 0, 2000}};
	Slot s;
	KCHECK(t, pool->Map({DomId(FAKE_DOM), ktl::Span<const Rbr>(e)}, Direction::kToDevice, &s.m)
			  .ok());
	auto *buf = static_cast<uint8_t *>(s.m.lbr().buffer());
	KCHECK(t, s.m.bytes() == 3096);
	KCHECK(t, ktl::MemCompare(buf, p0 + 3000, 1096) == 0);
	KCHECK(t, ktl::MemCompare(buf + 1096, p1, 2000) == 0);
	pool->Unmap(&s.m);
	KCHECK(t,
	       pool->Map({DomId(FAKE_DOM), ktl::Span<const Rbr>(e)}, Direction::kFromDevice, &s.m)
		       .ok());
	buf = static_cast<uint8_t *>(s.m.lbr().buffer());
	__builtin_memset(buf, 0x77, s.m.bytes());
	KCHECK(t, pool->CopyOut(&s.m, 1500).ok());
	KCHECK(t, p0[3000] == 0x77 && p0[4095] == 0x77);
	KCHECK(t, p1[0] == 0x77 && p1[403] == 0x77 && p1[404] == (uint8_t)(255 - 404));
	pool->Unmap(&s.m);
	RbrMapperPool::Destroy(pool);
	fake_page_free(p0);
	fake_page_free(p1);
	fake_xen_uninstall();
}

void xi_kunit_pool_persistent(struct kunit *t)
{
	fake_xen_install();
	RbrMapperPool *pool = MakePool(8, 4, 4);
	pool->SetPersistent(true);
	void *pages[3];
	Rbr e[3];
	for (int i = 0; i < 3; i++) {
		pages[i] = fake_page_alloc();
		e[i] = {GrantRef(fake_grant(pages[i], false)), 0, 4096};
	}
	for (int round = 0; round < 4; round++) {
		Slot s;
		KCHECK(t, pool->Map({DomId(FAKE_DOM), ktl::Span<const Rbr>(e)},
				    Direction::kToDevice, &s.m)
				  .ok());
		pool->Unmap(&s.m);
	}
	fake_stats st = Stats();
	KCHECK(t, st.map_ops == 3 && st.unmap_ops == 0 && st.mapped == 3);
	RbrMapperPool::Destroy(pool);
	KCHECK(t, Stats().mapped == 0);
	for (auto *p : pages)
		fake_page_free(p);
	fake_xen_uninstall();
}

// ---- Scenarios for the fault-injection suite (fault_kunit.c) ----
//
// Each runs one lifecycle against the fake Xen. Returns 0, -ENOMEM when an
// allocation failed and the scenario gave up cleanly, or -EBADE if an
// invariant broke. Leaks are kmemleak's to find.

int xi_scenario_pool(void)
{
	RbrMapperPool::Config c;
	c.frames = 8;
	c.max_elems = 4;
	c.persistent_max = 4;
	c.staging_buffers = 2;
	c.staging_bytes = 2 * XI_PAGE_SIZE;
	auto r = RbrMapperPool::Create(c);
	if (!r.ok())
		return r.status().code() == -err::kNoMem ? -err::kNoMem : -52;
	RbrMapperPool *pool = r.value();
	pool->SetPersistent(true);
	void *page = fake_page_alloc();
	int rc = page ? 0 : -err::kNoMem;
	if (page) {
		Rbr e[1] = {{GrantRef(fake_grant(page, false)), 0, 4096}};
		SgRbr sg{DomId(FAKE_DOM), ktl::Span<const Rbr>(e)};
		Slot m;
		// Map() allocates the first frames: -EAGAIN if that failed
		Status s = pool->Map(sg, Direction::kFromDevice, &m.m);
		if (!s.ok())
			rc = s.code() == -err::kAgain ? -err::kNoMem : -52;
		pool->Unmap(&m.m);
		if (!rc && !pool->MapStaged(sg, Direction::kToDevice, &m.m).ok())
			rc = -52;
		pool->Unmap(&m.m);
		fake_page_free(page);
	}
	RbrMapperPool::Destroy(pool);
	return Stats().mapped == 0 && Stats().pages == 0 ? rc : -52;
}

int xi_scenario_channel(void)
{
	FakeRing f;
	if (!f.va)
		return -err::kNoMem;
	Backend *b = ktl::New<Backend>();
	if (!b)
		return -err::kNoMem;
	Status s = b->Open(f, fake_port_alloc());
	b->ch.Close();
	ktl::Delete(b);
	if (Stats().evtchns || Stats().rings)
		return -52;
	return s.ok() ? 0 : s.code() == -err::kNoMem ? -err::kNoMem : -52;
}

} // extern "C"
