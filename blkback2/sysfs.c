// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkback2: per-vbd statistics under the xenbus device,
 * /sys/bus/xen-backend/devices/vbd-<dom>-<dev>/statistics/, with the names
 * xen-blkback uses, so existing tools keep working.
 */
#include <linux/kobject.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <xen/xenbus.h>

#include "backing.h"

struct bb2_sysfs {
	struct kobject kobj;
	const void *vbd;
};

struct bb2_stat_attr {
	struct kobj_attribute attr;
	enum bb2_stat stat;
};

static ssize_t bb2_stat_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct bb2_sysfs *s = container_of(kobj, struct bb2_sysfs, kobj);
	struct bb2_stat_attr *a = container_of(attr, struct bb2_stat_attr, attr);

	return sysfs_emit(buf, "%llu\n", (unsigned long long)bb2_stat(s->vbd, a->stat));
}

#define BB2_STAT_ATTR(name, s) \
	static struct bb2_stat_attr bb2_attr_##name = { __ATTR(name, 0444, bb2_stat_show, NULL), s }

BB2_STAT_ATTR(oo_req, BB2_OO_REQ);
BB2_STAT_ATTR(rd_req, BB2_RD_REQ);
BB2_STAT_ATTR(wr_req, BB2_WR_REQ);
BB2_STAT_ATTR(f_req, BB2_F_REQ);
BB2_STAT_ATTR(ds_req, BB2_DS_REQ);
BB2_STAT_ATTR(rd_sect, BB2_RD_SECT);
BB2_STAT_ATTR(wr_sect, BB2_WR_SECT);
BB2_STAT_ATTR(errors, BB2_ERRORS);

static struct attribute *bb2_stat_attrs[] = {
	&bb2_attr_oo_req.attr.attr,  &bb2_attr_rd_req.attr.attr,  &bb2_attr_wr_req.attr.attr,
	&bb2_attr_f_req.attr.attr,   &bb2_attr_ds_req.attr.attr,  &bb2_attr_rd_sect.attr.attr,
	&bb2_attr_wr_sect.attr.attr, &bb2_attr_errors.attr.attr, NULL,
};
ATTRIBUTE_GROUPS(bb2_stat);

static void bb2_sysfs_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct bb2_sysfs, kobj));
}

static const struct kobj_type bb2_sysfs_ktype = {
	.release = bb2_sysfs_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = bb2_stat_groups,
};

struct bb2_sysfs *bb2_sysfs_add(struct xi_xbdev *dev, const void *vbd)
{
	struct xenbus_device *xd = (struct xenbus_device *)dev;
	struct bb2_sysfs *s = kzalloc(sizeof(*s), GFP_KERNEL);

	if (!s)
		return NULL; /* statistics are not worth failing the device */
	s->vbd = vbd;
	if (kobject_init_and_add(&s->kobj, &bb2_sysfs_ktype, &xd->dev.kobj, "statistics")) {
		kobject_put(&s->kobj);
		return NULL;
	}
	return s;
}

void bb2_sysfs_remove(struct bb2_sysfs *s)
{
	if (!s)
		return;
	kobject_del(&s->kobj); /* waits for readers */
	kobject_put(&s->kobj);
}
