# SPDX-License-Identifier: GPL-2.0-only
#
# Shared helpers for the check layers. A layer reports each test with
# result(), then summary() prints its counts in the form check.sh adds up:
#   LAYER <name>: N passed, N failed, N skipped

XENIDC_ROOT=${XENIDC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
XENIDC_CACHE=${XENIDC_CACHE:-/var/cache/xenidc}
XENIDC_BUILD=${XENIDC_BUILD:-$XENIDC_ROOT/.build}
mkdir -p "$XENIDC_BUILD" # a fresh clone has none; make lab and bench start here
# The kernel header trees the modules are built against (scripts/deps.sh).
HDRS_61=/usr/src/linux-headers-6.1.0-56-amd64
HDRS_612=/usr/src/linux-headers-6.12.117+deb12-amd64

_passed=0 _failed=0 _skipped=0

# result pass|fail|skip NAME [DETAIL]
result() {
	case $1 in
	pass) _passed=$((_passed + 1)); echo "ok - $2" ;;
	fail) _failed=$((_failed + 1)); echo "not ok - $2${3:+: $3}" ;;
	skip) _skipped=$((_skipped + 1)); echo "ok - $2 # SKIP ${3:-}" ;;
	esac
}

# add_counts P F S: fold in counts reported by a sub-runner.
add_counts() {
	_passed=$((_passed + $1)); _failed=$((_failed + $2)); _skipped=$((_skipped + $3))
}

summary() {
	echo "LAYER $1: $_passed passed, $_failed failed, $_skipped skipped"
	[ "$_failed" = 0 ]
}

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# A stable hash of files and strings, for cache keys.
cache_key() {
	local x
	for x in "$@"; do
		if [ -f "$x" ]; then sha256sum < "$x"; else printf '%s\n' "$x"; fi
	done | sha256sum | cut -c1-16
}
