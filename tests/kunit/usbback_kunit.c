// SPDX-License-Identifier: GPL-2.0-only
/*
 * usbback's USB glue (usb.c) against a real host controller and device:
 * dummy_hcd with gadget zero (source/sink) on it, loaded by the KUnit VM's
 * /init. URB completions reach ub_urb_done(), and binding reaches
 * ub_attach()/ub_detach(), which this module provides in place of the
 * controller code.
 */
/* First: they define pr_fmt before any header uses it. Without usbback's init. */
#define UB_KUNIT
#include "../../usbback/usb.c"

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/module.h>

/* Gadget zero, as gadget/legacy/zero.c presents itself. */
#define GZ_VENDOR 0x0525
#define GZ_PRODUCT 0xa4a0

static struct {
	struct completion done;
	int status, calls;
	u32 actual;
} urbres;

void ub_urb_done(void *cookie)
{
	struct ub_xfer *x = cookie; /* ubk_xfer's */

	urbres.status = x->status;
	urbres.actual = x->actual_length;
	urbres.calls++;
	complete(&urbres.done);
}

static struct {
	struct usb_device *want; /* the device ub_attach accepts */
	bool assigned;		 /* ub_assigned() says so for it */
	bool reset;		 /* ub_attach resets it, as usbback's C++ does */
	int attaches, detaches, lookups, reset_err;
	bool unplugged;
	bool bound_at_detach; /* every interface still bound when detached */
} bind;

/* What the next probes see: udev is the device, assigned to a port or not. */
static void ubk_want(struct usb_device *udev, bool assigned)
{
	memset(&bind, 0, sizeof(bind));
	bind.want = udev;
	bind.assigned = assigned;
}

unsigned long ub_probes_read;

bool ub_assigned(const char *busid)
{
	bind.lookups++;
	return bind.assigned && !strcmp(busid, dev_name(&bind.want->dev));
}

int ub_attach(const char *busid, struct ub_dev *d, bool asked)
{
	if ((struct usb_device *)d != bind.want)
		return -ENODEV;
	bind.attaches++;
	if (bind.reset)
		bind.reset_err = ub_reset(d);
	return 0;
}

void ub_detach(struct ub_dev *d, bool unplugged)
{
	struct usb_host_config *c = ((struct usb_device *)d)->actconfig;
	int i;

	bind.detaches++;
	bind.unplugged = unplugged;
	bind.bound_at_detach = true;
	for (i = 0; c && i < c->desc.bNumInterfaces; i++)
		if (c->interface[i]->condition != USB_INTERFACE_BOUND)
			bind.bound_at_detach = false;
}

const void *ub_xenbus_driver(void)
{
	return NULL;
}

static int ubk_match(struct usb_device *udev, void *data)
{
	if (le16_to_cpu(udev->descriptor.idVendor) == GZ_VENDOR &&
	    le16_to_cpu(udev->descriptor.idProduct) == GZ_PRODUCT) {
		*(struct usb_device **)data = usb_get_dev(udev);
		return 1;
	}
	return 0;
}

static struct usb_device *ubk_gadget(struct kunit *t)
{
	struct usb_device *udev = NULL;
	int i;

	for (i = 0; i < 100 && !udev; i++) { /* enumeration may still run */
		usb_for_each_dev(&udev, ubk_match);
		if (!udev)
			msleep(50);
	}
	KUNIT_ASSERT_NOT_NULL_MSG(t, udev, "gadget zero is not on dummy_hcd");
	return udev;
}

static int ubk_xfer(struct kunit *t, struct usb_device *udev, struct ub_xfer *x)
{
	struct ub_urb *u;
	int err;

	init_completion(&urbres.done);
	urbres.calls = 0;
	x->cookie = x;
	err = ub_urb_submit((struct ub_dev *)udev, x, &u);
	if (err)
		return err;
	KUNIT_ASSERT_NE(t, wait_for_completion_timeout(&urbres.done, 5 * HZ), 0);
	KUNIT_EXPECT_EQ(t, urbres.calls, 1);
	ub_urb_free(u);
	return urbres.status;
}

static void ubk_device(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);

	KUNIT_EXPECT_EQ(t, ub_speed((struct ub_dev *)udev), (unsigned int)XENUSB_SPEED_HIGH);
	usb_put_dev(udev);
}

static void ubk_control(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);
	u8 *buf = kzalloc(64, GFP_KERNEL);
	struct ub_xfer x = {
		.type = UB_CTRL, .in = true, .buffer = buf, .length = 18,
		.setup = { USB_DIR_IN, USB_REQ_GET_DESCRIPTOR, 0, USB_DT_DEVICE, 0, 0, 18, 0 },
	};

	KUNIT_ASSERT_NOT_NULL(t, buf);
	KUNIT_EXPECT_EQ(t, ubk_xfer(t, udev, &x), 0);
	KUNIT_EXPECT_EQ(t, urbres.actual, 18u);
	KUNIT_EXPECT_EQ(t, buf[0], 18);
	KUNIT_EXPECT_EQ(t, buf[1], USB_DT_DEVICE);
	kfree(buf);
	usb_put_dev(udev);
}

static void ubk_bulk(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);
	struct usb_host_interface *alt = udev->actconfig->interface[0]->cur_altsetting;
	struct usb_endpoint_descriptor *in = NULL, *out = NULL;
	u8 *buf;

	KUNIT_ASSERT_EQ(t, usb_find_common_endpoints(alt, &in, &out, NULL, NULL), 0);
	buf = kzalloc(4096, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(t, buf);
	{
		struct ub_xfer w = { .type = UB_BULK, .endpoint = usb_endpoint_num(out),
				     .buffer = buf, .length = 4096 };
		struct ub_xfer r = { .type = UB_BULK, .endpoint = usb_endpoint_num(in),
				     .in = true, .short_not_ok = true,
				     .buffer = buf, .length = 4096 };

		KUNIT_EXPECT_EQ(t, ubk_xfer(t, udev, &w), 0);
		KUNIT_EXPECT_EQ(t, urbres.actual, 4096u);
		memset(buf, 0xff, 4096);
		KUNIT_EXPECT_EQ(t, ubk_xfer(t, udev, &r), 0);
		KUNIT_EXPECT_EQ(t, urbres.actual, 4096u);
		KUNIT_EXPECT_PTR_EQ(t, memchr_inv(buf, 0, 4096), NULL); /* source pattern 0 */
	}
	kfree(buf);
	usb_put_dev(udev);
}

static void ubk_refuses_mismatched_endpoints(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);
	u8 *buf = kzalloc(64, GFP_KERNEL);
	struct ub_xfer bad_type = { .type = UB_INT, .endpoint = 1, .in = true,
				    .buffer = buf, .length = 64, .interval = 1 };
	struct ub_xfer no_ep = { .type = UB_BULK, .endpoint = 15, .in = true,
				 .buffer = buf, .length = 64 };

	/*
	 * A guest-chosen pipe that disagrees with the endpoint is refused here:
	 * the USB core would WARN on it (the log check catches any).
	 */
	KUNIT_EXPECT_EQ(t, ubk_xfer(t, udev, &bad_type), -EINVAL);
	KUNIT_EXPECT_EQ(t, ubk_xfer(t, udev, &no_ep), -EINVAL);
	kfree(buf);
	usb_put_dev(udev);
}

static void ubk_host_core_requests(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);
	struct ub_dev *d = (struct ub_dev *)udev;
	unsigned int cfg = udev->actconfig->desc.bConfigurationValue;

	KUNIT_EXPECT_EQ(t, ub_set_interface(d, 0, 0), 0);
	KUNIT_EXPECT_EQ(t, ub_reset_configuration(d, cfg), 0);
	KUNIT_EXPECT_EQ(t, ub_reset_configuration(d, cfg + 10), -EINVAL);
	usb_put_dev(udev);
}

static void ubk_binding(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);

	ubk_want(udev, true);
	KUNIT_ASSERT_EQ(t, ub_usb_register(), 0);
	/*
	 * Gadget zero's interfaces are unclaimed: usbback gets them all,
	 * and the device is attached once, at the first.
	 */
	KUNIT_EXPECT_EQ(t, bind.attaches, 1);
	ub_usb_deregister();
	KUNIT_EXPECT_EQ(t, bind.detaches, 1);
	KUNIT_EXPECT_FALSE(t, bind.unplugged);
	usb_put_dev(udev);
}

/*
 * A device nobody assigned, probed by a kernel thread (as a hot-plugged
 * device is, by the hub's): refused by the quick look-up alone, never
 * reaching ub_attach() (which may read xenstore) or a sleeping lock.
 */
static void ubk_unassigned_refused_at_once(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);

	int refused = atomic_read(&ub_probes_refused);

	ubk_want(udev, false);
	KUNIT_ASSERT_TRUE(t, current->flags & PF_KTHREAD);
	KUNIT_ASSERT_EQ(t, ub_usb_register(), 0);
	KUNIT_EXPECT_GT(t, bind.lookups, 0);
	KUNIT_EXPECT_EQ(t, bind.attaches, 0);
	/* counted where the lab reads it (debugfs usbback/probes_refused) */
	KUNIT_EXPECT_GT(t, atomic_read(&ub_probes_refused), refused);
	ub_usb_deregister();
	KUNIT_EXPECT_EQ(t, bind.detaches, 0);
	usb_put_dev(udev);
}

/* Halts gadget zero's bulk IN endpoint on the device, as a guest could. */
static u8 ubk_halt_in(struct kunit *t, struct usb_device *udev, u8 *buf)
{
	struct usb_host_interface *alt = udev->actconfig->interface[0]->cur_altsetting;
	struct usb_endpoint_descriptor *in = NULL;
	struct ub_xfer r = { .type = UB_BULK, .in = true, .buffer = buf, .length = 512 };

	KUNIT_ASSERT_EQ(t, usb_find_common_endpoints(alt, &in, NULL, NULL, NULL), 0);
	KUNIT_ASSERT_EQ(t, usb_control_msg(udev, usb_sndctrlpipe(udev, 0), USB_REQ_SET_FEATURE,
					   USB_RECIP_ENDPOINT, USB_ENDPOINT_HALT,
					   in->bEndpointAddress, NULL, 0, 1000), 0);
	r.endpoint = usb_endpoint_num(in);
	KUNIT_EXPECT_EQ(t, ubk_xfer(t, udev, &r), -EPIPE);
	return in->bEndpointAddress;
}

static int ubk_read_in(struct kunit *t, struct usb_device *udev, u8 ep, u8 *buf)
{
	struct ub_xfer r = { .type = UB_BULK, .endpoint = ep & 0xf, .in = true, .buffer = buf,
			     .length = 512 };

	return ubk_xfer(t, udev, &r);
}

/* CLEAR_FEATURE(ENDPOINT_HALT) through the USB core: the pipe names the endpoint. */
static void ubk_clear_halt(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);
	u8 *buf = kzalloc(512, GFP_KERNEL);
	u8 ep;

	KUNIT_ASSERT_NOT_NULL(t, buf);
	ep = ubk_halt_in(t, udev, buf);
	KUNIT_EXPECT_EQ(t, ub_clear_halt((struct ub_dev *)udev, ep), 0);
	KUNIT_EXPECT_EQ(t, ubk_read_in(t, udev, ep, buf), 0);
	kfree(buf);
	usb_put_dev(udev);
}

/*
 * The reset usbback makes as it attaches a device (from the probe, as
 * ub_attach does): what a previous user left, here a halted endpoint, is
 * gone, and the interface is bound.
 */
static void ubk_reset_at_attach(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);
	u8 *buf = kzalloc(512, GFP_KERNEL);
	u8 ep;

	KUNIT_ASSERT_NOT_NULL(t, buf);
	ep = ubk_halt_in(t, udev, buf);
	ubk_want(udev, true);
	bind.reset = true;
	KUNIT_ASSERT_EQ(t, ub_usb_register(), 0);
	KUNIT_EXPECT_EQ(t, bind.attaches, 1);
	KUNIT_EXPECT_EQ(t, bind.reset_err, 0);
	KUNIT_EXPECT_PTR_EQ(t, udev->actconfig->interface[0]->dev.driver, &ub_driver.driver);
	KUNIT_EXPECT_EQ(t, ubk_read_in(t, udev, ep, buf), 0);
	ub_usb_deregister();
	kfree(buf);
	usb_put_dev(udev);
}

/*
 * A reset someone else makes: usbback's interfaces stay bound (pre_reset
 * and post_reset), and the guest sees a replug, not a device changed under
 * it. Without the callbacks the USB core would unbind and rebind them.
 */
static void ubk_reset_keeps_binding(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);

	ubk_want(udev, true);
	KUNIT_ASSERT_EQ(t, ub_usb_register(), 0);
	KUNIT_ASSERT_EQ(t, bind.attaches, 1);
	bind.reset = true; /* the one under way: ub_reset() says 0 */
	KUNIT_ASSERT_EQ(t, usb_lock_device_for_reset(udev, NULL), 0);
	KUNIT_EXPECT_EQ(t, usb_reset_device(udev), 0);
	usb_unlock_device(udev);
	KUNIT_EXPECT_EQ(t, bind.detaches, 1);
	KUNIT_EXPECT_TRUE(t, bind.bound_at_detach);
	KUNIT_EXPECT_EQ(t, bind.attaches, 2);
	KUNIT_EXPECT_EQ(t, bind.reset_err, 0);
	ub_usb_deregister();
	usb_put_dev(udev);
}

static struct kunit_case ubk_cases[] = {
	KUNIT_CASE(ubk_device),
	KUNIT_CASE(ubk_control),
	KUNIT_CASE(ubk_bulk),
	KUNIT_CASE(ubk_refuses_mismatched_endpoints),
	KUNIT_CASE(ubk_host_core_requests),
	KUNIT_CASE(ubk_binding),
	KUNIT_CASE(ubk_unassigned_refused_at_once),
	KUNIT_CASE(ubk_clear_halt),
	KUNIT_CASE(ubk_reset_at_attach),
	KUNIT_CASE(ubk_reset_keeps_binding),
	{}
};

static struct kunit_suite ubk_suite = {
	.name = "usbback_glue",
	.test_cases = ubk_cases,
};

kunit_test_suite(ubk_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of usbback's USB glue on dummy_hcd + gadget zero");
