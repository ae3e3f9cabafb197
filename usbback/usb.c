// SPDX-License-Identifier: GPL-2.0-only
/*
 * usbback: a Xen PV USB backend (xenbus type "vusb") over the xenidc core,
 * for unmodified xen-hcd frontends and xl usbctrl-attach type=pv /
 * usbdev-attach. Passes host USB devices through, one per root-hub port.
 *
 * This is its host USB side and the module. A usb_driver named "usbback"
 * that the toolstack binds a device's interfaces to (xl usbdev-attach
 * writes them to /sys/bus/usb/drivers/usbback/bind), and the URBs usbback
 * submits for the guest. Implements usbback/host.h over the kernel's USB
 * core.
 */
#define pr_fmt(fmt) "usbback: " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/usb.h>

#include <xen/interface/io/usbif.h>

#include <xenidc/xenbus_lite_glue.h>

#include "host.h"

/* Probes refused from the assigned set alone, without xenstore I/O. */
static atomic_t ub_probes_refused;
static struct dentry *ub_debugfs;

struct ub_urb {
	struct urb *urb;
	u8 setup[8]; /* DMA-able, unlike the caller's */
};

static struct usb_device *udev_of(struct ub_dev *d)
{
	return (struct usb_device *)d;
}

static void ub_complete(struct urb *urb)
{
	struct ub_xfer *x = urb->context;
	int i;

	for (i = 0; usb_pipeisoc(urb->pipe) && i < urb->number_of_packets; i++) {
		x->iso[i].actual_length = urb->iso_frame_desc[i].actual_length;
		x->iso[i].status = urb->iso_frame_desc[i].status;
	}
	x->status = urb->status;
	x->actual_length = urb->actual_length;
	x->error_count = urb->error_count;
	x->start_frame = urb->start_frame;
	ub_urb_done(x->cookie);
}

static unsigned int ub_pipe(struct usb_device *udev, enum ub_type type, unsigned int ep, bool in)
{
	switch (type) {
	case UB_ISOC:
		return in ? usb_rcvisocpipe(udev, ep) : usb_sndisocpipe(udev, ep);
	case UB_INT:
		return in ? usb_rcvintpipe(udev, ep) : usb_sndintpipe(udev, ep);
	case UB_CTRL:
		return in ? usb_rcvctrlpipe(udev, ep) : usb_sndctrlpipe(udev, ep);
	default:
		return in ? usb_rcvbulkpipe(udev, ep) : usb_sndbulkpipe(udev, ep);
	}
}

/*
 * The URB for x. Every type is filled as bulk ones are, plus the setup
 * packet or the interval (the guest's USB core encoded it already).
 */
static void ub_fill(struct ub_urb *u, struct usb_device *udev, unsigned int pipe,
		    struct ub_xfer *x)
{
	struct urb *urb = u->urb;
	unsigned int i;

	memcpy(u->setup, x->setup, sizeof(u->setup));
	usb_fill_bulk_urb(urb, udev, pipe, x->buffer, x->length, ub_complete, x);
	if (x->type == UB_CTRL)
		urb->setup_packet = u->setup; /* what usb_fill_control_urb() adds */
	if (x->type == UB_INT || x->type == UB_ISOC)
		urb->interval = x->interval;
	if (x->short_not_ok)
		urb->transfer_flags |= URB_SHORT_NOT_OK;
	if (x->type == UB_ISOC) {
		urb->number_of_packets = x->npackets;
		urb->transfer_flags |= URB_ISO_ASAP;
		for (i = 0; i < x->npackets; i++) {
			urb->iso_frame_desc[i].offset = x->iso[i].offset;
			urb->iso_frame_desc[i].length = x->iso[i].length;
		}
	}
}

int ub_urb_submit(struct ub_dev *d, struct ub_xfer *x, struct ub_urb **out)
{
	struct usb_device *udev = udev_of(d);
	unsigned int pipe = ub_pipe(udev, x->type, x->endpoint, x->in);
	struct ub_urb *u;
	struct urb *urb;
	int err;

	/*
	 * The host endpoint the guest's pipe names, if its type matches: the
	 * USB core would WARN on a mismatch, which a guest must not cause.
	 */
	if (usb_pipe_type_check(udev, pipe))
		return -EINVAL;
	u = kzalloc(sizeof(*u), GFP_KERNEL);
	urb = usb_alloc_urb(x->type == UB_ISOC ? x->npackets : 0, GFP_KERNEL);
	err = -ENOMEM;
	if (!u || !urb)
		goto out_free;
	u->urb = urb;
	ub_fill(u, udev, pipe, x);
	err = usb_submit_urb(urb, GFP_KERNEL);
	if (err)
		goto out_free;
	*out = u;
	return 0;
out_free:
	usb_free_urb(urb);
	kfree(u);
	return err;
}

void ub_urb_unlink(struct ub_urb *u)
{
	usb_unlink_urb(u->urb);
}

struct ub_pin *ub_urb_pin(struct ub_urb *u)
{
	return (struct ub_pin *)usb_get_urb(u->urb);
}

void ub_pin_kill(struct ub_pin *p)
{
	struct urb *urb = (struct urb *)p;

	usb_kill_urb(urb);
	usb_put_urb(urb);
}

void ub_urb_free(struct ub_urb *u)
{
	usb_free_urb(u->urb);
	kfree(u);
}

int ub_set_interface(struct ub_dev *d, unsigned int intf, unsigned int alt)
{
	return usb_set_interface(udev_of(d), intf, alt);
}

/* Only the endpoint's number and direction count here (as in usbfs). */
int ub_clear_halt(struct ub_dev *d, unsigned int endpoint_address)
{
	struct usb_device *udev = udev_of(d);

	return usb_clear_halt(udev, ub_pipe(udev, UB_BULK, endpoint_address & 0xf,
					    endpoint_address & USB_DIR_IN));
}

/*
 * Only the current configuration: another one would make the USB core
 * replace the interfaces, unbinding usbback from under the guest (README).
 */
int ub_reset_configuration(struct ub_dev *d, unsigned int config)
{
	struct usb_device *udev = udev_of(d);
	int err = -EINVAL;

	usb_lock_device(udev);
	if (udev->actconfig && udev->actconfig->desc.bConfigurationValue == config)
		err = usb_reset_configuration(udev);
	usb_unlock_device(udev);
	return err;
}

/* The one under way: someone else's, whose post_reset re-attaches. */
int ub_reset(struct ub_dev *d)
{
	int err = usb_reset_device(udev_of(d));

	return err == -EINPROGRESS ? 0 : err;
}

/* Low, full and high speed are the same numbers on the conn ring. */
static_assert(XENUSB_SPEED_LOW == USB_SPEED_LOW && XENUSB_SPEED_HIGH == USB_SPEED_HIGH);

unsigned int ub_speed(struct ub_dev *d)
{
	enum usb_device_speed s = udev_of(d)->speed;

	return s >= USB_SPEED_LOW && s <= USB_SPEED_HIGH ? s : 0; /* not SuperSpeed */
}

void ub_dev_get(struct ub_dev *d)
{
	usb_get_dev(udev_of(d));
}

void ub_dev_put(struct ub_dev *d)
{
	usb_put_dev(udev_of(d));
}

/* ---- the usb_driver ---- */

static struct usb_driver ub_driver;

/*
 * The first of udev's interfaces usbback holds, but except: the one that
 * speaks for the device. Probes, disconnects and resets of one device's
 * interfaces are serialised by its lock, which the USB core holds.
 */
static struct usb_interface *ub_first(struct usb_device *udev, struct usb_interface *except)
{
	struct usb_host_config *c = udev->actconfig;
	int i;

	for (i = 0; c && i < c->desc.bNumInterfaces; i++)
		if (c->interface[i] != except && c->interface[i]->dev.driver == &ub_driver.driver)
			return c->interface[i];
	return NULL;
}

/*
 * The device is attached to its port at its first interface. Every
 * interface of every device dom0 sees is offered to usbback: one the
 * toolstack did not assign is refused at once, without xenstore I/O or a
 * sleeping lock, unless a process asked for this binding (xl writes
 * port/<n>, then binds at once: our watch may not have run yet).
 */
static int ub_probe(struct usb_interface *intf, const struct usb_device_id *id)
{
	struct usb_device *udev = interface_to_usbdev(intf);
	bool asked = !(current->flags & PF_KTHREAD);

	if (udev->descriptor.bDeviceClass == USB_CLASS_HUB ||
	    (!asked && !ub_assigned(dev_name(&udev->dev)))) {
		atomic_inc(&ub_probes_refused);
		return -ENODEV;
	}
	if (ub_first(udev, intf))
		return 0;
	return ub_attach(dev_name(&udev->dev), (struct ub_dev *)udev, asked);
}

static void ub_disconnect(struct usb_interface *intf)
{
	struct usb_device *udev = interface_to_usbdev(intf);

	if (!ub_first(udev, intf))
		ub_detach((struct ub_dev *)udev, udev->state == USB_STATE_NOTATTACHED);
}

/*
 * A reset someone else makes (ours, at attach, comes from a probe) is a
 * replug for the guest: it re-enumerates what the reset changed under it.
 * Interfaces stay bound; the contract's "no URB across it" holds.
 */
static int ub_pre_reset(struct usb_interface *intf)
{
	struct usb_device *udev = interface_to_usbdev(intf);

	if (intf->condition == USB_INTERFACE_BOUND && ub_first(udev, NULL) == intf)
		ub_detach((struct ub_dev *)udev, false);
	return 0;
}

static int ub_post_reset(struct usb_interface *intf)
{
	struct usb_device *udev = interface_to_usbdev(intf);

	if (intf->condition == USB_INTERFACE_BOUND && ub_first(udev, NULL) == intf)
		ub_attach(dev_name(&udev->dev), (struct ub_dev *)udev, false);
	return 0;
}

/*
 * Every interface matches; probe refuses those whose device the toolstack
 * did not assign to a port. No MODULE_DEVICE_TABLE: loading usbback for
 * every USB device plugged in would be wrong.
 */
static const struct usb_device_id ub_ids[] = {
	{ .driver_info = 1 },
	{}
};

static struct usb_driver ub_driver = {
	.name = "usbback",
	.probe = ub_probe,
	.disconnect = ub_disconnect,
	.pre_reset = ub_pre_reset,
	.post_reset = ub_post_reset,
	.id_table = ub_ids,
	.no_dynamic_id = 1,
};

static int ub_usb_register(void)
{
	/* What probes cost: the lab reads these around a hot-plug. */
	ub_debugfs = debugfs_create_dir("usbback", NULL);
	debugfs_create_atomic_t("probes_refused", 0444, ub_debugfs, &ub_probes_refused);
	debugfs_create_ulong("probes_read_xenstore", 0444, ub_debugfs, &ub_probes_read);
	return usb_register(&ub_driver);
}

static void ub_usb_deregister(void)
{
	usb_deregister(&ub_driver);
	debugfs_remove_recursive(ub_debugfs);
}

/* The module. The KUnit suite compiles this file into its own. */
#ifndef UB_KUNIT
static struct xbl_registration *ub_reg;

static int __init usbback_init(void)
{
	int err;

	ub_init();
	err = xbl_register(ub_xenbus_driver(), THIS_MODULE, KBUILD_MODNAME, NULL, &ub_reg);
	if (err)
		return err;
	err = ub_usb_register();
	if (err)
		xbl_unregister(ub_reg);
	return err;
}

static void __exit usbback_exit(void)
{
	/* Controllers first: they kill their URBs and drop their devices. */
	xbl_unregister(ub_reg);
	ub_usb_deregister();
}

module_init(usbback_init);
module_exit(usbback_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Xen PV USB backend (vusb) over the xenidc core");
MODULE_ALIAS("xen-backend:vusb");
#endif
