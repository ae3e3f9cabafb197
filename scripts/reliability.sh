#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make reliability: one lab boot (tests/lab/suites/reliability.sh) that
# measures what a guest costs dom0, blkback2 and xen-blkback side by side:
# memory per vbd (a guest at xen-blkfront's defaults, and one at the most it
# may negotiate) and a flood of invalid requests. Prints the README's tables;
# the run is kept in $XENIDC_CACHE/reliability/<time>/.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

if [ "${1:-}" = --table ]; then
	KEEP=$2 rc=0
else
	"$XENIDC_ROOT/scripts/deps.sh" || exit 1
	KEEP=$XENIDC_CACHE/reliability/$(date +%Y%m%d-%H%M%S)
	mkdir -p "$KEEP"
	OUT=$XENIDC_BUILD/lab-reliability
	LAB_TIMEOUT=${LAB_TIMEOUT:-2400} BACKEND=blkback2 "$XENIDC_ROOT/tests/lab/vm.sh" reliability "$OUT"
	rc=$?
	cp -a "$OUT/." "$KEEP/"
	grep '^@@LAB not ok' "$OUT/results.txt" && rc=1
fi
R=$KEEP/results.txt

echo
echo "Memory per connected vbd, KiB: dom0's Slab + VmallocUsed grown (MemFree spent, which"
echo "moves by MiBs for reasons outside the backends); over 4 vbds (1 at the maximum), on null_blk;"
echo "run $(basename "$KEEP")"
echo
echo "| frontend | backend | connected, idle | after 4 KiB + 1 MiB I/O | 15 s later |"
echo "|---|---|---|---|---|"
for cfg in defaults max; do
	for b in blkback2 xen-blkback; do
		label="xen-blkfront's defaults"
		[ $cfg = max ] && label="its maximum: 16 queues, 16-page rings, 512 segments, no persistent grants"
		row="| $label | $b"
		for when in idle io later; do
			v=$(awk -v b="$b" -v c="$cfg" -v w="$when" \
				'$1 == "@@LAB" && $3 == "reliability" && $4 == "memory" && $5 == b && $6 == c && $7 == w {
					printf "%d (%d)", $9 + $10, $8 }' "$R")
			row="$row | ${v:-?}"
		done
		echo "$row |"
	done
done
awk '$3 == "reliability" && $4 == "memory" && $7 == "budget" {
	printf "blkback2, %s: %s KiB per vbd charged to the guest'"'"'s budget after 15 s idle\n", $6, $8 }' "$R"
echo "(a persistent grant stays mapped until unused for 60 s, as in xen-blkback)"
echo
echo "A guest floods its vbd's ring with invalid requests for 30 s: the other guest's"
echo "4 KiB QD8 reads (IOPS) and a CPU-bound dom0 task (its share of a CPU), without"
echo "and with the flood"
echo
echo "| backend | IOPS | with the flood | CPU share | with the flood |"
echo "|---|---|---|---|---|"
awk '$2 == "metric" && $3 == "flood" && NF == 8 {
	printf "| %s | %d | %d (x%.2f) | %.2f | %.2f (x%.2f) |\n", $4, $5, $7, $7 / $5, $6, $8, $8 / $6 }' "$R"
exit $rc
