#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The install layer: what an operator runs. make install / uninstall into a
# scratch root, the modprobe.d snippet that gives "vbd" to blkback2, and
# DKMS (add, build, install) for the installed Debian 6.12 kernel and a
# build for 6.1, and the Debian package (make deb, apt install, remove,
# purge) with DKMS building for both. Leaves nothing behind on this machine.
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
# The package's version is the real one (dkms.conf), so it never meets $V.
PV=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
PKG=xenidc-dkms
CONF=/etc/modprobe.d/xenidc-blkback2.conf
APT=(apt-get -y -q -o DPkg::Lock::Timeout=300)
export DEBIAN_FRONTEND=noninteractive
pkg_ours=""  # set once the package is ours to purge
# $K61 has headers but no kernel: installing modules for it makes depmod
# write indexes there, which outlive the modules. They are ours to take back.
k61_ls() { find "/lib/modules/$K61" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | LC_ALL=C sort; }
k61_before=$(k61_ls)
k61_tidy() {
	local d=/lib/modules/$K61 f
	[ -n "$(find "$d" -name '*.ko*' 2>/dev/null)" ] && return 0
	for f in $(LC_ALL=C comm -13 <(echo "$k61_before") <(k61_ls)); do
		case $f in
		modules.*) rm -f "${d:?}/$f" ;;
		updates) find "$d/updates" -depth -type d -empty -delete ;;
		esac
	done
}
pkg_cleanup() {
	[ -n "$pkg_ours" ] || return 0
	"${APT[@]}" purge $PKG >/dev/null 2>&1
	dkms remove -m xenidc -v "$PV" --all >/dev/null 2>&1
	rm -rf "/usr/src/xenidc-$PV"
	k61_tidy
	pkg_ours=""
}
trap 'cleanup; pkg_cleanup' EXIT
trap 'exit 130' INT TERM
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

# ---- the Debian package: make deb, apt install, remove, purge ----
DEB=$XENIDC_ROOT/.build/deb/${PKG}_${PV}_all.deb
KOS="xenidc xenbus_lite blkback2 usbback"
# the four modules DKMS put in updates/dkms for kernel $1
kos() { for m in $KOS; do ls "/lib/modules/$1/updates/dkms/$m".ko* 2>/dev/null; done; }
pkg_state() { dpkg-query -W -f='${db:Status-Abbrev}' $PKG 2>/dev/null | tr -d ' '; }
rm -f "$DEB"
make -s deb >"$W/deb.log" 2>&1
files=$(dpkg-deb -c "$DEB" 2>/dev/null | awk '{print $6}')
if [ "$(dpkg-deb -f "$DEB" Version 2>/dev/null)" = "$PV" ] &&
	grep -qx "./usr/src/xenidc-$PV/dkms.conf" <<<"$files" &&
	grep -qx "./usr/src/xenidc-$PV/blkback2/Kbuild" <<<"$files" &&
	grep -qx ".$CONF" <<<"$files"; then
	result pass "make deb builds ${PKG}_${PV}_all.deb (source in /usr/src/xenidc-$PV, $CONF)"
else
	tail -20 "$W/deb.log"
	result fail "make deb builds ${PKG}_${PV}_all.deb" "see $W/deb.log"
fi

# lintian: every finding shown; an error that no override explains fails
if [ -f "$DEB" ] && command -v lintian >/dev/null; then
	lintian --display-info --pedantic --show-overrides "$DEB" 2>&1 |
		grep -v '^running with root privileges' >"$W/lintian.log"
	grep -E '^[EWIPXO]: ' "$W/lintian.log" | sed 's/^/metric: lintian: /'
	n_e=$(grep -c '^E: ' "$W/lintian.log") n_w=$(grep -c '^W: ' "$W/lintian.log")
	n_o=$(grep -c '^O: ' "$W/lintian.log") n_ip=$(grep -c '^[IPX]: ' "$W/lintian.log")
	counts="$n_e errors, $n_w warnings, $n_ip info/pedantic/experimental, $n_o overridden"
	if [ "$n_e" = 0 ]; then
		result pass "lintian $PKG: $counts"
	else
		result fail "lintian $PKG: $counts" "see $W/lintian.log"
	fi
else
	result fail "lintian $PKG" "no .deb, or no lintian (make deps installs it)"
fi

# Never someone else's: a package, a DKMS tree or the snippet already here.
already=""
[ -n "$(pkg_state)" ] && [ "$(pkg_state)" != un ] && already="$already $PKG ($(pkg_state))"
for f in /usr/src/xenidc-$PV /var/lib/dkms/xenidc/$PV $CONF; do
	[ -e "$f" ] && already="$already $f"
done
for k in $K612 $K61; do [ -n "$(kos "$k")" ] && already="$already xenidc modules in $k/updates/dkms"; done
# what purge must come back to (a clean machine: nothing)
xenidc_here() { ls -d /usr/src/xenidc-* /var/lib/dkms/xenidc/* 2>/dev/null; dkms status -m xenidc 2>/dev/null; }
before=$(xenidc_here)
if [ -n "$already" ]; then
	result skip "the Debian package: apt install, remove, purge" "this machine already has$already: not ours to remove"
elif [ ! -f "$DEB" ]; then
	result fail "the Debian package: apt install, remove, purge" "no $DEB"
else
	pkg_ours=1
	if "${APT[@]}" install "$DEB" >"$W/apt-install.log" 2>&1 && [ "$(pkg_state)" = ii ]; then
		result pass "apt-get install ./${PKG}_${PV}_all.deb"
	else
		tail -30 "$W/apt-install.log"
		result fail "apt-get install ./${PKG}_${PV}_all.deb" "see $W/apt-install.log"
	fi
	# What the postinst (dkms's common.postinst) chose to build for, as it says.
	built_for=$(grep -m1 '^Building for ' "$W/apt-install.log" | sed 's/^Building for //')
	for k in $K612 $K61; do
		if dkms status -m xenidc -v "$PV" -k "$k" 2>/dev/null | grep -q ': installed' &&
			[ "$(kos "$k" | wc -l)" = 4 ]; then
			result pass "apt install: DKMS built and installed the four modules for $k (postinst built for: $built_for)"
		else
			# Not by the package: by hand, as the postinst would have, and said so.
			if dkms install -m xenidc -v "$PV" -k "$k" >>"$W/apt-install.log" 2>&1 &&
				[ "$(kos "$k" | wc -l)" = 4 ]; then
				result pass "DKMS built the package's source for $k, by hand (dkms install -k $k): the postinst built only for: $built_for"
			else
				tail -20 "/var/lib/dkms/xenidc/$PV/build/make.log" 2>/dev/null
				result fail "DKMS builds the modules for $k from the package" "$(dkms status -m xenidc -v "$PV" 2>&1 | tr '\n' ' ')"
			fi
		fi
	done
	if dpkg-query -W -f='${Conffiles}\n' $PKG | grep -q "^ $CONF " &&
		cmp -s $CONF contrib/modprobe.d/xenidc-blkback2.conf; then
		result pass "$CONF is installed, a conffile of $PKG"
	else
		result fail "$CONF is installed, a conffile of $PKG" "$(dpkg-query -W -f='${Conffiles}' $PKG 2>&1 | tr '\n' ' ')"
	fi
	# The installed system, not a scratch root: a vbd loads DKMS's blkback2.
	vbd=$(modprobe -S $K612 --show-depends xen-backend:vbd 2>&1)
	if echo "$vbd" | grep -q "/lib/modules/$K612/updates/dkms/blkback2.ko" &&
		! echo "$vbd" | grep -q xen-blkback; then
		result pass "installed: xen-backend:vbd loads updates/dkms/blkback2 for $K612, not xen-blkback"
	else
		result fail "installed: xen-backend:vbd loads updates/dkms/blkback2 for $K612" "$(echo "$vbd" | sed 's|.*/||' | tr '\n' ' ')"
	fi

	# remove: the modules and the source go; the conffile stays, as dpkg keeps
	# every conffile until a purge
	"${APT[@]}" remove $PKG >"$W/apt-remove.log" 2>&1
	left=""
	[ "$(pkg_state)" = rc ] || left="$left package state $(pkg_state)"
	[ -z "$(dkms status -m xenidc -v "$PV" 2>/dev/null)" ] || left="$left dkms entry"
	[ -e "/usr/src/xenidc-$PV" ] && left="$left /usr/src/xenidc-$PV"
	for k in $K612 $K61; do [ -n "$(kos "$k")" ] && left="$left modules for $k"; done
	if [ -z "$left" ] && [ -e $CONF ]; then
		result pass "apt-get remove: dkms entry, source and modules gone ($CONF stays until purge)"
	else
		result fail "apt-get remove: dkms entry, source and modules gone" "left:$left"
	fi
	# purge: nothing at all
	"${APT[@]}" purge $PKG >"$W/apt-purge.log" 2>&1
	left=""
	[ -n "$(pkg_state)" ] && [ "$(pkg_state)" != un ] && left="$left package state $(pkg_state)"
	[ "$(xenidc_here)" = "$before" ] || left="$left $(xenidc_here | tr '\n' ' ')"
	for k in $K612 $K61; do [ -n "$(kos "$k")" ] && left="$left modules for $k"; done
	[ -e $CONF ] && left="$left $CONF"
	modinfo -k $K612 blkback2 >/dev/null 2>&1 && left="$left modinfo finds blkback2"
	if [ -z "$left" ]; then
		result pass "apt-get purge $PKG leaves nothing: no dkms entry, /usr/src/xenidc-*, modules or $CONF"
	else
		tail -20 "$W/apt-purge.log"
		result fail "apt-get purge $PKG leaves nothing" "left:$left"
	fi
	pkg_cleanup
	# the layer's own tidiness, not the package's: no result unless it failed
	[ "$(k61_ls)" = "$k61_before" ] ||
		result fail "the layer leaves /lib/modules/$K61 as it found it" "$(k61_ls | tr '\n' ' ')"
fi
summary dkms
