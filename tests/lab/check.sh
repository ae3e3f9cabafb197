#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The lab layers of make check, each one boot, each @@LAB line a result:
#   lab    suites/check.sh: dom0 6.12, a 6.12 guest, then a 6.1 guest and
#          a 6.12 driver domain serving it
#   lab61  suites/check61.sh: dom0 6.1, a 6.12 guest and a 6.1 guest
#          (tests/lab/check61.sh runs this with LAB_LAYER=lab61)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"
. "$HERE/lib.sh"
export BACKEND=${BACKEND:-blkback2}
LAYER=${LAB_LAYER:-lab}
case $LAYER in
lab) SUITE=check P="" K=", guests 6.12 and 6.1" ; export LAB_DOM0=6.12 LAB_GUEST=6.12 LAB_GUESTS="6.12 6.1" ;;
lab61) SUITE=check61 P="dom0 6.1: " K=", guests 6.12 and 6.1" ; export LAB_DOM0=6.1 LAB_GUEST=6.1 LAB_GUESTS="6.1 6.12" ;;
*) echo "unknown lab layer $LAYER" >&2; exit 2 ;;
esac
OUT=$XENIDC_BUILD/lab-$SUITE
what="${P}lab VM ran to completion (backend $BACKEND$K)"
if "$HERE/vm.sh" "$SUITE" "$OUT"; then
	result pass "$what"
else
	echo "---- the serial console's last lines ($OUT/serial.log) ----"
	tr -d '\r' <"$OUT/serial.log" | grep -av '^@@LAB-OUT\|^[A-Za-z0-9+/=]\{60,\}$' | tail -n 40
	result fail "$what" "see $OUT/serial.log"
fi
while IFS= read -r l; do
	case $l in
	"@@LAB ok "*) result pass "$P${l#@@LAB ok }" ;;
	"@@LAB not ok "*) result fail "$P${l#@@LAB not ok }" ;;
	"@@LAB skip "*) n=${l#@@LAB skip }; result skip "$P${n%%: *}" "${n#*: }" ;;
	"@@LAB metric "*) echo "metric: $P${l#@@LAB metric }" ;;
	esac
done <"$OUT/results.txt"
if why=$(lab_complete "$OUT" "$SUITE"); then
	result pass "${P}the $SUITE suite ran to its end, every case counted ($(grep -c '^@@LAB \(ok\|not ok\|skip\) ' "$OUT/results.txt"))"
else
	result fail "${P}the $SUITE suite ran to its end, every case counted" "$why"
fi
summary "$LAYER"
