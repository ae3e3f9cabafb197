// SPDX-License-Identifier: GPL-2.0-only
/*
 * usbback: a Xen PV USB backend (xenbus type "vusb") over the xenidc core,
 * for unmodified xen-hcd frontends and xl usbctrl-attach type=pv /
 * usbdev-attach. Passes host USB devices through, one per root-hub port.
 */
#define pr_fmt(fmt) "usbback: " fmt

#include <linux/module.h>

#include <xenidc/xenbus_lite_glue.h>

#include "host.h"
#include "usb.h"

bool ub_merge_bulk = true;
module_param_named(merge_bulk, ub_merge_bulk, bool, 0644);
MODULE_PARM_DESC(merge_bulk,
		 "Send consecutive bulk requests for one endpoint to the device as one transfer (default Y)");
bool ub_zero_copy = true;
module_param_named(zero_copy, ub_zero_copy, bool, 0644);
MODULE_PARM_DESC(zero_copy,
		 "Map the guest's bulk buffers for the host controller where it takes scatter-gather lists; N: copy through a staging buffer (default Y)");

static struct xbl_registration *ub_reg;

static int __init usbback_init(void)
{
	int err = xbl_register(ub_xenbus_driver(), THIS_MODULE, KBUILD_MODNAME, NULL, &ub_reg);

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
