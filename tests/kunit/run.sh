#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The KUnit layer: builds (or reuses) the KUnit kernel, builds the modules
# and the KUnit suites against it, boots it under QEMU (TCG) with them in an
# initramfs, and turns the console into test results. Any failed case, KASAN
# or kmemleak report, oops or WARN fails the layer.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

KB=$("$XENIDC_ROOT/tests/kunit/build-kernel.sh") || { result fail "KUnit kernel builds"; summary kunit; exit 1; }
result pass "KUnit kernel builds (cached in $(dirname "$KB"))"

SRC=$XENIDC_BUILD/kunit-src
mkdir -p "$SRC"
rsync -a --delete --exclude .build --exclude .git "$XENIDC_ROOT/" "$SRC/"
if XENIDC_TEST=y "$XENIDC_ROOT/scripts/build-modules.sh" "$KB" "$SRC" >"$XENIDC_BUILD/kunit-modules.log" 2>&1; then
	result pass "modules build against the KUnit kernel without warnings"
else
	tail -20 "$XENIDC_BUILD/kunit-modules.log"
	result fail "modules build against the KUnit kernel without warnings"
	summary kunit
	exit 1
fi

# initramfs: busybox, our modules, the suites, in-tree modules they need
ROOT=$XENIDC_BUILD/kunit-root
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,proc,sys,dev,tmp,modules/kunit,modules/kernel}
cp /bin/busybox "$ROOT/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$ROOT/bin/$a"; done
install -m755 "$XENIDC_ROOT/tests/kunit/init" "$ROOT/init"
for m in xenidc xenbus_lite blkback2 usbback; do
	[ -f "$SRC/$m/$m.ko" ] && cp "$SRC/$m/$m.ko" "$ROOT/modules/"
done
cp "$SRC"/tests/kunit/*.ko "$ROOT/modules/kunit/"
: >"$ROOT/modules/in-tree.order"
# In-tree modules the suites drive, loaded in this order with these
# parameters: a memory-backed disk with a write cache and discard; a USB
# host controller with a gadget (source/sink) on it.
while read -r m params; do
	f=$(find "$KB" -name "$m.ko" | head -1)
	[ -n "$f" ] || { result fail "in-tree module $m built in the KUnit kernel"; continue; }
	cp "$f" "$ROOT/modules/kernel/"
	echo "$m $params" >>"$ROOT/modules/in-tree.order"
done <<'MODS'
null_blk nr_devices=1 gb=1 memory_backed=1 cache_size=16 discard=1
dummy_hcd
libcomposite
usb_f_ss_lb
g_zero
MODS
(cd "$ROOT" && find . | cpio -o -H newc --quiet -R 0:0) >"$XENIDC_BUILD/kunit.cpio"

LOG=$XENIDC_BUILD/kunit-console.log
log "booting the KUnit kernel (console: $LOG)"
# qemu64: -cpu max gives KASAN a false report with 5-level paging (LAB.md).
timeout -k 10 900 qemu-system-x86_64 -accel tcg -cpu qemu64 -smp 2 -m 2048 \
	-display none -vga none -nodefaults -no-reboot -serial stdio \
	-kernel "$KB/arch/x86/boot/bzImage" -initrd "$XENIDC_BUILD/kunit.cpio" \
	-append "console=ttyS0 rdinit=/init panic=-1 loglevel=7" </dev/null >"$LOG" 2>&1
tr -d '\r' <"$LOG" | sed 's/^\[ *[0-9.]*\] //' >"$LOG.clean"

grep -q XENIDC-KUNIT-DONE "$LOG.clean" && result pass "KUnit VM ran to completion" ||
	result fail "KUnit VM ran to completion" "see $LOG"

# XENIDC-TEST lines from /init
while IFS= read -r l; do
	case $l in
	"XENIDC-TEST ok "*) result pass "${l#XENIDC-TEST ok }" ;;
	"XENIDC-TEST not ok "*) result fail "${l#XENIDC-TEST not ok }" ;;
	esac
done < <(grep '^XENIDC-TEST ' "$LOG.clean")

# KTAP: "    ok N name" / "    not ok N name [# SKIP reason]" inside "# Subtest: suite"
suite=""
while IFS= read -r l; do
	if [[ $l =~ ^\ +#\ Subtest:\ (.*)$ ]]; then
		suite=${BASH_REMATCH[1]}
	elif [[ $l =~ ^\ +(not\ )?ok\ [0-9]+\ ([^#]*[^#\ ])(\ *#\ SKIP(.*))?$ ]]; then
		name="$suite.${BASH_REMATCH[2]}"
		if [ -n "${BASH_REMATCH[3]}" ]; then result skip "$name" "${BASH_REMATCH[4]}"
		elif [ -n "${BASH_REMATCH[1]}" ]; then result fail "$name"
		else result pass "$name"; fi
	fi
done <"$LOG.clean"
if ! grep -qE '^ +ok [0-9]+ ' "$LOG.clean"; then
	result fail "KUnit cases ran" "no KTAP case results on the console"
fi

# The deliberate warning (init): its C++ frame in the call trace resolves,
# through the test module's DWARF, to the line in core_cases.cpp that warns.
name="a deliberate warning's C++ frame resolves to core_cases.cpp:line (gdb)"
want=$(grep -n 'XENIDC-DELIBERATE-LINE' "$XENIDC_ROOT/tests/kunit/core_cases.cpp" | cut -d: -f1)
frame=$(sed -n '/XENIDC-DELIBERATE-BEGIN/,/XENIDC-DELIBERATE-END/p' "$LOG.clean" |
	grep -o 'xi_kunit_deliberate_warning+0x[0-9a-f]*' | head -1)
got=
[ -n "$frame" ] && got=$(gdb -q -batch -ex "info line *(${frame%+*}+${frame#*+}-1)" \
	"$SRC/tests/kunit/xenidc_kunit.ko" 2>/dev/null | sed -n 's/^Line \([0-9]*\) of ".*\/\(core_cases.cpp\)".*/\2:\1/p')
if [ -n "$want" ] && [ "$got" = "core_cases.cpp:$want" ]; then
	result pass "$name: $frame -> $got"
else
	result fail "$name" "frame '${frame:-none}' -> '${got:-nothing}', want core_cases.cpp:$want"
fi
sed '/XENIDC-DELIBERATE-BEGIN/,/XENIDC-DELIBERATE-END/d' "$LOG.clean" >"$LOG.checked"

bad=$(grep -nE 'BUG:|KASAN|Oops|WARNING:|Kernel panic|general protection|kmemleak: [0-9]+ new suspected|Call Trace' "$LOG.checked" | head -20)
if [ -z "$bad" ]; then
	result pass "kernel log free of KASAN, kmemleak, oops and WARN reports"
else
	echo "$bad"
	result fail "kernel log free of KASAN, kmemleak, oops and WARN reports"
fi
summary kunit
