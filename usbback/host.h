/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host USB side as usbback's C++ sees it: plain C, implemented over the
 * kernel's USB core in usb.c, and over a simulated device in the host tests
 * (tests/sim/fake_usb.cpp).
 */
#ifndef USBBACK_HOST_H
#define USBBACK_HOST_H

#include <xenidc/xenbus_io.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A host USB device passed through to a port (struct usb_device). */
struct ub_dev;
/* One host URB in flight. */
struct ub_urb;
/* A URB kept alive to be killed once the caller dropped its locks. */
struct ub_pin;

enum ub_type { UB_ISOC = 0, UB_INT = 1, UB_CTRL = 2, UB_BULK = 3 }; /* = usbif pipe types */

struct ub_iso_packet {
	uint32_t offset;
	uint32_t length;
	uint32_t actual_length; /* out */
	int32_t status;		/* out */
};

struct ub_xfer {
	enum ub_type type;
	uint8_t endpoint; /* 0-15 */
	bool in;
	bool short_not_ok;
	uint8_t setup[8];	   /* control transfers */
	void *buffer;		   /* staged data (DMA-able) */
	uint32_t length;
	uint32_t interval;	   /* int, iso: as the guest's USB core set it */
	uint32_t npackets;	   /* iso */
	struct ub_iso_packet *iso; /* iso: npackets, results written back */
	void *cookie;
	int32_t status; /* the results, written before ub_urb_done(cookie) */
	uint32_t actual_length, error_count, start_frame;
};

/*
 * Submits; 0 and later exactly one ub_urb_done(x->cookie) from any context,
 * x's results written, x kept until then; or -errno now and no completion.
 */
int ub_urb_submit(struct ub_dev *d, struct ub_xfer *x, struct ub_urb **out);
/* Asks for an early completion (-ECONNRESET); does not wait. Any context. */
void ub_urb_unlink(struct ub_urb *u);
/* Pins u's URB: it stays valid for ub_pin_kill() whoever frees u. */
struct ub_pin *ub_urb_pin(struct ub_urb *u);
/* Cancels the URB, waits for its completion to have run, unpins. Sleeps. */
void ub_pin_kill(struct ub_pin *p);
/* After the completion ran. */
void ub_urb_free(struct ub_urb *u);

/* The requests the backend performs itself. They sleep. */
int ub_set_interface(struct ub_dev *d, unsigned int intf, unsigned int alt);
int ub_clear_halt(struct ub_dev *d, unsigned int endpoint_address);
/* The device's configuration again (0), or -EINVAL for another one. */
int ub_reset_configuration(struct ub_dev *d, unsigned int config);
/*
 * A port reset, as after a plug; usbback stays bound. Sleeps; from a probe
 * (the device is locked). 0 also when one is already under way.
 */
int ub_reset(struct ub_dev *d);

/* The usbif speed (1 low, 2 full, 3 high), 0 if it cannot be passed on. */
unsigned int ub_speed(struct ub_dev *d);
void ub_dev_get(struct ub_dev *d);
void ub_dev_put(struct ub_dev *d);

/* Implemented by usbback's C++ (vusb.cpp): */
void ub_init(void); /* at module load, before anything else */
void ub_urb_done(void *cookie);
/*
 * Whether the toolstack assigned the bus id ("3-1.5") to a port, as last
 * seen in xenstore. Takes no sleeping lock; does no xenstore I/O.
 */
bool ub_assigned(const char *busid);
/*
 * A host device whose first interface was bound to usbback: reset, then on
 * its port. asked: a process asked for this binding (the toolstack, through
 * sysfs), right after writing port/<n>, maybe before our watch saw it: then
 * xenstore is read again. -ENODEV: no port has the bus id.
 */
int ub_attach(const char *busid, struct ub_dev *d, bool asked);
/* Probes that read xenstore so (debugfs usbback/probes_read_xenstore). */
extern unsigned long ub_probes_read;
/*
 * The device is going away: unbound, or physically unplugged (then its port
 * is cleared too, so the toolstack's view stays true and xl usbctrl-detach
 * works). Does not wait for guests.
 */
void ub_detach(struct ub_dev *d, bool unplugged);
const void *ub_xenbus_driver(void); /* const xenidc::xb::Driver * */

#ifdef __cplusplus
}
#endif

#endif /* USBBACK_HOST_H */
