#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bench: the core's request path on the host (google-benchmark, no
# sanitizers), then one lab boot (tests/lab/suites/bench.sh) measuring
# blkback2 against xen-blkback and against itself with event coalescing
# off, on null_blk disks with no latency, 100 us and 2 ms (the matrix:
# IOPS and latency percentiles), and usbback against QEMU's qusb and dom0
# on the QEMU stick. Prints ratios (median of the per-repetition ratios,
# and their range): absolute numbers under TCG mean little, ratios from
# one boot do. Everything raw (fio JSON, logs, the table) is kept in
# $XENIDC_CACHE/bench/<time>/; a full run also writes docs/benchmarks.md.
#
# While working on the data path: BENCH_ONLY=blk measures only the matrix
# and where the time goes, BENCH_ONLY=matrix the matrix alone,
# BENCH_ONLY=where only the counted runs, BENCH_ONLY=var only blkback2's
# optimisations (each switched off in turn; BENCH_VAR=1 adds them to a
# full run), BENCH_ONLY=usb only the USB
# part; BENCH_REPS=N sets the repetitions (default 3). BENCH_LATS picks
# the matrix's disks ("inst 100us 2ms"), BENCH_JOBS narrows its jobs
# ("rr1 rr16 burst"), BENCH_MATRIX_RUNTIME its seconds per job (default
# 2), BENCH_QDISK=1 adds QEMU's qdisk on the instant disk;
# BENCH_VAR_JOBS picks the optimisations' ("rr1 rr32";
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
	# what ran, for docs/benchmarks.md
	{
		echo "command: $(env | grep -E '^(BENCH_|LAB_TIMEOUT=)' | sort | tr '\n' ' ')make bench"
		echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "commit: $(git -C "$XENIDC_ROOT" describe --always --dirty 2>/dev/null)"
		echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); the lab under QEMU TCG (no KVM)"
	} >"$KEEP/run.txt"
	T0=$SECONDS

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
	LAB_TIMEOUT=${LAB_TIMEOUT:-3600} BACKEND=blkback2 "$XENIDC_ROOT/tests/lab/vm.sh" bench "$OUT"
	rc=$?
	cp -a "$OUT/." "$KEEP/"
	echo "minutes: $(((SECONDS - T0 + 30) / 60))" >>"$KEEP/run.txt"
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

# the matrix's fio JSON, from the guest's console (gzip, base64)
mkdir -p "$KEEP/fio"
tr -d '\r' <"$OUT/fio/guest-console.log" 2>/dev/null | awk -v d="$KEEP/fio" '
	/^@@FIOZ-END/ { close(cmd); cmd = ""; next }
	/^@@FIOZ / { cmd = "base64 -d | gunzip >" d "/matrix-" $2 ".json 2>/dev/null"; next }
	cmd != "" { print | cmd }'
# the matrix's tables (Markdown), against xen-blkback or the A/A twin
PEER=xen-blkback
grep -q '^twin ' "$M" && PEER=twin
# The same figures again from the kept JSON, which must agree with what
# the guest reported (rounding aside): "JSON: N of M, K disagree"
json_metrics() {
	local f tag
	for f in "$KEEP"/fio/matrix-*.json; do
		tag=${f##*/matrix-}
		tag=${tag%.json} # LAT.REP.CHUNK
		jq -r --arg lat "${tag%%.*}" --arg rep "$(echo "$tag" | cut -d. -f2)" --arg peer $PEER '
			.jobs[] | (.jobname | split("@")) as [$t, $j]
			| {b: "blkback2", c: "blkback2-c0", k: $peer, q: "qdisk"}[$t] as $tn
			| (if .read.iops > 0 then .read else .write end).clat_ns.percentile as $p
			| "\($tn) \($j)/\($lat) \($rep) \(.read.iops + .write.iops | round)",
			  "\($tn) \($j)/\($lat):p50 \($rep) \($p["50.000000"] / 1000 | round)",
			  "\($tn) \($j)/\($lat):p99 \($rep) \($p["99.000000"] / 1000 | round)",
			  "\($tn) \($j)/\($lat):p999 \($rep) \($p["99.900000"] / 1000 | round)"' "$f" 2>/dev/null
	done
}
json_metrics >"$KEEP/metrics-json.txt"
JSON_CHECK=$(awk 'NR == FNR { j[$1, $2, $3] = $4; next }
	$2 ~ /\/(inst|100us|2ms)/ && $1 != "native" { n++; if (($1, $2, $3) in j) { k++; d = j[$1, $2, $3] - $4; if (d > 1 || d < -1) bad++ } }
	END { printf "%d of %d matrix figures also read from the kept fio JSON, %d disagree", k, n, bad }' "$KEEP/metrics-json.txt" "$M")
echo "$JSON_CHECK"
case $JSON_CHECK in *", 0 disagree") ;; *) rc=1 ;; esac
# the tables take the matrix's figures from the JSON where it was kept
awk 'NR == FNR { j[$1 " " $2 " " $3] = $4; next }
	{ k = $1 " " $2 " " $3; if (k in j) $4 = j[k]; print }' "$KEEP/metrics-json.txt" "$M" >"$M.tmp" && mv "$M.tmp" "$M"
awk -v peer=$PEER -f "$XENIDC_ROOT/scripts/bench-matrix.awk" "$M" >"$KEEP/matrix.md"
BLK_JOBS="rr1 rr32 rw32 sr64k sw64k sr1m sw1m" # tests/lab/suites/bench.sh's JOBS (the variants)
{
	cat "$KEEP/matrix.md"
	echo
	echo "$JSON_CHECK."
	echo
	echo "ratio                              job     median (range over repetitions)"
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
	echo "jobs: rrN/rwN=4K random read/write at QD N, rrw16=70/30 4K random mix at QD16, sr/sw=sequential"
	echo "read/write (64K at QD8, 1M at QD4), burst=8 4K random reads at once, then 5 ms idle; disks:"
	echo "inst=null_blk irqmode=0, 100us and 2ms=irqmode=2 completion_nsec; read16m=16 MiB direct read"
	echo "of the stick; values are IOPS (MB/s: IOPS x block size) or MB/s"
} | tee "$KEEP/ratios.txt"

# docs/benchmarks.md: the latest full run (or BENCH_DOC=1), from what it kept
if { [ -f "$KEEP/run.txt" ] && ! grep -q '^command: .*BENCH_ONLY=[^ ]' "$KEEP/run.txt"; } || [ "${BENCH_DOC:-}" = 1 ]; then
	{
		echo "# Benchmarks: the latest run"
		echo
		echo "Written by \`make bench\` (scripts/bench.sh) from the run it kept; see"
		echo "[performance.md](performance.md) for the method and the history. Everything runs under QEMU TCG:"
		echo "read ratios, and their ranges, not absolute numbers."
		echo
		sed 's/^/* /' "$KEEP/run.txt"
		echo "* kept in: \`$KEEP\`"
		echo
		cat "$KEEP/matrix.md"
		echo
		echo "The rest of the run (host micro-benchmarks aside):"
		echo
		echo '```'
		sed -n '/^ratio  /,$p' "$KEEP/ratios.txt"
		echo '```'
	} >"$XENIDC_ROOT/docs/benchmarks.md"
	echo "written: $XENIDC_ROOT/docs/benchmarks.md"
fi
echo "raw results: $KEEP"
exit $rc
