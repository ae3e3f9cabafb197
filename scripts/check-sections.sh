#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# usage: check-sections.sh DIR
# Fails if a built module has sections the kernel never processes for
# modules: constructors (.init_array, .ctors and their fini twins) and C++
# exception tables (.eh_frame, .gcc_except_table).
set -eu
bad=0
n=0
for ko in $(find "$1" -path "$1/.build" -prune -o -name '*.ko' -print); do
	n=$((n + 1))
	s=$(readelf -SW "$ko" | grep -oE '\.(init_array|fini_array|ctors|dtors|eh_frame|gcc_except_table)' | sort -u | tr '\n' ' ')
	if [ -n "$s" ]; then
		echo "$ko: forbidden sections: $s" >&2
		bad=1
	fi
done
[ $n -gt 0 ] || { echo "check-sections: no .ko under $1" >&2; exit 1; }
exit $bad
