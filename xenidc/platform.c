// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel implementation of include/xenidc/platform.h: the only place the core
 * meets the kernel. Each function translates one call, nothing more.
 */
#define pr_fmt(fmt) "xenidc: " fmt

#include <linux/debugfs.h>
#include <linux/dynamic_debug.h>
#include <linux/errno.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <xen/events.h>
#include <xen/grant_table.h>
#include <xen/page.h>
#include <xen/xenbus.h>

#include <xenidc/xen_ops.h>

#include "xenidc.h"

/* The core's error numbers and grant statuses are the kernel's. */
static_assert(GNTST_general_error == XI_GNTST_GENERAL_ERROR);
static_assert(GNTST_bad_gntref == XI_GNTST_BAD_GNTREF);
static_assert(GNTST_permission_denied == XI_GNTST_PERMISSION_DENIED);
static_assert(GNTST_eagain - 10 > XI_GNTST_STILL_MAPPED); /* none of Xen's */
static_assert(XI_PAGE_SIZE == XEN_PAGE_SIZE);
/* One Xen frame per struct page (grant map/unmap, grant copy offsets). */
static_assert(PAGE_SIZE == XEN_PAGE_SIZE, "xenidc needs 4 KiB kernel pages, not 16K/64K");
static_assert(sizeof(xi_gref_t) == sizeof(grant_ref_t));
static_assert(sizeof(xi_domid_t) == sizeof(domid_t));
static_assert(sizeof(spinlock_t) <= sizeof(struct xi_spinlock));
static_assert(sizeof(struct mutex) <= sizeof(struct xi_mutex));
static_assert(sizeof(wait_queue_head_t) <= sizeof(struct xi_waitq));
static_assert(sizeof(struct lock_class_key) <= sizeof(struct xi_lock_class));

/*
 * A device's work runs on the CPU its event arrived on: waking it needs no
 * IPI, and the pass finds the ring and the completions in that CPU's cache.
 * At normal priority (nice 0, as xen-blkback's threads): a guest that keeps
 * its rings full gets a fair share of a dom0 CPU, no more.
 */
static struct workqueue_struct *xi_wq;
static struct workqueue_struct *xi_wq_unbound;
static bool unbound_work;
module_param(unbound_work, bool, 0644);
MODULE_PARM_DESC(unbound_work,
		 "Run devices' work on any CPU instead of where their events arrive; read as a device connects (default N)");

/*
 * What is live right now, for leak accounting: after a guest is gone and its
 * devices removed, every one of these is back to zero.
 * /sys/kernel/debug/xenidc/live shows them.
 */
static struct {
	atomic_long_t grants;	/* foreign grants mapped */
	atomic_long_t frames;	/* frames for foreign mappings */
	atomic_long_t rings;	/* shared rings mapped */
	atomic_long_t evtchns;	/* event channels bound */
	atomic_long_t works;	/* work items */
	atomic_long_t quarantined; /* frames whose unmap failed: never reused */
} xi_live;
static struct dentry *xi_debugfs;

/* ---- Memory ---- */

void *xi_zalloc(size_t size)
{
	return kvzalloc(size, GFP_KERNEL);
}
EXPORT_SYMBOL_GPL(xi_zalloc);

void xi_free(const void *p)
{
	kvfree(p);
}
EXPORT_SYMBOL_GPL(xi_free);

void *xi_dma_alloc(size_t size)
{
	return kzalloc(size, GFP_KERNEL);
}
EXPORT_SYMBOL_GPL(xi_dma_alloc);

void xi_dma_free(void *p)
{
	kfree(p);
}
EXPORT_SYMBOL_GPL(xi_dma_free);

void *xi_page_address(struct xi_page *page)
{
	return page_address((struct page *)page);
}
EXPORT_SYMBOL_GPL(xi_page_address);

/* ---- Budgets: what one guest's devices hold, between them ---- */

struct xi_budget {
	struct list_head node;	/* xi_budgets, under xi_budgets_lock */
	xi_domid_t dom;
	refcount_t refs;
	atomic64_t charged;	/* bytes */
};

static LIST_HEAD(xi_budgets);
static DEFINE_SPINLOCK(xi_budgets_lock);

struct xi_budget *xi_budget_get(xi_domid_t dom)
{
	struct xi_budget *b, *fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);

	spin_lock(&xi_budgets_lock);
	list_for_each_entry(b, &xi_budgets, node)
		if (b->dom == dom && refcount_inc_not_zero(&b->refs))
			goto out;
	b = fresh;
	fresh = NULL;
	if (b) {
		b->dom = dom;
		refcount_set(&b->refs, 1);
		list_add(&b->node, &xi_budgets);
	}
out:
	spin_unlock(&xi_budgets_lock);
	kfree(fresh);
	return b;
}
EXPORT_SYMBOL_GPL(xi_budget_get);

void xi_budget_put(struct xi_budget *b)
{
	if (!b || !refcount_dec_and_lock(&b->refs, &xi_budgets_lock))
		return;
	list_del(&b->node);
	spin_unlock(&xi_budgets_lock);
	WARN_ONCE(atomic64_read(&b->charged), "xenidc: domain %u's budget freed with %lld bytes\n",
		  b->dom, (long long)atomic64_read(&b->charged));
	kfree(b);
}
EXPORT_SYMBOL_GPL(xi_budget_put);

bool xi_budget_charge(struct xi_budget *b, u64 bytes, u64 cap)
{
	s64 now = atomic64_add_return(bytes, &b->charged);

	if (!cap || now <= (s64)cap)
		return true;
	atomic64_sub(bytes, &b->charged);
	return false;
}
EXPORT_SYMBOL_GPL(xi_budget_charge);

void xi_budget_uncharge(struct xi_budget *b, u64 bytes)
{
	atomic64_sub(bytes, &b->charged);
}
EXPORT_SYMBOL_GPL(xi_budget_uncharge);

u64 xi_budget_charged(struct xi_budget *b)
{
	return atomic64_read(&b->charged);
}
EXPORT_SYMBOL_GPL(xi_budget_charged);

/* ---- The hypervisor's operations ---- */

static int xen_pages_alloc(unsigned int n, struct xi_page **pages)
{
	return gnttab_alloc_pages(n, (struct page **)pages);
}

static void xen_pages_free(unsigned int n, struct xi_page **pages)
{
	gnttab_free_pages(n, (struct page **)pages);
}

/* Grant operations are translated in chunks kept on the stack. */
#define XI_GNT_CHUNK 16

static unsigned long xi_host_addr(struct xi_page *page)
{
	return (unsigned long)pfn_to_kaddr(page_to_pfn((struct page *)page));
}

static void xen_unmap_chunk(struct xi_map_op *ops, unsigned int n);

static int xen_map_chunk(struct xi_map_op *ops, unsigned int n)
{
	struct gnttab_map_grant_ref map[XI_GNT_CHUNK];
	struct page *pages[XI_GNT_CHUNK];
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		gnttab_set_map_op(&map[i], xi_host_addr(ops[i].page),
				  GNTMAP_host_map | (ops[i].readonly ? GNTMAP_readonly : 0),
				  ops[i].gref, ops[i].dom);
		pages[i] = (struct page *)ops[i].page;
	}
	ret = gnttab_map_refs(map, NULL, pages, n);
	for (i = 0; i < n; i++) {
		ops[i].status = map[i].status;
		ops[i].handle = map[i].handle;
	}
	if (ret) {
		/* The p2m update failed: undo what the hypervisor mapped. */
		xen_unmap_chunk(ops, n);
		for (i = 0; i < n; i++)
			if (ops[i].status != XI_GNTST_STILL_MAPPED)
				ops[i].status = XI_GNTST_GENERAL_ERROR;
	}
	return 0;
}

static void xen_unmap_chunk(struct xi_map_op *ops, unsigned int n)
{
	struct gnttab_unmap_grant_ref unmap[XI_GNT_CHUNK];
	struct page *pages[XI_GNT_CHUNK];
	struct gntab_unmap_queue_data q = {
		.unmap_ops = unmap,
		.pages = pages,
	};
	unsigned int i, k;
	int err;

	for (i = 0; i < n; i++) {
		if (ops[i].status != XI_GNTST_OKAY)
			continue;
		gnttab_set_unmap_op(&unmap[q.count], xi_host_addr(ops[i].page),
				    GNTMAP_host_map, ops[i].handle);
		pages[q.count++] = (struct page *)ops[i].page;
	}
	if (!q.count)
		return;
	/* Waits until the block or USB layer dropped its page references. */
	err = gnttab_unmap_refs_sync(&q);
	/* unmap[k] is the k-th op that was to be unmapped */
	for (i = 0, k = 0; i < n; i++)
		if (ops[i].status == XI_GNTST_OKAY && (err || unmap[k++].status != GNTST_okay))
			ops[i].status = XI_GNTST_STILL_MAPPED;
}

static int xen_grant_map(struct xi_map_op *ops, unsigned int n)
{
	unsigned int done, c;
	int ret;

	for (done = 0; done < n; done += c) {
		c = min_t(unsigned int, n - done, XI_GNT_CHUNK);
		ret = xen_map_chunk(ops + done, c);
		if (ret)
			return ret;
	}
	return 0;
}

static int xen_grant_unmap(struct xi_map_op *ops, unsigned int n)
{
	unsigned int done, c;

	for (done = 0; done < n; done += c) {
		c = min_t(unsigned int, n - done, XI_GNT_CHUNK);
		xen_unmap_chunk(ops + done, c);
	}
	return 0;
}

/* The frame of a local address: kmalloc'd (linear map) or vmalloc'd. */
static unsigned long xi_local_gfn(const void *p)
{
	return is_vmalloc_addr(p) ? xen_page_to_gfn(vmalloc_to_page(p)) : virt_to_gfn(p);
}

static int xen_grant_copy(struct xi_copy_op *ops, unsigned int n)
{
	struct gnttab_copy copy[XI_GNT_CHUNK];
	unsigned int done, c, i;

	for (done = 0; done < n; done += c) {
		c = min_t(unsigned int, n - done, XI_GNT_CHUNK);
		for (i = 0; i < c; i++) {
			struct xi_copy_op *op = &ops[done + i];
			struct gnttab_copy *g = &copy[i];
			unsigned long lgfn = xi_local_gfn(op->local);
			unsigned int loff = offset_in_page(op->local);

			memset(g, 0, sizeof(*g));
			g->len = op->len;
			if (op->to_remote) {
				g->source.u.gmfn = lgfn;
				g->source.domid = DOMID_SELF;
				g->source.offset = loff;
				g->dest.u.ref = op->gref;
				g->dest.domid = op->dom;
				g->dest.offset = op->offset;
				g->flags = GNTCOPY_dest_gref;
			} else {
				g->source.u.ref = op->gref;
				g->source.domid = op->dom;
				g->source.offset = op->offset;
				g->dest.u.gmfn = lgfn;
				g->dest.domid = DOMID_SELF;
				g->dest.offset = loff;
				g->flags = GNTCOPY_source_gref;
			}
		}
		gnttab_batch_copy(copy, c);
		for (i = 0; i < c; i++)
			ops[done + i].status = copy[i].status;
	}
	return 0;
}

static int xen_ring_map(struct xi_xendev *dev, const xi_gref_t *grefs, unsigned int n,
			void **addr)
{
	grant_ref_t refs[XENBUS_MAX_RING_GRANTS];

	if (n == 0 || n > XENBUS_MAX_RING_GRANTS)
		return -EINVAL;
	memcpy(refs, grefs, n * sizeof(*refs));
	return xenbus_map_ring_valloc((struct xenbus_device *)dev, refs, n, addr);
}

static void xen_ring_unmap(struct xi_xendev *dev, void *addr)
{
	xenbus_unmap_ring_vfree((struct xenbus_device *)dev, addr);
}

struct xi_evtchn {
	int irq;
	xi_event_fn fn;
	void *arg;
};

static irqreturn_t xi_evtchn_interrupt(int irq, void *dev_id)
{
	struct xi_evtchn *ch = dev_id;

	ch->fn(ch->arg);
	return IRQ_HANDLED;
}

static int xen_evtchn_bind(struct xi_xendev *dev, unsigned int port, xi_event_fn fn,
			   void *arg, const char *name, struct xi_evtchn **out)
{
	struct xi_evtchn *ch = kzalloc(sizeof(*ch), GFP_KERNEL);
	int irq;

	if (!ch)
		return -ENOMEM;
	ch->fn = fn;
	ch->arg = arg;
	irq = bind_interdomain_evtchn_to_irqhandler_lateeoi((struct xenbus_device *)dev, port,
							    xi_evtchn_interrupt, 0, name, ch);
	if (irq < 0) {
		kfree(ch);
		return irq;
	}
	ch->irq = irq;
	*out = ch;
	return 0;
}

static void xen_evtchn_unbind(struct xi_evtchn *ch)
{
	unbind_from_irqhandler(ch->irq, ch);
	kfree(ch);
}

static void xen_evtchn_notify(struct xi_evtchn *ch)
{
	notify_remote_via_irq(ch->irq);
}

static void xen_evtchn_eoi(struct xi_evtchn *ch, bool spurious)
{
	xen_irq_lateeoi(ch->irq, spurious ? XEN_EOI_FLAG_SPURIOUS : 0);
}

static const struct xi_xen_ops xi_hypervisor_ops = {
	.pages_alloc = xen_pages_alloc,
	.pages_free = xen_pages_free,
	.grant_map = xen_grant_map,
	.grant_unmap = xen_grant_unmap,
	.grant_copy = xen_grant_copy,
	.ring_map = xen_ring_map,
	.ring_unmap = xen_ring_unmap,
	.evtchn_bind = xen_evtchn_bind,
	.evtchn_unbind = xen_evtchn_unbind,
	.evtchn_notify = xen_evtchn_notify,
	.evtchn_eoi = xen_evtchn_eoi,
};

static const struct xi_xen_ops *xi_ops = &xi_hypervisor_ops;

#ifdef XENIDC_TEST_HOOKS
/* Test builds only (make XENIDC_TEST=y): no module may redirect grants. */
void xi_set_xen_ops(const struct xi_xen_ops *ops)
{
	WRITE_ONCE(xi_ops, ops ? ops : &xi_hypervisor_ops);
}
EXPORT_SYMBOL_GPL(xi_set_xen_ops);
#endif

int xi_pages_alloc(unsigned int n, struct xi_page **pages)
{
	int err = READ_ONCE(xi_ops)->pages_alloc(n, pages);

	if (!err)
		atomic_long_add(n, &xi_live.frames);
	return err;
}
EXPORT_SYMBOL_GPL(xi_pages_alloc);

void xi_pages_free(unsigned int n, struct xi_page **pages)
{
	READ_ONCE(xi_ops)->pages_free(n, pages);
	atomic_long_sub(n, &xi_live.frames);
}
EXPORT_SYMBOL_GPL(xi_pages_free);

int xi_grant_map(struct xi_map_op *ops, unsigned int n)
{
	int err = READ_ONCE(xi_ops)->grant_map(ops, n);
	unsigned int i;

	for (i = 0; !err && i < n; i++) {
		if (ops[i].status == XI_GNTST_OKAY)
			atomic_long_inc(&xi_live.grants);
		else if (ops[i].status == XI_GNTST_STILL_MAPPED)
			atomic_long_inc(&xi_live.quarantined);
	}
	return err;
}
EXPORT_SYMBOL_GPL(xi_grant_map);

int xi_grant_unmap(struct xi_map_op *ops, unsigned int n)
{
	int err = READ_ONCE(xi_ops)->grant_unmap(ops, n);
	unsigned int i, stuck = 0;

	for (i = 0; !err && i < n; i++)
		stuck += ops[i].status == XI_GNTST_STILL_MAPPED;
	if (!err)
		atomic_long_sub(n - stuck, &xi_live.grants);
	if (stuck) {
		atomic_long_add(stuck, &xi_live.quarantined);
		pr_err_ratelimited("%u grant unmaps failed: their frames are quarantined\n", stuck);
	}
	return err;
}
EXPORT_SYMBOL_GPL(xi_grant_unmap);

int xi_grant_copy(struct xi_copy_op *ops, unsigned int n)
{
	return READ_ONCE(xi_ops)->grant_copy(ops, n);
}
EXPORT_SYMBOL_GPL(xi_grant_copy);

int xi_ring_map(struct xi_xendev *dev, const xi_gref_t *grefs, unsigned int n, void **addr)
{
	int err = READ_ONCE(xi_ops)->ring_map(dev, grefs, n, addr);

	if (!err)
		atomic_long_inc(&xi_live.rings);
	return err;
}
EXPORT_SYMBOL_GPL(xi_ring_map);

void xi_ring_unmap(struct xi_xendev *dev, void *addr)
{
	READ_ONCE(xi_ops)->ring_unmap(dev, addr);
	atomic_long_dec(&xi_live.rings);
}
EXPORT_SYMBOL_GPL(xi_ring_unmap);

int xi_evtchn_bind(struct xi_xendev *dev, unsigned int port, xi_event_fn fn, void *arg,
		   const char *name, struct xi_evtchn **out)
{
	int err = READ_ONCE(xi_ops)->evtchn_bind(dev, port, fn, arg, name, out);

	if (!err)
		atomic_long_inc(&xi_live.evtchns);
	return err;
}
EXPORT_SYMBOL_GPL(xi_evtchn_bind);

void xi_evtchn_unbind(struct xi_evtchn *ch)
{
	READ_ONCE(xi_ops)->evtchn_unbind(ch);
	atomic_long_dec(&xi_live.evtchns);
}
EXPORT_SYMBOL_GPL(xi_evtchn_unbind);

void xi_evtchn_notify(struct xi_evtchn *ch)
{
	READ_ONCE(xi_ops)->evtchn_notify(ch);
}
EXPORT_SYMBOL_GPL(xi_evtchn_notify);

void xi_evtchn_eoi(struct xi_evtchn *ch, bool spurious)
{
	READ_ONCE(xi_ops)->evtchn_eoi(ch, spurious);
}
EXPORT_SYMBOL_GPL(xi_evtchn_eoi);

/* ---- Locks, waits, work ---- */

void xi_spin_init(struct xi_spinlock *lock, const char *name, struct xi_lock_class *cls)
{
#ifdef CONFIG_DEBUG_SPINLOCK
	__raw_spin_lock_init(spinlock_check((spinlock_t *)lock), name,
			     (struct lock_class_key *)cls, LD_WAIT_CONFIG);
#else
	spin_lock_init((spinlock_t *)lock);
#endif
}
EXPORT_SYMBOL_GPL(xi_spin_init);

void xi_spin_assert_held(struct xi_spinlock *lock)
{
	lockdep_assert_held((spinlock_t *)lock);
}
EXPORT_SYMBOL_GPL(xi_spin_assert_held);

unsigned long xi_spin_lock_irqsave(struct xi_spinlock *lock)
{
	unsigned long flags;

	spin_lock_irqsave((spinlock_t *)lock, flags);
	return flags;
}
EXPORT_SYMBOL_GPL(xi_spin_lock_irqsave);

void xi_spin_unlock_irqrestore(struct xi_spinlock *lock, unsigned long flags)
{
	spin_unlock_irqrestore((spinlock_t *)lock, flags);
}
EXPORT_SYMBOL_GPL(xi_spin_unlock_irqrestore);

void xi_mutex_init(struct xi_mutex *m, const char *name, struct xi_lock_class *cls)
{
	__mutex_init((struct mutex *)m, name, (struct lock_class_key *)cls);
}
EXPORT_SYMBOL_GPL(xi_mutex_init);

void xi_mutex_assert_held(struct xi_mutex *m)
{
	lockdep_assert_held((struct mutex *)m);
}
EXPORT_SYMBOL_GPL(xi_mutex_assert_held);

void xi_mutex_lock(struct xi_mutex *m)
{
	mutex_lock((struct mutex *)m);
}
EXPORT_SYMBOL_GPL(xi_mutex_lock);

void xi_mutex_unlock(struct xi_mutex *m)
{
	mutex_unlock((struct mutex *)m);
}
EXPORT_SYMBOL_GPL(xi_mutex_unlock);

void xi_waitq_init(struct xi_waitq *wq)
{
	init_waitqueue_head((wait_queue_head_t *)wq);
}
EXPORT_SYMBOL_GPL(xi_waitq_init);

void xi_wait_until(struct xi_waitq *wq, bool (*cond)(void *arg), void *arg)
{
	wait_event(*(wait_queue_head_t *)wq, cond(arg));
}
EXPORT_SYMBOL_GPL(xi_wait_until);

void xi_wake_all(struct xi_waitq *wq)
{
	wake_up_all((wait_queue_head_t *)wq);
}
EXPORT_SYMBOL_GPL(xi_wake_all);

struct xi_work {
	struct work_struct work;
	struct workqueue_struct *wq; /* fixed: a work is non-reentrant only within one */
	struct hrtimer timer;	     /* xi_work_queue_after */
	xi_work_fn fn;
	void *arg;
};

static enum hrtimer_restart xi_work_timer(struct hrtimer *t)
{
	xi_work_queue(container_of(t, struct xi_work, timer));
	return HRTIMER_NORESTART;
}

static void xi_work_run(struct work_struct *work)
{
	struct xi_work *w = container_of(work, struct xi_work, work);

	w->fn(w->arg);
}

struct xi_work *xi_work_create(xi_work_fn fn, void *arg)
{
	struct xi_work *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (!w)
		return NULL;
	INIT_WORK(&w->work, xi_work_run);
	hrtimer_init(&w->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	w->timer.function = xi_work_timer;
	w->wq = READ_ONCE(unbound_work) ? xi_wq_unbound : xi_wq;
	w->fn = fn;
	w->arg = arg;
	atomic_long_inc(&xi_live.works);
	return w;
}
EXPORT_SYMBOL_GPL(xi_work_create);

void xi_work_queue(struct xi_work *w)
{
	queue_work(w->wq, &w->work);
}
EXPORT_SYMBOL_GPL(xi_work_queue);

void xi_work_queue_after(struct xi_work *w, unsigned int usecs)
{
	ktime_t t = ns_to_ktime((u64)usecs * NSEC_PER_USEC);

	if (!hrtimer_is_queued(&w->timer) || hrtimer_get_remaining(&w->timer) > t)
		hrtimer_start(&w->timer, t, HRTIMER_MODE_REL);
}
EXPORT_SYMBOL_GPL(xi_work_queue_after);

/*
 * The work may arm the timer until it returns, and the timer queue the work
 * until it is cancelled: hence work, timer, work. Callers make sure a work
 * that starts now arms nothing.
 */
void xi_work_cancel_sync(struct xi_work *w)
{
	cancel_work_sync(&w->work);
	hrtimer_cancel(&w->timer);
	cancel_work_sync(&w->work);
}
EXPORT_SYMBOL_GPL(xi_work_cancel_sync);

void xi_work_destroy(struct xi_work *w)
{
	kfree(w);
	atomic_long_dec(&xi_live.works);
}
EXPORT_SYMBOL_GPL(xi_work_destroy);

void xi_work_flush_all(void)
{
	flush_workqueue(xi_wq);
	flush_workqueue(xi_wq_unbound);
}
EXPORT_SYMBOL_GPL(xi_work_flush_all);

/* ---- Misc ---- */

bool xi_debug_enabled(void)
{
#if defined(CONFIG_DYNAMIC_DEBUG) || \
	(defined(CONFIG_DYNAMIC_DEBUG_CORE) && defined(DYNAMIC_DEBUG_MODULE))
	/* One switch for every module's trace, named in the control file. */
	DEFINE_DYNAMIC_DEBUG_METADATA(trace, "request lifecycle trace");

	return DYNAMIC_DEBUG_BRANCH(trace);
#else
	return false;
#endif
}
EXPORT_SYMBOL_GPL(xi_debug_enabled);

static void xi_vlog(enum xi_log_level level, const char *fmt, va_list *args)
{
	struct va_format vaf = { .fmt = fmt, .va = args };

	switch (level) {
	case XI_LOG_ERR:
		pr_err("%pV\n", &vaf);
		break;
	case XI_LOG_WARN:
		pr_warn("%pV\n", &vaf);
		break;
	case XI_LOG_INFO:
		pr_info("%pV\n", &vaf);
		break;
	case XI_LOG_DEBUG:
		/* Not pr_debug(): xi_debug_enabled() is the trace's one switch. */
		if (xi_debug_enabled())
			printk(KERN_DEBUG pr_fmt("%pV\n"), &vaf);
		break;
	}
}

void xi_log(enum xi_log_level level, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	xi_vlog(level, fmt, &args);
	va_end(args);
}
EXPORT_SYMBOL_GPL(xi_log);

void xi_log_ratelimited(enum xi_log_level level, const char *fmt, ...)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST);
	va_list args;

	if (!__ratelimit(&rs))
		return;
	va_start(args, fmt);
	xi_vlog(level, fmt, &args);
	va_end(args);
}
EXPORT_SYMBOL_GPL(xi_log_ratelimited);

int xi_vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
{
	return vsnprintf(buf, size, fmt, args);
}
EXPORT_SYMBOL_GPL(xi_vsnprintf);

int xi_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list args;
	int n;

	va_start(args, fmt);
	n = vsnprintf(buf, size, fmt, args);
	va_end(args);
	return n;
}
EXPORT_SYMBOL_GPL(xi_snprintf);

u64 xi_now_ns(void)
{
	return ktime_get_ns();
}
EXPORT_SYMBOL_GPL(xi_now_ns);

void xi_assert_failed(const char *expr, const char *file, int line)
{
	/* One stack trace; then a line each time, rate-limited. */
	if (!WARN_ONCE(1, "xenidc: invariant failed: %s (%s:%d)\n", expr, file, line))
		pr_err_ratelimited("invariant failed: %s (%s:%d)\n", expr, file, line);
}
EXPORT_SYMBOL_GPL(xi_assert_failed);

static int xi_live_show(struct seq_file *m, void *v)
{
	seq_printf(m, "grants %ld\nframes %ld\nrings %ld\nevtchns %ld\nworks %ld\nquarantined %ld\n",
		   atomic_long_read(&xi_live.grants), atomic_long_read(&xi_live.frames),
		   atomic_long_read(&xi_live.rings), atomic_long_read(&xi_live.evtchns),
		   atomic_long_read(&xi_live.works), atomic_long_read(&xi_live.quarantined));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xi_live);

/* Each domain's budget in use: "domid bytes". */
static int xi_budgets_show(struct seq_file *m, void *v)
{
	struct xi_budget *b;

	spin_lock(&xi_budgets_lock);
	list_for_each_entry(b, &xi_budgets, node)
		seq_printf(m, "%u %lld\n", b->dom, (long long)atomic64_read(&b->charged));
	spin_unlock(&xi_budgets_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xi_budgets);

int xi_platform_init(void)
{
	xi_wq = alloc_workqueue("xenidc", WQ_MEM_RECLAIM, 0);
	if (!xi_wq)
		return -ENOMEM;
	xi_wq_unbound = alloc_workqueue("xenidc_unbound", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!xi_wq_unbound) {
		destroy_workqueue(xi_wq);
		return -ENOMEM;
	}
	xi_debugfs = debugfs_create_dir("xenidc", NULL);
	debugfs_create_file("live", 0444, xi_debugfs, NULL, &xi_live_fops);
	debugfs_create_file("budgets", 0444, xi_debugfs, NULL, &xi_budgets_fops);
	return 0;
}

void xi_platform_exit(void)
{
	debugfs_remove_recursive(xi_debugfs);
	destroy_workqueue(xi_wq_unbound);
	destroy_workqueue(xi_wq);
}
