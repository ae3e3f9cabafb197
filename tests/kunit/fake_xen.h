/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A fake Xen inside a kernel that is not a Xen guest, for KUnit: grants of
 * local pages, grant map with copy-in/copy-out semantics (a write through a
 * read-only mapping is detected at unmap), grant copy, ring "mapping" by
 * aliasing, and event channels the test fires by hand. Installed with
 * xi_set_xen_ops() for the duration of a suite. Usable from C and C++.
 */
#ifndef XENIDC_KUNIT_FAKE_XEN_H
#define XENIDC_KUNIT_FAKE_XEN_H

#include <xenidc/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

struct kunit;

#define FAKE_DOM 5

int fake_xen_install(void);   /* resets all state */
void fake_xen_uninstall(void);

/* A page of the fake frontend, granted to the backend. */
void *fake_page_alloc(void);
void fake_page_free(void *va);
xi_gref_t fake_grant(void *va, bool readonly);
/* n contiguous pages, granted one by one into refs[]. */
void *fake_ring_alloc(unsigned int n, xi_gref_t *refs);
void fake_ring_free(void *va, unsigned int n);

unsigned int fake_port_alloc(void);
void fake_kick(unsigned int port); /* frontend -> backend, with late-EOI masking */

struct fake_stats {
	long mapped;	      /* live grant maps */
	long map_ops, unmap_ops, map_calls, unmap_calls, copy_ops;
	long rings, evtchns, pages;
	long eois, spurious_eois, notifies;
	long ro_violations; /* writes seen through read-only mappings */
};

void fake_get_stats(struct fake_stats *out);
void fake_fail_nth_map(long n);

/* Polls cond(arg) for up to ms milliseconds (sleeping). */
bool fake_wait(bool (*cond)(void *arg), void *arg, unsigned int ms);

/* KUnit check from C++: fails the test with the expression text. */
void xi_kunit_check(struct kunit *test, bool ok, const char *expr, const char *file, int line);

#ifdef __cplusplus
}
#endif

#define KCHECK(t, cond) xi_kunit_check((t), (cond), #cond, __FILE__, __LINE__)

#endif
