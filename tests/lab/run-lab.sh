#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make lab: boots Xen + dom0 + a PV guest under QEMU, lets $BACKEND
# (blkback2 by default, or xen-blkback) serve the guest a disk, does real
# I/O, and prints what happened. Exits 0 only if every step worked.
# KERNEL=6.1|6.12 (default 6.12) is dom0's and the guest's Debian kernel;
# LAB_DOM0 and LAB_GUEST choose each.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"
. "$HERE/lib.sh"
export BACKEND=${BACKEND:-blkback2}
export LAB_DOM0=${LAB_DOM0:-${KERNEL:-6.12}} LAB_GUEST=${LAB_GUEST:-${KERNEL:-6.12}}
lab_kver "$LAB_DOM0" >/dev/null && lab_kver "$LAB_GUEST" >/dev/null || exit 2
OUT=$XENIDC_BUILD/lab
T0=$(date +%s)
"$HERE/vm.sh" demo "$OUT"
vmrc=$?
R=$OUT/results.txt
touch "$R"
ok=$(grep -c '^@@LAB ok ' "$R")
bad=$(grep -c '^@@LAB not ok ' "$R")
echo
if [ "$LAB_DOM0" = "$LAB_GUEST" ]; then
	kernels="dom0 and guest Linux $(lab_kversion "$LAB_DOM0")"
else
	kernels="dom0 Linux $(lab_kversion "$LAB_DOM0"), guest Linux $(lab_kversion "$LAB_GUEST")"
fi
echo "xenidc lab: Xen 4.17, $kernels (Debian), backend $BACKEND"
sed -n 's/^@@LAB metric \([^:]*\): /  \1: /p' "$R"
grep '^@@LAB not ok ' "$R" | sed 's/^@@LAB /  FAILED: /'
echo "  steps: $ok ok, $bad failed; $(($(date +%s) - T0)) s; logs in $OUT"
why=$(lab_complete "$OUT" demo) || { echo "  FAILED: $why"; vmrc=1; }
if [ $vmrc != 0 ] || [ "$bad" != 0 ] || [ "$ok" = 0 ]; then
	echo "---- the serial console's last lines ($OUT/serial.log) ----"
	tr -d '\r' <"$OUT/serial.log" | grep -av '^@@LAB-OUT\|^[A-Za-z0-9+/=]\{60,\}$' | tail -n 40
fi
[ $vmrc = 0 ] && [ "$bad" = 0 ] && [ "$ok" -gt 0 ]
