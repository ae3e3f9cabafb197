#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The lab61 layer of make check: a boot whose dom0 runs Debian 12's 6.1
# kernel (suites/check61.sh), counted like the lab layer's.
LAB_LAYER=lab61 exec "$(dirname "$0")/check.sh"
