#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# usage: build.sh DOM0-KERNEL [GUEST-KERNEL...]   (kernels: 6.1, 6.12)
# Builds what the lab boots, all from Debian packages and cached under
# $XENIDC_CACHE/lab (each piece keyed by what built it):
#   debs/                 Xen 4.17, Debian's kernels, QEMU's Xen device model
#   xstage-<key>/         the Xen .debs unpacked (nothing is installed on the host)
#   kstage-<kver>-<key>/  one kernel's .deb unpacked
#   dom0-<kver>-<key>/    xen, vmlinuz, dom0-base.cpio
#   guest-<kver>-<key>/   vmlinuz, guest-base.cpio, dd-ovl.cpio (what a
#                         driver domain adds to a guest: the tool stack and
#                         the Xen device modules)
#   xen-hcd-<kver>-<key>/ a guest's PV USB frontend, built out of tree from
#                         that kernel's linux-source
# Prints a directory of links to those for this run: xen, vmlinuz,
# dom0-base.cpio, and guest-K/ and xen-hcd-K/ for each guest kernel K.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"
. "$HERE/lib.sh"

DOM0_K=$1
shift
GUEST_KS="$*"
XEN_PKGS="xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils libxenmisc4.17
 libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenstore4
 libxentoolcore1 libxentoollog1 libxenhypfs1 libyajl2 qemu-system-xen"
L=$XENIDC_CACHE/lab
mkdir -p "$L/debs"

# .debs by exact name, downloaded once
download() { # PKG...
	local p miss=""
	for p in "$@"; do ls "$L/debs/${p}_"*.deb >/dev/null 2>&1 || miss="$miss $p"; done
	[ -z "$miss" ] && return 0
	log "downloading$miss"
	# shellcheck disable=SC2086
	(cd "$L/debs" && apt-get -qq download $miss >&2 2>/dev/null || true)
	for p in $miss; do
		ls "$L/debs/${p}_"*.deb >/dev/null 2>&1 || { echo "missing .deb for $p" >&2; exit 1; }
	done
}
deb_of() { ls "$L/debs/${1}_"*.deb | tail -1; }

# 1. Xen, unpacked
# shellcheck disable=SC2086
download $XEN_PKGS
XKEY=$(cache_key "$XEN_PKGS" "$(for p in $XEN_PKGS; do basename "$(deb_of "$p")"; done)")
XSTAGE=$L/xstage-$XKEY
if [ ! -f "$XSTAGE/.done" ]; then
	log "unpacking the Xen .debs"
	rm -rf "$XSTAGE" && mkdir -p "$XSTAGE"
	for p in $XEN_PKGS; do dpkg -x "$(deb_of "$p")" "$XSTAGE"; done
	touch "$XSTAGE/.done"
fi
export LAB_STAGE=$XSTAGE LAB_LIBPATH=$XSTAGE/usr/lib/x86_64-linux-gnu

# 2. a kernel, unpacked: sets KVER, KSTAGE and KKEY for kernel $1
kernel_stage() {
	local pkg
	KVER=$(lab_kver "$1")
	pkg=linux-image-$KVER-unsigned
	download "$pkg"
	KKEY=$(cache_key "$(basename "$(deb_of "$pkg")")")
	KSTAGE=$L/kstage-$KVER-$KKEY
	if [ ! -f "$KSTAGE/.done" ]; then
		log "unpacking $pkg"
		rm -rf "$KSTAGE" && mkdir -p "$KSTAGE"
		dpkg -x "$(deb_of "$pkg")" "$KSTAGE"
		depmod -b "$KSTAGE" "$KVER"
		touch "$KSTAGE/.done"
	fi
}

# in-tree modules of $KSTAGE with their dependencies, decompressed (6.12
# ships .ko.xz, 6.1 plain .ko), then depmod
add_modules() { # ROOT MODULE...
	local root=$1 m f rel
	shift
	for m in "$@"; do
		modprobe -d "$KSTAGE" -S "$KVER" --show-depends "$m" | awk '$1=="insmod" {print $2}'
	done | sort -u | while read -r f; do
		rel=$(_usrpath "${f#"$KSTAGE"}")
		rel=${rel%.xz}
		rel=${rel%.zst}
		[ -e "$root$rel" ] && continue
		mkdir -p "$root$(dirname "$rel")"
		case $f in
		*.xz) xz -dc "$f" >"$root$rel" ;;
		*.zst) zstd -qdc "$f" >"$root$rel" ;;
		*) cp "$f" "$root$rel" ;;
		esac
	done
	mkdir -p "$root/usr/lib/modules/$KVER"
	cp "$KSTAGE/lib/modules/$KVER"/modules.{builtin,builtin.modinfo,order} "$root/usr/lib/modules/$KVER/"
	depmod -b "$root" "$KVER"
}

kmod_links() { # ROOT
	local l
	for l in modprobe insmod rmmod lsmod depmod modinfo; do
		ln -sf /usr/bin/kmod "$1/usr/bin/$l"
		ln -sf /usr/bin/kmod "$1/usr/sbin/$l"
	done
}

# the Xen tool stack (xl, xenstore, the hotplug scripts) into a root
add_toolstack() { # ROOT
	local D=$1
	copy_bin "$D" bash flock kmod dmsetup losetup blockdev /lib/x86_64-linux-gnu/libgcc_s.so.1
	mkdir -p "$D/usr/lib/xen-4.17" "$D/etc" "$D/usr/lib/x86_64-linux-gnu"
	cp -a "$XSTAGE/usr/lib/xen-4.17/." "$D/usr/lib/xen-4.17/"
	cp -a "$XSTAGE/etc/xen" "$D/etc/"
	cp -a "$XSTAGE"/usr/lib/x86_64-linux-gnu/lib{xen,yajl}* "$D/usr/lib/x86_64-linux-gnu/"
	cp -a "$XSTAGE"/usr/bin/xenstore* "$D/usr/bin/"
	copy_libs "$D" "$D"/usr/lib/xen-4.17/bin/* "$D"/usr/bin/xenstore
}

# 3. dom0's root for kernel $DOM0_K. Changing this script, lib.sh or the
# init rebuilds it.
kernel_stage "$DOM0_K"
FIO=$(fio --version)
DKEY=$(cache_key "$HERE/lib.sh" "$0" "$HERE/dom0/init" "$XKEY" "$KKEY" "$FIO")
DOM0=$L/dom0-$KVER-$DKEY
if [ ! -f "$DOM0/.done" ]; then
	log "building dom0's root filesystem ($KVER)"
	T=$DOM0.tmp
	rm -rf "$T" && mkdir -p "$T"
	D=$T/root
	new_root "$D"
	add_toolstack "$D"
	copy_bin "$D" fio sha256sum perf
	kmod_links "$D"
	mkdir -p "$D/usr/libexec"
	cp "$XSTAGE/usr/libexec/xen-qemu-system-i386" "$D/usr/libexec/"
	copy_libs "$D" "$D/usr/libexec/xen-qemu-system-i386"
	mkdir -p "$D/usr/share/qemu" && cp -a /usr/share/qemu/keymaps "$D/usr/share/qemu/" 2>/dev/null || true
	add_modules "$D" xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs xen-blkback null_blk \
		loop dm-mod dm-flakey dm-delay xhci-pci usb-storage sd_mod uas ext4
	install -m755 "$HERE/dom0/init" "$D/init"
	mkcpio "$D" "$T/dom0-base.cpio"
	rm -rf "$D"
	zcat "$XSTAGE"/boot/xen-4.17-amd64.gz >"$T/xen"
	cp "$KSTAGE/boot/vmlinuz-$KVER" "$T/vmlinuz"
	touch "$T/.done"
	rm -rf "$DOM0" && mv "$T" "$DOM0"
fi

# 4. a guest's root for each guest kernel
GUEST_MODULES="xen-blkfront ext4 usb-storage sd_mod"
guest_root() { # K: sets GUEST
	kernel_stage "$1"
	local key T G
	key=$(cache_key "$HERE/lib.sh" "$0" "$HERE/guest/init" "$XKEY" "$KKEY" "$FIO")
	GUEST=$L/guest-$KVER-$key
	[ -f "$GUEST/.done" ] && return 0
	log "building the guest's root filesystem ($KVER)"
	T=$GUEST.tmp
	rm -rf "$T" && mkdir -p "$T"
	G=$T/root
	new_root "$G"
	copy_bin "$G" bash kmod fio mke2fs /lib/x86_64-linux-gnu/libgcc_s.so.1
	copy_bin "$G" "$XSTAGE"/usr/bin/xenstore-read "$XSTAGE"/usr/bin/xenstore-write
	kmod_links "$G"
	ln -sf /usr/sbin/mke2fs "$G/usr/sbin/mkfs.ext4"
	add_modules "$G" $GUEST_MODULES
	install -m755 "$HERE/guest/init" "$G/init"
	mkcpio "$G" "$T/guest-base.cpio"
	rm -rf "$G"
	# a driver domain runs xl devd and the hotplug scripts, and reaches
	# xenstore and grants through the Xen device modules; a USB gadget
	# on dummy_hcd is its USB device
	# (its modules.dep replaces the guest's: the guest's modules go in too)
	G=$T/dd
	mkdir -p "$G/usr/lib"
	ln -s usr/lib "$G/lib"
	add_toolstack "$G"
	rm -rf "$G/usr/lib/xen-4.17/boot" # HVM firmware and the PVH shim
	add_modules "$G" $GUEST_MODULES \
		xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs \
		dummy_hcd libcomposite usb_f_mass_storage configfs
	mkcpio "$G" "$T/dd-ovl.cpio"
	rm -rf "$G"
	cp "$KSTAGE/boot/vmlinuz-$KVER" "$T/vmlinuz"
	touch "$T/.done"
	rm -rf "$GUEST" && mv "$T" "$GUEST"
}

# 5. xen-hcd.ko for a guest kernel: Debian's kernels do not build it. From
# that kernel's own linux-source package (make deps installs both).
xen_hcd() { # K: sets HCD
	local src=linux-source-$1 srcver
	KVER=$(lab_kver "$1")
	srcver=$(dpkg-query -W -f='${Version}' "$src") ||
		{ echo "$src is not installed (make deps)" >&2; exit 1; }
	HCD=$L/xen-hcd-$KVER-$(cache_key "$srcver" "$KVER")
	[ -f "$HCD/xen-hcd.ko" ] && return 0
	log "building xen-hcd.ko for $KVER out of tree ($src $srcver)"
	rm -rf "$HCD" && mkdir -p "$HCD"
	tar -xJf "/usr/src/$src.tar.xz" -C "$HCD" --strip-components=4 \
		"$src/drivers/usb/host/xen-hcd.c"
	echo 'obj-m := xen-hcd.o' >"$HCD/Kbuild"
	make -s -C "/usr/src/linux-headers-$KVER" M="$HCD" modules >"$HCD/build.log" 2>&1 ||
		{ cat "$HCD/build.log" >&2; exit 1; }
}

# 6. this run's links
RUNKEY=$(cache_key "$DOM0" "$GUEST_KS")
R=$L/run-$RUNKEY
rm -rf "$R.tmp" && mkdir -p "$R.tmp"
ln -s "$DOM0/xen" "$DOM0/vmlinuz" "$DOM0/dom0-base.cpio" "$R.tmp/"
for k in $GUEST_KS; do
	guest_root "$k"
	xen_hcd "$k"
	ln -s "$GUEST" "$R.tmp/guest-$k"
	ln -s "$HCD" "$R.tmp/xen-hcd-$k"
done
rm -rf "$R" && mv "$R.tmp" "$R"
echo "$R"
