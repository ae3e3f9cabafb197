#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# usage: dkms-source.sh DEST [VERSION]
# Copies what DKMS needs to build the modules (no tests, no build output)
# into DEST, e.g. /usr/src/xenidc-0.1.0, optionally renaming the version.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
dest=$1
rm -rf "$dest"
mkdir -p "$dest/scripts"
cp "$src/Kbuild" "$src/dkms.conf" "$dest/"
cp "$src/scripts/cxx.mk" "$src/scripts/cxx-exports.sh" "$dest/scripts/"
for d in include xenidc xenbus_lite blkback2 usbback; do
	(cd "$src" && find "$d" \( -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name Kbuild \) \
		-not -name exports.c -print) |
		while read -r f; do mkdir -p "$dest/$(dirname "$f")" && cp "$src/$f" "$dest/$f"; done
done
if [ $# -gt 1 ]; then
	sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$2\"/" "$dest/dkms.conf"
fi
