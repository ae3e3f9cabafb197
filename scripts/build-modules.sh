#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# usage: [XENIDC_TEST=y] build-modules.sh KDIR [SRCDIR]
# Builds the modules against one kernel tree and enforces the project's
# rules: no line of the build output mentions a warning (compiler, objtool,
# modpost), and no .ko carries .init_array/.ctors/.eh_frame sections.
set -euo pipefail
KDIR=$1
SRC=${2:-$(cd "$(dirname "$0")/.." && pwd)}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

rc=0
# XENIDC_TEST=y (the KUnit layer) builds the test hooks in. No module BTF:
# pahole cannot encode the C++'s DWARF (scripts/cxx.mk).
make -C "$KDIR" M="$SRC" ${XENIDC_TEST:+XENIDC_TEST=y} CONFIG_DEBUG_INFO_BTF_MODULES= modules 2>&1 |
	tee "$LOG" || rc=$?
[ $rc = 0 ] || [ "${PIPESTATUS[0]}" = 0 ] || { echo "build failed against $KDIR" >&2; exit 1; }
if grep -qi warning "$LOG"; then
	echo "build against $KDIR printed warnings:" >&2
	grep -i warning "$LOG" >&2
	exit 1
fi
"$SRC/scripts/check-sections.sh" "$SRC"
