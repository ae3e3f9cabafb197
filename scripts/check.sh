#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check: runs every test layer and ends with one line
#   N passed, N failed, N skipped
# summing them all. Exit status is non-zero if anything failed.
# LAYERS="build host" runs a subset.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# Every layer, always: a runner that is missing fails, it does not vanish.
LAYERS=${LAYERS:-build host kunit fuzz dkms lab lab61}

declare -A RUNNER=(
	[build]=scripts/build-layer.sh
	[host]=tests/host/run.sh
	[kunit]=tests/kunit/run.sh
	[fuzz]=tests/fuzz/run.sh
	[dkms]=tests/dkms/run.sh
	[lab]=tests/lab/check.sh
	[lab61]=tests/lab/check61.sh
)

mkdir -p "$XENIDC_BUILD/check"
P=0 F=0 S=0
T0=$(date +%s)
for layer in $LAYERS; do
	out=$XENIDC_BUILD/check/$layer.log
	t=$(date +%s)
	log "layer $layer ..."
	runner=$XENIDC_ROOT/${RUNNER[$layer]:-no-such-layer}
	if [ ! -x "$runner" ]; then
		echo "not ok - layer $layer: no runner ($runner)"
		F=$((F + 1))
		continue
	fi
	"$runner" 2>&1 | tee "$out" | grep -E '^not ok|^LAYER|^metric: '
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^LAYER ' "$out" | tail -1)
	if [[ $line =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
		P=$((P + BASH_REMATCH[1])) F=$((F + BASH_REMATCH[2])) S=$((S + BASH_REMATCH[3]))
		# a runner that reports no failure but exits non-zero (a sanitizer
		# at exit, a crash after the counts) failed too
		if [ "$rc" != 0 ] && [ "${BASH_REMATCH[2]}" = 0 ]; then
			echo "not ok - layer $layer exited $rc after reporting no failure (see $out)"
			F=$((F + 1))
		fi
	else
		echo "not ok - layer $layer did not report, exit $rc (see $out)"
		F=$((F + 1))
	fi
	log "layer $layer done in $(($(date +%s) - t)) s"
done
log "all layers done in $(($(date +%s) - T0)) s; details in $XENIDC_BUILD/check/"
echo "$P passed, $F failed, $S skipped"
[ "$F" = 0 ]
