#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# usage: vm.sh SUITE OUTDIR
# Boots Xen + dom0 under QEMU (TCG), runs tests/lab/suites/SUITE.sh in dom0,
# and leaves in OUTDIR: serial.log, results.txt (the @@LAB lines), and what
# dom0 collected (logs, fio JSON). Env: BACKEND (blkback2 | xen-blkback),
# LAB_TIMEOUT (s), QEMU_EXTRA (more QEMU arguments); the kernels, Debian's
# 6.1 or 6.12: KERNEL (both, default 6.12), LAB_DOM0 and LAB_GUEST (dom0's
# and the guest's, default KERNEL), LAB_GUESTS (every guest kernel the suite
# starts, default LAB_GUEST).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/lib.sh"
. "$HERE/lib.sh"

SUITE=$1
OUT=$2
BACKEND=${BACKEND:-blkback2}
TIMEOUT=${LAB_TIMEOUT:-1500}
LAB_DOM0=${LAB_DOM0:-${KERNEL:-6.12}}
LAB_GUEST=${LAB_GUEST:-${KERNEL:-6.12}}
LAB_GUESTS=${LAB_GUESTS:-$LAB_GUEST}
case " $LAB_GUESTS " in *" $LAB_GUEST "*) ;; *) LAB_GUESTS="$LAB_GUEST $LAB_GUESTS" ;; esac
KVER=$(lab_kver "$LAB_DOM0")
for k in $LAB_GUESTS; do lab_kver "$k" >/dev/null; done

# shellcheck disable=SC2086 # a list of kernels
BASE=$("$HERE/build.sh" "$LAB_DOM0" $LAB_GUESTS)

# A USB stick for dom0: ext2 with a random file whose sha256 both sides know.
STICK=$XENIDC_CACHE/lab/stick-v1
if [ ! -f "$STICK/stick.img" ]; then
	log "making the USB stick image"
	rm -rf "$STICK" && mkdir -p "$STICK/root"
	head -c 16M /dev/urandom >"$STICK/root/random.bin"
	(cd "$STICK/root" && sha256sum random.bin) >"$STICK/stick.sha256"
	mke2fs -q -t ext2 -L STICK -d "$STICK/root" "$STICK/stick.img" 64M
	rm -rf "$STICK/root"
fi
RUN=$XENIDC_BUILD/lab-run-$(basename "$OUT")
rm -rf "$RUN" "$OUT"
mkdir -p "$RUN/d0/lab/modules" "$RUN/d0/guest" "$OUT"
cp "$STICK/stick.img" "$RUN/stick.img" # the guest writes to it
cp "$STICK/stick.img" "$RUN/stick3.img" # a third, hot-plugged by the check suite
# A second, blank one, hot-plugged into dom0 by the suite (device_add).
truncate -s 16M "$RUN/stick2.img"

# Our modules for dom0's kernel, and the hostile
# frontend for a guest's: built against its headers, each in its own tree.
modules_for() { # K: prints the tree
	local kv src
	kv=$(lab_kver "$1")
	src=$XENIDC_BUILD/lab-modules-$kv
	mkdir -p "$src"
	rsync -a --delete --exclude .build --exclude .git "$XENIDC_ROOT/" "$src/"
	"$XENIDC_ROOT/scripts/build-modules.sh" "/usr/src/linux-headers-$kv" "$src" >"$src.log" 2>&1 ||
		{ tail -20 "$src.log" >&2; return 1; }
	echo "$src"
}
hostile_for() { # K: prints the tree
	local kv h
	kv=$(lab_kver "$1")
	h=$XENIDC_BUILD/lab-hostile-$kv
	mkdir -p "$h"
	cp "$HERE/hostile/xihostile.c" "$HERE/hostile/Kbuild" "$h/"
	make -s -C "/usr/src/linux-headers-$kv" M="$h" modules >"$h.log" 2>&1 &&
		! grep -qi warning "$h.log" || { cat "$h.log" >&2; return 1; }
	echo "$h"
}
copy_ours() { # TREE DIR
	local m
	for m in xenidc xenbus_lite blkback2 usbback; do
		[ -f "$1/$m/$m.ko" ] && cp "$1/$m/$m.ko" "$2/"
	done
	return 0
}
MODS=$(modules_for "$LAB_DOM0")
copy_ours "$MODS" "$RUN/d0/lab/modules"

cp -a "$HERE/suites" "$RUN/d0/lab/"
cp "$HERE/dom0/lib.sh" "$RUN/d0/lab/lib.sh"
cp "$HERE/guest/g.sh" "$RUN/d0/lab/g.sh" # fio_iops and the counters, for make bench
cat >"$RUN/d0/lab/config" <<CFG
SUITE=$SUITE
BACKEND=$BACKEND
LAB_DOM0=$LAB_DOM0
LAB_GUEST=$LAB_GUEST
LAB_GUESTS="$LAB_GUESTS"
LAB_DOM0_KVER=$KVER
${BENCH_REPS:+BENCH_REPS=$BENCH_REPS}
${BENCH_RUNTIME:+BENCH_RUNTIME=$BENCH_RUNTIME}
${BENCH_ONLY:+BENCH_ONLY=$BENCH_ONLY}
${BENCH_GTOD_REDUCE:+BENCH_GTOD_REDUCE=$BENCH_GTOD_REDUCE}
CFG
for v in BENCH_WHERE BENCH_WHERE_JOBS BENCH_VAR_JOBS BENCH_VARIANTS BENCH_JOBS BENCH_SWAP_DISKS BENCH_TWIN BENCH_LATS BENCH_QDISK BENCH_MATRIX_RUNTIME BENCH_VAR; do # lists: quoted for the shell
	if [ -n "${!v:-}" ]; then printf '%s=%q\n' "$v" "${!v}" >>"$RUN/d0/lab/config"; fi
done
cp "$STICK/stick.sha256" "$RUN/d0/lab/"

# Each guest kernel K in dom0's /guest/K/: vmlinuz, initrd.img (the
# guest: its frontends, xen-hcd, the hostile module, the agent), and for
# dom0's kernel dd.img (a driver domain).
# Compressed: the initramfs and its unpacked copy share the guest's memory.
for k in $LAB_GUESTS; do
	gk=$RUN/g-$k
	mkdir -p "$gk/lab/guest-modules" "$gk/lab/hostile" "$RUN/d0/guest/$k"
	cp "$BASE/xen-hcd-$k/xen-hcd.ko" "$gk/lab/guest-modules/"
	H=$(hostile_for "$k")
	cp "$H/xihostile.ko" "$gk/lab/hostile/"
	cp "$HERE/guest/g.sh" "$STICK/stick.sha256" "$gk/lab/"
	# make bench profiles the guest as well as dom0, whose root has perf
	# (cpu-clock samples: no PMU, no text patching)
	[ "$SUITE" = bench ] && copy_bin "$gk" perf
	mkcpio "$gk" "$RUN/g-$k.cpio"
	cat "$BASE/guest-$k/guest-base.cpio" "$RUN/g-$k.cpio" | gzip -1 >"$RUN/d0/guest/$k/initrd.img"
	cp "$BASE/guest-$k/vmlinuz" "$RUN/d0/guest/$k/vmlinuz"
	# dd.img: a driver domain, our modules in it, on dom0's kernel
	# (the modules built above)
	if [ "$k" = "$LAB_DOM0" ]; then
		mkdir -p "$RUN/dd/lab/modules"
		copy_ours "$MODS" "$RUN/dd/lab/modules"
		cp "$HERE/guest/dd.sh" "$RUN/dd/lab/"
		mkcpio "$RUN/dd" "$RUN/dd.cpio"
		cat "$BASE/guest-$k/guest-base.cpio" "$BASE/guest-$k/dd-ovl.cpio" "$RUN/g-$k.cpio" \
			"$RUN/dd.cpio" | gzip -1 >"$RUN/d0/guest/$k/dd.img"
		rm -rf "$RUN/dd" "$RUN/dd.cpio"
	fi
	rm -rf "$gk" "$RUN/g-$k.cpio"
done
mkcpio "$RUN/d0" "$RUN/dom0-ovl.cpio"
cat "$BASE/dom0-base.cpio" "$RUN/dom0-ovl.cpio" >"$RUN/dom0.cpio"
rm -rf "$RUN/d0"

SER=$OUT/serial.log
XEN_ARGS="console=com1 com1=115200,8n1 serial_tx_buffer=1M dom0_mem=2048M,max:2048M dom0_max_vcpus=2 loglvl=all guest_loglvl=all"
# boot: one run of the machine, its console in $SER.
boot() {
	: >"$SER"
	log "booting Xen + dom0 ($SUITE, backend $BACKEND, dom0 $LAB_DOM0, guests $LAB_GUESTS), serial: $SER"
	# qemu64: -cpu max crashes dom0 (SMAP); see ../shared/LAB.md.
	# shellcheck disable=SC2086
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu qemu64 -smp 2 -m 3072 \
		-display none -vga none -no-reboot -nodefaults ${QEMU_EXTRA:-} \
		-device qemu-xhci,id=xhci,p3=0 \
		-drive if=none,id=stick,file="$RUN/stick.img",format=raw \
		-device usb-storage,bus=xhci.0,drive=stick,id=stick0 \
		-drive if=none,id=stick2,file="$RUN/stick2.img",format=raw \
		-drive if=none,id=stick3,file="$RUN/stick3.img",format=raw \
		-monitor unix:"$RUN/monitor.sock",server=on,wait=off \
		-chardev socket,id=ser0,path="$RUN/serial.sock",server=on,wait=off,logfile="$SER" \
		-serial chardev:ser0 \
		-kernel "$BASE/xen" -append "$XEN_ARGS" \
		-initrd "$BASE/vmlinuz console=hvc0 earlyprintk=xen rdinit=/init,$RUN/dom0.cpio" &
	QPID=$!
	echo $QPID >"$RUN/qemu.pid"
	trap 'kill $QPID 2>/dev/null || true' EXIT INT TERM
	last="" hostcmds=0
	while kill -0 $QPID 2>/dev/null; do
		if grep -q '^@@LAB-DONE' "$SER" 2>/dev/null; then
			for _ in $(seq 20); do kill -0 $QPID 2>/dev/null || break; sleep 1; done
			kill $QPID 2>/dev/null || true
			break
		fi
		cur=$(grep -a -o '@@LAB-MARK [a-z].*\|@@LAB .*' "$SER" 2>/dev/null | tail -1 | tr -d '\r' || true)
		[ "$cur" != "$last" ] && { log "$cur"; last=$cur; }
		# dom0 asks the host for QEMU monitor commands (device_del mid-transfer)
		grep -a '^@@LAB-HOST ' "$SER" 2>/dev/null | tr -d '\r' | tail -n +$((hostcmds + 1)) |
			while IFS= read -r l; do
				log "monitor: ${l#@@LAB-HOST }"
				echo "${l#@@LAB-HOST }" | socat - UNIX-CONNECT:"$RUN/monitor.sock" >/dev/null 2>&1
			done || true
		hostcmds=$(grep -a -c '^@@LAB-HOST ' "$SER" 2>/dev/null || true)
		sleep 1
	done
	wait $QPID 2>/dev/null || true
	trap - EXIT INT TERM
}
boot
# Under TCG a PV kernel very rarely dies of an int3 oops while it patches its
# own text (../shared/LAB.md saw it in the guest; here it hit dom0 6 s into
# its boot). If dom0 died before its init printed anything, nothing of ours
# was loaded and nothing was tested: boot once more.
if ! grep -aq '@@LAB' "$SER"; then
	mv "$SER" "$SER.1"
	log "dom0 died before its init ran (kept in $SER.1): booting again"
	boot
fi

tr -d '\r' <"$SER" | sed -n '/^@@LAB-OUT-BEGIN/,/^@@LAB-OUT-END/p' | grep -E '^[A-Za-z0-9+/=]+$' |
	base64 -d 2>/dev/null | tar -xzf - -C "$OUT" 2>/dev/null || log "no result archive (see $SER)"
# The results: from the suite's own log in the archive when it arrived (on
# the serial console, kernel messages can split a result line), else from
# the serial console.
if [ -s "$OUT/suite.log" ]; then
	grep -a '^@@LAB ' "$OUT/suite.log" >"$OUT/results.txt" || true
	grep -a '^@@LAB-END ' "$OUT/suite.log" >"$OUT/ends.txt" || true
else
	tr -d '\r' <"$SER" | grep -a '^@@LAB ' >"$OUT/results.txt" || true
	tr -d '\r' <"$SER" | grep -a '^@@LAB-END ' >"$OUT/ends.txt" || true
fi
grep -q '^@@LAB-DONE rc=0' "$SER"
