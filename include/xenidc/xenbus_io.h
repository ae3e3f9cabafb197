/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What xenbus_lite's state machine needs from xenstore and the xenbus core,
 * as plain C: implemented over the kernel's xenbus API in
 * xenbus_lite/xenbus.c and over a simulated xenstore in tests/sim/.
 */
#ifndef XENIDC_XENBUS_IO_H
#define XENIDC_XENBUS_IO_H

#include <xenidc/platform.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A backend device on the xenbus (struct xenbus_device in the kernel). */
struct xi_xbdev;

typedef uint32_t xi_xs_txn;
#define XI_XS_NO_TXN 0u

/*
 * Reads key from the device's backend directory (frontend = false) or the
 * frontend's (true) into buf, NUL-terminated. -ENOENT if absent, -E2BIG if
 * the value does not fit.
 */
int xi_xs_read(struct xi_xbdev *dev, bool frontend, const char *key, char *buf, size_t len);
/* Writes a key of the backend directory. */
int xi_xs_write(struct xi_xbdev *dev, xi_xs_txn txn, const char *key, const char *value);
int xi_xs_txn_start(xi_xs_txn *txn);
/* -EAGAIN: another writer raced us; start over. */
int xi_xs_txn_end(xi_xs_txn txn, bool abort);

int xi_xs_switch_state(struct xi_xbdev *dev, int state);
/* Reports err and msg under the device's error node, then Closing. */
void xi_xs_fatal(struct xi_xbdev *dev, int err, const char *msg);
/* The toolstack's "online" key: 0 means remove the device once closed. */
bool xi_xs_online(struct xi_xbdev *dev);
/* Removes the device from the bus (ends in the remove callback). */
void xi_xs_unregister(struct xi_xbdev *dev);
/*
 * A removal that had to wait for the driver's teardown (the remove
 * callback returned before it ended) is complete: the glue drops what it
 * kept of the device.
 */
void xi_xs_released(struct xi_xbdev *dev);
/* The frontend's state key, or XenbusStateUnknown (0) if unreadable. */
int xi_xs_frontend_state(struct xi_xbdev *dev);

/* The ring-mapping handle of the device, for Channel (the same object). */
struct xi_xendev *xi_xs_xendev(struct xi_xbdev *dev);
xi_domid_t xi_xs_otherend_id(struct xi_xbdev *dev);
/* The backend directory, e.g. "backend/vbd/5/51712". */
const char *xi_xs_nodename(struct xi_xbdev *dev);

#ifdef __cplusplus
}
#endif

#endif /* XENIDC_XENBUS_IO_H */
