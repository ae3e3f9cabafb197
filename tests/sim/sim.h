// SPDX-License-Identifier: GPL-2.0-only
//
// A simulated Xen for host tests, fuzzers and benchmarks: the host
// implementation of include/xenidc/platform.h.
//
// Fidelity where it matters for a backend:
//   - Domains own memory (a memfd). A grant names one frame, the domain it is
//     granted to, and read-only or writable access.
//   - Grant map aliases the frame onto the backend's page with mmap: the
//     backend sees the frontend's bytes live, a read-only grant is mapped
//     PROT_READ (a write faults), and an unmapped or ballooned page is
//     PROT_NONE (any access faults).
//   - Event channels deliver with late-EOI masking, like the kernel's.
//   - Work, completions and waits run on one thread in a deterministic
//     order: RunUntilIdle() drives them, and a wait that nothing could ever
//     satisfy is reported as a deadlock instead of hanging.
//   - Every allocation, page, mapping, event channel and work item is
//     counted, so a test can require that nothing leaked.
//   - Fault injection: fail the Nth allocation, page allocation, map or copy.
#ifndef XENIDC_TESTS_SIM_H
#define XENIDC_TESTS_SIM_H

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <xenidc/platform.h>

namespace sim {

constexpr xi_domid_t kDom0 = 0;

struct Grant {
	xi_domid_t owner;
	xi_domid_t to;
	uint32_t frame;
	bool readonly;
	int maps = 0; // live mappings (a grant must not be revoked while mapped)
};

class Domain {
public:
	Domain(xi_domid_t id, uint32_t frames);
	~Domain();
	xi_domid_t id() const { return id_; }
	uint32_t frames() const { return frames_; }
	// The domain's own view of one of its frames; consecutive frames are
	// contiguous in this view.
	uint8_t *Frame(uint32_t f) const;
	// n consecutive unused frames.
	uint32_t AllocFrames(uint32_t n);
	int fd() const { return fd_; }

private:
	xi_domid_t id_;
	uint32_t frames_;
	int fd_;
	uint8_t *base_;
	uint32_t next_frame_ = 0;
};

enum class Fault { kAlloc, kPageAlloc, kMap, kUnmap, kCopy, kRingMap, kEvtchnBind, kCount };

struct Counters {
	long allocs = 0;   // live xi_zalloc/xi_dma_alloc blocks
	long pages = 0;	   // live xi_pages_alloc pages
	long mappings = 0; // live grant maps onto backend pages
	long rings = 0;	   // live ring mappings
	long evtchns = 0;  // bound event channels
	long works = 0;	   // live work items
	long map_ops = 0;  // grant map ops issued
	long unmap_ops = 0;
	long copy_ops = 0;
	long map_calls = 0; // xi_grant_map calls (batches)
	long unmap_calls = 0;
	long eois = 0;
	long spurious_eois = 0;
	long notifies = 0;     // backend -> frontend events
	long timers_fired = 0; // xi_work_queue_after
	long warnings = 0;     // xi_assert_failed
	long waits = 0;	       // xi_wait_until calls: something slept
};

// The backend side of one xenbus device: which frontend it talks to.
struct XenDev {
	xi_domid_t otherend;
};

class Sim {
public:
	Sim();
	~Sim();
	static Sim &Get(); // the current simulation

	Domain &AddDomain(xi_domid_t id, uint32_t frames = 256);
	Domain &domain(xi_domid_t id) { return *domains_.at(id); }

	// Grants `frame` of `owner` to `to` and returns the reference.
	xi_gref_t GrantAccess(xi_domid_t owner, uint32_t frame, xi_domid_t to, bool readonly);
	// Ends a grant; false (like gnttab_end_foreign_access) while it is mapped.
	bool EndAccess(xi_domid_t owner, xi_gref_t ref);
	const Grant *FindGrant(xi_domid_t owner, xi_gref_t ref) const;
	int GrantsMapped() const;

	// Event channels. The frontend side allocates a port; the backend binds it.
	unsigned AllocPort(xi_domid_t frontend);
	void Kick(unsigned port);	    // frontend -> backend
	long Notified(unsigned port) const; // backend -> frontend events so far
	void RecordNotify(unsigned port) { notified_[port]++; }
	bool Bound(unsigned port) const;

	// Simulated time (xi_now_ns): it passes only when a timer fires, and
	// then to that timer's deadline.
	uint64_t now_ns() const { return now_ns_; }

	// Runs queued work and deferred events until nothing is left. Returns the
	// number of steps taken; fails the test past max_steps.
	int RunUntilIdle(int max_steps = 1000000);
	// The same, but only as far as timers due within horizon_ns: what
	// happens soon after (a device's I/O, a coalescing look), not an idle
	// ring's trim seconds later.
	int RunUntilQuiet(uint64_t horizon_ns = 1000000000);
	bool RunOne();
	// Runs work and deferred events, but lets no time pass (no timer fires).
	void RunNow()
	{
		while (!deferred_.empty() || !runq_.empty())
			RunOne();
	}
	void Defer(std::function<void()> fn); // e.g. an I/O completion
	// Work, completions and timers due within a second: what is about to
	// happen (a ring's trim 10 s after its last request is not).
	size_t pending() const;
	size_t timers_soon() const;

	// Fault injection: the nth next operation of that kind fails (1 = next).
	void FailNth(Fault f, long n) { fail_at_[(int)f] = n; }
	void FailEvery(Fault f, bool on) { fail_all_[(int)f] = on; }
	bool ShouldFail(Fault f);

	Counters &counters() { return c_; }
	const std::vector<std::string> &log() const { return log_; }
	bool LogContains(const std::string &needle) const;
	void Log(const std::string &line);
	// The request-lifecycle trace (dynamic debug in the kernel).
	bool debug() const { return debug_; }
	void set_debug(bool on) { debug_ = on; }
	// Assertion hook (gtest installs ADD_FAILURE; default aborts).
	std::function<void(const std::string &)> on_warning;
	// Runs at each backend -> frontend event, as the frontend would see it.
	std::function<void(unsigned port)> on_notify;
	// Runs once, inside the next xi_work_create(): for tests of what
	// another thread may do while a device starts.
	std::function<void()> on_work_create;

	// Implementation hooks used by the platform functions.
	struct EvtchnImpl;
	struct WorkImpl;
	std::map<unsigned, EvtchnImpl *> &evtchns() { return evtchns_; }
	// Events sent to ports nobody has bound yet: Xen delivers them at bind.
	std::map<unsigned, bool> &unbound_pending() { return unbound_pending_; }
	std::deque<WorkImpl *> &runq() { return runq_; }
	std::deque<WorkImpl *> &timers() { return timers_; } // xi_work_queue_after
	std::map<xi_domid_t, std::map<xi_gref_t, Grant>> &grants() { return grants_; }
	std::map<xi_domid_t, xi_budget *> &budgets() { return budgets_; }
	// Lets time pass (no timer fires).
	void Advance(uint64_t ns) { now_ns_ += ns; }

private:
	std::map<xi_domid_t, std::unique_ptr<Domain>> domains_;
	std::map<xi_domid_t, std::map<xi_gref_t, Grant>> grants_;
	std::map<xi_domid_t, xi_gref_t> next_gref_;
	std::map<unsigned, EvtchnImpl *> evtchns_;
	std::map<xi_domid_t, xi_budget *> budgets_;
	std::map<unsigned, long> notified_;
	std::map<unsigned, bool> unbound_pending_;
	std::map<unsigned, xi_domid_t> ports_;
	unsigned next_port_ = 1;
	std::deque<WorkImpl *> runq_;
	std::deque<std::function<void()>> deferred_;
	std::deque<WorkImpl *> timers_;
	uint64_t now_ns_ = 1000000000;
	long fail_at_[(int)Fault::kCount] = {};
	bool fail_all_[(int)Fault::kCount] = {};
	Counters c_;
	std::vector<std::string> log_;
	bool debug_ = false;
	Sim *prev_;
};

// The xi_page behind a backend page (for tests that inspect mappings).
bool PageIsMapped(xi_page *p);
// Unmaps and frees a page the backend quarantined (its unmap failed) and
// so left behind on purpose, for a test's leak check.
void ReclaimQuarantined(xi_page *p);

} // namespace sim

#endif // XENIDC_TESTS_SIM_H
