#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the libFuzzer targets (clang, ASan, UBSan) and runs each for
# FUZZ_SECONDS (default 12) on its corpus: the seeds in tests/fuzz/corpus
# plus what earlier runs found, kept in $XENIDC_CACHE/fuzz. A crash, leak
# or invariant failure fails the target and leaves the input in
# $XENIDC_BUILD/fuzz/findings. `make fuzz FUZZ_SECONDS=N` runs this.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

SECS=${FUZZ_SECONDS:-12}
B=$XENIDC_BUILD/fuzz
mkdir -p "$B/findings"
if ! { CC=clang CXX=clang++ cmake -S "$XENIDC_ROOT/tests" -B "$B" -DXENIDC_FUZZ=ON \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >"$B/cmake.log" 2>&1 &&
	make -C "$B" -j"$(nproc)" >"$B/build.log" 2>&1; }; then
	tail -30 "$B/cmake.log" "$B/build.log"
	result fail "fuzz targets build (clang, libFuzzer)"
	summary fuzz
	exit 1
fi
result pass "fuzz targets build (clang, libFuzzer)"

# The targets run side by side, as many at once as there are CPUs.
TARGETS="ring blkif usbif xenbus"
rm -f "$B"/fuzz_*.rc
running=0
for t in $TARGETS; do
	corpus=$XENIDC_CACHE/fuzz/$t
	mkdir -p "$corpus"
	cp -n "$XENIDC_ROOT/tests/fuzz/corpus/$t"/* "$corpus/" 2>/dev/null
	[ $running -lt "$(nproc)" ] || { wait -n; running=$((running - 1)); }
	log "fuzz_$t for ${SECS}s"
	(cd "$B/findings" && "$B/fuzz_$t" -max_total_time="$SECS" -print_final_stats=1 \
		-timeout=30 -rss_limit_mb=2048 "$corpus" >"$B/fuzz_$t.log" 2>&1
	echo $? >"$B/fuzz_$t.rc") &
	running=$((running + 1))
done
wait
for t in $TARGETS; do
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/fuzz_$t.log")
	if [ "$(cat "$B/fuzz_$t.rc" 2>/dev/null)" = 0 ]; then
		result pass "fuzz_$t: ${execs:-?} executions in ${SECS}s, no finding"
	else
		grep -m3 -E 'ERROR|SUMMARY|abort|invariant|leak' "$B/fuzz_$t.log"
		result fail "fuzz_$t" "see $B/fuzz_$t.log and $B/findings"
	fi
done
summary fuzz
