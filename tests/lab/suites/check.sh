# SPDX-License-Identifier: GPL-2.0-only
#
# The lab layer of `make check`: one boot, many cases, against the backend
# in $BACKEND (blkback2 by default; xen-blkback is the reference).
. /lab/lib.sh
. /lab/suites/usb.sh
. /lab/suites/hostile.sh
. /lab/suites/operator.sh
. /lab/suites/blk.sh
. /lab/suites/driver_domain.sh
G='. /lab/g.sh;'

vbd_stats_counted() {
	local d=$(ls -d /sys/bus/xen-backend/devices/vbd-* | head -1)
	echo "  $d/statistics: rd_req $(cat $d/statistics/rd_req) wr_req $(cat $d/statistics/wr_req) f_req $(cat $d/statistics/f_req) rd_sect $(cat $d/statistics/rd_sect) wr_sect $(cat $d/statistics/wr_sect) oo_req $(cat $d/statistics/oo_req)"
	[ "$(cat $d/statistics/rd_req)" -gt 0 ] && [ "$(cat $d/statistics/wr_sect)" -gt 0 ] &&
		[ "$(cat $d/statistics/f_req)" -gt 0 ]
}
# The README's tracing switch, around one read.
trace_seen() {
	local c=/sys/kernel/debug/dynamic_debug/control
	echo 'module xenidc +p' >$c || return 1
	g 60 "dd if=/dev/xvdb of=/dev/null bs=4k count=1 iflag=direct" >/dev/null
	echo 'module xenidc -p' >$c
	dmesg | grep -q 'xenidc: backend/vbd/.*request .* answered 0'
}
# The README's way back to the in-tree backend, and forth again.
way_back() {
	rmmod blkback2 && modprobe xen-blkback && attach phy:/dev/nullb0,xvdb,w &&
		g 60 "$G wait_blk xvdb && dd if=/dev/xvdb of=/dev/null bs=1M count=4 iflag=direct" &&
		detach xvdb && wait_for 30 no_vbds && rmmod xen_blkback &&
		insmod /lab/modules/blkback2.ko
}
# README's coexistence: blkback2 refuses to load beside xen-blkback, unless
# coexist=Y; then each serves the vbd bound to it by name. (Not the other
# way round: xen-blkback refused by the bus leaks its slab cache, upstream.)
coexist() {
	local d drv
	rmmod blkback2 && modprobe xen-blkback || return
	if insmod /lab/modules/blkback2.ko 2>/dev/null; then
		echo "blkback2 loaded beside xen-blkback without coexist=Y"
		return 1
	fi
	insmod /lab/modules/blkback2.ko coexist=Y && attach_to blkback2 phy:/dev/nullb0,xvdb,w &&
		attach_to vbd "phy:$LOOP,xvdc,w" || return
	for d in xvdb:blkback2 xvdc:vbd; do
		drv=$(basename "$(readlink "/sys/bus/xen-backend/devices/$(vbd_dev "${d%:*}")/driver")")
		[ "$drv" = "${d#*:}" ] || { echo "${d%:*}: driver $drv, not ${d#*:}"; return 1; }
	done
	g 60 "$G wait_blk xvdb && wait_blk xvdc && dd if=/dev/xvdb of=/dev/null bs=1M count=4 iflag=direct && dd if=/dev/xvdc of=/dev/null bs=1M count=4 iflag=direct" &&
		detach xvdb && detach xvdc && wait_for 30 no_vbds && rmmod xen_blkback && rmmod blkback2 &&
		insmod /lab/modules/blkback2.ko
}

# make lab's own run (suites/demo.sh) is in the lab61 boot, with this
# kernel as the guest's (suites/check61.sh): not twice.

# ---- setup: the backend and the disks it will serve ----
check "load $BACKEND" load_backend
modprobe null_blk nr_devices=2 gb=1 memory_backed=1 cache_size=64 # a write cache: flushes mean something
modprobe dm-mod
modprobe loop
# 1 MiB that reads and writes, then 1 MiB where every I/O fails (no udev
# here: make the /dev/mapper node by hand)
printf '0 2048 linear /dev/nullb1 0\n2048 2048 error\n' | dmsetup create bad --noudevsync &&
	dmsetup mknodes bad
truncate -s 64M /tmp/resize.img
LOOP=$(losetup -f --show /tmp/resize.img)
[ -b /dev/mapper/bad ] && [ -b "$LOOP" ] || fail "lab setup: dm and loop devices" "$(ls /dev/mapper; echo loop=$LOOP)"
check "guest boots" guest_start

# ---- attach and detach, ten times ----
attach_storm 10

# ---- data integrity ----
attach phy:/dev/nullb0,xvdb,w && g 60 "$G wait_blk xvdb" >/dev/null
check "fio random writes 4K-1M at QD32, verified" g 600 "$G fio_verify /dev/xvdb rand --rw=randwrite --bsrange=4k-1m --iodepth=32 --size=96M"
echo "  $GOUT"
check "fio sequential writes 4K at QD1, verified" g 600 "$G fio_verify /dev/xvdb seq --rw=write --bs=4k --iodepth=1 --size=8M --offset=256M"
echo "  $GOUT"
check "fio random read/write mix at QD64, verified" g 600 "$G fio_verify /dev/xvdb mix --rw=randrw --bsrange=4k-256k --iodepth=64 --size=64M --offset=512M"
echo "  $GOUT"
check "ext4: a 32 MiB file's sha256 survives a remount" g 600 "$G ext4_roundtrip /dev/xvdb"
echo "  $GOUT"
check "per-vbd statistics in sysfs count the I/O (xen-blkback's names)" vbd_stats_counted
if [ "$BACKEND" = blkback2 ]; then
	check "dynamic debug traces the request lifecycle (module xenidc +p)" trace_seen
	echo "  $(dmesg | grep -m1 'request .* answered')"
fi
check "detach the fio disk" detach xvdb

# ---- read-only vbd ----
check "attach read-only (,r)" attach phy:/dev/nullb1,xvdc,r
check "the guest sees xvdc read-only" g 60 "$G wait_blk xvdc && [ \$(cat /sys/block/xvdc/ro) = 1 ]"
check "reads from the read-only vbd work" g 60 "dd if=/dev/xvdc of=/dev/null bs=1M count=2 iflag=direct"
check "writes to the read-only vbd fail" g 60 "$G must_fail 'Read-only|not permitted' dd if=/dev/zero of=/dev/xvdc bs=4k count=1 oflag=direct"
detach xvdc

# ---- I/O errors reach the guest ----
io_errors

# ---- what an operator coming from xen-blkback finds (and online resize) ----
if [ "$BACKEND" = blkback2 ]; then
	operator_suite
else
	check "an online resize reaches the guest at its next request" resize_seen
fi

# ---- USB: a stick through usbback, hotplug both ways, unplug mid-read ----
usb_setup
check "dom0 reads the stick natively (reference sha256)" usb_native_read
resets=$(usb_resets)
usb_attach
check "usbback reset the stick at xl usbdev-attach (dom0: usb $STICK_ID: reset ...)" usb_reset_at_attach "$resets"
usb_unassigned_hotplug
usb_data
usb_detach

# ---- a hostile second guest attacks its own vbd and vusb ----
hostile_suite

usb_attach
usb_unplug_midread

# ---- the way back: rmmod blkback2, modprobe xen-blkback, and forth ----
[ "$BACKEND" = blkback2 ] && check "rmmod blkback2 && modprobe xen-blkback serves vbd again, then blkback2 again" way_back
[ "$BACKEND" = blkback2 ] && check "blkback2 refuses to load beside xen-blkback; with coexist=Y each serves the vbd bound to it" coexist

check "the guest's kernel log is clean (every attach, detach, error and unplug above)" log_clean guest
# and the check can fail: a warning written into the guest's log is seen
log_catches() { g 30 "echo 'WARNING: lab self-test of the log check' >/dev/kmsg" && ! log_clean guest >/dev/null; }
check "the guest log check sees a warning written into the guest's log" log_catches

# ---- coalescing; the guest dies in the middle of I/O (blkback2: holding answers of the 4 KiB job) ----
# On a disk with latency: null_blk with 100 us timer completions, memory-
# backed. blkback2 holds answers only while requests are in flight, and
# nullb0 completes each inside its submission.
check "a null_blk disk with 100 us completions (configfs)" nullb lat 2 100000 1 1024
attach phy:/dev/lat,xvdb,w && g 60 "$G wait_blk xvdb" >/dev/null
# qd16_verify NAME [FIO OPTION...]: 4 MiB of random 4 KiB writes at QD16 on
# xvdb, read back and checked
qd16_verify() {
	local n=$1
	shift
	g 180 "fio --name=$n --filename=/dev/xvdb --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=16 --size=4M $* --verify=crc32c --do_verify=1 >/tmp/$n.log 2>&1 || { tail -5 /tmp/$n.log; exit 1; }"
}
# the ring's looks counted in statistics/ show the answers were coalesced
coalesced_verify() {
	local s b0 l0 b1 l1
	s=$(vbd_stats xvdb)
	read -r b0 l0 <<<"$(coalescing "$s")"
	qd16_verify v || return
	read -r b1 l1 <<<"$(coalescing "$s")"
	echo "  coalescing: $((b1 - b0)) bursts polled, $((l1 - l0)) looks, for 2048 requests"
	[ "$l1" -gt "$l0" ]
}
[ "$BACKEND" = blkback2 ] && check "4 MiB of random 4 KiB writes at QD16 (answers coalesced) read back intact" coalesced_verify
# coalesce_us is writable: switched off and on under the same I/O, every
# answer still comes (a ring caught mid-burst ends it); out of range refused
coalesce_switched() {
	local p=/sys/module/blkback2/parameters/coalesce_us old rc
	old=$(cat $p)
	touch /tmp/switching
	(while [ -e /tmp/switching ]; do echo 0 >$p; sleep 0.2; echo "$old" >$p; sleep 0.2; done) &
	qd16_verify s --offset=8M
	rc=$?
	rm /tmp/switching
	wait
	[ "$(cat $p)" = "$old" ] && ! echo 100001 2>/dev/null >$p && [ "$(cat $p)" = "$old" ] && return $rc
	echo "coalesce_us: $(cat $p), after $old and a write of 100001"
	return 1
}
[ "$BACKEND" = blkback2 ] && check "coalesce_us switched off and on every 0.2 s under 4 KiB writes at QD16: read back intact; 100001 refused" coalesce_switched
destroyed_mid_io

# ---- a 6.1 guest (6.1's xen-blkfront and xen-hcd) against this dom0 ----
GUEST=guest61
LAB_PREFIX="6.1 guest: "
check "load $BACKEND" load_backend
boot61() { GUEST_KERNEL=6.1 guest_start; }
check "boots" boot61
attach phy:/dev/nullb0,xvdb,w && g 60 "$G wait_blk xvdb" >/dev/null
check "both ends take persistent grants" negotiated "$GUEST" xvdb
check "fio random writes 4K-1M at QD32, verified" g 300 "$G fio_verify /dev/xvdb rand61 --rw=randwrite --bsrange=4k-1m --iodepth=32 --size=32M"
echo "  $GOUT"
check "detach" detach xvdb
# a third stick, the same data as the first (which was unplugged above)
qemu_monitor device_add usb-storage,bus=xhci.0,drive=stick3,id=stick3
usb_setup
usb_attach
usb_data
usb_detach
LAB_PREFIX=""

# ---- a driver domain serving that guest ----
driver_domain_suite
check "the 6.1 guest's kernel log is clean" log_clean guest
guest_stop
unload_all() { rmmod usbback && unload_backend; }
check "every module unloads after the driver domain and the guests" unload_all

# ---- nothing went wrong in dom0 ----
check "dom0 kernel log is clean" log_clean dom0
lab_end check
