/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The wire layouts the C++ protocol headers (blkif.h, usbif.h) declare,
 * as plain numbers, so each side where the core meets the Xen public
 * headers can check it: the C glue against the kernel's
 * include/xen/interface/io/, the host tests against Debian's libxen-dev.
 */
#ifndef XENIDC_ABI_LAYOUT_H
#define XENIDC_ABI_LAYOUT_H

/* blkif, x86_64 (= native on x86_64); x86_32 drops the 4-byte hole before id */
#define XI_BLKIF64_REQ_SIZE 112
#define XI_BLKIF64_RW_ID 8
#define XI_BLKIF64_RW_SECTOR 16
#define XI_BLKIF64_RW_SEG 24
#define XI_BLKIF64_DISCARD_NR_SECTORS 24
#define XI_BLKIF64_INDIRECT_NR_SEGMENTS 2
#define XI_BLKIF64_INDIRECT_HANDLE 24
#define XI_BLKIF64_INDIRECT_GREFS 28
#define XI_BLKIF64_RSP_SIZE 16
#define XI_BLKIF64_RSP_STATUS 10
#define XI_BLKIF_SEGMENT_SIZE 8

/* usbif (one layout for every guest ABI) */
#define XI_USBIF_URB_REQ_SIZE 148
#define XI_USBIF_URB_REQ_PIPE 4
#define XI_USBIF_URB_REQ_U 12
#define XI_USBIF_URB_REQ_SEG 20
#define XI_USBIF_URB_RSP_SIZE 16
#define XI_USBIF_URB_RSP_STATUS 4
#define XI_USBIF_CONN_RSP_SIZE 4

#endif
