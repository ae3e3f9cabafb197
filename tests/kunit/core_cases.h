/* SPDX-License-Identifier: GPL-2.0-only */
/* The KUnit cases of core_cases.cpp, listed once for C and C++. */
#ifndef XENIDC_KUNIT_CORE_CASES_H
#define XENIDC_KUNIT_CORE_CASES_H

struct kunit;

#define XI_CASES(X)                 \
	X(ring_wraparound)          \
	X(ring_hostile_producer)    \
	X(ring_response_padding)    \
	X(channel_workqueue)        \
	X(channel_spurious)         \
	X(channel_stall_resume)     \
	X(pool_sg_roundtrip)        \
	X(pool_readonly_for_writes) \
	X(pool_fail_mid_batch)      \
	X(pool_exhaustion)          \
	X(pool_staging)             \
	X(pool_persistent)          \
	X(backend_stop_drains)

#ifdef __cplusplus
extern "C" {
#endif
#define XI_DECLARE_CASE(name) void xi_kunit_##name(struct kunit *t);
XI_CASES(XI_DECLARE_CASE)
int xi_scenario_pool(void);
void xi_kunit_deliberate_warning(void);
int xi_scenario_channel(void);
#ifdef __cplusplus
}
#endif

#endif
