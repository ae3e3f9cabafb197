#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The lab layer of make check: suites/check.sh in one boot, each @@LAB line
# a result.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"
. "$HERE/lib.sh"
export BACKEND=${BACKEND:-blkback2}
OUT=$XENIDC_BUILD/lab-check
if "$HERE/vm.sh" check "$OUT"; then
	result pass "lab VM ran to completion (backend $BACKEND)"
else
	echo "---- the serial console's last lines ($OUT/serial.log) ----"
	tr -d '\r' <"$OUT/serial.log" | grep -av '^@@LAB-OUT\|^[A-Za-z0-9+/=]\{60,\}$' | tail -n 40
	result fail "lab VM ran to completion (backend $BACKEND)" "see $OUT/serial.log"
fi
while IFS= read -r l; do
	case $l in
	"@@LAB ok "*) result pass "${l#@@LAB ok }" ;;
	"@@LAB not ok "*) result fail "${l#@@LAB not ok }" ;;
	"@@LAB skip "*) n=${l#@@LAB skip }; result skip "${n%%: *}" "${n#*: }" ;;
	"@@LAB metric "*) echo "metric: ${l#@@LAB metric }" ;;
	esac
done <"$OUT/results.txt"
if why=$(lab_complete "$OUT" check); then
	result pass "the check suite ran to its end, every case counted ($(grep -c '^@@LAB \(ok\|not ok\|skip\) ' "$OUT/results.txt"))"
else
	result fail "the check suite ran to its end, every case counted" "$why"
fi
summary lab
