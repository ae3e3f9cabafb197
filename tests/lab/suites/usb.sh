# SPDX-License-Identifier: GPL-2.0-only
#
# USB cases, sourced by the suites: usbback passes dom0's QEMU stick to the
# guest through the real toolstack (xl usbctrl-attach type=pv, usbdev-attach)
# and the guest's unmodified xen-hcd.

STICK_SUM=$(cut -d' ' -f1 /lab/stick.sha256)

usb_setup() {
	modprobe xhci-pci
	# usbback before usb-storage (registered again if an earlier suite of
	# this boot loaded it), as on a dom0 that loads usbback at boot: every
	# device plugged in from now on is offered to usbback first
	rmmod uas 2>/dev/null
	rmmod usb_storage 2>/dev/null
	check "usbback loads (driver usbback registered)" load_usbback
	modprobe usb-storage
	modprobe sd_mod
	check "dom0 sees the QEMU USB stick" wait_for 30 find_stick
	echo "  stick: bus $STICK_BUS dev $STICK_DEV id $STICK_ID (/dev/$STICK_SD)"
}

usb_native_read() { # the reference: dom0 reads the stick itself
	mkdir -p /mnt/stick && mount -o ro -t ext2 "/dev/$STICK_SD" /mnt/stick || return 1
	local s=$(sha256sum /mnt/stick/random.bin | cut -d' ' -f1)
	umount /mnt/stick
	[ "$s" = "$STICK_SUM" ]
}

usb_attach() {
	check "xl usbctrl-attach type=pv version=2 ports=4" \
		timeout 60 xl usbctrl-attach $GUEST type=pv version=2 ports=4
	check "xl usbdev-attach hostbus=$STICK_BUS hostaddr=$STICK_DEV" \
		timeout 60 xl usbdev-attach $GUEST hostbus=$STICK_BUS hostaddr=$STICK_DEV
	timeout 10 xl usb-list $GUEST
	check "the guest's xen-hcd sees the stick as sda" g 120 "$G wait_blk sda 90"
}

usb_data() {
	check "the stick's file reads back in the guest with the same sha256" \
		g 300 "mkdir -p /mnt/s && mount -o ro -t ext2 /dev/sda /mnt/s && s=\$(sha256sum /mnt/s/random.bin | cut -d' ' -f1); umount /mnt/s; echo \$s; [ \$s = $STICK_SUM ]"
	check "a file written to the stick by the guest reads back" \
		g 300 "mount -t ext2 /dev/sda /mnt/s && dd if=/dev/urandom of=/mnt/s/w.bin bs=64k count=64 2>/dev/null && a=\$(sha256sum /mnt/s/w.bin | cut -d' ' -f1) && umount /mnt/s && echo 3 >/proc/sys/vm/drop_caches && mount -o ro -t ext2 /dev/sda /mnt/s && b=\$(sha256sum /mnt/s/w.bin | cut -d' ' -f1); umount /mnt/s; echo \$a \$b; [ \$a = \$b ]"
	check "raw reads through usbback" g 300 "t0=\$(cut -d' ' -f1 /proc/uptime); dd if=/dev/sda of=/dev/null bs=1M count=16 iflag=direct && t1=\$(cut -d' ' -f1 /proc/uptime) && awk -v a=\$t0 -v b=\$t1 'BEGIN{printf \"%.1f MB/s\", 16.78/(b-a)}'"
	echo "@@LAB metric usb read: ${GOUT##*\\n}"
	check "per-vusb statistics in sysfs count the URBs and bytes" usb_stats_counted
}

usb_stats_counted() {
	local d=/sys/bus/xen-backend/devices/vusb-$(guest_domid)-0/statistics
	echo "  $d: urbs $(cat $d/urbs) bytes_in $(cat $d/bytes_in) bytes_out $(cat $d/bytes_out)"
	[ "$(cat $d/urbs)" -gt 0 ] && [ "$(cat $d/bytes_in)" -gt 16000000 ] && [ "$(cat $d/bytes_out)" -gt 0 ]
}

usb_detach() {
	check "xl usbdev-detach" timeout 60 xl usbdev-detach $GUEST 0 1
	check "the guest sees the stick go" g 60 "$G wait_gone sda"
	check "the stick is back with dom0's usb-storage" wait_for 30 stick_home
	check "xl usbctrl-detach" timeout 60 xl usbctrl-detach $GUEST 0
}

port1_free() { [ -z "$(xenstore-read /local/domain/0/backend/vusb/$(guest_domid)/0/port/1 2>/dev/null)" ]; }

# QEMU unplugs the stick while the guest reads it: once the backend has
# passed on a MiB of the read; the read must fail, not end as if complete.
usb_unplug_midread() {
	local s b0
	s=/sys/bus/xen-backend/devices/vusb-$(guest_domid)-0/statistics/bytes_in
	b0=$(cat "$s")
	reading() { [ "$(cat "$s")" -gt $((b0 + 1048576)) ]; }
	g 30 "(dd if=/dev/sda of=/dev/null bs=64k iflag=direct >/tmp/dd.out 2>&1; echo rc=\$? >>/tmp/dd.out) &"
	check "the guest is reading the stick through usbback" wait_for 60 reading
	qemu_monitor device_del stick0
	check "dom0 loses the stick" wait_for 30 stick_gone
	check "the guest sees the disconnect" g 60 "$G wait_gone sda 50; cat /tmp/dd.out"
	echo "  guest dd: $GOUT"
	check "the guest's read failed (it did not end as if complete)" \
		g 30 "grep -q 'rc=[1-9]' /tmp/dd.out"
	check "the backend freed the port" wait_for 30 port1_free
	check "xl usbctrl-detach after the unplug" timeout 60 xl usbctrl-detach $GUEST 0
	check "rmmod usbback after the unplug" rmmod usbback
}

# How often a reset of the stick shows in dom0's log (the USB core's
# "usb 1-1: reset high-speed USB device number 2 using xhci_hcd").
usb_resets() { dmesg | grep -c "usb $STICK_ID: reset .*USB device"; }

# Around xl usbdev-attach: usbback resets the device before the guest hears
# of it, as qusb does.
usb_reset_at_attach() { # RESETS_BEFORE
	dmesg | grep "usb $STICK_ID: reset .*USB device" | tail -1 | sed 's/^/  dom0: /'
	[ "$(usb_resets)" -gt "$1" ]
}

UB_DEBUGFS=/sys/kernel/debug/usbback
# The bus id of a second QEMU stick (vendor 46f4, not $STICK_ID) that dom0's
# usb-storage took, in STICK2_ID.
stick2_with_usb_storage() {
	local d
	for d in /sys/bus/usb/devices/*; do
		[ -f "$d/idVendor" ] && [ "$(cat "$d/idVendor")" = 46f4 ] || continue
		[ "$(basename "$d")" != "$STICK_ID" ] || continue
		STICK2_ID=$(basename "$d")
		[ -e "/sys/bus/usb/drivers/usb-storage/$STICK2_ID:1.0" ] && return 0
	done
	return 1
}
stick2_gone() { ! [ -e "/sys/bus/usb/devices/$STICK2_ID" ]; }

# A stick the toolstack never assigned is hot-plugged into dom0 while a
# guest has the first one: usbback is offered its interface first and
# refuses it from the bus ids it holds, without reading xenstore; dom0's
# usb-storage takes it.
usb_unassigned_hotplug() {
	local r0 x0 r1 x1
	r0=$(cat $UB_DEBUGFS/probes_refused) x0=$(cat $UB_DEBUGFS/probes_read_xenstore)
	qemu_monitor device_add usb-storage,bus=xhci.0,drive=stick2,id=stick2
	check "a second stick hot-plugged into dom0 goes to usb-storage" wait_for 60 stick2_with_usb_storage
	check "usbback never had the second stick ($STICK2_ID)" \
		sh -c "! ls /sys/bus/usb/drivers/usbback | grep -q '^$STICK2_ID:'"
	r1=$(cat $UB_DEBUGFS/probes_refused) x1=$(cat $UB_DEBUGFS/probes_read_xenstore)
	echo "  usbback probes_refused $r0 -> $r1, probes_read_xenstore $x0 -> $x1"
	check "usbback refused its probe at once: probes_refused went up, probes_read_xenstore did not" \
		test "$r1" -gt "$r0" -a "$x1" = "$x0"
	qemu_monitor device_del stick2
	check "the second stick is unplugged again" wait_for 30 stick2_gone
}
