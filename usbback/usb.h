/* SPDX-License-Identifier: GPL-2.0-only */
/* Internal to usbback.ko: the usb_driver of usb.c. */
#ifndef USBBACK_USB_H
#define USBBACK_USB_H

int ub_usb_register(void);
void ub_usb_deregister(void);

#endif
