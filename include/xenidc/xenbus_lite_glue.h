/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The C face of xenbus_lite: how the kernel glue (xenbus_lite/xenbus.c) and
 * each driver's module init reach the C++ shim. A driver passes its
 * descriptor (const xenidc::xb::Driver *) as an opaque pointer.
 */
#ifndef XENIDC_XENBUS_LITE_GLUE_H
#define XENIDC_XENBUS_LITE_GLUE_H

#include <xenidc/xenbus_io.h>

#ifdef __cplusplus
extern "C" {
#endif

struct module;
struct xbl_registration;

/*
 * For drivers: registers the descriptor as a xenbus backend driver, named
 * name, or after its device type if name is NULL. Unregistering waits until
 * every device's teardown, deferred ones included, has ended.
 */
int xbl_register(const void *driver, struct module *owner, const char *mod_name,
		 const char *name, struct xbl_registration **out);
void xbl_unregister(struct xbl_registration *reg);

/* For the glue: the descriptor's fields it needs, and the shim's entries. */
const char *xbl_driver_type(const void *driver);
unsigned int xbl_driver_nwatch(const void *driver);
const char *xbl_driver_watch(const void *driver, unsigned int i);
unsigned int xbl_driver_nstats(const void *driver);
const char *xbl_driver_stat_name(const void *driver, unsigned int i);
uint64_t xbl_stat(void *device, unsigned int i);
unsigned int xbl_driver_nattrs(const void *driver);
const char *xbl_driver_attr_name(const void *driver, unsigned int i);
bool xbl_driver_allow_rebind(const void *driver);
/* Attribute i as one line into buf; its length or -errno. May sleep. */
int xbl_show(void *device, unsigned int i, char *buf, size_t len);
/* From memory reclaim: never sleeps. */
void xbl_reclaim(void *device);
int xbl_probe(const void *driver, struct xi_xbdev *dev, void **device);
void xbl_backend_changed(void *device, const char *path);
void xbl_frontend_changed(void *device, int state);
/* true: the device is freed; false: xi_xs_released() follows when it is. */
bool xbl_remove(void *device);

#ifdef __cplusplus
}
#endif

#endif
