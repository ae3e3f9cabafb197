// SPDX-License-Identifier: GPL-2.0-only
/*
 * xenidc.ko: the inter-domain communication core shared by the xenidc
 * backends (channels, remote buffer references, the mapper pool, the backend
 * device lifecycle). A library: it serves nothing by itself.
 */
#define pr_fmt(fmt) "xenidc: " fmt

#include <linux/module.h>

#include "xenidc.h"

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
