#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Builds what the lab boots, all from Debian packages and cached under
# $XENIDC_CACHE/lab (keyed by what built it):
#   debs/           Xen 4.17, Debian's 6.12 kernel, QEMU's Xen device model
#   stage-<key>/    those .debs unpacked (nothing is installed on the host)
#   base-<key>/     xen, vmlinuz, dom0-base.cpio, guest-base.cpio
#   xen-hcd-<key>/  the guest's PV USB frontend, built out of tree
# Prints the base directory.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"
. "$HERE/lib.sh"

KVER=6.12.117+deb12-amd64
KPKG=linux-image-$KVER-unsigned
XEN_PKGS="xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils libxenmisc4.17
 libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenstore4
 libxentoolcore1 libxentoollog1 libxenhypfs1 libyajl2 qemu-system-xen"
L=$XENIDC_CACHE/lab
mkdir -p "$L/debs"

# 1. the .debs, by exact name
DEBKEY=$(cache_key "$XEN_PKGS $KPKG")
if [ ! -f "$L/debs/.done-$DEBKEY" ]; then
	log "downloading Xen and kernel .debs"
	(cd "$L/debs" && apt-get -qq download $XEN_PKGS "$KPKG" >&2 2>/dev/null || true)
	for p in $XEN_PKGS $KPKG; do
		ls "$L/debs/${p}_"*.deb >/dev/null 2>&1 || { echo "missing .deb for $p" >&2; exit 1; }
	done
	touch "$L/debs/.done-$DEBKEY"
fi

# 2. unpacked
STAGE=$L/stage-$DEBKEY
if [ ! -f "$STAGE/.done" ]; then
	log "unpacking .debs"
	rm -rf "$STAGE" && mkdir -p "$STAGE"
	for p in $XEN_PKGS $KPKG; do dpkg -x "$(ls "$L/debs/${p}_"*.deb | tail -1)" "$STAGE"; done
	depmod -b "$STAGE" "$KVER"
	touch "$STAGE/.done"
fi
export LAB_STAGE=$STAGE LAB_LIBPATH=$STAGE/usr/lib/x86_64-linux-gnu

# in-tree modules with their dependencies, decompressed, then depmod
add_modules() { # ROOT MODULE...
	local root=$1 m f rel
	shift
	for m in "$@"; do
		modprobe -d "$STAGE" -S "$KVER" --show-depends "$m" | awk '$1=="insmod" {print $2}'
	done | sort -u | while read -r f; do
		rel=$(_usrpath "${f#"$STAGE"}")
		rel=${rel%.xz}
		[ -e "$root$rel" ] && continue
		mkdir -p "$root$(dirname "$rel")"
		xz -dc "$f" >"$root$rel"
	done
	mkdir -p "$root/usr/lib/modules/$KVER"
	cp "$STAGE/lib/modules/$KVER"/modules.{builtin,builtin.modinfo,order} "$root/usr/lib/modules/$KVER/"
	depmod -b "$root" "$KVER"
}

# 3. the base roots. Changing this script, lib.sh or an init rebuilds them.
KEY=$(cache_key "$HERE/lib.sh" "$0" "$HERE/dom0/init" "$HERE/guest/init" "$DEBKEY" "$(fio --version)")
BASE=$L/base-$KEY
if [ ! -f "$BASE/.done" ]; then
	log "building the lab's root filesystems"
	T=$BASE.tmp
	rm -rf "$T" && mkdir -p "$T"
	G=$T/guest D=$T/dom0

	new_root "$G"
	copy_bin "$G" bash kmod fio mke2fs /lib/x86_64-linux-gnu/libgcc_s.so.1
	copy_bin "$G" "$STAGE"/usr/bin/xenstore-read "$STAGE"/usr/bin/xenstore-write
	for l in modprobe insmod rmmod lsmod depmod modinfo; do
		ln -sf /usr/bin/kmod "$G/usr/bin/$l"
		ln -sf /usr/bin/kmod "$G/usr/sbin/$l"
	done
	ln -sf /usr/sbin/mke2fs "$G/usr/sbin/mkfs.ext4"
	add_modules "$G" xen-blkfront ext4 usb-storage sd_mod
	install -m755 "$HERE/guest/init" "$G/init"
	mkcpio "$G" "$T/guest-base.cpio"

	new_root "$D"
	copy_bin "$D" bash flock kmod fio dmsetup losetup blockdev sha256sum perf \
		/lib/x86_64-linux-gnu/libgcc_s.so.1
	for l in modprobe insmod rmmod lsmod depmod modinfo; do
		ln -sf /usr/bin/kmod "$D/usr/bin/$l"
		ln -sf /usr/bin/kmod "$D/usr/sbin/$l"
	done
	mkdir -p "$D/usr/lib/xen-4.17" "$D/etc" "$D/usr/lib/x86_64-linux-gnu" "$D/usr/libexec"
	cp -a "$STAGE/usr/lib/xen-4.17/." "$D/usr/lib/xen-4.17/"
	cp -a "$STAGE/etc/xen" "$D/etc/"
	cp -a "$STAGE"/usr/lib/x86_64-linux-gnu/lib{xen,yajl}* "$D/usr/lib/x86_64-linux-gnu/"
	cp -a "$STAGE"/usr/bin/xenstore* "$D/usr/bin/"
	cp "$STAGE/usr/libexec/xen-qemu-system-i386" "$D/usr/libexec/"
	copy_libs "$D" "$D"/usr/lib/xen-4.17/bin/* "$D"/usr/bin/xenstore "$D/usr/libexec/xen-qemu-system-i386"
	mkdir -p "$D/usr/share/qemu" && cp -a /usr/share/qemu/keymaps "$D/usr/share/qemu/" 2>/dev/null || true
	add_modules "$D" xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-blkback null_blk \
		loop dm-mod dm-flakey dm-delay xhci-pci usb-storage sd_mod uas ext4
	install -m755 "$HERE/dom0/init" "$D/init"
	mkdir -p "$D/guest"
	cp "$STAGE/boot/vmlinuz-$KVER" "$D/guest/vmlinuz"
	mkcpio "$D" "$T/dom0-base.cpio"

	zcat "$STAGE"/boot/xen-4.17-amd64.gz >"$T/xen"
	cp "$STAGE/boot/vmlinuz-$KVER" "$T/vmlinuz"
	touch "$T/.done"
	rm -rf "$BASE" && mv "$T" "$BASE"
fi

# 4. xen-hcd.ko for the guest: Debian's kernels do not build it
SRCVER=$(dpkg-query -W -f='${Version}' linux-source-6.12)
HKEY=$(cache_key "$SRCVER" "$KVER")
HCD=$L/xen-hcd-$HKEY
if [ ! -f "$HCD/xen-hcd.ko" ]; then
	log "building xen-hcd.ko out of tree"
	rm -rf "$HCD" && mkdir -p "$HCD"
	tar -xJf /usr/src/linux-source-6.12.tar.xz -C "$HCD" --strip-components=4 \
		linux-source-6.12/drivers/usb/host/xen-hcd.c
	echo 'obj-m := xen-hcd.o' >"$HCD/Kbuild"
	make -s -C "/usr/src/linux-headers-$KVER" M="$HCD" modules >"$HCD/build.log" 2>&1 ||
		{ cat "$HCD/build.log" >&2; exit 1; }
fi
ln -sfn "$HCD" "$BASE/xen-hcd"
echo "$BASE"
