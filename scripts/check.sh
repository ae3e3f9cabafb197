#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check: runs every test layer and ends with one line
#   N passed, N failed, N skipped
# summing them all. Exit status is non-zero if anything failed.
# LAYERS="build host" runs a subset.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

ALL="build host kunit"
[ -x "$XENIDC_ROOT/tests/fuzz/run.sh" ] && ALL="$ALL fuzz"
[ -x "$XENIDC_ROOT/tests/dkms/run.sh" ] && ALL="$ALL dkms"
[ -x "$XENIDC_ROOT/tests/lab/check.sh" ] && ALL="$ALL lab"
LAYERS=${LAYERS:-$ALL}

declare -A RUNNER=(
	[build]=scripts/build-layer.sh
	[host]=tests/host/run.sh
	[kunit]=tests/kunit/run.sh
	[fuzz]=tests/fuzz/run.sh
	[dkms]=tests/dkms/run.sh
	[lab]=tests/lab/check.sh
)

mkdir -p "$XENIDC_BUILD/check"
P=0 F=0 S=0
T0=$(date +%s)
for layer in $LAYERS; do
	out=$XENIDC_BUILD/check/$layer.log
	t=$(date +%s)
	log "layer $layer ..."
	"$XENIDC_ROOT/${RUNNER[$layer]}" 2>&1 | tee "$out" | grep -E '^not ok|^LAYER|^metric: ' || true
	line=$(grep -E '^LAYER ' "$out" | tail -1)
	if [[ $line =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
		P=$((P + BASH_REMATCH[1])) F=$((F + BASH_REMATCH[2])) S=$((S + BASH_REMATCH[3]))
	else
		echo "not ok - layer $layer did not report (see $out)"
		F=$((F + 1))
	fi
	log "layer $layer done in $(($(date +%s) - t)) s"
done
log "all layers done in $(($(date +%s) - T0)) s; details in $XENIDC_BUILD/check/"
echo "$P passed, $F failed, $S skipped"
[ "$F" = 0 ]
