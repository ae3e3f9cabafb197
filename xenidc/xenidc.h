/* SPDX-License-Identifier: GPL-2.0-only */
/* Internal to xenidc.ko. */
#ifndef XENIDC_INTERNAL_H
#define XENIDC_INTERNAL_H

int xi_platform_init(void);
void xi_platform_exit(void);

#endif
