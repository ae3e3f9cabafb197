// SPDX-License-Identifier: GPL-2.0-only
/*
 * xenidc.ko: the inter-domain communication core shared by the xenidc
 * backends (channels, remote buffer references, the mapper pool, the backend
 * device lifecycle). A library: it serves nothing by itself.
 */
#define pr_fmt(fmt) "xenidc: " fmt

#include <linux/module.h>
#include <xen/interface/io/usbif.h>

#include <xenidc/abi/layout.h>

#include "xenidc.h"

/* The usbif wire layout the core declares (abi/usbif.h) is the kernel's. */
static_assert(sizeof(struct xenusb_urb_request) == XI_USBIF_URB_REQ_SIZE);
static_assert(offsetof(struct xenusb_urb_request, pipe) == XI_USBIF_URB_REQ_PIPE);
static_assert(offsetof(struct xenusb_urb_request, u) == XI_USBIF_URB_REQ_U);
static_assert(offsetof(struct xenusb_urb_request, seg) == XI_USBIF_URB_REQ_SEG);
static_assert(sizeof(struct xenusb_urb_response) == XI_USBIF_URB_RSP_SIZE);
static_assert(offsetof(struct xenusb_urb_response, status) == XI_USBIF_URB_RSP_STATUS);
static_assert(sizeof(struct xenusb_conn_response) == XI_USBIF_CONN_RSP_SIZE);

static int __init xenidc_init(void)
{
	return xi_platform_init();
}

static void __exit xenidc_exit(void)
{
	xi_platform_exit();
}

module_init(xenidc_init);
module_exit(xenidc_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Xen inter-domain communication core for backend drivers");
