# SPDX-License-Identifier: GPL-2.0-only
#
# Sourced by the lab suites in dom0. Results go to the serial console as
#   @@LAB ok <name>  |  @@LAB not ok <name>: <why>  |  @@LAB skip <name>: <why>
# which the host turns into test results. Every step runs under a timeout.

GUEST=guest
SEQ=0 # command numbers, unique across guests: an agent runs each new one
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "@@LAB-MARK $* t=$(up)"; }

# LAB_PREFIX names the suite when one runs inside another's boot.
# LAB_CASES counts this shell's results, for lab_end.
LAB_CASES=0
ok() {
	LAB_CASES=$((LAB_CASES + 1))
	echo "@@LAB ok ${LAB_PREFIX:-}$1"
}
fail() {
	LAB_CASES=$((LAB_CASES + 1))
	# The first failure carries where things stand on its result line: a
	# failure that cascades is diagnosed from CI's summary alone.
	local at=
	if [ -z "${FAILED_ONCE:-}" ]; then
		FAILED_ONCE=1
		where_stuck >/tmp/where_stuck # (g: never in a subshell)
		at=" [at: $(cat /tmp/where_stuck)]"
	fi
	echo "@@LAB not ok ${LAB_PREFIX:-}$1: ${2:-failed}$at"
	debug_dump "$1"
}
# kthread_proc NAME: kernel thread NAME's /proc directory (no pgrep here
# or in the guest); kthread_at NAME: its innermost frame that is not the
# scheduler's. The same functions run in the guest: KTHREAD_AT.
KTHREAD_AT='kthread_proc() { local p; for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = "$1" ] && echo $p && return; done; }; kthread_at() { grep -v -m1 schedule "$(kthread_proc "$1")/stack" 2>/dev/null | sed "s/^.*\] //; s/+0x.*//"; }'
eval "$KTHREAD_AT"
# One line: xenstored, dom0's xenwatch, each backend device's state and
# its frontend's, and the guest's xenwatch (asked with a short timeout).
where_stuck() {
	local d b gout=$GOUT
	xenstored_alive && printf 'xenstored up' || printf 'xenstored GONE'
	printf '; dom0 xenwatch %s' "$(kthread_at xenwatch)"
	for d in $(timeout 5 xenstore-ls -f /local/domain/0/backend 2>/dev/null | sed -n 's|^\(.*/\(vbd\|vusb\)/.*\)/state = .*|\1|p'); do
		b=$(timeout 5 xenstore-read "$d/frontend" 2>/dev/null)
		printf '; %s %s/%s' "${d#/local/domain/0/backend/}" "$(timeout 5 xenstore-read "$d/state")" \
			"$(timeout 5 xenstore-read "$b/state" 2>/dev/null)"
	done
	[ -z "$(guest_domid)" ] || { g 10 "$KTHREAD_AT; kthread_at xenwatch" >/dev/null 2>&1; printf '; guest xenwatch %s' "$GOUT"; }
	GOUT=$gout
}
xenstored_alive() { kill -0 "$(cat /run/xenstored.pid 2>/dev/null)" 2>/dev/null; }
skip() {
	LAB_CASES=$((LAB_CASES + 1))
	echo "@@LAB skip ${LAB_PREFIX:-}$1: $2"
}
# The last line of every suite: that it got to its end, and how many
# results it printed (the host checks both against what it received).
lab_end() { echo "@@LAB-END $1 cases=$LAB_CASES"; } # SUITE
# check NAME CMD...: one result from a command's exit status
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name" "'$*' failed"; fi
}

# What helps to see why a step failed.
debug_dump() {
	echo "---- debug: $1 ----"
	timeout 10 xl list
	timeout 10 xenstore-ls -f /local/domain/0/backend 2>&1 | head -60
	dmesg | tail -25
	# where xenbus waits, should it wait (xenwatch runs every backend's probe)
	for t in xenwatch xenbus; do
		echo "$t: $(tr '\n' ' ' <"$(kthread_proc $t)/stack" 2>/dev/null | head -c 300)"
	done
	tail -15 /var/log/xen/console/guest-$GUEST.log 2>/dev/null
	echo "---- end debug ----"
}

# wait_for SECONDS CMD...: polls until CMD succeeds (CMD is run anew each
# time: pass a function, not a command substitution)
wait_for() {
	local end=$((SECONDS + $1))
	shift
	while ! "$@" 2>/dev/null; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.25
	done
}

# nullb NAME IRQMODE COMPLETION_NSEC MEMORY_BACKED [SIZE_MB]: a null_blk
# device made through configfs, /dev/NAME (4 GiB unless SIZE_MB)
nullb() {
	local d=/sys/kernel/config/nullb/$1
	grep -q ' /sys/kernel/config ' /proc/mounts || mount -t configfs none /sys/kernel/config || return 1
	mkdir "$d" && echo "${5:-4096}" >"$d/size" && echo "$2" >"$d/irqmode" && echo "$3" >"$d/completion_nsec" &&
		echo "$4" >"$d/memory_backed" && echo 1 >"$d/power" && wait_for 10 test -b "/dev/$1"
}

load_backend() {
	case $BACKEND in
	xen-blkback) modprobe xen-blkback ;;
	blkback2)
		if lsmod | grep -q '^xen_blkback '; then
			echo "xen-blkback is loaded: blkback2 cannot own vbd" >&2
			return 1
		fi
		insmod /lab/modules/xenidc.ko && insmod /lab/modules/xenbus_lite.ko &&
			insmod /lab/modules/blkback2.ko
		;;
	esac
}

unload_backend() {
	case $BACKEND in
	xen-blkback) rmmod xen_blkback ;;
	blkback2) rmmod blkback2 && rmmod xenbus_lite && rmmod xenidc ;;
	esac
}

guest_domid() { xl domid "$GUEST" 2>/dev/null; }
gpath() { echo "/local/domain/$(guest_domid)/data/$1"; }
# vdev_num xvdX: the disk's device number (xvdb: 51728, major 202 and 16
# minors per disk)
vdev_num() { echo $((202 * 256 + ($(printf %d "'${1#xvd}") - 97) * 16)); }
# the guest's disk's backend device in sysfs (VDEV: xvdX), its statistics/,
# and from those blkback2's coalescing counters: "BURSTS LOOKS" (0 0 for
# xen-blkback)
vbd_dev() { echo "vbd-$(guest_domid)-$(vdev_num "$1")"; }
vbd_stats() { echo "/sys/bus/xen-backend/devices/$(vbd_dev "$1")/statistics"; }
coalescing() { echo "$(cat "$1/bursts" 2>/dev/null || echo 0)" "$(cat "$1/looks" 2>/dev/null || echo 0)"; } # STATS

# guest_start [CONFIG LINE...]: creates the guest and waits for its agent.
# GUEST_KERNEL: its kernel (6.1 or 6.12, default LAB_GUEST), whose files
# are in dom0's /guest/<kernel>/; GUEST_IMG: its initramfs there
# (initrd.img, or dd.img for a driver domain).
# Under TCG a guest kernel sometimes dies early with "Oops: int3" (a race
# in cross-vCPU code patching, not in anything we test): such a boot is
# retried, and said so.
guest_start() {
	local attempt
	for attempt in 1 2 3; do
		guest_create "$@" && return 0
		say "guest-boot-failed attempt=$attempt"
		grep -a -i -m5 -E 'initramfs|out of memory|panic|oops' /var/log/xen/console/guest-$GUEST.log
		tail -n 8 /var/log/xen/console/guest-$GUEST.log
		timeout 30 xl destroy "$GUEST" 2>/dev/null
		wait_for 30 guest_absent
	done
	return 1
}

guest_absent() { ! xl domid "$GUEST" >/dev/null 2>&1; }

guest_create() {
	local l
	: >/var/log/xen/console/guest-$GUEST.log 2>/dev/null
	cat >/run/guest.cfg <<CFG
name="$GUEST"
type="pv"
kernel="/guest/${GUEST_KERNEL:-$LAB_GUEST}/vmlinuz"
ramdisk="/guest/${GUEST_KERNEL:-$LAB_GUEST}/${GUEST_IMG:-initrd.img}"
extra="console=hvc0 quiet ${GUEST_EXTRA:-}"
memory=${GUEST_MEM:-480}
vcpus=${GUEST_VCPUS:-1}
on_poweroff="destroy"
on_reboot="destroy"
on_crash="destroy"
CFG
	for l in "$@"; do echo "$l" >>/run/guest.cfg; done
	timeout 120 xl create /run/guest.cfg >/out/xl-create.log 2>&1 || { cat /out/xl-create.log; return 1; }
	wait_for 180 xs_is "$(gpath ready)" 1 # a TCG boot under load: minutes
}

# xs_is PATH VALUE: for wait_for, with PATH looked up once by the caller
# ("xl domid" in every poll cost dom0 more CPU than the backends under test,
# and slows a guest's boot)
xs_is() { [ "$(xenstore-read "$1" 2>/dev/null)" = "$2" ]; }

# g TIMEOUT CMD: runs CMD in the guest; $GOUT holds its output's tail.
# G_WATCH=1 (a benchmark): dom0 blocks on a xenstore watch instead of
# polling, whose processes would cost dom0 more CPU than the backend under
# test. The watch's first event is its own setting, the second the guest's
# answer; should it miss that (set too late), it times out into the poll.
g() {
	local t=$1 p w=
	shift
	# xenstore-read hands the agent a newline or a tab as \n or \t
	case $* in *[$'\n\t']*) echo "g: one line, no tabs: $*" >&2; GOUT="(not sent: a newline or tab)"; return 97 ;; esac
	SEQ=$((SEQ + 1))
	p=/local/domain/$(guest_domid)/data
	if [ -n "${G_WATCH:-}" ]; then
		timeout "$t" xenstore-watch -n 2 "$p/done" >/dev/null 2>&1 &
		w=$!
	fi
	xenstore-write "$p/cmd" "$*" "$p/seq" "$SEQ" || return 99
	[ -z "$w" ] || wait $w
	if ! wait_for "$t" xs_is "$p/done" "$SEQ"; then
		GOUT="(timed out after ${t}s)"
		return 98
	fi
	GOUT=$(xenstore-read "$p/out")
	return "$(xenstore-read "$p/rc")"
}

# What must never be in a kernel log after a run: a backend that writes
# where it should not shows up in the guest as list or slab corruption.
BAD_KLOG='BUG:|WARNING:|Oops|general protection|refcount_t|leaked|corruption'
# log_clean WHO: dom0's kernel log, or the guest's, holds none of it (the
# guest's console shows only emergencies: its log is read in the guest)
log_clean() {
	local cmd="if dmesg | grep -E '$BAD_KLOG' >/tmp/bad; then head -5 /tmp/bad; exit 1; fi"
	if [ "$1" = guest ]; then
		g 30 "$cmd" || { echo "$GOUT"; return 1; }
	else
		sh -c "$cmd"
	fi
}

guest_stop() {
	timeout 30 xl destroy "$GUEST" 2>/dev/null
	wait_for 30 guest_absent
}

vbd_backend_dir() { echo "/local/domain/0/backend/vbd/$(guest_domid)"; }
vbd_count() { xenstore-list "$(vbd_backend_dir)" 2>/dev/null | wc -l; }
no_vbds() { [ "$(vbd_count)" = 0 ]; }
attach() { timeout 60 xl block-attach $GUEST "$1"; } # TARGET,VDEV,MODE
detach() { timeout 60 xl block-detach $GUEST "$1"; } # VDEV
vbd_gone() { ! xenstore-read "$(vbd_backend_dir)/$(vdev_num "$1")/state" >/dev/null 2>&1; } # VDEV
# attach_to DRIVER TARGET,VDEV,MODE: attach, with the new vbd bound to
# DRIVER (blkback2, loaded with coexist=Y, or vbd: xen-blkback) while both
# are loaded. The bus's probing is off until the device is bound by name:
# xl waits (10 s at most) for a backend to take it.
attach_to() {
	local bus=/sys/bus/xen-backend dev pid rc=0
	dev=$(vbd_dev "$(echo "$2" | cut -d, -f2)")
	echo 0 >$bus/drivers_autoprobe
	attach "$2" &
	pid=$!
	wait_for 8 test -e "$bus/devices/$dev" && echo "$dev" >"$bus/drivers/$1/bind" || rc=1
	echo 1 >$bus/drivers_autoprobe
	wait $pid && return $rc
}

load_usbback() {
	lsmod | grep -q '^xenidc ' || insmod /lab/modules/xenidc.ko || return 1
	lsmod | grep -q '^xenbus_lite ' || insmod /lab/modules/xenbus_lite.ko || return 1
	insmod /lab/modules/usbback.ko && [ -d /sys/bus/usb/drivers/usbback ]
}

# The QEMU usb-storage stick (vendor 46f4) in dom0: sets STICK_BUS,
# STICK_DEV, STICK_ID (bus id, e.g. 1-1) and STICK_SD.
find_stick() {
	local d
	for d in /sys/bus/usb/devices/*; do
		[ -f "$d/idVendor" ] && [ "$(cat "$d/idVendor")" = 46f4 ] || continue
		STICK_BUS=$(cat "$d/busnum") STICK_DEV=$(cat "$d/devnum") STICK_ID=$(basename "$d")
		STICK_SD=$(ls "$d"/*/host*/target*/*/block 2>/dev/null | head -1)
		[ -n "$STICK_SD" ] && return 0
	done
	return 1
}

# The stick is back with dom0: usb-storage bound and its disk scanned.
stick_home() { find_stick && [ -e "/sys/bus/usb/drivers/usb-storage/$STICK_ID:1.0" ]; }
# No QEMU stick on dom0's bus any more.
stick_gone() { ! grep -qx 46f4 /sys/bus/usb/devices/*/idVendor 2>/dev/null; }

# Asks the host to run a QEMU monitor command (vm.sh watches for these).
qemu_monitor() { echo "@@LAB-HOST $*"; }
