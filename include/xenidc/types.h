/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Fixed-width integer types for code shared by the kernel (C and freestanding
 * C++) and the host test build. Kernel C gets them from <linux/types.h>; the
 * kernel's C++ objects cannot include kernel headers, so they get the same
 * types spelled the way the kernel spells them (u64 is unsigned long long).
 */
#ifndef XENIDC_TYPES_H
#define XENIDC_TYPES_H

#if defined(__KERNEL__) && !defined(__cplusplus)
#include <linux/types.h>
#elif defined(__KERNEL__)
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef signed char int8_t;
typedef short int16_t;
typedef int int32_t;
typedef long long int64_t;
typedef __SIZE_TYPE__ size_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;
typedef __UINTPTR_TYPE__ uintptr_t;
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#endif

#endif /* XENIDC_TYPES_H */
