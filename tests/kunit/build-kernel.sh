#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds the KUnit kernel from Debian's linux-source-6.12: tinyconfig plus
# tests/kunit/kernel.config. Cached under $XENIDC_CACHE/kunit-kernel-<key>,
# keyed by the fragment, this script, the source package and the compiler,
# so a second run does nothing. Prints the build directory on stdout.
set -euo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

FRAG=$XENIDC_ROOT/tests/kunit/kernel.config
SRCVER=$(dpkg-query -W -f='${Version}' linux-source-6.12)
KEY=$(cache_key "$FRAG" "$0" "$SRCVER" "$(gcc --version | head -1)")
OUT=$XENIDC_CACHE/kunit-kernel-$KEY
SRC=$XENIDC_CACHE/src/linux-source-6.12-$SRCVER

if [ -f "$OUT/.done" ]; then
	echo "$OUT/build"
	exit 0
fi
if [ ! -f "$SRC/.done" ]; then
	log "unpacking linux-source-6.12 $SRCVER"
	rm -rf "$SRC" "$SRC.tmp"
	mkdir -p "$SRC.tmp"
	tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$SRC.tmp" --strip-components=1
	mv "$SRC.tmp" "$SRC"
	touch "$SRC/.done"
fi

log "building the KUnit kernel in $OUT (cold: ~10 min on 2 cores)"
rm -rf "$OUT"
mkdir -p "$OUT/build"
B=$OUT/build
make -s -C "$SRC" O="$B" tinyconfig
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$B" "$B/.config" "$FRAG" >/dev/null
make -s -C "$SRC" O="$B" olddefconfig
# Every option of the fragment must have survived olddefconfig.
missing=0
while IFS= read -r line; do
	case $line in CONFIG_*=n) k=${line%=n}; grep -q "^$k=" "$B/.config" && { echo "kept: $line" >&2; missing=1; } ;;
	CONFIG_*) grep -qx "$line" "$B/.config" || { echo "not applied: $line" >&2; missing=1; } ;; esac
done < "$FRAG"
[ $missing = 0 ] || { echo "kernel.config does not apply cleanly to $SRCVER" >&2; exit 1; }

export CCACHE_DIR=$XENIDC_CACHE/ccache
CC="gcc"
command -v ccache >/dev/null && CC="ccache gcc"
nice make -s -C "$SRC" O="$B" -j"$(nproc)" CC="$CC" bzImage modules >"$OUT/build.log" 2>&1 ||
	{ tail -30 "$OUT/build.log" >&2; exit 1; }
touch "$OUT/.done"
log "KUnit kernel ready"
echo "$B"
