# SPDX-License-Identifier: GPL-2.0-only
#
# The second boot of make check (layer lab61): dom0 runs Debian 12's own
# 6.1 kernel, our modules built against its headers. First make lab's own
# run with a 6.12 guest (6.12's xen-blkfront and xen-hcd against this 6.1
# dom0), then a 6.1 guest through what depends on the kernel: attach and
# detach, fio with verification, per-request I/O errors, the hostile basics
# (xihostile built for 6.1), the stick (data, unplug mid-read), the guest
# destroyed mid-I/O, a clean unload.
. /lab/lib.sh
. /lab/suites/usb.sh
. /lab/suites/hostile.sh
. /lab/suites/blk.sh
G='. /lab/g.sh;'

# ---- make lab's run, with a 6.12 guest ----
LAB_PREFIX="make lab, 6.12 guest: " GUEST_KERNEL=6.12 bash /lab/suites/demo.sh
rmmod null_blk

# ---- a 6.1 guest ----
check "load $BACKEND" load_backend
modprobe null_blk nr_devices=2 gb=1 memory_backed=1 cache_size=64
modprobe dm-mod
printf '0 2048 linear /dev/nullb1 0\n2048 2048 error\n' | dmsetup create bad --noudevsync &&
	dmsetup mknodes bad
[ -b /dev/mapper/bad ] || fail "lab setup: the dm device" "$(ls /dev/mapper)"
check "guest boots ($LAB_GUEST)" guest_start
attach_storm 3

attach phy:/dev/nullb0,xvdb,w && g 60 "$G wait_blk xvdb" >/dev/null
check "both ends take persistent grants" negotiated "$GUEST" xvdb
check "fio random writes 4K-1M at QD32, verified" g 600 "$G fio_verify /dev/xvdb rand --rw=randwrite --bsrange=4k-1m --iodepth=32 --size=64M"
echo "  $GOUT"
check "fio random read/write mix at QD64, verified" g 600 "$G fio_verify /dev/xvdb mix --rw=randrw --bsrange=4k-256k --iodepth=64 --size=32M --offset=512M"
echo "  $GOUT"
io_errors

# ---- the stick, the hostile basics, the stick unplugged mid-read ----
usb_setup
usb_attach
usb_data
usb_detach
hostile_basics
usb_attach
usb_unplug_midread

check "the guest's kernel log is clean" log_clean guest
destroyed_mid_io
rmmod null_blk
check "dom0 kernel log is clean" log_clean dom0
lab_end check61
