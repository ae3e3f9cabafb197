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
husb_detach() { timeout 60 xl usbctrl-detach $HOSTILE 0 && wait_for 30 sh -c "find_stick; [ -e /sys/bus/usb/drivers/usb-storage/$STICK_ID:1.0 ]"; }

hostile_suite() {
	check "hostile guest boots with xihostile.ko and no frontends" hstart
	# The first guest writes and verifies its own disk the whole time.
	attach phy:/dev/nullb0,xvdb,w && g 60 "$G wait_blk xvdb" >/dev/null
	g 30 "$G (n=0; while [ ! -e /tmp/stop ]; do fio_verify /dev/xvdb v\$n --rw=randwrite --bs=64k --iodepth=16 --size=32M --offset=\$(((n % 8) * 32))M >/dev/null || { echo FAIL >>/tmp/victim; break; }; n=\$((n + 1)); done; echo done \$n >>/tmp/victim) >/dev/null 2>&1 &"

	check "hostile vbd: attach" hattach phy:/dev/nullb1,xvdb,w
	hcheck vbd valid "a valid write and read work (the harness is sound)"
	hcheck vbd sectors "sectors past the end and wrapping get errors"
	hcheck vbd segments "bad segment counts and first_sect > last_sect get errors"
	hcheck vbd grants "grants never given, and a read into a read-only grant, get errors"
	hcheck vbd indirect "bad indirect requests get errors"
	hcheck vbd unknown-op "an unknown operation gets an error"
	hcheck vbd rewrite "a request rewritten after it was pushed is acted on once"
	hcheck vbd flood "200000 events; the device still answers"
	check "hostile vbd: the first guest's vbd still works" victim_ok
	check "hostile vbd: xl block-detach" hdetach xvdb
	hvbd_disruptive prod-ahead "req_prod far ahead closes that device only" xvdc
	hvbd_disruptive close-busy "the frontend closes with requests in flight" xvdd
	check "hostile vbd: the backend removed every hostile device" wait_for 30 no_hostile_vbds

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

	check "the hostile guest's module unloads" hg 60 "rmmod xihostile"
	check "the hostile guest is destroyed" hstop
	check "the first guest's fio verified its disk throughout" \
		g 600 "touch /tmp/stop; while ! grep -q done /tmp/victim 2>/dev/null; do sleep 1; done; cat /tmp/victim; ! grep -q FAIL /tmp/victim && ! grep -q 'done 0' /tmp/victim"
	echo "  victim: $GOUT"
	detach xvdb
}
