/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The hypervisor-facing half of the platform (grant table, ring mapping,
 * event channels, foreign-mappable pages) as a table of operations, so tests
 * can run the core against a fake Xen: KUnit suites in a kernel that is not a
 * Xen guest, and the host simulator. Production uses the hypervisor's.
 */
#ifndef XENIDC_XEN_OPS_H
#define XENIDC_XEN_OPS_H

#include <xenidc/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

struct xi_xen_ops {
	int (*pages_alloc)(unsigned int n, struct xi_page **pages);
	void (*pages_free)(unsigned int n, struct xi_page **pages);
	int (*grant_map)(struct xi_map_op *ops, unsigned int n);
	int (*grant_unmap)(struct xi_map_op *ops, unsigned int n);
	int (*grant_copy)(struct xi_copy_op *ops, unsigned int n);
	int (*ring_map)(struct xi_xendev *dev, const xi_gref_t *grefs, unsigned int n,
			void **addr);
	void (*ring_unmap)(struct xi_xendev *dev, void *addr);
	int (*evtchn_bind)(struct xi_xendev *dev, unsigned int port, xi_event_fn fn,
			   void *arg, const char *name, struct xi_evtchn **out);
	void (*evtchn_unbind)(struct xi_evtchn *ch);
	void (*evtchn_notify)(struct xi_evtchn *ch);
	void (*evtchn_eoi)(struct xi_evtchn *ch, bool spurious);
};

/*
 * Installs ops (NULL: the hypervisor's again). Only with no device active,
 * and only in test builds (XENIDC_TEST_HOOKS): production modules do not
 * export it.
 */
void xi_set_xen_ops(const struct xi_xen_ops *ops);

#ifdef __cplusplus
}
#endif

#endif /* XENIDC_XEN_OPS_H */
