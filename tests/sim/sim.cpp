// SPDX-License-Identifier: GPL-2.0-only
//
// The simulated Xen and the host implementation of platform.h.
#include "sim.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>

namespace sim {

namespace {
Sim *g_current = nullptr;
constexpr size_t kPage = XI_PAGE_SIZE;

void *Reserve(size_t bytes)
{
	void *p = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		abort();
	return p;
}

// Back to an inaccessible hole (a ballooned frame).
void Unback(void *addr, size_t bytes)
{
	if (mmap(addr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED)
		abort();
}

void AliasFrame(void *addr, int fd, uint32_t frame, bool readonly)
{
	int prot = PROT_READ | (readonly ? 0 : PROT_WRITE);
	if (mmap(addr, kPage, prot, MAP_SHARED | MAP_FIXED, fd, (off_t)frame * kPage) == MAP_FAILED)
		abort();
}
} // namespace

Domain::Domain(xi_domid_t id, uint32_t frames) : id_(id), frames_(frames)
{
	fd_ = memfd_create("sim-domain", 0);
	if (fd_ < 0 || ftruncate(fd_, (off_t)frames * kPage) != 0)
		abort();
	base_ = static_cast<uint8_t *>(
		mmap(nullptr, frames * kPage, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0));
	if (base_ == MAP_FAILED)
		abort();
}

Domain::~Domain()
{
	munmap(base_, frames_ * kPage);
	close(fd_);
}

uint8_t *Domain::Frame(uint32_t f) const
{
	if (f >= frames_)
		abort();
	return base_ + (size_t)f * kPage;
}

uint32_t Domain::AllocFrames(uint32_t n)
{
	if (next_frame_ + n > frames_)
		abort();
	next_frame_ += n;
	return next_frame_ - n;
}

Sim::Sim() : prev_(g_current)
{
	g_current = this;
	on_warning = [](const std::string &m) {
		fprintf(stderr, "sim: %s\n", m.c_str());
		abort();
	};
}

Sim::~Sim()
{
	g_current = prev_;
}

Sim &Sim::Get()
{
	if (!g_current)
		abort();
	return *g_current;
}

Domain &Sim::AddDomain(xi_domid_t id, uint32_t frames)
{
	auto &d = domains_[id];
	d = std::make_unique<Domain>(id, frames);
	return *d;
}

xi_gref_t Sim::GrantAccess(xi_domid_t owner, uint32_t frame, xi_domid_t to, bool readonly)
{
	xi_gref_t ref = 8 + next_gref_[owner]++; // refs 0-7 are reserved in Xen
	grants_[owner][ref] = Grant{owner, to, frame, readonly, 0};
	return ref;
}

bool Sim::EndAccess(xi_domid_t owner, xi_gref_t ref)
{
	auto &t = grants_[owner];
	auto it = t.find(ref);
	if (it == t.end() || it->second.maps)
		return false;
	t.erase(it);
	return true;
}

const Grant *Sim::FindGrant(xi_domid_t owner, xi_gref_t ref) const
{
	auto d = grants_.find(owner);
	if (d == grants_.end())
		return nullptr;
	auto it = d->second.find(ref);
	return it == d->second.end() ? nullptr : &it->second;
}

int Sim::GrantsMapped() const
{
	int n = 0;
	for (auto &d : grants_)
		for (auto &g : d.second)
			n += g.second.maps;
	return n;
}

bool Sim::ShouldFail(Fault f)
{
	int i = (int)f;
	if (fail_all_[i])
		return true;
	if (fail_at_[i] > 0 && --fail_at_[i] == 0)
		return true;
	return false;
}

bool Sim::LogContains(const std::string &needle) const
{
	for (auto &l : log_)
		if (l.find(needle) != std::string::npos)
			return true;
	return false;
}

void Sim::Log(const std::string &line)
{
	log_.push_back(line);
	if (getenv("SIM_VERBOSE"))
		fprintf(stderr, "[sim] %s\n", line.c_str());
}

// ---- Event channels ----

struct Sim::EvtchnImpl {
	unsigned port;
	xi_event_fn fn;
	void *arg;
	bool masked = false;  // delivered, waiting for EOI
	bool pending = false; // kicked while masked
};

unsigned Sim::AllocPort(xi_domid_t frontend)
{
	unsigned p = next_port_++;
	ports_[p] = frontend;
	return p;
}

void Sim::Kick(unsigned port)
{
	auto it = evtchns_.find(port);
	if (it == evtchns_.end()) {
		unbound_pending_[port] = true; // delivered when bound
		return;
	}
	EvtchnImpl *e = it->second;
	if (e->masked) {
		e->pending = true;
		return;
	}
	e->masked = true;
	e->fn(e->arg);
}

long Sim::Notified(unsigned port) const
{
	auto it = notified_.find(port);
	return it == notified_.end() ? 0 : it->second;
}

bool Sim::Bound(unsigned port) const
{
	return evtchns_.count(port) != 0;
}

// ---- Work and deferred events ----

struct Sim::WorkImpl {
	xi_work_fn fn;
	void *arg;
	bool queued = false;
	bool running = false;
	bool timed = false;	// on timers_
	uint64_t deadline = 0;	// ... firing then
	bool destroyed = false; // by itself while running: freed once it returns
};

void FreeWork(Sim::WorkImpl *w); // below, with struct xi_work

void Sim::Defer(std::function<void()> fn)
{
	deferred_.push_back(std::move(fn));
}

size_t Sim::pending() const
{
	return runq_.size() + deferred_.size() + timers_soon();
}

size_t Sim::timers_soon() const
{
	size_t n = 0;
	for (WorkImpl *w : timers_)
		n += w->deadline < now_ns_ + 1000000000;
	return n;
}

bool Sim::RunOne()
{
	// Completions first: they model interrupts, which preempt work.
	if (!deferred_.empty()) {
		auto fn = std::move(deferred_.front());
		deferred_.pop_front();
		fn();
		return true;
	}
	if (!runq_.empty()) {
		WorkImpl *w = runq_.front();
		runq_.pop_front();
		w->queued = false;
		w->running = true;
		w->fn(w->arg);
		if (w->destroyed)
			FreeWork(w);
		else
			w->running = false;
		return true;
	}
	// Time passes only when nothing else can run: the earliest timer fires.
	if (!timers_.empty()) {
		auto first = timers_.begin();
		for (auto it = timers_.begin(); it != timers_.end(); ++it)
			if ((*it)->deadline < (*first)->deadline)
				first = it;
		WorkImpl *w = *first;
		timers_.erase(first);
		now_ns_ = std::max(now_ns_, w->deadline);
		w->timed = false;
		c_.timers_fired++;
		if (!w->queued) {
			w->queued = true;
			runq_.push_back(w);
		}
		return true;
	}
	return false;
}

int Sim::RunUntilQuiet(uint64_t horizon_ns)
{
	int steps = 0;
	uint64_t until = now_ns_ + horizon_ns;
	for (;;) {
		bool soon = !deferred_.empty() || !runq_.empty();
		for (WorkImpl *w : timers_)
			soon |= w->deadline <= until;
		if (!soon || !RunOne())
			return steps;
		if (++steps > 1000000) {
			on_warning("RunUntilQuiet: work keeps requeueing itself (livelock)");
			return steps;
		}
	}
}

int Sim::RunUntilIdle(int max_steps)
{
	int steps = 0;
	while (RunOne())
		if (++steps > max_steps) {
			on_warning("RunUntilIdle: work keeps requeueing itself (livelock)");
			break;
		}
	return steps;
}

bool PageIsMapped(xi_page *p);

} // namespace sim

// ======================= platform.h, host implementation =====================

using sim::Sim;

struct xi_page {
	void *addr;
	bool mapped;
	bool readonly;
	xi_domid_t dom;
	xi_gref_t gref;
};

struct xi_evtchn {
	Sim::EvtchnImpl impl;
};

struct xi_work {
	Sim::WorkImpl impl;
};

namespace sim {
void FreeWork(Sim::WorkImpl *w)
{
	delete reinterpret_cast<xi_work *>(w); // impl is its first member
}

bool PageIsMapped(xi_page *p)
{
	return p->mapped;
}

void ReclaimQuarantined(xi_page *p)
{
	Sim &s = Sim::Get();
	if (p->mapped) {
		auto &tbl = s.grants()[p->dom];
		auto it = tbl.find(p->gref);
		if (it != tbl.end())
			it->second.maps--;
		s.counters().mappings--;
	}
	munmap(p->addr, kPage);
	delete p;
	s.counters().pages--;
}
} // namespace sim

extern "C" {

void *xi_zalloc(size_t size)
{
	Sim &s = Sim::Get();
	if (s.ShouldFail(sim::Fault::kAlloc))
		return nullptr;
	void *p = calloc(1, size ? size : 1);
	if (p)
		s.counters().allocs++;
	return p;
}

void xi_free(const void *p)
{
	if (!p)
		return;
	Sim::Get().counters().allocs--;
	free(const_cast<void *>(p));
}

void *xi_dma_alloc(size_t size)
{
	return xi_zalloc(size);
}

void xi_dma_free(void *p)
{
	xi_free(p);
}

int xi_pages_alloc(unsigned int n, struct xi_page **pages)
{
	Sim &s = Sim::Get();
	if (s.ShouldFail(sim::Fault::kPageAlloc))
		return -12;
	for (unsigned i = 0; i < n; i++) {
		pages[i] = new xi_page{sim::Reserve(sim::kPage), false, false, 0, 0};
		s.counters().pages++;
	}
	return 0;
}

void xi_pages_free(unsigned int n, struct xi_page **pages)
{
	Sim &s = Sim::Get();
	for (unsigned i = 0; i < n; i++) {
		if (pages[i]->mapped)
			s.on_warning("xi_pages_free: page still has a grant mapped onto it");
		munmap(pages[i]->addr, sim::kPage);
		delete pages[i];
		pages[i] = nullptr;
		s.counters().pages--;
	}
}

void *xi_page_address(struct xi_page *page)
{
	return page->addr;
}

int xi_grant_map(struct xi_map_op *ops, unsigned int n)
{
	Sim &s = Sim::Get();
	s.counters().map_calls++;
	for (unsigned i = 0; i < n; i++) {
		xi_map_op &op = ops[i];
		s.counters().map_ops++;
		auto &tbl = s.grants()[op.dom];
		auto it = tbl.find(op.gref);
		if (s.ShouldFail(sim::Fault::kMap)) {
			op.status = XI_GNTST_GENERAL_ERROR;
			continue;
		}
		if (it == tbl.end() || it->second.to != sim::kDom0) {
			op.status = XI_GNTST_BAD_GNTREF;
			continue;
		}
		sim::Grant &g = it->second;
		if (g.readonly && !op.readonly) {
			op.status = XI_GNTST_PERMISSION_DENIED;
			continue;
		}
		if (op.page->mapped) {
			s.on_warning("xi_grant_map: page already has a grant mapped onto it");
			op.status = XI_GNTST_GENERAL_ERROR;
			continue;
		}
		sim::AliasFrame(op.page->addr, s.domain(op.dom).fd(), g.frame, op.readonly);
		op.page->mapped = true;
		op.page->readonly = op.readonly;
		op.page->dom = op.dom;
		op.page->gref = op.gref;
		g.maps++;
		op.handle = (uint32_t)(op.gref ^ 0x5a5a0000u);
		op.status = XI_GNTST_OKAY;
		s.counters().mappings++;
	}
	return 0;
}

int xi_grant_unmap(struct xi_map_op *ops, unsigned int n)
{
	Sim &s = Sim::Get();
	s.counters().unmap_calls++;
	for (unsigned i = 0; i < n; i++) {
		xi_map_op &op = ops[i];
		xi_page *p = op.page;
		if (op.status != XI_GNTST_OKAY)
			continue; // not to be unmapped (platform.h)
		s.counters().unmap_ops++;
		if (s.ShouldFail(sim::Fault::kUnmap)) {
			op.status = XI_GNTST_STILL_MAPPED;
			continue;
		}
		if (!p->mapped || op.handle != (uint32_t)(p->gref ^ 0x5a5a0000u)) {
			s.on_warning("xi_grant_unmap: page not mapped, or wrong handle");
			continue;
		}
		sim::Unback(p->addr, sim::kPage);
		p->mapped = false;
		auto &tbl = s.grants()[p->dom];
		auto it = tbl.find(p->gref);
		if (it != tbl.end())
			it->second.maps--;
		s.counters().mappings--;
	}
	return 0;
}

int xi_grant_copy(struct xi_copy_op *ops, unsigned int n)
{
	Sim &s = Sim::Get();
	for (unsigned i = 0; i < n; i++) {
		xi_copy_op &op = ops[i];
		s.counters().copy_ops++;
		const sim::Grant *g = s.FindGrant(op.dom, op.gref);
		if (s.ShouldFail(sim::Fault::kCopy)) {
			op.status = XI_GNTST_GENERAL_ERROR;
			continue;
		}
		if (!g || g->to != sim::kDom0) {
			op.status = XI_GNTST_BAD_GNTREF;
			continue;
		}
		if ((uint32_t)op.offset + op.len > XI_PAGE_SIZE ||
		    ((uintptr_t)op.local & (XI_PAGE_SIZE - 1)) + op.len > XI_PAGE_SIZE) {
			op.status = XI_GNTST_GENERAL_ERROR; // Xen rejects page-crossing copies
			continue;
		}
		if (op.to_remote && g->readonly) {
			op.status = XI_GNTST_PERMISSION_DENIED;
			continue;
		}
		uint8_t *frame = s.domain(op.dom).Frame(g->frame) + op.offset;
		if (op.to_remote)
			memcpy(frame, op.local, op.len);
		else
			memcpy(op.local, frame, op.len);
		op.status = XI_GNTST_OKAY;
	}
	return 0;
}

struct RingMapping {
	void *addr;
	unsigned n;
	xi_domid_t dom;
	std::vector<xi_gref_t> refs;
};
static std::map<void *, RingMapping> g_rings;

int xi_ring_map(struct xi_xendev *dev, const xi_gref_t *grefs, unsigned int n, void **addr)
{
	Sim &s = Sim::Get();
	auto *xd = reinterpret_cast<sim::XenDev *>(dev);
	if (s.ShouldFail(sim::Fault::kRingMap))
		return -12;
	if (n == 0 || n > 16)
		return -22;
	for (unsigned i = 0; i < n; i++) {
		auto *g = s.FindGrant(xd->otherend, grefs[i]);
		if (!g || g->to != sim::kDom0 || g->readonly)
			return -22;
	}
	auto *base = static_cast<uint8_t *>(sim::Reserve(n * sim::kPage));
	RingMapping rm{base, n, xd->otherend, {}};
	for (unsigned i = 0; i < n; i++) {
		auto &g = s.grants()[xd->otherend][grefs[i]];
		sim::AliasFrame(base + i * sim::kPage, s.domain(xd->otherend).fd(), g.frame, false);
		g.maps++;
		rm.refs.push_back(grefs[i]);
	}
	g_rings[base] = rm;
	s.counters().rings++;
	*addr = base;
	return 0;
}

void xi_ring_unmap(struct xi_xendev *dev, void *addr)
{
	Sim &s = Sim::Get();
	auto it = g_rings.find(addr);
	if (it == g_rings.end()) {
		s.on_warning("xi_ring_unmap: not a mapped ring");
		return;
	}
	for (xi_gref_t r : it->second.refs)
		s.grants()[it->second.dom][r].maps--;
	munmap(addr, it->second.n * sim::kPage);
	g_rings.erase(it);
	s.counters().rings--;
}

int xi_evtchn_bind(struct xi_xendev *dev, unsigned int port, xi_event_fn fn, void *arg,
		   const char *name, struct xi_evtchn **out)
{
	Sim &s = Sim::Get();
	if (s.ShouldFail(sim::Fault::kEvtchnBind))
		return -12;
	if (s.evtchns().count(port))
		return -16;
	auto *ch = new xi_evtchn{{port, fn, arg}};
	s.evtchns()[port] = &ch->impl;
	s.counters().evtchns++;
	// Like the kernel: a pending event fires as soon as the channel is
	// bound, before the caller even has the handle.
	if (s.unbound_pending()[port]) {
		s.unbound_pending()[port] = false;
		ch->impl.masked = true;
		fn(arg);
	}
	*out = ch;
	return 0;
}

void xi_evtchn_unbind(struct xi_evtchn *ch)
{
	Sim &s = Sim::Get();
	s.evtchns().erase(ch->impl.port);
	delete ch;
	s.counters().evtchns--;
}

void xi_evtchn_eoi(struct xi_evtchn *ch, bool spurious)
{
	Sim &s = Sim::Get();
	auto &e = ch->impl;
	if (!e.masked)
		s.on_warning("xi_evtchn_eoi: no event to acknowledge");
	s.counters().eois++;
	if (spurious)
		s.counters().spurious_eois++;
	e.masked = false;
	if (e.pending) {
		e.pending = false;
		e.masked = true;
		e.fn(e.arg);
	}
}

// ---- Locks: one thread, so they check usage instead of excluding ----

struct SimLock {
	uint32_t magic;
	int held;
};
static_assert(sizeof(SimLock) <= sizeof(xi_spinlock));
constexpr uint32_t kLockMagic = 0x10c4ed;
static int g_irqs_off;

void xi_spin_init(struct xi_spinlock *lock, const char *, struct xi_lock_class *)
{
	*reinterpret_cast<SimLock *>(lock) = {kLockMagic, 0};
}

unsigned long xi_spin_lock_irqsave(struct xi_spinlock *lock)
{
	auto *l = reinterpret_cast<SimLock *>(lock);
	if (l->magic != kLockMagic)
		Sim::Get().on_warning("spinlock used before xi_spin_init");
	if (l->held)
		Sim::Get().on_warning("spinlock taken twice: deadlock");
	l->held = 1;
	return (unsigned long)g_irqs_off++;
}

void xi_spin_unlock_irqrestore(struct xi_spinlock *lock, unsigned long flags)
{
	auto *l = reinterpret_cast<SimLock *>(lock);
	if (!l->held)
		Sim::Get().on_warning("spinlock released but not held");
	l->held = 0;
	g_irqs_off = (int)flags;
}

void xi_mutex_init(struct xi_mutex *m, const char *, struct xi_lock_class *)
{
	*reinterpret_cast<SimLock *>(m) = {kLockMagic, 0};
}

void xi_mutex_lock(struct xi_mutex *m)
{
	auto *l = reinterpret_cast<SimLock *>(m);
	if (g_irqs_off)
		Sim::Get().on_warning("mutex taken with a spinlock held (sleeping in atomic)");
	if (l->held)
		Sim::Get().on_warning("mutex taken twice: deadlock");
	l->held = 1;
}

void xi_mutex_unlock(struct xi_mutex *m)
{
	reinterpret_cast<SimLock *>(m)->held = 0;
}

void xi_spin_assert_held(struct xi_spinlock *lock)
{
	if (!reinterpret_cast<SimLock *>(lock)->held)
		Sim::Get().on_warning("a spinlock the caller must hold is not held");
}

void xi_mutex_assert_held(struct xi_mutex *m)
{
	if (!reinterpret_cast<SimLock *>(m)->held)
		Sim::Get().on_warning("a mutex the caller must hold is not held");
}

void xi_waitq_init(struct xi_waitq *wq)
{
	memset(wq, 0, sizeof(*wq));
}

void xi_wait_until(struct xi_waitq *wq, bool (*cond)(void *arg), void *arg)
{
	Sim &s = Sim::Get();
	s.counters().waits++;
	if (g_irqs_off)
		s.on_warning("xi_wait_until with a spinlock held (sleeping in atomic)");
	while (!cond(arg))
		if (!s.RunOne()) {
			s.on_warning(
				"xi_wait_until: nothing left to run, the wait would never end");
			return;
		}
}

void xi_wake_all(struct xi_waitq *wq) {}

struct xi_work *xi_work_create(xi_work_fn fn, void *arg)
{
	Sim &s = Sim::Get();
	if (s.on_work_create) {
		auto hook = std::move(s.on_work_create);
		s.on_work_create = nullptr;
		hook();
	}
	if (s.ShouldFail(sim::Fault::kAlloc))
		return nullptr;
	s.counters().works++;
	return new xi_work{{fn, arg}};
}

void xi_work_queue(struct xi_work *w)
{
	if (w->impl.queued)
		return;
	w->impl.queued = true;
	Sim::Get().runq().push_back(&w->impl);
}

void xi_work_queue_after(struct xi_work *w, unsigned int usecs)
{
	uint64_t deadline = Sim::Get().now_ns() + (uint64_t)usecs * 1000;
	if (w->impl.timed) {
		w->impl.deadline = std::min(w->impl.deadline, deadline); // the earliest wins
		return;
	}
	w->impl.timed = true;
	w->impl.deadline = deadline;
	Sim::Get().timers().push_back(&w->impl);
}

void xi_work_cancel_sync(struct xi_work *w)
{
	Sim &s = Sim::Get();
	if (w->impl.running)
		s.on_warning("xi_work_cancel_sync from the work itself: deadlock");
	for (auto *q : {&s.runq(), &s.timers()})
		for (auto it = q->begin(); it != q->end(); ++it)
			if (*it == &w->impl) {
				q->erase(it);
				break;
			}
	w->impl.queued = false;
	w->impl.timed = false;
}

void xi_work_destroy(struct xi_work *w)
{
	Sim &s = Sim::Get();
	if (w->impl.queued || w->impl.timed)
		s.on_warning("xi_work_destroy: work still queued");
	s.counters().works--;
	if (w->impl.running)
		w->impl.destroyed = true; // it ends itself: RunOne frees it
	else
		delete w;
}

void xi_work_flush_all(void)
{
	Sim::Get().RunNow();
}

static void VLog(const char *prefix, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	Sim::Get().Log(std::string(prefix) + buf);
}

bool xi_debug_enabled(void)
{
	return Sim::Get().debug();
}

void xi_log(enum xi_log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {"err: ", "warn: ", "info: ", "debug: "};
	va_list ap;
	if (level == XI_LOG_DEBUG && !xi_debug_enabled())
		return;
	va_start(ap, fmt);
	VLog(prefix[level], fmt, ap);
	va_end(ap);
}

void xi_log_ratelimited(enum xi_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	VLog("ratelimited: ", fmt, ap);
	va_end(ap);
}

int xi_vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
	return vsnprintf(buf, size, fmt, args);
}

int xi_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

struct xi_budget {
	xi_domid_t dom;
	int refs;
	uint64_t charged;
};

struct xi_budget *xi_budget_get(xi_domid_t dom)
{
	Sim &s = Sim::Get();
	if (s.ShouldFail(sim::Fault::kAlloc))
		return nullptr;
	auto &b = s.budgets()[dom];
	if (!b)
		b = new xi_budget{dom, 0, 0};
	b->refs++;
	s.counters().allocs++;
	return b;
}

void xi_budget_put(struct xi_budget *b)
{
	Sim &s = Sim::Get();
	s.counters().allocs--;
	if (--b->refs)
		return;
	if (b->charged)
		s.on_warning("a budget freed with bytes still charged");
	s.budgets().erase(b->dom);
	delete b;
}

bool xi_budget_charge(struct xi_budget *b, uint64_t bytes, uint64_t cap)
{
	if (cap && b->charged + bytes > cap)
		return false;
	b->charged += bytes;
	return true;
}

void xi_budget_uncharge(struct xi_budget *b, uint64_t bytes)
{
	if (bytes > b->charged)
		Sim::Get().on_warning("a budget uncharged more than it was charged");
	b->charged -= bytes;
}

uint64_t xi_budget_charged(struct xi_budget *b)
{
	return b->charged;
}

uint64_t xi_now_ns(void)
{
	return Sim::Get().now_ns();
}

void xi_assert_failed(const char *expr, const char *file, int line)
{
	Sim &s = Sim::Get();
	s.counters().warnings++;
	s.on_warning(std::string("invariant failed: ") + expr + " at " + file + ":" +
		     std::to_string(line));
}

} // extern "C"

extern "C" void xi_evtchn_notify(struct xi_evtchn *ch)
{
	Sim &s = Sim::Get();
	s.counters().notifies++;
	s.RecordNotify(ch->impl.port);
	if (s.on_notify)
		s.on_notify(ch->impl.port);
}
