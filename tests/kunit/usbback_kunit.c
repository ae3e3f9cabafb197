// SPDX-License-Identifier: GPL-2.0-only
/*
 * usbback's USB glue (usb.c) against a real host controller and device:
 * dummy_hcd with gadget zero (source/sink) on it, loaded by the KUnit VM's
 * /init. URB completions reach ub_urb_done(), and binding reaches
 * ub_attach()/ub_detach(), which this module provides in place of the
 * controller code.
 */
/* First: they define pr_fmt before any header uses it. */
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

void ub_urb_done(void *cookie, int status, u32 actual, u32 error_count, u32 start_frame)
{
	urbres.status = status;
	urbres.actual = actual;
	urbres.calls++;
	complete(&urbres.done);
}

static struct {
	struct usb_device *want; /* the device ub_attach accepts */
	bool assigned;		 /* ub_assigned() says so for it */
	int attaches, detaches, lookups;
	bool unplugged;
} bind;

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
	return 0;
}

void ub_detach(struct ub_dev *d, bool unplugged)
{
	bind.detaches++;
	bind.unplugged = unplugged;
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
	struct page *pages[2];
	struct ub_sg sg[2];
	u8 *buf;
	int i;

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
	/* Scatter-gather, as zero-copy bulk transfers use it. */
	for (i = 0; i < 2; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(t, pages[i]);
		memset(page_address(pages[i]), 0xff, PAGE_SIZE);
		sg[i] = (struct ub_sg){ (struct xi_page *)pages[i], 0, PAGE_SIZE };
	}
	{
		struct ub_xfer r = { .type = UB_BULK, .endpoint = usb_endpoint_num(in), .in = true,
				     .sg = sg, .nsg = 2, .length = 2 * PAGE_SIZE };

		KUNIT_EXPECT_EQ(t, ubk_xfer(t, udev, &r), 0);
		KUNIT_EXPECT_EQ(t, urbres.actual, 2 * PAGE_SIZE);
		KUNIT_EXPECT_PTR_EQ(t, memchr_inv(page_address(pages[1]), 0, PAGE_SIZE), NULL);
	}
	for (i = 0; i < 2; i++)
		__free_page(pages[i]);
	kfree(buf);
	usb_put_dev(udev);
}

/* What merged bulk requests rely on: the endpoint's packet size, one URB of UB_MAX_SGS pages. */
static void ubk_merged_bulk(struct kunit *t)
{
	struct usb_device *udev = ubk_gadget(t);
	struct ub_dev *d = (struct ub_dev *)udev;
	struct usb_host_interface *alt = udev->actconfig->interface[0]->cur_altsetting;
	struct usb_endpoint_descriptor *in = NULL, *out = NULL;
	struct ub_sg *sg = kcalloc(UB_MAX_SGS + 1, sizeof(*sg), GFP_KERNEL);
	struct page *page = alloc_page(GFP_KERNEL);
	struct ub_xfer r = { .type = UB_BULK, .in = true, .short_not_ok = true, .sg = sg };
	int i;

	KUNIT_ASSERT_EQ(t, usb_find_common_endpoints(alt, &in, &out, NULL, NULL), 0);
	KUNIT_ASSERT_NOT_NULL(t, sg);
	KUNIT_ASSERT_NOT_NULL(t, page);
	KUNIT_EXPECT_EQ(t, ub_bulk_maxpacket(d, usb_endpoint_num(in), true),
			(unsigned int)usb_endpoint_maxp(in));
	KUNIT_EXPECT_EQ(t, ub_bulk_maxpacket(d, 0, true), 0u);  /* control */
	KUNIT_EXPECT_EQ(t, ub_bulk_maxpacket(d, 15, true), 0u); /* none */

	/* Every entry the same page: only the count and the length matter. */
	for (i = 0; i <= UB_MAX_SGS; i++)
		sg[i] = (struct ub_sg){ (struct xi_page *)page, 0, PAGE_SIZE };
	r.endpoint = usb_endpoint_num(in);
	r.nsg = UB_MAX_SGS;
	r.length = UB_MAX_SGS * PAGE_SIZE;
	KUNIT_EXPECT_EQ(t, ubk_xfer(t, udev, &r), 0);
	KUNIT_EXPECT_EQ(t, urbres.actual, (u32)(UB_MAX_SGS * PAGE_SIZE));
	r.nsg = UB_MAX_SGS + 1;
	r.length += PAGE_SIZE;
	KUNIT_EXPECT_EQ(t, ubk_xfer(t, udev, &r), -EINVAL);
	__free_page(page);
	kfree(sg);
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

	memset(&bind, 0, sizeof(bind));
	bind.want = udev;
	bind.assigned = true;
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

	memset(&bind, 0, sizeof(bind));
	bind.want = udev;
	KUNIT_ASSERT_TRUE(t, current->flags & PF_KTHREAD);
	KUNIT_ASSERT_EQ(t, ub_usb_register(), 0);
	KUNIT_EXPECT_GT(t, bind.lookups, 0);
	KUNIT_EXPECT_EQ(t, bind.attaches, 0);
	ub_usb_deregister();
	KUNIT_EXPECT_EQ(t, bind.detaches, 0);
	usb_put_dev(udev);
}

static struct kunit_case ubk_cases[] = {
	KUNIT_CASE(ubk_device),
	KUNIT_CASE(ubk_control),
	KUNIT_CASE(ubk_bulk),
	KUNIT_CASE(ubk_merged_bulk),
	KUNIT_CASE(ubk_refuses_mismatched_endpoints),
	KUNIT_CASE(ubk_host_core_requests),
	KUNIT_CASE(ubk_binding),
	KUNIT_CASE(ubk_unassigned_refused_at_once),
	{}
};

static struct kunit_suite ubk_suite = {
	.name = "usbback_glue",
	.test_cases = ubk_cases,
};

kunit_test_suite(ubk_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of usbback's USB glue on dummy_hcd + gadget zero");
