// SPDX-License-Identifier: GPL-2.0-only
/*
 * usbback: the host USB side. A usb_driver named "usbback" that the
 * toolstack binds a device's interfaces to (xl usbdev-attach writes them to
 * /sys/bus/usb/drivers/usbback/bind), and the URBs usbback submits for the
 * guest. Implements usbback/host.h over the kernel's USB core.
 */
#define pr_fmt(fmt) "usbback: " fmt

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/usb.h>
#include <linux/usb/ch9.h>

#include <xen/interface/io/usbif.h>

#include <xenidc/abi/layout.h>

#include "host.h"
#include "usb.h"

/* The wire layout usbback's C++ declares (abi/usbif.h) is the kernel's. */
static_assert(sizeof(struct xenusb_urb_request) == XI_USBIF_URB_REQ_SIZE);
static_assert(offsetof(struct xenusb_urb_request, pipe) == XI_USBIF_URB_REQ_PIPE);
static_assert(offsetof(struct xenusb_urb_request, u) == XI_USBIF_URB_REQ_U);
static_assert(offsetof(struct xenusb_urb_request, seg) == XI_USBIF_URB_REQ_SEG);
static_assert(sizeof(struct xenusb_urb_response) == XI_USBIF_URB_RSP_SIZE);
static_assert(offsetof(struct xenusb_urb_response, status) == XI_USBIF_URB_RSP_STATUS);
static_assert(sizeof(struct xenusb_conn_response) == XI_USBIF_CONN_RSP_SIZE);

static DEFINE_MUTEX(ub_registry);
static DEFINE_SPINLOCK(ub_busids);
static DEFINE_MUTEX(ub_bindings_lock);
static LIST_HEAD(ub_bindings);

/* A device with one or more interfaces bound to usbback. */
struct ub_binding {
	struct list_head node;
	struct usb_device *udev;
	unsigned int interfaces;
};

struct ub_urb {
	struct urb *urb;
	void *cookie;
	struct ub_iso_packet *iso;
	u8 setup[8];
	struct scatterlist sg[];
};

static struct usb_device *udev_of(struct ub_dev *d)
{
	return (struct usb_device *)d;
}

void ub_registry_lock(void)
{
	mutex_lock(&ub_registry);
}

void ub_registry_unlock(void)
{
	mutex_unlock(&ub_registry);
}

void ub_busid_lock(void)
{
	spin_lock(&ub_busids);
}

void ub_busid_unlock(void)
{
	spin_unlock(&ub_busids);
}

static void ub_complete(struct urb *urb)
{
	struct ub_urb *u = urb->context;
	int i;

	if (usb_pipeisoc(urb->pipe)) {
		for (i = 0; i < urb->number_of_packets; i++) {
			u->iso[i].actual_length = urb->iso_frame_desc[i].actual_length;
			u->iso[i].status = urb->iso_frame_desc[i].status;
		}
	}
	ub_urb_done(u->cookie, urb->status, urb->actual_length, urb->error_count,
		    urb->start_frame);
}

/*
 * The host endpoint the guest's pipe names, if its type matches (the USB
 * core would WARN on a mismatch: a guest must not be able to cause that).
 */
static bool ub_endpoint_ok(struct usb_device *udev, unsigned int pipe, enum ub_type type)
{
	static const int types[] = {
		[UB_ISOC] = USB_ENDPOINT_XFER_ISOC, [UB_INT] = USB_ENDPOINT_XFER_INT,
		[UB_CTRL] = USB_ENDPOINT_XFER_CONTROL, [UB_BULK] = USB_ENDPOINT_XFER_BULK,
	};
	struct usb_host_endpoint *ep = usb_pipe_endpoint(udev, pipe);

	return ep && usb_endpoint_type(&ep->desc) == types[type];
}

int ub_urb_submit(struct ub_dev *d, struct ub_xfer *x, struct ub_urb **out)
{
	struct usb_device *udev = udev_of(d);
	unsigned int pipe = ((unsigned int)x->type << 30) | (udev->devnum << 8) |
			    (x->endpoint << 15) | (x->in ? USB_DIR_IN : 0);
	struct ub_urb *u;
	struct urb *urb;
	unsigned int i;
	int err;

	if (!ub_endpoint_ok(udev, pipe, x->type) || x->nsg > UB_MAX_SGS)
		return -EINVAL;
	u = kzalloc(struct_size(u, sg, x->nsg), GFP_KERNEL);
	urb = usb_alloc_urb(x->type == UB_ISOC ? x->npackets : 0, GFP_KERNEL);
	if (!u || !urb) {
		usb_free_urb(urb);
		kfree(u);
		return -ENOMEM;
	}
	u->urb = urb;
	u->cookie = x->cookie;
	u->iso = x->iso;
	urb->dev = udev;
	urb->pipe = pipe;
	urb->complete = ub_complete;
	urb->context = u;
	urb->transfer_buffer = x->buffer;
	urb->transfer_buffer_length = x->length;
	if (x->nsg) {
		sg_init_table(u->sg, x->nsg);
		for (i = 0; i < x->nsg; i++)
			sg_set_page(&u->sg[i], (struct page *)x->sg[i].page, x->sg[i].length,
				    x->sg[i].offset);
		urb->sg = u->sg;
		urb->num_sgs = x->nsg;
	}
	if (x->short_not_ok)
		urb->transfer_flags |= URB_SHORT_NOT_OK;
	switch (x->type) {
	case UB_CTRL:
		memcpy(u->setup, x->setup, sizeof(u->setup));
		urb->setup_packet = u->setup;
		break;
	case UB_INT:
		urb->interval = x->interval; /* the guest's core already encoded it */
		break;
	case UB_ISOC:
		urb->interval = x->interval;
		urb->number_of_packets = x->npackets;
		urb->transfer_flags |= URB_ISO_ASAP;
		for (i = 0; i < x->npackets; i++) {
			urb->iso_frame_desc[i].offset = x->iso[i].offset;
			urb->iso_frame_desc[i].length = x->iso[i].length;
		}
		break;
	case UB_BULK:
		break;
	}
	err = usb_submit_urb(urb, GFP_KERNEL);
	if (err) {
		usb_free_urb(urb);
		kfree(u);
		return err;
	}
	*out = u;
	return 0;
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

int ub_clear_halt(struct ub_dev *d, unsigned int endpoint_address)
{
	struct usb_device *udev = udev_of(d);
	unsigned int pipe = (udev->devnum << 8) | ((endpoint_address & 0xf) << 15) |
			    (endpoint_address & USB_DIR_IN);

	return usb_clear_halt(udev, pipe);
}

/*
 * Only the current configuration: another one would make the USB core
 * replace the interfaces, unbinding usbback from under the guest.
 */
int ub_reset_configuration(struct ub_dev *d, unsigned int config)
{
	struct usb_device *udev = udev_of(d);
	int err;

	usb_lock_device(udev);
	if (udev->actconfig && udev->actconfig->desc.bConfigurationValue == config)
		err = usb_reset_configuration(udev);
	else
		err = -EINVAL;
	usb_unlock_device(udev);
	return err;
}

unsigned int ub_speed(struct ub_dev *d)
{
	switch (udev_of(d)->speed) {
	case USB_SPEED_LOW:
		return XENUSB_SPEED_LOW;
	case USB_SPEED_FULL:
		return XENUSB_SPEED_FULL;
	case USB_SPEED_HIGH:
		return XENUSB_SPEED_HIGH;
	default:
		return 0; /* SuperSpeed cannot be expressed on the conn ring */
	}
}

bool ub_sg_capable(struct ub_dev *d)
{
	struct usb_bus *bus = udev_of(d)->bus;

	return bus->sg_tablesize > 0 && bus->no_sg_constraint;
}

unsigned int ub_bulk_maxpacket(struct ub_dev *d, unsigned int endpoint, bool in)
{
	struct usb_device *udev = udev_of(d);
	unsigned int pipe = (PIPE_BULK << 30) | (udev->devnum << 8) | (endpoint << 15) |
			    (in ? USB_DIR_IN : 0);

	return ub_endpoint_ok(udev, pipe, UB_BULK) ? usb_maxpacket(udev, pipe) : 0;
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

static struct ub_binding *ub_find_binding(struct usb_device *udev)
{
	struct ub_binding *b;

	list_for_each_entry(b, &ub_bindings, node)
		if (b->udev == udev)
			return b;
	return NULL;
}

/*
 * One call per interface; the device is attached to its port at the first.
 * Every interface of every device dom0 sees is offered to usbback: one the
 * toolstack did not assign is refused at once, without xenstore I/O or a
 * sleeping lock, unless a process asked for this binding (xl writes
 * port/<n>, then binds at once: our watch may not have run yet).
 */
static int ub_probe(struct usb_interface *intf, const struct usb_device_id *id)
{
	struct usb_device *udev = interface_to_usbdev(intf);
	bool asked = !(current->flags & PF_KTHREAD);
	struct ub_binding *b;
	int err = 0;

	if (udev->descriptor.bDeviceClass == USB_CLASS_HUB ||
	    (!asked && !ub_assigned(dev_name(&udev->dev))))
		return -ENODEV;
	mutex_lock(&ub_bindings_lock);
	b = ub_find_binding(udev);
	if (!b) {
		b = kzalloc(sizeof(*b), GFP_KERNEL);
		err = b ? ub_attach(dev_name(&udev->dev), (struct ub_dev *)udev, asked) : -ENOMEM;
		if (err) {
			kfree(b);
			goto out;
		}
		b->udev = udev;
		list_add(&b->node, &ub_bindings);
	}
	b->interfaces++;
	usb_set_intfdata(intf, b);
out:
	mutex_unlock(&ub_bindings_lock);
	return err;
}

static void ub_disconnect(struct usb_interface *intf)
{
	struct ub_binding *b = usb_get_intfdata(intf);

	mutex_lock(&ub_bindings_lock);
	if (--b->interfaces == 0) {
		ub_detach((struct ub_dev *)b->udev, b->udev->state == USB_STATE_NOTATTACHED);
		list_del(&b->node);
		kfree(b);
	}
	usb_set_intfdata(intf, NULL);
	mutex_unlock(&ub_bindings_lock);
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
	.id_table = ub_ids,
	.no_dynamic_id = 1,
};

int ub_usb_register(void)
{
	return usb_register(&ub_driver);
}

void ub_usb_deregister(void)
{
	usb_deregister(&ub_driver);
}
