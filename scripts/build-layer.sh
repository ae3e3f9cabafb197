#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The build layer: the modules against Debian 12's 6.1 and 6.12 kernel
# headers, each in its own copy of the tree, with zero warnings and no
# constructor or exception sections. (The KUnit layer adds the third tree.)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

for kdir in "$HDRS_61" "$HDRS_612"; do
	tag=$(basename "$kdir" | sed 's/^linux-headers-//')
	if [ ! -d "$kdir" ]; then
		result fail "modules build against $tag" "$kdir missing (make deps)"
		continue
	fi
	src=$XENIDC_BUILD/modules-$tag
	mkdir -p "$src"
	rsync -a --delete --exclude .build --exclude .git "$XENIDC_ROOT/" "$src/"
	if "$XENIDC_ROOT/scripts/build-modules.sh" "$kdir" "$src" >"$src.log" 2>&1; then
		result pass "modules build against $tag: no warnings, no forbidden sections"
	else
		grep -iE 'warning|error|forbidden' "$src.log" | head -20
		result fail "modules build against $tag: no warnings, no forbidden sections"
	fi
	for m in xenidc xenbus_lite blkback2 usbback; do
		ko=$src/$m/$m.ko
		[ -f "$ko" ] || continue
		deps=$(modinfo -F depends "$ko")
		case $m in
		xenidc) want="" ;;
		xenbus_lite) want="xenidc" ;;
		*) want="xenidc,xenbus_lite" ;;
		esac
		# modinfo lists dependencies in any order
		if [ "$(echo "$deps" | tr ',' '\n' | grep -E '^(xenidc|xenbus_lite)$' | sort | paste -sd,)" = "$(echo "$want" | tr ',' '\n' | sort | paste -sd,)" ]; then
			result pass "$m.ko ($tag) depends on: ${want:-nothing of ours}"
		else
			result fail "$m.ko ($tag) depends on: ${want:-nothing of ours}" "modinfo says '$deps'"
		fi
	done
done
summary build
