# SPDX-License-Identifier: GPL-2.0-only
#
# A driver domain (README: "Serving from a driver domain"), sourced by the
# check suite: a guest booted with driver_domain=1 and dd.img runs our
# modules and xl devd, gets a disk from dom0's $BACKEND, and serves it with
# blkback2 to $GUEST (up), named by backend= in the disk spec. The driver
# domain is destroyed with I/O in flight and started again.

DD=xidd
dg() { GUEST=$DD g "$@"; }
dd_start() {
	GUEST=$DD GUEST_IMG=dd.img GUEST_EXTRA=xidd GUEST_MEM=400 guest_start \
		'driver_domain=1' "disk=['phy:/dev/nullb0,xvdb,w']"
}
dd_disk() { echo "backend=$DD,backendtype=phy,format=raw,vdev=$1,access=rw,target=/dev/xvdb"; }
# the driver domain's backend directory for $GUEST's vbd VDEV
dd_vbd() { echo "/local/domain/$(xl domid $DD)/backend/vbd/$(guest_domid)/$(vdev_num "$1")"; }
dd_ready() { # its disk, our three modules and xl devd: "3 <pid>"
	dg 60 "$G wait_blk xvdb >/dev/null && echo \$(lsmod | grep -cE '^(xenidc|xenbus_lite|blkback2) ') \$(pidof xl)"
	case $GOUT in "3 "[0-9]*) ;; *) echo "  modules, xl devd: $GOUT"; return 1 ;; esac
}
dd_serves() { # VDEV: blkback2 in the driver domain took the vbd
	local d
	d=vbd-$(guest_domid)-$(vdev_num "$1")
	dg 30 "basename \$(readlink /sys/bus/xen-backend/devices/$d/driver/module)"
	[ "$GOUT" = blkback2 ] || { echo "  $d: driver's module $GOUT"; return 1; }
}
dd_nothing_live() {
	dg 30 "cat /sys/kernel/debug/xenidc/live; ! grep -qv ' 0\$' /sys/kernel/debug/xenidc/live" ||
		{ echo "  $GOUT"; return 1; }
}
dd_vbd_gone() { ! xenstore-exists "$(dd_vbd "$1")"; } # VDEV
dd_log_clean() { GUEST=$DD log_clean guest; }
# PV USB from a driver domain: xl 4.17 takes no backend= in a usbctrl spec,
# and libxl binds the device through its own domain's sysfs (README)
usb_dd_refused() {
	local out
	out=$(timeout 30 xl usbctrl-attach "$GUEST" type=pv version=2 ports=4 backend=$DD 2>&1)
	echo "  xl: $out"
	echo "$out" | grep -qF "backend=$DD' in usbctrl spec"
}
dom0_serves_no_dd() { ! xenstore-exists "/local/domain/0/backend/vbd/$DEAD_DD"; }

driver_domain_suite() {
	local reqs
	check "driver domain: boots (driver_domain=1), its disk from dom0's $BACKEND" dd_start
	check "driver domain: our modules loaded and xl devd running in it" dd_ready
	check "driver domain: xl block-attach backend=$DD" timeout 60 xl block-attach $GUEST "$(dd_disk xvdc)"
	check "driver domain: blkback2 in the driver domain serves the vbd" dd_serves xvdc
	check "driver domain: the guest sees xvdc" g 60 "$G wait_blk xvdc"
	check "driver domain: fio random writes 4K-1M at QD32 through it, verified" \
		g 300 "$G fio_verify /dev/xvdc dd --rw=randwrite --bsrange=4k-1m --iodepth=32 --size=24M"
	echo "  $GOUT"
	check "driver domain: xl block-detach" detach xvdc
	check "driver domain: xvdc is gone from the guest" g 60 "$G wait_gone xvdc"
	check "driver domain: its backend removed the device" wait_for 30 dd_vbd_gone xvdc
	check "driver domain: nothing left mapped, bound or queued in it" dd_nothing_live

	# destroyed with I/O in flight
	check "driver domain: xl block-attach again" timeout 60 xl block-attach $GUEST "$(dd_disk xvdc)"
	g 60 "$G wait_blk xvdc" >/dev/null
	g 30 "(fio --name=x --filename=/dev/xvdc --ioengine=libaio --direct=1 --rw=randrw --bs=4k --iodepth=16 --size=64M --time_based --runtime=600 >/dev/null 2>&1 &); sleep 1"
	reqs=/sys/bus/xen-backend/devices/vbd-$(guest_domid)-$(vdev_num xvdc)/statistics/rd_req
	dd_io() { dg 10 "[ \$(cat $reqs) -gt 100 ]"; }
	check "driver domain: the guest's fio is doing I/O through it" wait_for 60 dd_io
	DEAD_DD=$(xl domid $DD)
	check "driver domain: xl destroy with the guest's I/O in flight" timeout 60 xl destroy $DD
	check "driver domain: dom0 cleaned up the disk it served the driver domain" wait_for 30 dom0_serves_no_dd
	check "driver domain: nothing left mapped, bound or queued in dom0" wait_for 30 xenidc_nothing_live
	# xen-blkfront ignores a backend that vanishes (no state change, no
	# request timeout): its requests stay pending, and removing the device
	# would block the guest's xenwatch until they end. Left alone here.
	g 30 "echo \$(cat /sys/block/xvdc/inflight)" &&
		echo "@@LAB metric driver domain destroyed: the guest's xvdc in flight (reads, writes) $GOUT"

	check "driver domain: starts again" dd_start
	check "driver domain: our modules loaded and xl devd running in it again" dd_ready
	check "driver domain: xl block-attach xvdd from the new driver domain" \
		timeout 60 xl block-attach $GUEST "$(dd_disk xvdd)"
	check "driver domain: the guest sees xvdd" g 60 "$G wait_blk xvdd"
	check "driver domain: fio through the new driver domain, verified" \
		g 300 "$G fio_verify /dev/xvdd dd2 --rw=randwrite --bsrange=4k-1m --iodepth=32 --size=16M --offset=64M"
	echo "  $GOUT"
	check "driver domain: xl block-detach xvdd" detach xvdd
	check "driver domain: xvdd is gone from the guest" g 60 "$G wait_gone xvdd"
	check "driver domain: xl still takes no backend= for a PV USB controller (README)" usb_dd_refused
	check "driver domain: the driver domain's kernel log is clean" dd_log_clean
	timeout 60 xl destroy $DD
	check "driver domain: gone, dom0 cleaned up its disk" wait_for 30 dom0_serves_no_dd
}
