# SPDX-License-Identifier: GPL-2.0-only
#
# Block cases both check suites run (check: a 6.12 dom0; check61: 6.1),
# sourced by them. The guest $GUEST is up and the backend loaded; the disks
# are dom0's null_blk devices and /dev/mapper/bad (1 MiB that works, then 1
# MiB where every I/O fails, over nullb1).

# attach_storm N: attach, use and detach one vbd N times
attach_storm() {
	local i
	for i in $(seq "$1"); do
		check "attach #$i: xl block-attach" attach phy:/dev/nullb0,xvdb,w
		check "attach #$i: the guest sees xvdb and reads it" g 60 "$G wait_blk xvdb && dd if=/dev/xvdb of=/dev/null bs=1M count=4 iflag=direct"
		check "attach #$i: xl block-detach" detach xvdb
		check "attach #$i: xvdb is gone from the guest" g 60 "$G wait_gone xvdb"
		check "attach #$i: the backend removed the device" wait_for 30 no_vbds
	done
}

# blkback2's core: nothing mapped, bound or queued once the guest is gone.
xenidc_nothing_live() {
	[ "$BACKEND" = blkback2 ] || return 0
	cat /sys/kernel/debug/xenidc/live
	! grep -qv ' 0$' /sys/kernel/debug/xenidc/live
}

# One blkif request that carries both good and failing sectors: 32 KiB
# before the first failing one, 32 after (the trace shows the request).
one_request_spans() { # OP
	local c=/sys/kernel/debug/dynamic_debug/control
	[ "$BACKEND" = blkback2 ] || return 0
	dmesg -c >/dev/null
	echo 'module xenidc +p' >$c
	g 60 "$1" >/dev/null
	local rc=$?
	echo 'module xenidc -p' >$c
	dmesg | grep -o 'sector [0-9]*+[0-9]*' | awk -F'[ +]' '$2 < 2048 && $2 + $3 > 2048 { f = 1 } END { exit !f }' ||
		{ echo "no one request spanned sector 2048"; return 1; }
	return $rc
}

# I/O errors reach the guest, each request's own
io_errors() {
	local EIO="$G must_fail 'Input/output error'"
	local SPAN="fio --name=span --filename=/dev/xvdd --ioengine=libaio --direct=1 --bs=64k --offset=992k --size=64k"
	check "attach a disk whose second MiB fails" attach phy:/dev/mapper/bad,xvdd,w
	check "the guest sees xvdd" g 60 "$G wait_blk xvdd"
	check "good region reads" g 60 "dd if=/dev/xvdd of=/dev/null bs=64k count=16 iflag=direct"
	check "a read of the failing region gets EIO" g 60 "$EIO dd if=/dev/xvdd of=/dev/null bs=64k count=1 skip=16 iflag=direct"
	check "a write into the failing region gets EIO" g 60 "$EIO dd if=/dev/zero of=/dev/xvdd bs=64k count=1 seek=20 oflag=direct"
	check "a 64 KiB read, one request over good and failing sectors, gets EIO" \
		one_request_spans "$EIO $SPAN --rw=read"
	check "a 64 KiB write, one request over good and failing sectors, gets EIO" \
		one_request_spans "$EIO $SPAN --rw=write"
	check "a read spanning good and failing sectors gets EIO" g 60 "$EIO dd if=/dev/xvdd of=/dev/null bs=2M count=1 iflag=direct"
	check "a 1.5 MiB write spanning good and failing sectors gets EIO" g 60 "$EIO dd if=/dev/zero of=/dev/xvdd bs=1536k count=1 oflag=direct"
	detach xvdd
}

# The guest dies in the middle of I/O on xvdb (attached): fio runs, the
# guest is destroyed once the backend has seen its requests come, and
# everything is cleaned up and unloads.
destroyed_mid_io() {
	local destroyed reqs r0
	g 30 "(fio --filename=/dev/xvdb --ioengine=libaio --direct=1 --rw=randrw --size=512M --time_based --runtime=600 --name=small --bs=4k --iodepth=32 --name=large --bs=64k --iodepth=16 >/dev/null 2>&1 &) ; sleep 1"
	destroyed=$(guest_domid)
	reqs=$(vbd_stats xvdb)/rd_req
	r0=$(cat "$reqs")
	io_flowing() { [ "$(cat "$reqs")" -gt $((r0 + 100)) ]; }
	check "fio is doing I/O on xvdb (100 more reads seen by the backend)" wait_for 60 io_flowing
	check "xl destroy with fio running" timeout 60 xl destroy $GUEST
	check "the backend devices are cleaned up" wait_for 30 sh -c "! xenstore-exists /local/domain/0/backend/vbd/$destroyed"
	check "nothing left mapped, bound or queued (grants, frames, rings, event channels, work)" wait_for 30 xenidc_nothing_live
	check "every module unloads after the guest died" unload_backend
}

# What each end of guest GNAME's vbd VDEV wrote: printed, and persistent
# grants taken by both (the frontend asks only if the backend offers).
negotiated() { # GNAME VDEV
	local d fe be k f="" b=""
	d=$(xl domid "$1") || return 1
	fe=/local/domain/$d/device/vbd/$(vdev_num "$2")
	be=$(xenstore-read "$fe/backend") || return 1
	for k in protocol feature-persistent ring-page-order multi-queue-num-queues; do
		f="$f $k=$(xenstore-read "$fe/$k" 2>/dev/null || echo -)"
	done
	for k in feature-persistent feature-max-indirect-segments max-ring-page-order multi-queue-max-queues \
		feature-flush-cache feature-discard; do
		b="$b $k=$(xenstore-read "$be/$k" 2>/dev/null || echo -)"
	done
	echo "  frontend:$f"
	echo "  backend:$b"
	echo "@@LAB metric negotiated: ${LAB_PREFIX:-}frontend$f; backend$b"
	[ "$(xenstore-read "$fe/feature-persistent")" = 1 ] && [ "$(xenstore-read "$be/feature-persistent")" = 1 ]
}
