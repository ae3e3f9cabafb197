#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: the core's request path on the host (google-benchmark, no
# sanitizers), then one lab boot (tests/lab/suites/bench.sh) measuring
# blkback2 against xen-blkback, QEMU's qdisk and dom0 itself on null_blk,
# and usbback against QEMU's qusb and dom0 on the QEMU stick.
# Prints ratios (median of the per-repetition ratios, and their range):
# absolute numbers under TCG mean little, ratios from one boot do.
# Everything raw (fio JSON, logs, the table) is kept in
# $XENIDC_CACHE/bench/<time>/.
#
# While working on the data path: BENCH_ONLY=blk measures only blkback2
# against xen-blkback (and where the time goes), BENCH_ONLY=where only the
# counted runs, BENCH_ONLY=var only blkback2's optimisations (each
# switched off in turn), BENCH_ONLY=usb only the USB part; BENCH_REPS=N
# sets the repetitions (default 3). BENCH_JOBS narrows the peers' jobs
# ("rr1 rr32"), BENCH_VAR_JOBS picks the optimisations' ("rr1 rr32";
# default "rr32 sr1m"), BENCH_WHERE the counted runs' targets ("none": no
# counted runs; "blkback2-coalesce_us=0": blkback2 with a parameter),
# BENCH_GTOD_REDUCE=0 keeps all of fio's clock reads in the ratio runs.
# Checks on the comparison itself: BENCH_SWAP_DISKS=1 gives each backend
# the other's disk, BENCH_TWIN=1 serves both disks with blkback2 (an A/A
# run, "blkback2/twin").
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# run: the benchmarks; sets KEEP (where the results are kept), OUT and rc
run() {
	"$XENIDC_ROOT/scripts/deps.sh" || exit 1
	KEEP=$XENIDC_CACHE/bench/$(date +%Y%m%d-%H%M%S)
	mkdir -p "$KEEP"

	# ---- host micro-benchmarks ----
	B=$XENIDC_BUILD/bench
	log "host micro-benchmarks (simulator)"
	if cmake -S "$XENIDC_ROOT/tests" -B "$B" -DXENIDC_SANITIZE=OFF -DCMAKE_BUILD_TYPE=Release \
		>"$B.cmake.log" 2>&1 && make -C "$B" -j"$(nproc)" bench_blkback2 >"$B.build.log" 2>&1; then
		"$B/bench_blkback2" --benchmark_out="$KEEP/host-bench.json" --benchmark_out_format=json \
			2>/dev/null | tee "$KEEP/host-bench.txt"
	else
		tail -20 "$B.cmake.log" "$B.build.log"
		echo "host micro-benchmarks did not build" >&2
	fi

	# ---- the lab: one boot ----
	OUT=$XENIDC_BUILD/lab-bench
	log "lab benchmarks: one boot, BENCH_REPS=${BENCH_REPS:-3}"
	LAB_TIMEOUT=${LAB_TIMEOUT:-2400} BACKEND=blkback2 "$XENIDC_ROOT/tests/lab/vm.sh" bench "$OUT"
	rc=$?
	cp -a "$OUT/." "$KEEP/"
	grep '^@@LAB not ok' "$OUT/results.txt" && rc=1
}

# scripts/bench.sh --table DIR redoes the table from a run kept in DIR.
if [ "${1:-}" = --table ]; then
	KEEP=$2 OUT=$2 rc=0
else
	run
fi

# TARGET JOB REP VALUE; the value is the last thing on the line
M=$KEEP/metrics.txt
sed -n 's/^@@LAB metric bench //p' "$OUT/results.txt" |
	awk '{ v = $NF; sub(/.*\\n/, "", v); print $1, $2, $3, v }' >"$M"

# ratio A B JOB [LABEL]: median and range of A/B over the repetitions
ratio() {
	local a=$1 b=$2 job=$3 label=${4:-$1/$2} rs
	rs=$(awk -v a="$a" -v b="$b" -v j="$job" '
		$2 == j && $1 == a { va[$3] = $4 }
		$2 == j && $1 == b { vb[$3] = $4 }
		END { for (r in va) if ((r in vb) && vb[r] > 0) printf "%.3f\n", va[r] / vb[r] }' "$M" | sort -g)
	if [ -z "$rs" ]; then
		printf '%-34s %-7s %s\n' "$label" "$job" "no data"
		return
	fi
	awk -v l="$label" -v j="$job" '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%-34s %-7s %5.2fx  (%.2f-%.2f, n=%d)\n", l, j, m, v[1], v[NR], NR }' <<<"$rs"
}

BLK_JOBS="rr1 rr32 rw32 sr64k sw64k sr1m sw1m" # tests/lab/suites/bench.sh's JOBS
{
	echo "ratio                              job     median (range over repetitions)"
	for j in $BLK_JOBS; do ratio blkback2 xen-blkback $j; done
	# BENCH_TWIN=1: blkback2 against itself on the other disk, the harness's own bias
	grep -q '^twin ' "$M" && for j in $BLK_JOBS; do ratio blkback2 twin $j; done
	for j in $BLK_JOBS; do ratio blkback2 qdisk $j; done
	for j in $BLK_JOBS; do ratio blkback2 native $j; done
	ratio usbback qusb read16m
	ratio usbback usb-native read16m
	echo "blkback2's optimisations (default / with it switched off):"
	for v in $(awk '$1 ~ /^var:/ && $1 != "var:blkback2" { print substr($1, 5) }' "$M" | sort -u); do
		for j in $BLK_JOBS; do
			grep -q "^var:$v $j " "$M" || continue
			ratio var:blkback2 "var:$v" $j "  vs $v"
		done
	done
	echo "where the time goes (dom0, counted runs):"
	# the suite's own log: the serial console drops lines under load
	wlog=$OUT/suite.log
	[ -s "$wlog" ] || wlog=$OUT/serial.log
	tr -d '\r' <"$wlog" | grep -a '^  where ' | sed 's/^  where /  /'
	echo "jobs: rr=4K randread (QD1, QD32), rw32=4K randwrite QD32, sr/sw=sequential read/write"
	echo "(64K at QD8, 1M at QD4); read16m=16 MiB direct read of the stick; values are IOPS or MB/s"
} | tee "$KEEP/ratios.txt"
echo "raw results: $KEEP"
exit $rc
