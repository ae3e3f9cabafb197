// SPDX-License-Identifier: GPL-2.0-only
/*
 * xenbus_lite's kernel glue: registers a xenbus backend driver per
 * descriptor, forwards probe, watches, frontend state changes and removal to
 * the C++ shim, and implements include/xenidc/xenbus_io.h over the kernel's
 * xenbus API.
 */
#define pr_fmt(fmt) "xenbus_lite: " fmt

#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <xen/xen.h>
#include <xen/xenbus.h>

#include <xenidc/xenbus_lite_glue.h>

#define XBL_MAX_WATCHES 4

struct xbl_registration {
	struct xenbus_driver xd;
	struct xenbus_device_id ids[2];
	const void *driver; /* const xenidc::xb::Driver * */
	unsigned int nattr;
	struct device_attribute *attr; /* the driver's per-device files */
};

struct xbl_watch {
	struct xenbus_watch w;
	struct xbl_dev *owner;
};

/* statistics/<name> of one device: the driver's counters, read-only. */
struct xbl_stats {
	struct kobject kobj;
	void *device;
	unsigned int n;
	struct kobj_attribute attr[];
};

struct xbl_dev {
	void *device; /* xenidc::xb::Device * */
	struct xenbus_device *dev;
	struct xbl_registration *reg;
	struct xbl_stats *stats;
	unsigned int nattr; /* files made */
	unsigned int nwatch;
	struct xbl_watch watch[XBL_MAX_WATCHES];
	struct list_head deferred; /* on xbl_deferred once removed */
};

/*
 * Removed devices whose teardown still waits for their frontend's I/O. Each
 * holds a reference to its xenbus device until xi_xs_released(). Unloading
 * a driver waits for its entries to go, and so does binding one to the
 * same device again (its rings and event channels are still in use).
 */
static LIST_HEAD(xbl_deferred);
static DEFINE_SPINLOCK(xbl_deferred_lock); /* a leaf */
static DECLARE_WAIT_QUEUE_HEAD(xbl_deferred_wq);

static bool xbl_is_deferred(struct xenbus_device *dev, struct xbl_registration *reg)
{
	struct xbl_dev *xd;
	bool found = false;

	spin_lock(&xbl_deferred_lock);
	list_for_each_entry(xd, &xbl_deferred, deferred)
		found |= dev ? xd->dev == dev : xd->reg == reg;
	spin_unlock(&xbl_deferred_lock);
	return found;
}

static struct xenbus_device *xb(struct xi_xbdev *dev)
{
	return (struct xenbus_device *)dev;
}

/* ---- include/xenidc/xenbus_io.h ---- */

int xi_xs_read(struct xi_xbdev *dev, bool frontend, const char *key, char *buf, size_t len)
{
	struct xenbus_device *d = xb(dev);
	unsigned int n;
	char *v = xenbus_read(XBT_NIL, frontend ? d->otherend : d->nodename, key, &n);

	if (IS_ERR(v))
		return PTR_ERR(v);
	if (n >= len) {
		kfree(v);
		return -E2BIG;
	}
	memcpy(buf, v, n);
	buf[n] = 0;
	kfree(v);
	return 0;
}
EXPORT_SYMBOL_GPL(xi_xs_read);

int xi_xs_write(struct xi_xbdev *dev, xi_xs_txn txn, const char *key, const char *value)
{
	struct xenbus_transaction t = { .id = txn };

	return xenbus_write(t, xb(dev)->nodename, key, value);
}
EXPORT_SYMBOL_GPL(xi_xs_write);

int xi_xs_txn_start(xi_xs_txn *txn)
{
	struct xenbus_transaction t;
	int err = xenbus_transaction_start(&t);

	*txn = t.id;
	return err;
}
EXPORT_SYMBOL_GPL(xi_xs_txn_start);

int xi_xs_txn_end(xi_xs_txn txn, bool abort)
{
	struct xenbus_transaction t = { .id = txn };

	return xenbus_transaction_end(t, abort);
}
EXPORT_SYMBOL_GPL(xi_xs_txn_end);

int xi_xs_switch_state(struct xi_xbdev *dev, int state)
{
	return xenbus_switch_state(xb(dev), state);
}
EXPORT_SYMBOL_GPL(xi_xs_switch_state);

void xi_xs_fatal(struct xi_xbdev *dev, int err, const char *msg)
{
	xenbus_dev_fatal(xb(dev), err, "%s", msg);
}
EXPORT_SYMBOL_GPL(xi_xs_fatal);

bool xi_xs_online(struct xi_xbdev *dev)
{
	return xenbus_dev_is_online(xb(dev));
}
EXPORT_SYMBOL_GPL(xi_xs_online);

void xi_xs_unregister(struct xi_xbdev *dev)
{
	device_unregister(&xb(dev)->dev);
}
EXPORT_SYMBOL_GPL(xi_xs_unregister);

void xi_xs_released(struct xi_xbdev *dev)
{
	struct xbl_dev *xd, *found = NULL;

	spin_lock(&xbl_deferred_lock);
	list_for_each_entry(xd, &xbl_deferred, deferred)
		if (xd->dev == xb(dev)) {
			found = xd;
			list_del(&xd->deferred);
			break;
		}
	spin_unlock(&xbl_deferred_lock);
	if (WARN_ON_ONCE(!found))
		return;
	put_device(&found->dev->dev);
	kfree(found);
	wake_up_all(&xbl_deferred_wq);
}
EXPORT_SYMBOL_GPL(xi_xs_released);

int xi_xs_frontend_state(struct xi_xbdev *dev)
{
	return xenbus_read_driver_state(xb(dev)->otherend);
}
EXPORT_SYMBOL_GPL(xi_xs_frontend_state);

struct xi_xendev *xi_xs_xendev(struct xi_xbdev *dev)
{
	return (struct xi_xendev *)dev; /* both are the xenbus_device */
}
EXPORT_SYMBOL_GPL(xi_xs_xendev);

xi_domid_t xi_xs_otherend_id(struct xi_xbdev *dev)
{
	return xb(dev)->otherend_id;
}
EXPORT_SYMBOL_GPL(xi_xs_otherend_id);

const char *xi_xs_nodename(struct xi_xbdev *dev)
{
	return xb(dev)->nodename;
}
EXPORT_SYMBOL_GPL(xi_xs_nodename);

/* ---- statistics ---- */

static ssize_t xbl_stat_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct xbl_stats *s = container_of(kobj, struct xbl_stats, kobj);

	return sysfs_emit(buf, "%llu\n", (unsigned long long)xbl_stat(s->device, attr - s->attr));
}

static void xbl_stats_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct xbl_stats, kobj));
}

static const struct kobj_type xbl_stats_ktype = {
	.release = xbl_stats_release,
	.sysfs_ops = &kobj_sysfs_ops,
};

/* Statistics are worth a message when they fail, not a failed device. */
static struct xbl_stats *xbl_stats_add(struct xenbus_device *dev, const void *driver,
				       void *device)
{
	unsigned int i, n = xbl_driver_nstats(driver);
	struct xbl_stats *s;

	if (!n)
		return NULL;
	s = kzalloc(struct_size(s, attr, n), GFP_KERNEL);
	if (!s)
		return NULL;
	s->device = device;
	if (kobject_init_and_add(&s->kobj, &xbl_stats_ktype, &dev->dev.kobj, "statistics"))
		goto fail;
	for (i = 0; i < n; i++) {
		sysfs_attr_init(&s->attr[i].attr);
		s->attr[i].attr.name = xbl_driver_stat_name(driver, i);
		s->attr[i].attr.mode = 0444;
		s->attr[i].show = xbl_stat_show;
		if (sysfs_create_file(&s->kobj, &s->attr[i].attr))
			goto fail;
	}
	return s;
fail:
	dev_warn(&dev->dev, "no statistics in sysfs\n");
	kobject_put(&s->kobj);
	return NULL;
}

static void xbl_stats_remove(struct xbl_stats *s)
{
	if (!s)
		return;
	kobject_del(&s->kobj); /* waits for readers */
	kobject_put(&s->kobj);
}

/* ---- the driver's own files (xen-blkback's physical_device, mode) ---- */

static ssize_t xbl_attr_show(struct device *d, struct device_attribute *attr, char *buf)
{
	struct xbl_dev *xd = dev_get_drvdata(d);

	return xbl_show(xd->device, attr - xd->reg->attr, buf, PAGE_SIZE);
}

static void xbl_attrs_add(struct xbl_dev *xd)
{
	while (xd->nattr < xd->reg->nattr &&
	       !device_create_file(&xd->dev->dev, &xd->reg->attr[xd->nattr]))
		xd->nattr++;
	if (xd->nattr < xd->reg->nattr)
		dev_warn(&xd->dev->dev, "no %s in sysfs\n", xd->reg->attr[xd->nattr].attr.name);
}

static void xbl_attrs_remove(struct xbl_dev *xd)
{
	while (xd->nattr)
		device_remove_file(&xd->dev->dev, &xd->reg->attr[--xd->nattr]);
}

/* ---- the xenbus driver ---- */

static void xbl_watch_fired(struct xenbus_watch *w, const char *path, const char *token)
{
	struct xbl_watch *xw = container_of(w, struct xbl_watch, w);

	xbl_backend_changed(xw->owner->device, path);
}

static void xbl_unwatch(struct xbl_dev *xd)
{
	while (xd->nwatch) {
		struct xenbus_watch *w = &xd->watch[--xd->nwatch].w;

		unregister_xenbus_watch(w);
		kfree(w->node);
	}
}

/*
 * Undoes probe. The device's teardown may have to wait for I/O the guest
 * started: then the xenbus device is kept until xi_xs_released().
 */
static void xbl_dev_release(struct xenbus_device *dev, struct xbl_dev *xd)
{
	xbl_unwatch(xd);
	xbl_attrs_remove(xd);
	xbl_stats_remove(xd->stats);
	dev_set_drvdata(&dev->dev, NULL);
	get_device(&dev->dev);
	spin_lock(&xbl_deferred_lock);
	list_add(&xd->deferred, &xbl_deferred);
	spin_unlock(&xbl_deferred_lock);
	if (xbl_remove(xd->device))
		xi_xs_released((struct xi_xbdev *)dev);
}

static int xbl_dev_probe(struct xenbus_device *dev, const struct xenbus_device_id *id)
{
	struct xbl_registration *reg =
		container_of(to_xenbus_driver(dev->dev.driver), struct xbl_registration, xd);
	unsigned int i, n = xbl_driver_nwatch(reg->driver);
	struct xbl_dev *xd;
	int err;

	if (n > XBL_MAX_WATCHES)
		return -EINVAL;
	/* Bound again after an unbind: the last teardown ends first. */
	if (wait_event_interruptible(xbl_deferred_wq, !xbl_is_deferred(dev, NULL)))
		return -EINTR;
	xd = kzalloc(sizeof(*xd), GFP_KERNEL);
	if (!xd)
		return -ENOMEM;
	xd->dev = dev;
	xd->reg = reg;
	err = xbl_probe(reg->driver, (struct xi_xbdev *)dev, &xd->device);
	if (err) {
		kfree(xd);
		return err;
	}
	dev_set_drvdata(&dev->dev, xd);
	xd->stats = xbl_stats_add(dev, reg->driver, xd->device);
	xbl_attrs_add(xd);
	for (i = 0; i < n; i++) {
		struct xbl_watch *xw = &xd->watch[i];

		xw->owner = xd;
		err = xenbus_watch_pathfmt(dev, &xw->w, NULL, xbl_watch_fired, "%s/%s",
					   dev->nodename, xbl_driver_watch(reg->driver, i));
		if (err)
			goto out_unwatch;
		xd->nwatch++;
	}
	return 0;

out_unwatch:
	xbl_dev_release(dev, xd);
	return err;
}

static void xbl_dev_otherend_changed(struct xenbus_device *dev, enum xenbus_state state)
{
	struct xbl_dev *xd = dev_get_drvdata(&dev->dev);

	xbl_frontend_changed(xd->device, state);
}

static void xbl_dev_remove(struct xenbus_device *dev)
{
	xbl_dev_release(dev, dev_get_drvdata(&dev->dev));
}

/* Under the device's reclaim_sem: probe and remove wait for it. */
static void xbl_dev_reclaim(struct xenbus_device *dev)
{
	struct xbl_dev *xd = dev_get_drvdata(&dev->dev);

	if (xd)
		xbl_reclaim(xd->device);
}

static int xbl_attrs_init(struct xbl_registration *reg)
{
	unsigned int i;

	reg->nattr = xbl_driver_nattrs(reg->driver);
	if (!reg->nattr)
		return 0;
	reg->attr = kcalloc(reg->nattr, sizeof(*reg->attr), GFP_KERNEL);
	if (!reg->attr)
		return -ENOMEM;
	for (i = 0; i < reg->nattr; i++) {
		sysfs_attr_init(&reg->attr[i].attr);
		reg->attr[i].attr.name = xbl_driver_attr_name(reg->driver, i);
		reg->attr[i].attr.mode = 0444;
		reg->attr[i].show = xbl_attr_show;
	}
	return 0;
}

int xbl_register(const void *driver, struct module *owner, const char *mod_name,
		 const char *name, struct xbl_registration **out)
{
	struct xbl_registration *reg;
	int err;

	if (!xen_domain())
		return -ENODEV;
	reg = kzalloc(sizeof(*reg), GFP_KERNEL);
	if (!reg)
		return -ENOMEM;
	reg->driver = driver;
	err = xbl_attrs_init(reg);
	if (err) {
		kfree(reg);
		return err;
	}
	strscpy(reg->ids[0].devicetype, xbl_driver_type(driver), sizeof(reg->ids[0].devicetype));
	reg->xd.ids = reg->ids;
	reg->xd.probe = xbl_dev_probe;
	reg->xd.otherend_changed = xbl_dev_otherend_changed;
	reg->xd.remove = xbl_dev_remove;
	reg->xd.reclaim_memory = xbl_dev_reclaim;
	reg->xd.allow_rebind = xbl_driver_allow_rebind(driver);
	/*
	 * By default the driver is named after its device type, as the in-tree
	 * backends are: the bus refuses a second "vbd" driver, so blkback2 and
	 * xen-blkback never both claim new devices unless asked to.
	 */
	reg->xd.name = name;
	err = __xenbus_register_backend(&reg->xd, owner, mod_name);
	if (err) {
		kfree(reg->attr);
		kfree(reg);
		return err;
	}
	*out = reg;
	return 0;
}
EXPORT_SYMBOL_GPL(xbl_register);

void xbl_unregister(struct xbl_registration *reg)
{
	xenbus_unregister_driver(&reg->xd);
	/* The teardowns run the driver's code: they end before its module. */
	wait_event(xbl_deferred_wq, !xbl_is_deferred(NULL, reg));
	xi_work_flush_all();
	kfree(reg->attr);
	kfree(reg);
}
EXPORT_SYMBOL_GPL(xbl_unregister);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("xenbus_lite: declarative xenbus backend state machine");
