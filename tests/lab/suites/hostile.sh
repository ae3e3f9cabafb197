# SPDX-License-Identifier: GPL-2.0-only
#
# Hostile frontends, sourced by the check suite: a second guest runs
# xihostile.ko (tests/lab/hostile) instead of xen-blkfront and xen-hcd and
# attacks its own vbd and vusb, one case at a time. After each case dom0 is
# up (we are still running), the backend answered with an error or closed
# that one device, and the first guest's vbd, under fio with verification
# the whole time, keeps working.

HOSTILE=hostile

# hcase vbd|vusb CASE: one case in the hostile guest; GOUT says why
hcase() {
	hg 120 "echo $2 >/sys/kernel/debug/xihostile/$1; rc=\$?; cat /sys/kernel/debug/xihostile/$1; exit \$rc"
}
hcheck() { # TYPE CASE DESCRIPTION
	if hcase "$1" "$2"; then ok "hostile $1 $2: $3"; else fail "hostile $1 $2: $3" "$GOUT"; fi
}
hg() { GUEST=$HOSTILE g "$@"; }
hstart() { GUEST=$HOSTILE GUEST_MEM=480 GUEST_EXTRA=xihostile guest_start; }
hstop() { GUEST=$HOSTILE guest_stop; }
hdomid() { xl domid $HOSTILE 2>/dev/null; }
hattach() { timeout 60 xl block-attach $HOSTILE "$1"; }
hdetach() { timeout 60 xl block-detach $HOSTILE "$1"; }
no_hostile_vbds() { ! xenstore-exists "/local/domain/0/backend/vbd/$(hdomid)" 2>/dev/null || [ -z "$(xenstore-list "/local/domain/0/backend/vbd/$(hdomid)")" ]; }
victim_ok() { g 60 "dd if=/dev/xvdb of=/dev/null bs=1M count=4 skip=\$((RANDOM % 64)) iflag=direct"; }

# The backend of the hostile vbd DEV (xvdX) said why it closed.
closed_with_error() {
	local b=/local/domain/0/backend/vbd/$(hdomid)/$1
	local st=$(xenstore-read "$b/state" 2>/dev/null)
	local err=$(xenstore-read "/local/domain/0/error/backend/vbd/$(hdomid)/$1/error" 2>/dev/null)
	echo "  backend state $st, error: ${err:-none}"
	[ "$st" -ge 5 ] && [ -n "$err" ]
}

hvbd_disruptive() { # CASE DESCRIPTION DEV
	local devid
	check "hostile vbd $1: attach $3" hattach "phy:/dev/nullb1,$3,w"
	devid=$(xenstore-list "/local/domain/0/backend/vbd/$(hdomid)" | tail -1)
	hcheck vbd "$1" "$2"
	[ "$1" = prod-ahead ] && check "hostile vbd $1: the backend closed it with a reason" closed_with_error "$devid"
	check "hostile vbd $1: the first guest's vbd still works" victim_ok
	check "hostile vbd $1: xl block-detach" hdetach "$3"
}

husb_attach() {
	timeout 60 xl usbctrl-attach $HOSTILE type=pv version=2 ports=4 &&
		timeout 60 xl usbdev-attach $HOSTILE hostbus=$STICK_BUS hostaddr=$STICK_DEV
}
husb_detach() { timeout 60 xl usbctrl-detach $HOSTILE 0 && wait_for 30 stick_home; }

# A disk that answers every I/O after 20 s: dm-delay over a loop device.
# Sets SLOW.
slow_disk() {
	local f=/tmp/slow.img
	truncate -s 64M $f && SLOW_LOOP=$(losetup -f --show $f) || return 1
	echo "0 131072 delay $SLOW_LOOP 0 20000" | dmsetup create slow --noudevsync &&
		dmsetup mknodes slow || return 1
	SLOW=/dev/mapper/slow
	test -b $SLOW
}
# The reads dm-delay holds back now ("dmsetup status": reads writes flushes;
# the block layer's inflight count does not see them).
inflight() { # NAME
	dmsetup status "$1" | awk '{ print $4 }'
}

# attach_timed NAME: xl block-attach of $LOOP to the first guest while a
# hostile device drains, in under 15 s (xenwatch is not held by it).
attach_timed() {
	local t0 t1 dt
	t0=$(up)
	attach "phy:$LOOP,xvdf,w" || { fail "$1" "xl block-attach failed"; return 1; }
	t1=$(up)
	dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	if awk -v d="$dt" 'BEGIN { exit !(d < 15) }'; then ok "$1: attached in $dt s"; else fail "$1" "took $dt s"; fi
}

# (a) The hostile guest closes its vbd with a ring full of reads on the slow
# disk: another guest's attach goes on meanwhile, then everything drains.
hostile_close_slow() {
	local b n
	check "slow disk: dm-delay answering each I/O after 20 s" slow_disk || return
	check "hostile vbd close-slow: attach the slow disk" hattach "phy:$SLOW,xvde,w"
	b=/local/domain/0/backend/vbd/$(hdomid)/$(vdev_num xvde)
	hcheck vbd close-slow "a full ring of reads in flight, then the frontend closes"
	attach_timed "hostile vbd close-slow: xl block-attach to the other guest while that I/O is pending"
	n=$(inflight slow)
	echo "  $n reads still in flight on $SLOW"
	if [ "$n" -gt 0 ]; then ok "hostile vbd close-slow: the reads were still in flight then ($n)"
	else fail "hostile vbd close-slow: the reads were still in flight then" "none left"; fi
	if [ "$BACKEND" = blkback2 ]; then
		check "hostile vbd close-slow: the backend stays Closing while it holds the guest's pages" xs_is "$b/state" 5
	else
		skip "hostile vbd close-slow: the backend stays Closing while it holds the guest's pages" "xen-blkback says Closed at once"
	fi
	drained() { [ "$(inflight slow)" = 0 ] && xs_is "$b/state" 6; }
	check "hostile vbd close-slow: every read ends, the backend reaches Closed" wait_for 90 drained
	check "hostile vbd close-slow: xl block-detach" hdetach xvde
	check "hostile vbd close-slow: the other guest's new disk detaches" detach xvdf
	dmsetup remove slow && losetup -d "$SLOW_LOOP"
}

# (b) The hostile guest closes its vusb with SET_INTERFACE and CLEAR_HALT
# queued and an IN the stick never answers.
hostile_close_sync() {
	local b
	check "hostile vusb close-sync: attach" husb_attach
	b=/local/domain/0/backend/vusb/$(hdomid)/0
	hcheck vusb close-sync "SET_INTERFACE, CLEAR_HALT and an IN the device never answers, then the frontend closes"
	attach_timed "hostile vusb close-sync: xl block-attach to the other guest meanwhile"
	check "hostile vusb close-sync: the backend reaches Closed" wait_for 60 xs_is "$b/state" 6
	check "hostile vusb close-sync: detach" husb_detach
	check "hostile vusb close-sync: the other guest's new disk detaches" detach xvdf
}

# One 30 s run: the first guest reads xvdb (4 KiB random, QD8), a CPU-bound
# task runs in dom0 on CPU 0, and with FLOOD=1 the hostile guest keeps its
# vbd's ring full of invalid requests. Sets RUN="IOPS SHARE" (the task's
# share of a CPU). Not in a subshell: g() counts its commands in SEQ.
flood_run() { # FLOOD
	local hog fl=0 c0 c1 t0 t1
	taskset -c 0 sh -c 'while :; do :; done' &
	hog=$!
	[ "$1" = 1 ] && { hg 120 "echo flood-invalid >/sys/kernel/debug/xihostile/vbd" >/dev/null & fl=$!; }
	c0=$(awk '{ print $14 + $15 }' /proc/$hog/stat)
	t0=$(up)
	g 120 "fio --name=v --filename=/dev/xvdb --ioengine=libaio --direct=1 --rw=randread --bs=4k --iodepth=8 --runtime=30 --time_based --output-format=terse --terse-version=3 | cut -d';' -f8"
	RUN=$GOUT
	c1=$(awk '{ print $14 + $15 }' /proc/$hog/stat)
	t1=$(up)
	kill $hog
	[ "$fl" = 0 ] || wait $fl
	RUN=$(awk -v i="$RUN" -v c=$((c1 - c0)) -v a="$t0" -v b="$t1" 'BEGIN { printf "%d %.2f\n", i, c / 100 / (b - a) }')
	echo "  $([ "$1" = 1 ] && echo flood || echo no flood): $RUN (IOPS, dom0 task's CPU share) over $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s"
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a >= 25) }' # fio really ran
}

# Both runs for the backend serving both guests' xvdb now; sets
# FR_IOPS and FR_SHARE, the ratios flood / no flood, and prints the figures.
flood_pair() { # NAME
	local q f
	flood_run 0 || return 1
	q=$RUN
	flood_run 1 || return 1
	f=$RUN
	echo "@@LAB metric flood $1 $q $f"
	read -r FR_IOPS FR_SHARE <<<"$(echo "$q $f" | awk '{ printf "%.2f %.2f", $3 / $1, $4 / $2 }')"
	echo "  $1: under the flood, the victim's IOPS x$FR_IOPS, the dom0 task's CPU share x$FR_SHARE"
	[ -n "$FR_IOPS" ] && [ "$FR_IOPS" != 0.00 ]
}
rejected_counted() {
	local n
	n=$(cat "/sys/bus/xen-backend/devices/vbd-$(hdomid)-$(vdev_num xvdb)/statistics/rejected")
	echo "  the hostile vbd's statistics/rejected: $n"
	[ "$n" -gt 1000 ]
}
hostile_flood() {
	local b2
	check "flood, blkback2: the hostile guest's vbd" hattach "phy:$LOOP,xvdb,w"
	check "flood, blkback2: 30 s with, 30 s without (the victim's 4 KiB QD8 reads, a dom0 task)" flood_pair blkback2
	b2="$FR_IOPS $FR_SHARE"
	check "flood, blkback2: statistics/rejected counts the invalid requests" rejected_counted
	hdetach xvdb
	detach xvdb && wait_for 30 no_vbds && rmmod blkback2 && modprobe xen-blkback &&
		attach phy:/dev/nullb0,xvdb,w && g 60 "$G wait_blk xvdb" >/dev/null &&
		check "flood, xen-blkback: the hostile guest's vbd" hattach "phy:$LOOP,xvdb,w"
	check "flood, xen-blkback: the same runs" flood_pair xen-blkback
	echo "  under the flood / without (victim IOPS, dom0 task CPU share): blkback2 x${b2% *} x${b2#* }, xen-blkback x$FR_IOPS x$FR_SHARE"
	hdetach xvdb
	detach xvdb && wait_for 30 no_vbds && rmmod xen_blkback && insmod /lab/modules/blkback2.ko &&
		attach phy:/dev/nullb0,xvdb,w && g 60 "$G wait_blk xvdb" >/dev/null
	check "flood: blkback2's ratios are at least xen-blkback's, within 10 %" \
		awk -v a="$b2" -v x="$FR_IOPS" -v y="$FR_SHARE" 'BEGIN { split(a, b, " "); exit !(b[1] >= 0.9 * x && b[2] >= 0.9 * y) }'
}

hostile_suite() {
	check "hostile guest boots with xihostile.ko and no frontends" hstart
	# The first guest writes and verifies its own disk the whole time.
	attach phy:/dev/nullb0,xvdb,w && g 60 "$G wait_blk xvdb" >/dev/null
	g 30 "$G (n=0; while [ ! -e /tmp/stop ]; do fio_verify /dev/xvdb v\$n --rw=randwrite --bs=64k --iodepth=16 --size=32M --offset=\$(((n % 8) * 32))M >/dev/null || { echo FAIL >>/tmp/victim; break; }; n=\$((n + 1)); done; echo done \$n >>/tmp/victim) >/dev/null 2>&1 &"

	hostile_vbd_malformed
	hcheck vbd rewrite "a request rewritten after it was pushed is acted on once"
	hcheck vbd flood "200000 events; the device still answers"
	check "hostile vbd: the first guest's vbd still works" victim_ok
	check "hostile vbd: xl block-detach" hdetach xvdb
	check "hostile vbd readonly: attach read-only" hattach phy:/dev/nullb1,xvdc,r
	hcheck vbd readonly "a write, a flush and a discard to a read-only vbd are refused; the data stays"
	check "hostile vbd readonly: xl block-detach" hdetach xvdc
	hvbd_disruptive prod-ahead "req_prod far ahead closes that device only" xvdc
	hvbd_disruptive close-busy "the frontend closes with requests in flight" xvdd
	check "hostile vbd: the backend removed every hostile device" wait_for 30 no_hostile_vbds
	hostile_close_slow

	check "hostile vusb: attach a controller and the stick" husb_attach
	hcheck vusb valid "GET_DESCRIPTOR through usbback works (the harness is sound)"
	hcheck vusb invalid "bad ports, segments, lengths, grants and addresses get errors"
	hcheck vusb unlink "an unlink of an unknown id is answered"
	hcheck vusb flood "200000 events; the controller still answers"
	check "hostile vusb: detach" husb_detach
	check "hostile vusb prod-ahead: attach" husb_attach
	hcheck vusb prod-ahead "urb req_prod far ahead closes that controller only"
	check "hostile vusb prod-ahead: detach" husb_detach
	hg 30 "echo arm-conn-prod-ahead >/sys/kernel/debug/xihostile/vusb"
	check "hostile vusb conn-prod-ahead: attach" husb_attach
	hcheck vusb conn-prod-ahead "conn req_prod far ahead closes that controller only"
	check "hostile vusb conn-prod-ahead: detach" husb_detach
	check "hostile vusb close-busy: attach" husb_attach
	hcheck vusb close-busy "the frontend closes with bulk INs in flight"
	check "hostile vusb close-busy: detach" husb_detach
	hostile_close_sync

	check "the first guest's fio verified its disk throughout" \
		g 600 "touch /tmp/stop; while ! grep -q done /tmp/victim 2>/dev/null; do sleep 1; done; cat /tmp/victim; ! grep -q FAIL /tmp/victim && ! grep -q 'done 0' /tmp/victim"
	echo "  victim: $GOUT"
	if [ "$BACKEND" = blkback2 ]; then
		hostile_flood
	else
		skip "flood: blkback2 and xen-blkback side by side" "runs in the blkback2 lab"
	fi
	check "the hostile guest's module unloads" hg 60 "rmmod xihostile"
	check "the hostile guest is destroyed" hstop
	detach xvdb
}

# The hostile guest's vbd (nullb1 as its xvdb): a valid request, then each
# kind of malformed one, each answered with an error.
hostile_vbd_malformed() {
	check "hostile vbd: attach" hattach phy:/dev/nullb1,xvdb,w
	hcheck vbd valid "a valid write and read work (the harness is sound)"
	hcheck vbd sectors "sectors past the end and wrapping get errors"
	hcheck vbd segments "bad segment counts and first_sect > last_sect get errors"
	hcheck vbd grants "grants never given, and a read into a read-only grant, get errors"
	hcheck vbd indirect "bad indirect requests get errors"
	hcheck vbd unknown-op "an unknown operation gets an error"
}

# The basics, for the 6.1 boot: malformed requests on a vbd and a vusb, a
# broken ring index, beside the first guest's vbd (attached: xvdb), which
# keeps working.
hostile_basics() {
	check "hostile guest boots with xihostile.ko and no frontends" hstart
	hostile_vbd_malformed
	check "hostile vbd: the first guest's vbd still works" victim_ok
	check "hostile vbd: xl block-detach" hdetach xvdb
	hvbd_disruptive prod-ahead "req_prod far ahead closes that device only" xvdc
	check "hostile vbd: the backend removed every hostile device" wait_for 30 no_hostile_vbds
	check "hostile vusb: attach a controller and the stick" husb_attach
	hcheck vusb valid "GET_DESCRIPTOR through usbback works (the harness is sound)"
	hcheck vusb invalid "bad ports, segments, lengths, grants and addresses get errors"
	check "hostile vusb: detach" husb_detach
	check "the hostile guest's module unloads" hg 60 "rmmod xihostile"
	check "the hostile guest is destroyed" hstop
}
