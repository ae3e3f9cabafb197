// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suites running the xenidc core (C++) inside the kernel. The cases
 * live in core_cases.cpp; this file registers them.
 */
#include <kunit/test.h>
#include <linux/module.h>

#include "core_cases.h"

#define XI_KCASE(name) KUNIT_CASE(xi_kunit_##name),
static struct kunit_case xenidc_core_cases[] = {
	XI_CASES(XI_KCASE)
	{}
};

static struct kunit_suite xenidc_core_suite = {
	.name = "xenidc_core",
	.test_cases = xenidc_core_cases,
};

kunit_test_suite(xenidc_core_suite);

/* Writing it makes the C++ warn once, for the layer to decode the trace. */
static int xi_warn_set(const char *val, const struct kernel_param *kp)
{
	xi_kunit_deliberate_warning();
	return 0;
}

static const struct kernel_param_ops xi_warn_ops = {
	.set = xi_warn_set,
};

module_param_cb(deliberate_warning, &xi_warn_ops, NULL, 0200);
MODULE_PARM_DESC(deliberate_warning, "Write anything: a warning from C++ on purpose (tests)");

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of the xenidc core");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
