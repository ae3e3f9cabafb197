// SPDX-License-Identifier: GPL-2.0-only
/*
 * A hostile frontend for the lab's second guest. It binds to vbd and vusb
 * devices the way xen-blkfront and xen-hcd do, then misbehaves on request:
 *
 *   echo CASE > /sys/kernel/debug/xihostile/vbd     (or .../vusb)
 *
 * The write succeeds if the backend behaved (answered with an error, or
 * disconnected this one device) and fails with -EIO otherwise; the reason
 * is in the kernel log and in the file when read back. Every response is
 * checked for its id and, for blkif, for zeroed padding (XSA-216). After a
 * response, the backend must hold no mapping of the request's grants.
 */
#define pr_fmt(fmt) "xihostile: " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/version.h>
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h> /* before 6.12 */
#endif
#include <linux/wait.h>
#include <xen/events.h>
#include <xen/grant_table.h>
#include <xen/page.h>
#include <xen/xenbus.h>
#include <xen/interface/io/blkif.h>
#include <xen/interface/io/protocols.h>
#include <xen/interface/io/usbif.h>

#define NPAGES 16
#define WAIT (10 * HZ)

struct hdev {
	struct xenbus_device *xb;
	bool vusb;
	evtchn_port_t evtchn;
	int irq;
	wait_queue_head_t wq;
	bool connected;
	struct page *pages[NPAGES];
	grant_ref_t refs[NPAGES];
	int nrefs;
	/* vbd */
	struct blkif_front_ring ring;
	grant_ref_t ring_ref;
	u64 sectors;
	unsigned int max_indirect;
	/* vusb */
	struct xenusb_urb_front_ring urb;
	struct xenusb_conn_front_ring conn;
	grant_ref_t urb_ref, conn_ref;
	u8 port_speed[XENUSB_MAX_PORTNR + 1];
	bool conn_prod_ahead; /* armed before connecting */
};

static DEFINE_MUTEX(lock); /* one case at a time; the device pointers */
static struct hdev *vbd_dev, *vusb_dev;
static bool arm_conn_prod_ahead;
/* The backend closed the controller that pushed conn req_prod ahead. */
static bool conn_prod_ahead_closed;
static char result[256];

/*
 * Responses waiting on ring r. When there are none, asks the backend for an
 * event on the next one (rsp_event) first, as a frontend must, or no event
 * would come after the first response.
 */
#define HAS_RESPONSES(r) ({ int __more; RING_FINAL_CHECK_FOR_RESPONSES(r, __more); __more; })

#define FAIL(fmt, ...) ({ snprintf(result, sizeof(result), fmt, ##__VA_ARGS__); -EIO; })

static irqreturn_t hdev_interrupt(int irq, void *arg)
{
	struct hdev *h = arg;

	wake_up(&h->wq);
	return IRQ_HANDLED;
}

static enum xenbus_state backend_state(struct hdev *h)
{
	return xenbus_read_driver_state(h->xb->otherend);
}

static bool backend_gone(struct hdev *h)
{
	return backend_state(h) >= XenbusStateClosing || backend_state(h) == XenbusStateUnknown;
}

/* A page granted to the backend: writable, or read-only (the backend may
 * only read it). Returns the reference, or a negative errno.
 */
static int grant(struct hdev *h, int i, bool readonly)
{
	int ref = gnttab_grant_foreign_access(h->xb->otherend_id,
					      xen_page_to_gfn(h->pages[i]), readonly);

	if (ref >= 0)
		h->refs[h->nrefs++] = ref;
	return ref;
}

/* Ends every grant of the case. A grant still mapped after its response
 * is a backend bug: report it (and let the grant table free it later).
 */
static int ungrant_all(struct hdev *h)
{
	int busy = 0;

	while (h->nrefs) {
		grant_ref_t ref = h->refs[--h->nrefs];

		if (!gnttab_try_end_foreign_access(ref)) {
			busy++;
			gnttab_end_foreign_access(ref, NULL);
		}
	}
	return busy ? FAIL("%d grants still mapped by the backend after its response", busy) : 0;
}

static void fill(struct hdev *h, int i, u8 v)
{
	memset(page_address(h->pages[i]), v, PAGE_SIZE);
}

static bool filled(struct hdev *h, int i, u8 v, size_t len)
{
	return !memchr_inv(page_address(h->pages[i]), v, len);
}

/* ---- vbd ---------------------------------------------------------------- */

static void vbd_push(struct hdev *h)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&h->ring, notify);
	if (notify)
		notify_remote_via_irq(h->irq);
}

static struct blkif_request *vbd_next(struct hdev *h)
{
	struct blkif_request *r = RING_GET_REQUEST(&h->ring, h->ring.req_prod_pvt++);

	memset(r, 0, sizeof(*r));
	return r;
}

static struct blkif_request *vbd_rw(struct hdev *h, u8 op, u64 id, u64 sector)
{
	struct blkif_request *r = vbd_next(h);

	r->operation = op;
	r->u.rw.id = id;
	r->u.rw.sector_number = sector;
	return r;
}

static void vbd_seg(struct blkif_request *r, int ref, u8 first, u8 last)
{
	struct blkif_request_segment *s = &r->u.rw.seg[r->u.rw.nr_segments++];

	s->gref = ref;
	s->first_sect = first;
	s->last_sect = last;
}

/* The status of the response to id, or a negative errno: -ETIMEDOUT, or
 * -EIO with the reason in result when the response is malformed.
 */
static int vbd_wait(struct hdev *h, u64 id, long timeout)
{
	for (;;) {
		while (RING_HAS_UNCONSUMED_RESPONSES(&h->ring)) {
			struct blkif_response *rsp = RING_GET_RESPONSE(&h->ring, h->ring.rsp_cons);
			const u8 *b = (const u8 *)rsp;
			u64 rid = rsp->id;
			s16 st = rsp->status;

			h->ring.rsp_cons++;
			if (b[9] || b[12] || b[13] || b[14] || b[15])
				return FAIL("response to %llx: padding not zeroed (%*ph)",
					    rid, 16, b);
			if (rid == id)
				return st;
			return FAIL("response for %llx while waiting for %llx", rid, id);
		}
		if (!timeout)
			return -ETIMEDOUT;
		timeout = wait_event_timeout(h->wq, HAS_RESPONSES(&h->ring),
					     timeout);
	}
}

/* id 0xa5...: the response's padding bytes overlay the request's id bytes */
static u64 next_id(void)
{
	static u64 n;

	return 0xa5a5a5a500000000ULL | ++n;
}

/* Sends r (already in the ring) and expects status want. */
static int vbd_expect(struct hdev *h, struct blkif_request *r, u64 id, int want, const char *what)
{
	int st;

	vbd_push(h);
	st = vbd_wait(h, id, WAIT);
	if (st == -ETIMEDOUT)
		return FAIL("%s: no response", what);
	if (st == -EIO)
		return st;
	if (st != want)
		return FAIL("%s: status %d, expected %d", what, st, want);
	return ungrant_all(h);
}

static int vbd_read_ok(struct hdev *h, u64 sector, int page)
{
	u64 id = next_id();
	struct blkif_request *r = vbd_rw(h, BLKIF_OP_READ, id, sector);

	vbd_seg(r, grant(h, page, false), 0, 7);
	return vbd_expect(h, r, id, BLKIF_RSP_OKAY, "a valid read");
}

static int vbd_write_ok(struct hdev *h, u64 sector, int page)
{
	u64 id = next_id();
	struct blkif_request *r = vbd_rw(h, BLKIF_OP_WRITE, id, sector);

	vbd_seg(r, grant(h, page, true), 0, 7);
	return vbd_expect(h, r, id, BLKIF_RSP_OKAY, "a valid write");
}

/* A read, reshaped by the statements given, that must get an error. */
#define VBD_BAD(what, ...)                                            \
	({                                                            \
		u64 id = next_id();                                   \
		struct blkif_request *r = vbd_rw(h, BLKIF_OP_READ, id, 0); \
		__VA_ARGS__;                                          \
		vbd_expect(h, r, id, BLKIF_RSP_ERROR, what);          \
	})

static void vbd_segs(struct blkif_request *r, int ref, int n)
{
	while (n--)
		vbd_seg(r, ref, 0, 7);
}

static void vbd_indirect(struct blkif_request *r, u8 op, u16 nseg, grant_ref_t pages)
{
	int i;

	r->operation = BLKIF_OP_INDIRECT;
	r->u.indirect.indirect_op = op;
	r->u.indirect.nr_segments = nseg;
	r->u.indirect.sector_number = 0;
	for (i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
		r->u.indirect.indirect_grefs[i] = pages;
}

static int vbd_case_valid(struct hdev *h)
{
	int rc;

	fill(h, 0, 0x5a);
	rc = vbd_write_ok(h, 64, 0);
	fill(h, 1, 0);
	if (!rc)
		rc = vbd_read_ok(h, 64, 1);
	if (!rc && !filled(h, 1, 0x5a, PAGE_SIZE))
		return FAIL("read back differs from what was written");
	return rc;
}

static int vbd_case_sectors(struct hdev *h)
{
	int g = grant(h, 0, false), rc = 0;

	rc = rc ?: VBD_BAD("read at the last sector + 1",
			   r->u.rw.sector_number = h->sectors; vbd_seg(r, g, 0, 0));
	rc = rc ?: VBD_BAD("read across the end",
			   r->u.rw.sector_number = h->sectors - 4; vbd_seg(r, g, 0, 7));
	rc = rc ?: VBD_BAD("sector + length wraps",
			   r->u.rw.sector_number = ~0ULL - 3; vbd_seg(r, g, 0, 7));
	return rc ?: vbd_read_ok(h, 0, 1);
}

static int vbd_case_segments(struct hdev *h)
{
	int g = grant(h, 0, false), rc = 0;

	rc = rc ?: VBD_BAD("12 segments", vbd_segs(r, g, BLKIF_MAX_SEGMENTS_PER_REQUEST);
			   r->u.rw.nr_segments = 12);
	rc = rc ?: VBD_BAD("255 segments", r->u.rw.nr_segments = 255);
	rc = rc ?: VBD_BAD("a read of 0 segments", r->u.rw.nr_segments = 0);
	rc = rc ?: VBD_BAD("first_sect > last_sect", vbd_seg(r, g, 5, 2));
	rc = rc ?: VBD_BAD("last_sect = 8 (past the page)", vbd_seg(r, g, 0, 8));
	rc = rc ?: VBD_BAD("last_sect = 255", vbd_seg(r, g, 3, 255));
	return rc ?: vbd_read_ok(h, 0, 1);
}

static int vbd_case_grants(struct hdev *h)
{
	int ro, revoked, rc = 0;

	rc = rc ?: VBD_BAD("a grant never given", vbd_seg(r, 0x7ff0, 0, 7));
	/* Grant 0 is not "never given": the toolstack grants it to dom0 for
	 * the console. A revoked grant is the real case.
	 */
	revoked = gnttab_grant_foreign_access(h->xb->otherend_id,
					      xen_page_to_gfn(h->pages[1]), false);
	if (revoked < 0)
		return FAIL("no grant reference (%d)", revoked);
	gnttab_end_foreign_access_ref(revoked);
	rc = rc ?: VBD_BAD("a grant given and revoked", vbd_seg(r, revoked, 0, 7));
	gnttab_free_grant_reference(revoked);
	fill(h, 0, 0xee);
	ro = grant(h, 0, true);
	rc = rc ?: VBD_BAD("a read into a read-only grant", vbd_seg(r, ro, 0, 7));
	if (!rc && !filled(h, 0, 0xee, PAGE_SIZE))
		return FAIL("the backend wrote into a read-only grant");
	rc = rc ?: VBD_BAD("a write from a grant never given",
			   r->operation = BLKIF_OP_WRITE; vbd_seg(r, 0x7ff1, 0, 7));
	return rc ?: vbd_read_ok(h, 0, 1);
}

static int vbd_case_indirect(struct hdev *h)
{
	struct blkif_request_segment *d = page_address(h->pages[2]);
	int g = grant(h, 0, false), dg = grant(h, 2, true), i, rc = 0;
	u8 unknown = 7;

	if (!h->max_indirect)
		return FAIL("the backend offers no indirect segments");
	for (i = 0; i < PAGE_SIZE / sizeof(*d); i++)
		d[i] = (struct blkif_request_segment){ .gref = g, .first_sect = 0, .last_sect = 7 };
	rc = rc ?: VBD_BAD("indirect with an unknown inner op", vbd_indirect(r, unknown, 4, dg));
	rc = rc ?: VBD_BAD("indirect with 0 segments", vbd_indirect(r, BLKIF_OP_READ, 0, dg));
	rc = rc ?: VBD_BAD("indirect with more segments than offered",
			   vbd_indirect(r, BLKIF_OP_READ, h->max_indirect + 1, dg));
	rc = rc ?: VBD_BAD("indirect descriptors in a grant never given",
			   vbd_indirect(r, BLKIF_OP_READ, 4, 0x7ff2));
	d[3].first_sect = 6;
	d[3].last_sect = 1;
	rc = rc ?: VBD_BAD("indirect descriptor with first_sect > last_sect",
			   vbd_indirect(r, BLKIF_OP_READ, 4, dg));
	d[3] = (struct blkif_request_segment){ .gref = 0x7ff3, .first_sect = 0, .last_sect = 7 };
	rc = rc ?: VBD_BAD("indirect segment in a grant never given",
			   vbd_indirect(r, BLKIF_OP_READ, 4, dg));
	return rc ?: vbd_read_ok(h, 0, 1);
}

static int vbd_case_unknown_op(struct hdev *h)
{
	u64 id = next_id();
	int st;

	vbd_rw(h, 200, id, 0);
	vbd_push(h);
	st = vbd_wait(h, id, WAIT);
	if (st == -ETIMEDOUT || st == -EIO)
		return st == -EIO ? st : FAIL("unknown operation: no response");
	if (st != BLKIF_RSP_EOPNOTSUPP && st != BLKIF_RSP_ERROR)
		return FAIL("unknown operation: status %d", st);
	return vbd_read_ok(h, 0, 1);
}

/*
 * XSA-155: the frontend rewrites the request after pushing it, into
 * something invalid. The backend acts on one consistent copy: either the
 * original (the write lands, okay) or the rewrite (an error, nothing
 * written), never a mix.
 */
static int vbd_case_rewrite(struct hdev *h)
{
	u64 id = next_id(), spins = 0;
	struct blkif_request *r;
	int rc, st;

	fill(h, 3, 0x11);
	rc = vbd_write_ok(h, 128, 3);
	if (rc)
		return rc;
	fill(h, 0, 0x77);
	r = vbd_rw(h, BLKIF_OP_WRITE, id, 128);
	vbd_seg(r, grant(h, 0, true), 0, 7);
	vbd_push(h);
	while (!RING_HAS_UNCONSUMED_RESPONSES(&h->ring) && spins < 20000000) {
		WRITE_ONCE(r->u.rw.nr_segments, spins & 1 ? 255 : 1);
		WRITE_ONCE(r->u.rw.sector_number, spins & 2 ? ~0ULL - 1 : 128);
		WRITE_ONCE(r->u.rw.seg[0].last_sect, spins & 4 ? 200 : 7);
		WRITE_ONCE(r->operation, spins & 8 ? 99 : BLKIF_OP_WRITE);
		spins++;
	}
	/*
	 * The response lands in this very slot, and the last pass of the loop
	 * may have raced it: operation and nr_segments overlay the two low
	 * bytes of the response's id. Those two bytes are ours, not the
	 * backend's; the rest of the response is checked as usual.
	 */
	if (RING_HAS_UNCONSUMED_RESPONSES(&h->ring)) {
		struct blkif_response *rsp = RING_GET_RESPONSE(&h->ring, h->ring.rsp_cons);

		if (rsp->id >> 16 == id >> 16)
			rsp->id = id;
	}
	st = vbd_wait(h, id, WAIT);
	if (st == -ETIMEDOUT || st == -EIO)
		return st == -EIO ? st : FAIL("rewritten request: no response");
	rc = ungrant_all(h);
	if (rc)
		return rc;
	fill(h, 1, 0);
	rc = vbd_read_ok(h, 128, 1);
	if (rc)
		return rc;
	if (st == BLKIF_RSP_OKAY && !filled(h, 1, 0x77, PAGE_SIZE))
		return FAIL("rewritten request answered okay but the data is not the original's");
	if (st != BLKIF_RSP_OKAY && !filled(h, 1, 0x11, PAGE_SIZE))
		return FAIL("rewritten request failed (%d) but the sector changed", st);
	pr_info("rewrite: %llu rewrites before the response, status %d\n", spins, st);
	return 0;
}

/* XSA-332: an event storm must not starve dom0; the device still works. */
static int flood(struct hdev *h)
{
	int i;

	for (i = 0; i < 200000; i++) {
		notify_remote_via_irq(h->irq);
		if (!(i & 4095))
			cond_resched();
	}
	return 0;
}

static int vbd_case_flood(struct hdev *h)
{
	flood(h);
	return vbd_read_ok(h, 0, 1);
}

/* Polls: the watch that would wake us waits for the case to end. */
static int wait_backend_gone(struct hdev *h, const char *what)
{
	int i;

	for (i = 0; i < 100 && !backend_gone(h); i++)
		msleep(100);
	if (!backend_gone(h))
		return FAIL("%s: the backend is still in state %d", what, backend_state(h));
	pr_info("%s: the backend disconnected (state %d)\n", what, backend_state(h));
	return 0;
}

/* The producer index far ahead of anything the ring can hold. */
static int vbd_case_prod_ahead(struct hdev *h)
{
	h->ring.sring->req_prod = h->ring.rsp_cons + 100000;
	notify_remote_via_irq(h->irq);
	return wait_backend_gone(h, "req_prod far ahead");
}

/* Requests in flight, then the frontend goes away: the backend must
 * finish or drop them and release every grant (checked in dom0).
 */
static int vbd_case_close_busy(struct hdev *h)
{
	int i;

	for (i = 0; i < 8; i++) {
		struct blkif_request *r = vbd_rw(h, BLKIF_OP_READ, next_id(), i * 256);
		int g = grant(h, i, false), s;

		for (s = 0; s < BLKIF_MAX_SEGMENTS_PER_REQUEST; s++)
			vbd_seg(r, g, 0, 7);
	}
	vbd_push(h);
	xenbus_switch_state(h->xb, XenbusStateClosing); /* teardown ends the grants */
	return wait_backend_gone(h, "closed with 8 requests in flight");
}

/*
 * A read-only vbd: the write, flush and discard a guest's block layer never
 * sends there (it refuses them itself) are refused by the backend, and the
 * sector reads back unchanged.
 */
static int vbd_case_readonly(struct hdev *h)
{
	struct blkif_request *r;
	int rc, st;
	u64 id;

	fill(h, 0, 0);
	rc = vbd_read_ok(h, 8, 0);
	if (rc)
		return rc;
	fill(h, 1, 0xa5);
	id = next_id();
	r = vbd_rw(h, BLKIF_OP_WRITE, id, 8);
	vbd_seg(r, grant(h, 1, true), 0, 7);
	rc = vbd_expect(h, r, id, BLKIF_RSP_ERROR, "a write to a read-only vbd");
	id = next_id();
	r = vbd_rw(h, BLKIF_OP_FLUSH_DISKCACHE, id, 0);
	rc = rc ?: vbd_expect(h, r, id, BLKIF_RSP_ERROR, "a flush of a read-only vbd");
	if (rc)
		return rc;
	id = next_id();
	r = vbd_next(h);
	r->operation = BLKIF_OP_DISCARD;
	r->u.discard.id = id;
	r->u.discard.sector_number = 8;
	r->u.discard.nr_sectors = 8;
	vbd_push(h);
	st = vbd_wait(h, id, WAIT);
	if (st != BLKIF_RSP_ERROR && st != BLKIF_RSP_EOPNOTSUPP)
		return st < 0 ? st : FAIL("a discard of a read-only vbd: status %d", st);
	fill(h, 2, 0xee);
	rc = vbd_read_ok(h, 8, 2);
	if (!rc && memcmp(page_address(h->pages[0]), page_address(h->pages[2]), PAGE_SIZE))
		return FAIL("the read-only sector changed");
	return rc;
}

/*
 * The ring filled with reads of 11 segments (on a device that takes
 * seconds to answer), then the frontend closes at once. The case returns
 * without waiting: dom0 checks that it can attach other devices meanwhile
 * and that everything drains after.
 */
static int vbd_case_close_slow(struct hdev *h)
{
	int g = grant(h, 0, false), s;

	while (!RING_FULL(&h->ring)) {
		struct blkif_request *r = vbd_rw(h, BLKIF_OP_READ, next_id(), 0);

		for (s = 0; s < BLKIF_MAX_SEGMENTS_PER_REQUEST; s++)
			vbd_seg(r, g, 0, 7);
	}
	vbd_push(h);
	snprintf(result, sizeof(result), "%u reads of 44 KiB in flight, closing",
		 RING_SIZE(&h->ring));
	xenbus_switch_state(h->xb, XenbusStateClosing);
	return 0;
}

/*
 * The ring kept full of requests of an unknown operation for FLOOD_SECONDS,
 * refilled as answers come: what a guest does to take dom0's CPU.
 */
#define FLOOD_SECONDS 30
static int vbd_case_flood_invalid(struct hdev *h)
{
	unsigned long end = jiffies + FLOOD_SECONDS * HZ;
	u64 answered = 0;

	while (time_before(jiffies, end)) {
		while (!RING_FULL(&h->ring))
			vbd_rw(h, 200, next_id(), 0);
		RING_PUSH_REQUESTS(&h->ring);
		notify_remote_via_irq(h->irq);
		wait_event_timeout(h->wq, HAS_RESPONSES(&h->ring), HZ / 10);
		while (RING_HAS_UNCONSUMED_RESPONSES(&h->ring)) {
			h->ring.rsp_cons++;
			answered++;
		}
	}
	snprintf(result, sizeof(result), "%llu unknown-operation requests answered in %d s",
		 answered, FLOOD_SECONDS);
	return vbd_read_ok(h, 0, 1);
}

/* ---- vusb --------------------------------------------------------------- */

static u32 pipe(unsigned int port, unsigned int dev, unsigned int ep, unsigned int type, bool in)
{
	return port | dev << XENUSB_PIPE_DEV_SHIFT | ep << XENUSB_PIPE_EP_SHIFT |
	       type << XENUSB_PIPE_TYPE_SHIFT | (in ? XENUSB_PIPE_DIR : 0);
}

static void conn_credit(struct hdev *h, u16 id)
{
	RING_GET_REQUEST(&h->conn, h->conn.req_prod_pvt)->id = id;
	h->conn.req_prod_pvt++;
}

static void vusb_poll_conn(struct hdev *h)
{
	int notify;

	while (HAS_RESPONSES(&h->conn)) {
		struct xenusb_conn_response *c = RING_GET_RESPONSE(&h->conn, h->conn.rsp_cons++);

		if (c->portnum && c->portnum <= XENUSB_MAX_PORTNR)
			h->port_speed[c->portnum] = c->speed;
		conn_credit(h, c->id);
	}
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&h->conn, notify);
	if (notify)
		notify_remote_via_irq(h->irq);
}

static struct xenusb_urb_request *urb_next(struct hdev *h, u16 id, u32 p)
{
	struct xenusb_urb_request *r = RING_GET_REQUEST(&h->urb, h->urb.req_prod_pvt++);

	memset(r, 0, sizeof(*r));
	r->id = id;
	r->pipe = p;
	return r;
}

static void urb_seg(struct xenusb_urb_request *r, int ref, u16 off, u16 len)
{
	r->seg[r->nr_buffer_segs++] = (struct xenusb_request_segment){ ref, off, len };
	r->buffer_length += len;
}

static void urb_segs(struct xenusb_urb_request *r, int ref, int n)
{
	while (n--)
		urb_seg(r, ref, 0, 1);
}

static u32 ctrl_in(int port)
{
	return pipe(port, 0, 0, XENUSB_PIPE_TYPE_CTRL, true);
}

static void setup(struct xenusb_urb_request *r, u8 type, u8 req, u16 value, u16 index, u16 len)
{
	u8 *s = r->u.ctrl;

	s[0] = type;
	s[1] = req;
	put_unaligned_le16(value, s + 2);
	put_unaligned_le16(index, s + 4);
	put_unaligned_le16(len, s + 6);
}

static void urb_push(struct hdev *h)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&h->urb, notify);
	if (notify)
		notify_remote_via_irq(h->irq);
}

/* The response to id: status in *status, length in *actual. */
static int urb_wait(struct hdev *h, u16 id, s32 *status, s32 *actual, long timeout)
{
	for (;;) {
		while (RING_HAS_UNCONSUMED_RESPONSES(&h->urb)) {
			struct xenusb_urb_response *rsp;
			u16 rid;

			rsp = RING_GET_RESPONSE(&h->urb, h->urb.rsp_cons);
			rid = rsp->id;

			*status = rsp->status;
			*actual = rsp->actual_length;
			h->urb.rsp_cons++;
			if (rid == id)
				return 0;
			return FAIL("urb response for %u while waiting for %u", rid, id);
		}
		if (!timeout)
			return -ETIMEDOUT;
		timeout = wait_event_timeout(h->wq, HAS_RESPONSES(&h->urb),
					     timeout);
	}
}

static u16 urb_id;

static int urb_expect(struct hdev *h, u16 id, bool ok, const char *what, s32 *actual)
{
	s32 st, len;
	int rc;

	urb_push(h);
	rc = urb_wait(h, id, &st, &len, WAIT);
	if (rc == -ETIMEDOUT)
		return FAIL("%s: no response", what);
	if (rc)
		return rc;
	if (ok ? st != XENUSB_STATUS_OK : st == XENUSB_STATUS_OK)
		return FAIL("%s: status %d", what, st);
	if (actual)
		*actual = len;
	return ungrant_all(h);
}

static int vusb_port(struct hdev *h)
{
	int p;

	for (p = 1; p <= XENUSB_MAX_PORTNR; p++)
		if (h->port_speed[p])
			return p;
	return 0;
}

/* GET_DESCRIPTOR(device) to the device at devnum 0 on port: must work. */
static int vusb_descriptor(struct hdev *h, int port)
{
	u16 id = ++urb_id;
	struct xenusb_urb_request *r = urb_next(h, id, ctrl_in(port));
	s32 len = 0;
	int rc;

	fill(h, 1, 0);
	setup(r, 0x80, 6, 0x100, 0, 18);
	urb_seg(r, grant(h, 1, false), 0, 18);
	rc = urb_expect(h, id, true, "GET_DESCRIPTOR(device)", &len);
	if (rc)
		return rc;
	if (len != 18 || ((u8 *)page_address(h->pages[1]))[1] != 1)
		return FAIL("device descriptor: %d bytes, type %u", len,
			    ((u8 *)page_address(h->pages[1]))[1]);
	return 0;
}

static int vusb_wait_port(struct hdev *h)
{
	wait_event_timeout(h->wq, (vusb_poll_conn(h), vusb_port(h)), WAIT);
	return vusb_port(h) ? 0 : FAIL("no device on any port");
}

static int vusb_case_valid(struct hdev *h)
{
	int rc = vusb_wait_port(h);

	return rc ?: vusb_descriptor(h, vusb_port(h));
}

/* GET_DESCRIPTOR(device), reshaped by the statements given: must fail. */
#define URB_BAD(what, ...)                                                   \
	({                                                                   \
		u16 id = ++urb_id;                                           \
		struct xenusb_urb_request *r = urb_next(h, id, ctrl_in(port)); \
		setup(r, 0x80, 6, 0x100, 0, 18);                             \
		__VA_ARGS__;                                                 \
		urb_expect(h, id, false, what, NULL);                        \
	})

static int vusb_case_invalid(struct hdev *h)
{
	int rc = vusb_wait_port(h), port = vusb_port(h), g, ro;

	if (rc)
		return rc;
	g = grant(h, 0, false);
	rc = rc ?: URB_BAD("port 0", r->pipe &= ~XENUSB_PIPE_PORT_MASK; urb_seg(r, g, 0, 18));
	rc = rc ?: URB_BAD("port 31", r->pipe |= 31; urb_seg(r, g, 0, 18));
	rc = rc ?: URB_BAD("17 segments", urb_segs(r, g, XENUSB_MAX_SEGMENTS_PER_REQUEST);
			   r->nr_buffer_segs = 17; r->buffer_length = 17;
			   setup(r, 0x80, 6, 0x100, 0, 17));
	rc = rc ?: URB_BAD("a segment past its page", urb_seg(r, g, 4090, 18));
	rc = rc ?: URB_BAD("buffer_length larger than the segments",
			   urb_seg(r, g, 0, 18); r->buffer_length = 100);
	rc = rc ?: URB_BAD("setup length disagrees with the buffer",
			   urb_seg(r, g, 0, 18); setup(r, 0x80, 6, 0x100, 0, 64));
	rc = rc ?: URB_BAD("IN into a grant never given", urb_seg(r, 0x7ff4, 0, 18));
	fill(h, 3, 0xee);
	ro = grant(h, 3, true);
	rc = rc ?: URB_BAD("IN into a read-only grant", urb_seg(r, ro, 0, 18));
	if (!rc && !filled(h, 3, 0xee, PAGE_SIZE))
		return FAIL("the backend wrote into a read-only grant");
	rc = rc ?: URB_BAD("a device address never assigned",
			   r->pipe |= 77 << XENUSB_PIPE_DEV_SHIFT; urb_seg(r, g, 0, 18));
	rc = rc ?: URB_BAD("iso with no packets",
			   r->pipe = pipe(port, 0, 1, XENUSB_PIPE_TYPE_ISOC, true);
			   urb_seg(r, g, 0, 18));
	return rc ?: vusb_descriptor(h, port);
}

static int vusb_case_unlink(struct hdev *h)
{
	int rc = vusb_wait_port(h), port = vusb_port(h);
	u16 id = ++urb_id;
	struct xenusb_urb_request *r;
	s32 st, len;

	if (rc)
		return rc;
	r = urb_next(h, id, ctrl_in(port) | XENUSB_PIPE_UNLINK);
	r->u.unlink.unlink_id = 4242;
	urb_push(h);
	rc = urb_wait(h, id, &st, &len, WAIT);
	if (rc)
		return rc == -ETIMEDOUT ? FAIL("unlink of an unknown id: no response") : rc;
	return vusb_descriptor(h, port);
}

static int vusb_case_flood(struct hdev *h)
{
	int rc = vusb_wait_port(h);

	flood(h);
	return rc ?: vusb_descriptor(h, vusb_port(h));
}

static int vusb_case_prod_ahead(struct hdev *h)
{
	h->urb.sring->req_prod = h->urb.rsp_cons + 100000;
	notify_remote_via_irq(h->irq);
	return wait_backend_gone(h, "urb req_prod far ahead");
}

/*
 * Armed before the controller connected: the backend sees the bad index
 * when it first posts a port change, which may be before this case runs,
 * so the controller may be gone already. Runs without a connected device.
 */
static int conn_prod_ahead_result(void)
{
	int i;

	for (i = 0; i < 100 && !READ_ONCE(conn_prod_ahead_closed); i++)
		msleep(100);
	if (!READ_ONCE(conn_prod_ahead_closed))
		return FAIL("conn req_prod far ahead: the backend did not close the controller");
	conn_prod_ahead_closed = false;
	return 0;
}

static int vusb_control_out(struct hdev *h, int port, int dev, u8 req, u16 value,
			    const char *what)
{
	u16 id = ++urb_id;
	u32 p = pipe(port, dev, 0, XENUSB_PIPE_TYPE_CTRL, false);
	struct xenusb_urb_request *r = urb_next(h, id, p);

	setup(r, 0x00, req, value, 0, 0);
	return urb_expect(h, id, true, what, NULL);
}

/*
 * The stick is asked (bulk-only transport) for 64 KiB, read as four 16 KiB
 * bulk INs; the frontend closes while they are in flight. The backend must
 * kill or finish them, and release every grant, before it closes.
 */
static int vusb_case_close_busy(struct hdev *h)
{
	int rc = vusb_wait_port(h), port = vusb_port(h), i, p;
	u8 *cbw = page_address(h->pages[0]);
	struct xenusb_urb_request *r;
	u16 id;

	rc = rc ?: vusb_control_out(h, port, 0, 5, 9, "SET_ADDRESS 9");
	rc = rc ?: vusb_control_out(h, port, 9, 9, 1, "SET_CONFIGURATION 1");
	if (rc)
		return rc;
	memset(cbw, 0, 31);
	put_unaligned_le32(0x43425355, cbw);	/* "USBC" */
	put_unaligned_le32(1, cbw + 4);		/* tag */
	put_unaligned_le32(65536, cbw + 8);	/* data length */
	cbw[12] = 0x80;				/* data in */
	cbw[14] = 10;				/* CDB length */
	cbw[15] = 0x28;				/* READ(10) */
	put_unaligned_be16(128, cbw + 22);	/* 128 blocks from LBA 0 */
	id = ++urb_id;
	r = urb_next(h, id, pipe(port, 9, 2, XENUSB_PIPE_TYPE_BULK, false));
	urb_seg(r, grant(h, 0, true), 0, 31);
	rc = urb_expect(h, id, true, "bulk OUT of a READ(10) command", NULL);
	if (rc)
		return rc;
	for (i = 0; i < 4; i++) {
		r = urb_next(h, ++urb_id, pipe(port, 9, 1, XENUSB_PIPE_TYPE_BULK, true));
		for (p = 0; p < 4; p++)
			urb_seg(r, grant(h, i * 4 + p, false), 0, PAGE_SIZE);
	}
	urb_push(h);
	xenbus_switch_state(h->xb, XenbusStateClosing); /* teardown ends the grants */
	pr_info("close-busy: %u of 4 bulk INs answered before the close\n",
		h->urb.sring->rsp_prod - h->urb.rsp_cons);
	return wait_backend_gone(h, "closed with bulk INs in flight");
}

/*
 * Synchronous requests the backend performs itself (SET_INTERFACE,
 * CLEAR_FEATURE(ENDPOINT_HALT)), and behind them a bulk IN that the stick
 * never answers (no command was sent); then the frontend closes at once.
 * The case returns without waiting, as close-slow.
 */
static int vusb_case_close_sync(struct hdev *h)
{
	int rc = vusb_wait_port(h), port = vusb_port(h), p;
	struct xenusb_urb_request *r;

	rc = rc ?: vusb_control_out(h, port, 0, 5, 9, "SET_ADDRESS 9");
	rc = rc ?: vusb_control_out(h, port, 9, 9, 1, "SET_CONFIGURATION 1");
	if (rc)
		return rc;
	r = urb_next(h, ++urb_id, pipe(port, 9, 0, XENUSB_PIPE_TYPE_CTRL, false));
	setup(r, 0x01, 11, 0, 0, 0);	/* SET_INTERFACE(0, 0) */
	r = urb_next(h, ++urb_id, pipe(port, 9, 0, XENUSB_PIPE_TYPE_CTRL, false));
	setup(r, 0x02, 1, 0, 0x81, 0);	/* CLEAR_FEATURE(ENDPOINT_HALT), 1 IN */
	r = urb_next(h, ++urb_id, pipe(port, 9, 1, XENUSB_PIPE_TYPE_BULK, true));
	for (p = 0; p < 4; p++)
		urb_seg(r, grant(h, p, false), 0, PAGE_SIZE);
	urb_push(h);
	snprintf(result, sizeof(result), "SET_INTERFACE, CLEAR_HALT and a bulk IN queued, closing");
	xenbus_switch_state(h->xb, XenbusStateClosing);
	return 0;
}

/* ---- connection --------------------------------------------------------- */

static void hdev_teardown(struct hdev *h)
{
	int i;

	if (h->irq > 0)
		unbind_from_irqhandler(h->irq, h);
	h->irq = 0;
	if (h->evtchn)
		xenbus_free_evtchn(h->xb, h->evtchn);
	h->evtchn = 0;
	/* still-granted data pages are freed by the grant table when unmapped */
	while (h->nrefs)
		gnttab_end_foreign_access(h->refs[--h->nrefs], NULL);
	if (h->ring.sring)
		xenbus_teardown_ring((void **)&h->ring.sring, 1, &h->ring_ref);
	if (h->urb.sring)
		xenbus_teardown_ring((void **)&h->urb.sring, 1, &h->urb_ref);
	if (h->conn.sring)
		xenbus_teardown_ring((void **)&h->conn.sring, 1, &h->conn_ref);
	h->connected = false;
	for (i = 0; i < NPAGES; i++)
		if (h->pages[i]) {
			put_page(h->pages[i]);
			h->pages[i] = NULL;
		}
}

static int hdev_connect(struct hdev *h)
{
	struct xenbus_device *xb = h->xb;
	void *s;
	int rc, i;

	for (i = 0; i < NPAGES; i++) {
		h->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!h->pages[i])
			return -ENOMEM;
	}
	rc = xenbus_alloc_evtchn(xb, &h->evtchn);
	if (rc)
		return rc;
	rc = bind_evtchn_to_irqhandler(h->evtchn, hdev_interrupt, 0, "xihostile", h);
	if (rc < 0)
		return rc;
	h->irq = rc;
	if (!h->vusb) {
		rc = xenbus_setup_ring(xb, GFP_KERNEL, &s, 1, &h->ring_ref);
		if (rc)
			return rc;
		XEN_FRONT_RING_INIT(&h->ring, (struct blkif_sring *)s, PAGE_SIZE);
		rc = xenbus_printf(XBT_NIL, xb->nodename, "ring-ref", "%u", h->ring_ref) ?:
		     xenbus_printf(XBT_NIL, xb->nodename, "event-channel", "%u", h->evtchn) ?:
		     xenbus_printf(XBT_NIL, xb->nodename, "protocol", "%s",
				   XEN_IO_PROTO_ABI_NATIVE);
		return rc ?: xenbus_switch_state(xb, XenbusStateInitialised);
	}
	rc = xenbus_setup_ring(xb, GFP_KERNEL, &s, 1, &h->urb_ref);
	if (rc)
		return rc;
	XEN_FRONT_RING_INIT(&h->urb, (struct xenusb_urb_sring *)s, PAGE_SIZE);
	rc = xenbus_setup_ring(xb, GFP_KERNEL, &s, 1, &h->conn_ref);
	if (rc)
		return rc;
	XEN_FRONT_RING_INIT(&h->conn, (struct xenusb_conn_sring *)s, PAGE_SIZE);
	for (i = 0; i < XENUSB_CONN_RING_SIZE; i++)
		conn_credit(h, i);
	RING_PUSH_REQUESTS(&h->conn);
	if (arm_conn_prod_ahead) {
		/* credits it never posted */
		h->conn.sring->req_prod = h->conn.req_prod_pvt + 5000;
		h->conn_prod_ahead = true;
		arm_conn_prod_ahead = false;
	}
	rc = xenbus_printf(XBT_NIL, xb->nodename, "urb-ring-ref", "%u", h->urb_ref) ?:
	     xenbus_printf(XBT_NIL, xb->nodename, "conn-ring-ref", "%u", h->conn_ref) ?:
	     xenbus_printf(XBT_NIL, xb->nodename, "event-channel", "%u", h->evtchn);
	if (!rc) {
		rc = xenbus_switch_state(xb, XenbusStateConnected);
		h->connected = !rc;
	}
	return rc;
}

static void hdev_backend_changed(struct xenbus_device *xb, enum xenbus_state state)
{
	struct hdev *h = dev_get_drvdata(&xb->dev);
	int rc = 0;

	switch (state) {
	case XenbusStateInitWait:
	case XenbusStateInitialised:
		if (xb->state == XenbusStateInitialising) {
			rc = hdev_connect(h);
			if (rc)
				xenbus_dev_fatal(xb, rc, "connecting");
		}
		break;
	case XenbusStateConnected:
		if (!h->vusb && xb->state == XenbusStateInitialised) {
			unsigned long long sectors = 0;

			xenbus_scanf(XBT_NIL, xb->otherend, "sectors", "%llu", &sectors);
			h->sectors = sectors;
			h->max_indirect = xenbus_read_unsigned(xb->otherend,
							       "feature-max-indirect-segments", 0);
			xenbus_switch_state(xb, XenbusStateConnected);
			h->connected = true;
		}
		break;
	case XenbusStateClosing:
	case XenbusStateClosed:
		if (xb->state == XenbusStateClosed)
			break;
		if (h->conn_prod_ahead)
			WRITE_ONCE(conn_prod_ahead_closed, true);
		mutex_lock(&lock);
		hdev_teardown(h);
		mutex_unlock(&lock);
		xenbus_frontend_closed(xb);
		break;
	default:
		break;
	}
	wake_up(&h->wq);
}

static int hdev_probe(struct xenbus_device *xb, const struct xenbus_device_id *id)
{
	struct hdev *h = kzalloc(sizeof(*h), GFP_KERNEL);

	if (!h)
		return -ENOMEM;
	h->xb = xb;
	h->vusb = !strcmp(id->devicetype, "vusb");
	init_waitqueue_head(&h->wq);
	dev_set_drvdata(&xb->dev, h);
	mutex_lock(&lock);
	if (h->vusb)
		vusb_dev = h;
	else
		vbd_dev = h;
	mutex_unlock(&lock);
	pr_info("%s: bound\n", xb->nodename);
	return 0;
}

static void hdev_remove(struct xenbus_device *xb)
{
	struct hdev *h = dev_get_drvdata(&xb->dev);

	mutex_lock(&lock);
	hdev_teardown(h);
	if (vbd_dev == h)
		vbd_dev = NULL;
	if (vusb_dev == h)
		vusb_dev = NULL;
	mutex_unlock(&lock);
	kfree(h);
}

static const struct xenbus_device_id hdev_ids[] = { { "vbd" }, { "vusb" }, { "" } };

static struct xenbus_driver hdev_driver = {
	.ids = hdev_ids,
	.probe = hdev_probe,
	.remove = hdev_remove,
	.otherend_changed = hdev_backend_changed,
};

/* ---- debugfs ------------------------------------------------------------ */

struct hcase {
	const char *name;
	int (*run)(struct hdev *h);
};

static const struct hcase vbd_cases[] = {
	{ "valid", vbd_case_valid },
	{ "sectors", vbd_case_sectors },
	{ "segments", vbd_case_segments },
	{ "grants", vbd_case_grants },
	{ "indirect", vbd_case_indirect },
	{ "unknown-op", vbd_case_unknown_op },
	{ "rewrite", vbd_case_rewrite },
	{ "flood", vbd_case_flood },
	{ "prod-ahead", vbd_case_prod_ahead },
	{ "close-busy", vbd_case_close_busy },
	{ "close-slow", vbd_case_close_slow },
	{ "readonly", vbd_case_readonly },
	{ "flood-invalid", vbd_case_flood_invalid },
	{}
};

static const struct hcase vusb_cases[] = {
	{ "valid", vusb_case_valid },
	{ "invalid", vusb_case_invalid },
	{ "unlink", vusb_case_unlink },
	{ "flood", vusb_case_flood },
	{ "prod-ahead", vusb_case_prod_ahead },
	{ "close-busy", vusb_case_close_busy },
	{ "close-sync", vusb_case_close_sync },
	{}
};

static struct hdev *wait_connected(struct hdev **slot)
{
	int i;

	for (i = 0; i < 200; i++) {
		mutex_lock(&lock);
		if (*slot && (*slot)->connected)
			return *slot; /* locked */
		mutex_unlock(&lock);
		msleep(100);
	}
	return NULL;
}

static ssize_t case_write(struct file *f, const char __user *ubuf, size_t len, loff_t *pos)
{
	bool vusb = (uintptr_t)file_inode(f)->i_private;
	const struct hcase *c = vusb ? vusb_cases : vbd_cases;
	char name[32];
	struct hdev *h;
	int rc;

	if (len >= sizeof(name) || copy_from_user(name, ubuf, len))
		return -EINVAL;
	name[len] = 0;
	strim(name);
	if (vusb && !strcmp(name, "arm-conn-prod-ahead")) {
		arm_conn_prod_ahead = true;
		return len;
	}
	if (vusb && !strcmp(name, "conn-prod-ahead")) {
		rc = conn_prod_ahead_result();
		if (!rc)
			snprintf(result, sizeof(result), "%s: ok", name);
		return rc ? -EIO : len;
	}
	while (c->name && strcmp(c->name, name))
		c++;
	if (!c->name)
		return -ENOENT;
	h = wait_connected(vusb ? &vusb_dev : &vbd_dev);
	if (!h) {
		snprintf(result, sizeof(result), "%s: no connected device", name);
		pr_info("%s\n", result);
		return -ENODEV;
	}
	result[0] = 0;
	rc = c->run(h);
	if (rc) {
		ungrant_all(h);
		pr_info("%s %s: FAIL: %s\n", vusb ? "vusb" : "vbd", name, result);
	} else {
		snprintf(result, sizeof(result), "%s: ok", name);
		pr_info("%s %s: ok\n", vusb ? "vusb" : "vbd", name);
	}
	mutex_unlock(&lock);
	return rc ? -EIO : len;
}

static ssize_t case_read(struct file *f, char __user *ubuf, size_t len, loff_t *pos)
{
	char buf[sizeof(result) + 1];
	int n = scnprintf(buf, sizeof(buf), "%s\n", result);

	return simple_read_from_buffer(ubuf, len, pos, buf, n);
}

static const struct file_operations case_fops = {
	.owner = THIS_MODULE,
	.write = case_write,
	.read = case_read,
};

static struct dentry *dir;

static int __init xihostile_init(void)
{
	int rc;

	dir = debugfs_create_dir("xihostile", NULL);
	debugfs_create_file("vbd", 0600, dir, (void *)0, &case_fops);
	debugfs_create_file("vusb", 0600, dir, (void *)1, &case_fops);
	rc = xenbus_register_frontend(&hdev_driver);
	if (rc)
		debugfs_remove_recursive(dir);
	return rc;
}

static void __exit xihostile_exit(void)
{
	xenbus_unregister_driver(&hdev_driver);
	debugfs_remove_recursive(dir);
}

module_init(xihostile_init);
module_exit(xihostile_exit);
MODULE_DESCRIPTION("xenidc lab: a hostile vbd and vusb frontend");
MODULE_LICENSE("GPL");
