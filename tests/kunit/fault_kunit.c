// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection on the core's allocation paths: each scenario runs again
 * and again with its Nth allocation made to fail (failslab and
 * fail_page_alloc through current->fail_nth), N = 1, 2, ... until it runs
 * through untouched. Every run must end in success or a clean -ENOMEM; the
 * kmemleak scan after the suites finds anything a failure path leaked.
 * Needs failslab and fail_page_alloc told not to ignore GFP_KERNEL (the
 * KUnit VM's /init does that).
 */
#include <kunit/test.h>
#include <linux/sched.h>

#include "core_cases.h"
#include "fake_xen.h"

static void xi_fail_every_allocation(struct kunit *t, int (*scenario)(void), const char *what)
{
	unsigned int n, left = 0, failed = 0;
	int rc;

	for (n = 1; n < 1000; n++) {
		fake_xen_install();
		WRITE_ONCE(current->fail_nth, n);
		rc = scenario();
		left = READ_ONCE(current->fail_nth);
		WRITE_ONCE(current->fail_nth, 0);
		fake_xen_uninstall();
		if (rc && rc != -ENOMEM)
			KUNIT_FAIL(t, "%s: allocation %u failing gave %d", what, n, rc);
		if (rc == -ENOMEM)
			failed++;
		if (left) /* it ran through without reaching allocation n */
			break;
	}
	KUNIT_EXPECT_EQ_MSG(t, rc, 0, "%s: the run with no failure must succeed", what);
	KUNIT_EXPECT_GT_MSG(t, failed, 0u, "%s: no allocation was ever failed", what);
	kunit_info(t, "%s: %u allocation sites, %u failing runs", what, n - 1, failed);
}

static void xi_fault_pool(struct kunit *t)
{
	xi_fail_every_allocation(t, xi_scenario_pool, "pool lifecycle");
}

static void xi_fault_channel(struct kunit *t)
{
	xi_fail_every_allocation(t, xi_scenario_channel, "channel open/close");
}

static struct kunit_case xi_fault_cases[] = {
	KUNIT_CASE(xi_fault_pool),
	KUNIT_CASE(xi_fault_channel),
	{}
};

static struct kunit_suite xi_fault_suite = {
	.name = "xenidc_fault_injection",
	.test_cases = xi_fault_cases,
};

kunit_test_suite(xi_fault_suite);
