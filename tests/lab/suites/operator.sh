# SPDX-License-Identifier: GPL-2.0-only
#
# What an operator coming from xen-blkback finds, sourced by the check
# suite: the same sysfs files, writable parameters, unbind and bind of a
# live vbd, log_stats, and no timer per idle vbd. The guest is up, no vbd
# is attached, blkback2 is loaded.

OPS=/sys/module/blkback2/parameters
vbd_file() { cat "/sys/bus/xen-backend/devices/$(vbd_dev "$1")/$2"; } # VDEV FILE
vbd_key() { xenstore-read "$(vbd_backend_dir)/$(vdev_num "$1")/$2"; } # VDEV KEY
up_blk() { attach "$1" && g 60 "$G wait_blk $(echo "$1" | cut -d, -f2)" >/dev/null; } # TARGET,VDEV[,MODE]
down_blk() { detach "$1" && wait_for 30 no_vbds; } # VDEV

# rmmod one backend, load the other (no vbd attached)
swap_to() { # blkback2 | xen-blkback
	case $1 in
	xen-blkback) rmmod blkback2 && modprobe xen-blkback ;;
	blkback2) rmmod xen_blkback && insmod /lab/modules/blkback2.ko ;;
	esac
}

# physical_device and mode of the same read-only vbd, from each backend
parity_attrs() {
	local ours theirs want
	want="$(stat -L -c '%t:%T' /dev/nullb0) r"
	up_blk phy:/dev/nullb0,xvdb,r || return
	ours="$(vbd_file xvdb physical_device) $(vbd_file xvdb mode)"
	down_blk xvdb && swap_to xen-blkback && up_blk phy:/dev/nullb0,xvdb,r || return
	theirs="$(vbd_file xvdb physical_device) $(vbd_file xvdb mode)"
	down_blk xvdb && swap_to blkback2 || return
	echo "  blkback2: '$ours', xen-blkback: '$theirs', stat: '$want'"
	[ "$ours" = "$theirs" ] && [ "$ours" = "$want" ]
}

# Writable as xen-blkback's, range-checked, and applied at the next vbd.
params_apply() {
	local f rc
	for f in feature_persistent max_queues max_persistent_grants persistent_grant_unused_seconds log_stats; do
		[ "$(stat -c %a $OPS/$f)" = 644 ] || { echo "$f: mode $(stat -c %a $OPS/$f)"; return 1; }
	done
	if echo 2 2>/dev/null >$OPS/feature_persistent || echo 17 2>/dev/null >$OPS/max_queues; then
		echo "an out-of-range value was taken"
		return 1
	fi
	echo 0 >$OPS/feature_persistent && echo 1 >$OPS/max_queues || return
	up_blk phy:/dev/nullb0,xvdb,w
	rc=$?
	echo "  with feature_persistent=0 max_queues=1: feature-persistent $(vbd_key xvdb feature-persistent), multi-queue-max-queues $(vbd_key xvdb multi-queue-max-queues)"
	[ $rc = 0 ] && [ "$(vbd_key xvdb feature-persistent)" = 0 ] &&
		[ "$(vbd_key xvdb multi-queue-max-queues)" = 1 ]
	rc=$?
	echo 1 >$OPS/feature_persistent && echo 0 >$OPS/max_queues && down_blk xvdb && return $rc
}

# log_stats=1: a busy vbd logs its counters
log_stats_logs() {
	local rc
	echo 1 >$OPS/log_stats && dmesg -c >/dev/null && up_blk phy:/dev/nullb0,xvdb,w &&
		g 60 "dd if=/dev/xvdb of=/dev/null bs=4k count=64 iflag=direct"
	dmesg | grep -m1 'backend/vbd/.*: oo [0-9]* | rd [0-9]*'
	rc=$?
	echo 0 >$OPS/log_stats
	down_blk xvdb && return $rc
}

# Unbind blkback2 from a vbd under fio with verification, bind it again:
# the frontend stays connected and its I/O goes on intact.
rebind_keeps_io() {
	local d drv=/sys/bus/xen-backend/drivers/vbd b w0 st
	up_blk phy:/dev/nullb0,xvdb,w || return
	d=$(vbd_dev xvdb) b=$(vbd_backend_dir)/$(vdev_num xvdb)
	g 10 "rm -f /tmp/rb.rc; (. /lab/g.sh; fio_verify /dev/xvdb rb --rw=randwrite --bs=4k --iodepth=8 --size=16M >/tmp/rb.out 2>&1; echo \$? >/tmp/rb.rc) >/dev/null 2>&1 &" || return
	w0=$(vbd_file xvdb statistics/wr_req)
	wait_for 60 sh -c "[ \$(cat /sys/bus/xen-backend/devices/$d/statistics/wr_req) -gt $((w0 + 50)) ]" ||
		{ echo "no writes seen"; return 1; }
	echo "$d" >$drv/unbind || return
	sleep 2 # the guest's writes queue meanwhile
	st=$(xenstore-read "$b/state")
	echo "  unbound: backend state $st, driver link $([ -e /sys/bus/xen-backend/devices/$d/driver ] && echo present || echo gone)"
	[ "$st" = 4 ] && [ ! -e "/sys/bus/xen-backend/devices/$d/driver" ] || return 1
	echo "$d" >$drv/bind && wait_for 30 xs_is "$b/state" 4 || return
	g 300 "for i in \$(seq 600); do [ -e /tmp/rb.rc ] && break; sleep 0.5; done; cat /tmp/rb.out; exit \$(cat /tmp/rb.rc)"
	local rc=$?
	echo "  $GOUT"
	down_blk xvdb && return $rc
}

# dom0's timer wakeups over 10 s, and the 12 vbds they serve. Counted
# from /proc, not with a trace event: enabling one patches hot kernel text
# (the timer's tracepoint, and sched_switch's for the comm record), and
# under TCG that oopsed dom0 on a stale int3 in __schedule (CI, 2026-12-03).
OPS_VBDS=12
# Xen's per-CPU timer VIRQs (timer0, timer1...) and TIMER softirqs.
timer_irqs() {
	awk '$NF ~ /^timer[0-9]+$/ || $1 == "LOC:" {
		for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }' /proc/interrupts
}
timer_softirqs() { awk '$1 == "TIMER:" { for (i = 2; i <= NF; i++) n += $i } END { print n + 0 }' /proc/softirqs; }
timer_wakeups() { # prints "interrupts softirqs" of the next 10 s
	local i0 s0
	i0=$(timer_irqs) s0=$(timer_softirqs)
	sleep 10
	echo "$(($(timer_irqs) - i0)) $(($(timer_softirqs) - s0))"
}
# The vbds attached (or detached) by 4 xl processes at a time: one at a
# time, xl's own start under TCG made this the lab's longest case.
many_vbds() { # up | down
	local i v pids="" rc=0 p
	for i in $(seq 0 $((OPS_VBDS - 1))); do
		v=xvd$(printf "\\$(printf %o $((102 + i)))") # xvdf...
		if [ "$1" = up ]; then
			attach "phy:/dev/mapper/ops$i,$v,w" &
		else
			detach "$v" &
		fi
		pids="$pids $!"
		if [ $((i % 4)) = 3 ]; then
			for p in $pids; do wait "$p" || rc=1; done
			pids=""
		fi
	done
	for p in $pids; do wait "$p" || rc=1; done
	[ $rc = 0 ] || return 1
	if [ "$1" = up ]; then
		g 120 "for i in \$(seq 240); do [ \$(ls -d /sys/block/xvd[f-y] | wc -l) = $OPS_VBDS ] && exit 0; sleep 0.5; done; exit 1"
	else
		wait_for 60 no_vbds
	fi
}
# An idle dom0 with 12 connected vbds: how many timer wakeups each backend
# adds (xen-blkback's show the count sees timers).
idle_wakeups() {
	local i none b2 xb
	for i in $(seq 0 $((OPS_VBDS - 1))); do
		echo "0 2048 linear /dev/nullb0 $((i * 2048))" | dmsetup create ops$i --noudevsync || return
	done
	dmsetup mknodes
	none=$(timer_wakeups)
	many_vbds up && b2=$(timer_wakeups) && many_vbds down || return
	swap_to xen-blkback && many_vbds up && xb=$(timer_wakeups) && many_vbds down && swap_to blkback2 || return
	for i in $(seq 0 $((OPS_VBDS - 1))); do dmsetup remove ops$i; done
	echo "  timer interrupts, TIMER softirqs in 10 s: no vbd $none; $OPS_VBDS idle vbds: blkback2 $b2, xen-blkback $xb"
	echo "@@LAB metric idle-timers none=${none// /,} blkback2=${b2// /,} xen-blkback=${xb// /,} vbds=$OPS_VBDS"
	# fewer than one per vbd every 2 s above the baseline, for both counts
	[ $((${b2% *} - ${none% *})) -lt $((OPS_VBDS * 5)) ] &&
		[ $((${b2#* } - ${none#* })) -lt $((OPS_VBDS * 5)) ]
}

# The online resize is seen at the frontend's next request (no timer).
resize_seen() {
	up_blk "phy:$LOOP,xvde,w" || return
	g 60 "[ \$(cat /sys/block/xvde/size) = 131072 ]" || { echo "not 64 MiB at first"; return 1; }
	truncate -s 128M /tmp/resize.img && losetup -c "$LOOP" || return
	g 60 'for i in $(seq 100); do dd if=/dev/xvde of=/dev/null bs=4k count=1 iflag=direct 2>/dev/null; [ $(cat /sys/block/xvde/size) = 262144 ] && exit 0; sleep 0.5; done; cat /sys/block/xvde/size; exit 1'
	local rc=$?
	truncate -s 64M /tmp/resize.img && losetup -c "$LOOP"
	down_blk xvde && return $rc
}

# The request lifecycle's tracepoints: perf lists them, and one 4 KiB read
# by the guest passes every stage, followed by its id (the frontend reuses
# ids: from the read's bb2_received to the next bb2_answered of that id).
TRACE=/sys/kernel/tracing
trace_request() {
	local n stages
	grep -q " $TRACE " /proc/mounts || mount -t tracefs nodev $TRACE || return
	n=$(perf list 'blkback2:*' 2>/dev/null | grep -c 'blkback2:bb2_[a-z]* *\[Tracepoint event\]')
	echo "  perf list 'blkback2:*': $n tracepoints"
	[ "$n" = 6 ] && up_blk phy:/dev/nullb0,xvdb,w || return
	# no comm record: it would hook sched_switch (see timer_wakeups)
	echo 0 >$TRACE/options/record-cmd && echo >$TRACE/trace &&
		echo 1 >$TRACE/events/blkback2/enable || return
	g 60 "dd if=/dev/xvdb of=/dev/null bs=4k count=1 skip=4242 iflag=direct" >/dev/null
	echo 0 >$TRACE/events/blkback2/enable
	awk '/bb2_received: .* sector 33936 / { id = $0; sub(/.* id /, "", id); sub(/ .*/, "", id) }
		id != "" && index($0, " id " id " ") { print "    " $0 }
		id != "" && index($0, " id " id " ") && /bb2_answered:/ { exit }' $TRACE/trace >/tmp/trace.txt
	cat /tmp/trace.txt
	stages=$(grep -o 'bb2_[a-z]*:' /tmp/trace.txt | tr -d : | tr '\n' ' ')
	[ "$stages" = "bb2_received bb2_mapped bb2_submitted bb2_completed bb2_answered " ]
}

# After a case, whatever it left: no vbd, blkback2 loaded.
ops_reset() {
	local d
	for d in $(xenstore-list "$(vbd_backend_dir)" 2>/dev/null); do timeout 60 xl block-detach $GUEST "$d"; done
	wait_for 30 no_vbds
	lsmod | grep -q '^blkback2 ' || { rmmod xen_blkback 2>/dev/null; insmod /lab/modules/blkback2.ko; }
}
ocheck() { check "operator: $1" "${@:2}"; ops_reset; }

operator_suite() {
	ocheck "physical_device and mode read as xen-blkback's" parity_attrs
	ocheck "feature_persistent, max_queues, max_persistent_grants... writable, range-checked, applied at the next vbd" params_apply
	ocheck "log_stats=1 logs a busy vbd's counters" log_stats_logs
	ocheck "unbind and bind blkback2 under fio with verification: the frontend stays connected, the data is intact" rebind_keeps_io
	ocheck "an online resize reaches the guest at its next request" resize_seen
	ocheck "perf lists blkback2's tracepoints; one read's trace shows each stage of its life" trace_request
	ocheck "$OPS_VBDS idle vbds add no timers (blkback2 vs xen-blkback, 10 s each)" idle_wakeups
}
