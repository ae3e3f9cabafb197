#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The install layer: what an operator runs. make install / uninstall into a
# scratch root, the modprobe.d snippet that gives "vbd" to blkback2, and
# DKMS (add, build, install) for the installed Debian 6.12 kernel and a
# build for 6.1. Leaves nothing behind on this machine.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

K612=6.12.117+deb12-amd64
K61=6.1.0-56-amd64
ROOT=$XENIDC_BUILD/install-root
W=$XENIDC_BUILD/dkms
mkdir -p "$W"
rm -rf "$ROOT"
cd "$XENIDC_ROOT" || exit 1

# ---- make install / uninstall ----
if make -s install KVER=$K612 KDIR=$HDRS_612 INSTALL_MOD_PATH="$ROOT" >"$W/install.log" 2>&1 &&
	[ "$(find "$ROOT/lib/modules/$K612/extra" -name '*.ko*' | wc -l)" = 4 ]; then
	result pass "make install puts the four modules in extra/"
else
	tail -20 "$W/install.log"
	result fail "make install puts the four modules in extra/"
fi
deps=$(modprobe -d "$ROOT" -S $K612 --show-depends blkback2 2>&1 | awk '{print $2}' | xargs -n1 basename 2>/dev/null | tr '\n' ' ')
case $deps in
xenidc.ko*xenbus_lite.ko*blkback2.ko*) result pass "modprobe blkback2 loads xenidc and xenbus_lite first" ;;
*) result fail "modprobe blkback2 loads xenidc and xenbus_lite first" "$deps" ;;
esac

# The modprobe.d snippet: a vbd's alias finds blkback2, never xen-blkback.
inkernel=$(find /lib/modules/$K612/kernel/drivers/block -name 'xen-blkback.ko*' | head -1)
if [ -n "$inkernel" ]; then
	mkdir -p "$ROOT/lib/modules/$K612/kernel" "$ROOT/etc/modprobe.d"
	cp "$inkernel" "$ROOT/lib/modules/$K612/kernel/"
	depmod -b "$ROOT" $K612 2>/dev/null
	both=$(modprobe -d "$ROOT" -S $K612 -C "$ROOT/etc/modprobe.d" --show-depends xen-backend:vbd 2>&1)
	cp contrib/modprobe.d/xenidc-blkback2.conf "$ROOT/etc/modprobe.d/"
	ours=$(modprobe -d "$ROOT" -S $K612 -C "$ROOT/etc/modprobe.d" --show-depends xen-backend:vbd 2>&1)
	if echo "$both" | grep -q xen-blkback && ! echo "$ours" | grep -q xen-blkback &&
		echo "$ours" | grep -q blkback2; then
		result pass "with contrib/modprobe.d/xenidc-blkback2.conf, xen-backend:vbd loads blkback2, not xen-blkback"
	else
		short() { echo "$1" | sed 's|.*/||' | tr '\n' ' '; }
		result fail "with contrib/modprobe.d/xenidc-blkback2.conf, xen-backend:vbd loads blkback2, not xen-blkback" \
			"without: $(short "$both")| with: $(short "$ours")"
	fi
else
	result skip "modprobe.d snippet" "no installed $K612 kernel with xen-blkback"
fi

if make -s uninstall KVER=$K612 INSTALL_MOD_PATH="$ROOT" >>"$W/install.log" 2>&1 &&
	[ -z "$(find "$ROOT/lib/modules/$K612/extra" -name '*.ko*')" ]; then
	result pass "make uninstall removes them"
else
	result fail "make uninstall removes them"
fi

# ---- DKMS ----
V=0.0.0+check
SRC=/usr/src/xenidc-$V
cleanup() {
	dkms remove -m xenidc -v $V --all >/dev/null 2>&1
	rm -rf "$SRC"
}
cleanup
# The README's command: make dkms (copy the source, dkms add, build, install)
if [ -e /boot/vmlinuz-$K612 ]; then
	if make -s dkms DKMS_VERSION=$V KVER=$K612 >"$W/dkms.log" 2>&1 &&
		dkms status -m xenidc -v $V -k $K612 | grep -q installed &&
		modinfo -k $K612 -F depends blkback2 2>/dev/null | grep -q xenbus_lite &&
		modinfo -k $K612 -F filename blkback2 | grep -q dkms; then
		result pass "make dkms: added, built and installed for $K612 (modinfo finds it there)"
	else
		tail -20 /var/lib/dkms/xenidc/$V/build/make.log "$W/dkms.log" 2>/dev/null
		result fail "make dkms for the installed $K612 kernel"
	fi
else
	result fail "make dkms" "no installed $K612 kernel (make deps installs one)"
fi
# and a build for the other supported kernel, as dkms does on an upgrade
if dkms build -m xenidc -v $V -k $K61 >>"$W/dkms.log" 2>&1; then
	result pass "dkms build for $K61"
else
	tail -20 /var/lib/dkms/xenidc/$V/build/make.log 2>/dev/null
	result fail "dkms build for $K61"
fi
cleanup
if [ ! -e "$SRC" ] && ! modinfo -k $K612 blkback2 >/dev/null 2>&1; then
	result pass "dkms remove leaves nothing behind"
else
	result fail "dkms remove leaves nothing behind"
fi
summary dkms
