/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The platform interface: everything the C++ core needs from its environment,
 * as plain C. The kernel implements it in xenidc/platform.c (Xen grant table,
 * event channels, xenbus ring mapping, workqueues, spinlocks); the host tests
 * implement it in tests/sim/ on a simulated Xen. The core includes no other
 * system header, so the same core source runs in both.
 *
 * Conventions: functions that can fail return 0 or a negative errno. Nothing
 * here sleeps unless it says "may sleep".
 */
#ifndef XENIDC_PLATFORM_H
#define XENIDC_PLATFORM_H

#include <xenidc/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XI_PAGE_SHIFT 12
#define XI_PAGE_SIZE (1u << XI_PAGE_SHIFT)

typedef uint16_t xi_domid_t;
typedef uint32_t xi_gref_t;

/* ---- Memory --------------------------------------------------------------- */

/* Zeroed memory; may sleep. NULL when out of memory. */
void *xi_zalloc(size_t size);
void xi_free(const void *p);

/* Physically contiguous, device-DMA-able memory (staging buffers); may sleep. */
void *xi_dma_alloc(size_t size);
void xi_dma_free(void *p);

/*
 * A page frame a foreign grant can be mapped onto (a ballooned frame in a PV
 * dom0). Opaque: struct page in the kernel.
 */
struct xi_page;

/* May sleep. All or nothing. */
int xi_pages_alloc(unsigned int n, struct xi_page **pages);
void xi_pages_free(unsigned int n, struct xi_page **pages);
void *xi_page_address(struct xi_page *page);

/*
 * What the devices serving one guest hold in dom0 memory between them (the
 * frames their grants are mapped onto, per-request state): one budget per
 * domain, shared, so a guest cannot take more by opening more devices.
 */
struct xi_budget;

/* The domain's budget, made on first use; may sleep. NULL: out of memory. */
struct xi_budget *xi_budget_get(xi_domid_t dom);
void xi_budget_put(struct xi_budget *b);
/* Adds bytes unless that passes cap (0: no cap); false then. Any context. */
bool xi_budget_charge(struct xi_budget *b, uint64_t bytes, uint64_t cap);
void xi_budget_uncharge(struct xi_budget *b, uint64_t bytes);
uint64_t xi_budget_charged(struct xi_budget *b);

/* ---- Grant table ----------------------------------------------------------- */

/* Per-op status: 0, or a negative GNTST_* code from the hypervisor. */
#define XI_GNTST_OKAY 0
#define XI_GNTST_GENERAL_ERROR (-1)
#define XI_GNTST_BAD_GNTREF (-3)
#define XI_GNTST_PERMISSION_DENIED (-8)
/*
 * Not the hypervisor's: a map that failed and could not be undone, or an
 * unmap that failed. The frame still holds a foreign mapping: it must never
 * be mapped onto again, nor freed.
 */
#define XI_GNTST_STILL_MAPPED (-100)

struct xi_map_op {
	xi_domid_t dom;		/* in: granting domain */
	uint8_t readonly;	/* in: map without write access */
	int16_t status;		/* out: XI_GNTST_* */
	xi_gref_t gref;		/* in */
	uint32_t handle;	/* out: for unmap */
	struct xi_page *page;	/* in: the local frame to map onto */
};

/*
 * Maps or unmaps a batch in one hypercall. Returns 0 when the batch was
 * processed (check each op's status) or -errno when none was. An unmap
 * skips the ops whose status is not XI_GNTST_OKAY on entry and sets the
 * others' to XI_GNTST_OKAY or XI_GNTST_STILL_MAPPED.
 */
int xi_grant_map(struct xi_map_op *ops, unsigned int n);
int xi_grant_unmap(struct xi_map_op *ops, unsigned int n);

struct xi_copy_op {
	xi_domid_t dom;		/* in: granting domain */
	uint8_t to_remote;	/* in: 1 = local -> grant, 0 = grant -> local */
	int16_t status;		/* out: XI_GNTST_* */
	xi_gref_t gref;		/* in */
	uint16_t offset;	/* in: offset in the granted page */
	uint16_t len;		/* in: offset + len <= XI_PAGE_SIZE */
	void *local;		/* in: must not cross a page boundary */
};

int xi_grant_copy(struct xi_copy_op *ops, unsigned int n);

/* ---- Shared rings and event channels ------------------------------------- */

/* The xenbus device a ring belongs to (struct xenbus_device in the kernel). */
struct xi_xendev;

/* Maps n granted ring pages virtually contiguous. May sleep. */
int xi_ring_map(struct xi_xendev *dev, const xi_gref_t *grefs, unsigned int n,
		void **addr);
void xi_ring_unmap(struct xi_xendev *dev, void *addr);

struct xi_evtchn;
typedef void (*xi_event_fn)(void *arg);

/*
 * Binds the frontend's event channel with late EOI: after each event, no
 * further event is delivered until xi_evtchn_eoi(). fn runs in hard-IRQ
 * context. May sleep.
 */
int xi_evtchn_bind(struct xi_xendev *dev, unsigned int port, xi_event_fn fn,
		   void *arg, const char *name, struct xi_evtchn **out);
void xi_evtchn_unbind(struct xi_evtchn *ch);
void xi_evtchn_notify(struct xi_evtchn *ch);
/* spurious: the event found no work (the hypervisor throttles such storms) */
void xi_evtchn_eoi(struct xi_evtchn *ch, bool spurious);

/* ---- Locks, waits, deferred work ------------------------------------------ */

/* Opaque storage, large enough for the kernel's types with lock debugging. */
struct xi_spinlock {
	uint64_t opaque[16];
};

struct xi_mutex {
	uint64_t opaque[24];
};

struct xi_waitq {
	uint64_t opaque[16];
};

/*
 * A lock class for lockdep (struct lock_class_key): one static object per
 * place locks are made, so each lock's order is checked on its own.
 */
struct xi_lock_class {
	uint64_t opaque[4];
};

void xi_spin_init(struct xi_spinlock *lock, const char *name, struct xi_lock_class *cls);
/* IRQ-safe: completions run in interrupt context. */
unsigned long xi_spin_lock_irqsave(struct xi_spinlock *lock);
void xi_spin_unlock_irqrestore(struct xi_spinlock *lock, unsigned long flags);
/* lockdep_assert_held(): a warning if the caller does not hold it. */
void xi_spin_assert_held(struct xi_spinlock *lock);

void xi_mutex_init(struct xi_mutex *m, const char *name, struct xi_lock_class *cls);
void xi_mutex_lock(struct xi_mutex *m); /* may sleep */
void xi_mutex_unlock(struct xi_mutex *m);
void xi_mutex_assert_held(struct xi_mutex *m);

void xi_waitq_init(struct xi_waitq *wq);
/* Sleeps until cond(arg) is true; cond is re-checked after each wake. */
void xi_wait_until(struct xi_waitq *wq, bool (*cond)(void *arg), void *arg);
void xi_wake_all(struct xi_waitq *wq);

/*
 * Deferred work in process context. A queued work runs at least once after
 * the xi_work_queue() call; never twice at the same time.
 */
struct xi_work;
typedef void (*xi_work_fn)(void *arg);
struct xi_work *xi_work_create(xi_work_fn fn, void *arg);
void xi_work_queue(struct xi_work *w); /* any context */
/*
 * Queues it usecs from now, unless a timed queueing that comes sooner is
 * pending (the earliest wins). From the work.
 */
void xi_work_queue_after(struct xi_work *w, unsigned int usecs);
/* Waits for a running instance and drops a pending one or a timed one. May sleep. */
void xi_work_cancel_sync(struct xi_work *w);
/* Any context but the work itself; a work may destroy itself as it ends. */
void xi_work_destroy(struct xi_work *w);
/*
 * Waits until every work queued so far (on every device) has returned, for
 * a module that is about to go: none of its code is still on a stack.
 */
void xi_work_flush_all(void);

/* ---- Misc ---------------------------------------------------------------- */

enum xi_log_level { XI_LOG_ERR, XI_LOG_WARN, XI_LOG_INFO, XI_LOG_DEBUG };

/* Messages a guest can provoke must use the rate-limited form. */
void xi_log(enum xi_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void xi_log_ratelimited(enum xi_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The request-lifecycle trace: off by default, switched on at run time with
 * dynamic debug ("module xenidc +p"). Callers test it before formatting so a
 * disabled trace costs one call and a branch per request.
 */
bool xi_debug_enabled(void);
#define XI_DEBUG(fmt, ...)                                            \
	do {                                                          \
		if (__builtin_expect(xi_debug_enabled(), 0))          \
			xi_log(XI_LOG_DEBUG, fmt, ##__VA_ARGS__);     \
	} while (0)

uint64_t xi_now_ns(void);

/* vsnprintf semantics: returns the length the output wanted. */
int xi_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int xi_vsnprintf(char *buf, size_t size, const char *fmt, __builtin_va_list args);

/* Called when a C++ invariant breaks: logs, warns once, never returns to UB. */
void xi_assert_failed(const char *expr, const char *file, int line);

#ifdef __cplusplus
}
#endif

#endif /* XENIDC_PLATFORM_H */
