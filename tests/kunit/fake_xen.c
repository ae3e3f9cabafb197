// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fake Xen for KUnit suites: see fake_xen.h.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include <xenidc/xen_ops.h>

#include "fake_xen.h"

#define FAKE_GRANTS 1024
#define FAKE_PORTS 64

struct fake_grant {
	void *va;
	bool used, readonly;
};

struct fake_map {		/* a live mapping onto a backend page */
	struct page *local;
	xi_gref_t gref;
	bool readonly, used;
};

struct xi_evtchn {
	unsigned int port;
	xi_event_fn fn;
	void *arg;
	bool masked, pending;
};

static DEFINE_SPINLOCK(fake_lock);
static struct fake_grant grants[FAKE_GRANTS];
static struct fake_map maps[FAKE_GRANTS];
static struct xi_evtchn *ports[FAKE_PORTS];
static unsigned int next_port;
static struct fake_stats st;
static long fail_map_at;

void xi_kunit_check(struct kunit *test, bool ok, const char *expr, const char *file, int line)
{
	if (!ok)
		KUNIT_FAIL(test, "%s:%d: expected %s", file, line, expr);
}

static bool fake_should_fail_map(void)
{
	return fail_map_at > 0 && --fail_map_at == 0;
}

static int fake_pages_alloc(unsigned int n, struct xi_page **pages)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct page *p = alloc_page(GFP_KERNEL | __GFP_ZERO);

		if (!p) {
			while (i--)
				__free_page((struct page *)pages[i]);
			return -ENOMEM;
		}
		pages[i] = (struct xi_page *)p;
	}
	st.pages += n;
	return 0;
}

static void fake_pages_free(unsigned int n, struct xi_page **pages)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		__free_page((struct page *)pages[i]);
	st.pages -= n;
}

static int fake_grant_map(struct xi_map_op *ops, unsigned int n)
{
	unsigned int i, slot;

	st.map_calls++;
	for (i = 0; i < n; i++) {
		struct xi_map_op *op = &ops[i];
		struct fake_grant *g = op->gref < FAKE_GRANTS ? &grants[op->gref] : NULL;

		st.map_ops++;
		if (fake_should_fail_map()) {
			op->status = XI_GNTST_GENERAL_ERROR;
			continue;
		}
		if (op->dom != FAKE_DOM || !g || !g->used) {
			op->status = XI_GNTST_BAD_GNTREF;
			continue;
		}
		if (g->readonly && !op->readonly) {
			op->status = XI_GNTST_PERMISSION_DENIED;
			continue;
		}
		for (slot = 0; slot < FAKE_GRANTS && maps[slot].used; slot++)
			;
		if (slot == FAKE_GRANTS) {
			op->status = XI_GNTST_GENERAL_ERROR;
			continue;
		}
		memcpy(page_address((struct page *)op->page), g->va, PAGE_SIZE);
		maps[slot] = (struct fake_map){ .local = (struct page *)op->page, .gref = op->gref,
						.readonly = op->readonly, .used = true };
		op->handle = slot;
		op->status = XI_GNTST_OKAY;
		st.mapped++;
	}
	return 0;
}

static int fake_grant_unmap(struct xi_map_op *ops, unsigned int n)
{
	unsigned int i;

	st.unmap_calls++;
	for (i = 0; i < n; i++) {
		struct fake_map *m = ops[i].handle < FAKE_GRANTS ? &maps[ops[i].handle] : NULL;
		void *local;

		if (ops[i].status != XI_GNTST_OKAY)
			continue; /* not to be unmapped (platform.h) */
		st.unmap_ops++;
		if (!m || !m->used || m->local != (struct page *)ops[i].page) {
			WARN(1, "fake_xen: unmap of a page that is not mapped\n");
			continue;
		}
		local = page_address(m->local);
		if (m->readonly) {
			if (memcmp(local, grants[m->gref].va, PAGE_SIZE))
				st.ro_violations++;
		} else {
			memcpy(grants[m->gref].va, local, PAGE_SIZE);
		}
		m->used = false;
		st.mapped--;
	}
	return 0;
}

static int fake_grant_copy(struct xi_copy_op *ops, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct xi_copy_op *op = &ops[i];
		struct fake_grant *g = op->gref < FAKE_GRANTS ? &grants[op->gref] : NULL;

		st.copy_ops++;
		if (op->dom != FAKE_DOM || !g || !g->used ||
		    op->offset + op->len > PAGE_SIZE) {
			op->status = XI_GNTST_BAD_GNTREF;
			continue;
		}
		if (op->to_remote && g->readonly) {
			op->status = XI_GNTST_PERMISSION_DENIED;
			continue;
		}
		if (op->to_remote)
			memcpy(g->va + op->offset, op->local, op->len);
		else
			memcpy(op->local, g->va + op->offset, op->len);
		op->status = XI_GNTST_OKAY;
	}
	return 0;
}

static int fake_ring_map(struct xi_xendev *dev, const xi_gref_t *grefs, unsigned int n,
			 void **addr)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (grefs[i] >= FAKE_GRANTS || !grants[grefs[i]].used ||
		    grants[grefs[i]].readonly ||
		    (i && grants[grefs[i]].va != grants[grefs[0]].va + i * PAGE_SIZE))
			return -EINVAL;
	*addr = grants[grefs[0]].va; /* the fake frontend allocates rings contiguous */
	st.rings++;
	return 0;
}

static void fake_ring_unmap(struct xi_xendev *dev, void *addr)
{
	st.rings--;
}

static int fake_evtchn_bind(struct xi_xendev *dev, unsigned int port, xi_event_fn fn,
			    void *arg, const char *name, struct xi_evtchn **out)
{
	struct xi_evtchn *ch;

	if (port >= FAKE_PORTS || ports[port])
		return -EINVAL;
	ch = kzalloc(sizeof(*ch), GFP_KERNEL);
	if (!ch)
		return -ENOMEM;
	*ch = (struct xi_evtchn){ .port = port, .fn = fn, .arg = arg };
	ports[port] = ch;
	st.evtchns++;
	*out = ch;
	return 0;
}

static void fake_evtchn_unbind(struct xi_evtchn *ch)
{
	unsigned long flags;

	spin_lock_irqsave(&fake_lock, flags);
	ports[ch->port] = NULL;
	spin_unlock_irqrestore(&fake_lock, flags);
	kfree(ch);
	st.evtchns--;
}

static void fake_evtchn_notify(struct xi_evtchn *ch)
{
	st.notifies++;
}

static void fake_evtchn_eoi(struct xi_evtchn *ch, bool spurious)
{
	unsigned long flags;
	bool deliver = false;

	spin_lock_irqsave(&fake_lock, flags);
	st.eois++;
	if (spurious)
		st.spurious_eois++;
	ch->masked = false;
	if (ch->pending) {
		ch->pending = false;
		ch->masked = true;
		deliver = true;
	}
	spin_unlock_irqrestore(&fake_lock, flags);
	if (deliver)
		ch->fn(ch->arg);
}

void fake_kick(unsigned int port)
{
	struct xi_evtchn *ch;
	unsigned long flags;
	bool deliver = false;

	spin_lock_irqsave(&fake_lock, flags);
	ch = port < FAKE_PORTS ? ports[port] : NULL;
	if (ch) {
		if (ch->masked) {
			ch->pending = true;
		} else {
			ch->masked = true;
			deliver = true;
		}
	}
	spin_unlock_irqrestore(&fake_lock, flags);
	if (deliver)
		ch->fn(ch->arg);
}

static const struct xi_xen_ops fake_ops = {
	.pages_alloc = fake_pages_alloc,
	.pages_free = fake_pages_free,
	.grant_map = fake_grant_map,
	.grant_unmap = fake_grant_unmap,
	.grant_copy = fake_grant_copy,
	.ring_map = fake_ring_map,
	.ring_unmap = fake_ring_unmap,
	.evtchn_bind = fake_evtchn_bind,
	.evtchn_unbind = fake_evtchn_unbind,
	.evtchn_notify = fake_evtchn_notify,
	.evtchn_eoi = fake_evtchn_eoi,
};

int fake_xen_install(void)
{
	memset(grants, 0, sizeof(grants));
	memset(maps, 0, sizeof(maps));
	memset(ports, 0, sizeof(ports));
	memset(&st, 0, sizeof(st));
	next_port = 1;
	fail_map_at = 0;
	xi_set_xen_ops(&fake_ops);
	return 0;
}

void fake_xen_uninstall(void)
{
	xi_set_xen_ops(NULL);
}

void *fake_page_alloc(void)
{
	return (void *)get_zeroed_page(GFP_KERNEL);
}

void fake_page_free(void *va)
{
	free_page((unsigned long)va);
}

xi_gref_t fake_grant(void *va, bool readonly)
{
	xi_gref_t g;

	for (g = 8; g < FAKE_GRANTS && grants[g].used; g++)
		;
	if (g == FAKE_GRANTS)
		return 0;
	grants[g] = (struct fake_grant){ va, true, readonly };
	return g;
}

void *fake_ring_alloc(unsigned int n, xi_gref_t *refs)
{
	void *va = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, get_order(n * PAGE_SIZE));
	unsigned int i;

	if (!va)
		return NULL;
	for (i = 0; i < n; i++)
		refs[i] = fake_grant(va + i * PAGE_SIZE, false);
	return va;
}

void fake_ring_free(void *va, unsigned int n)
{
	free_pages((unsigned long)va, get_order(n * PAGE_SIZE));
}

unsigned int fake_port_alloc(void)
{
	return next_port++;
}

void fake_get_stats(struct fake_stats *out)
{
	*out = st;
}

void fake_fail_nth_map(long n)
{
	fail_map_at = n;
}

bool fake_wait(bool (*cond)(void *arg), void *arg, unsigned int ms)
{
	while (!cond(arg)) {
		if (!ms--)
			return false;
		usleep_range(1000, 2000);
	}
	return true;
}
