# SPDX-License-Identifier: GPL-2.0-only
#
# make lab: a backend serving a guest, real I/O, and what happened.
. /lab/lib.sh
. /lab/suites/usb.sh
G='. /lab/g.sh;'
metric() { echo "@@LAB metric $1: $2"; }

check "load $BACKEND" load_backend
modprobe null_blk nr_devices=1 gb=1 memory_backed=1
check "guest boots" guest_start
check "xl block-attach $GUEST phy:/dev/nullb0,xvdb,w" timeout 60 xl block-attach $GUEST phy:/dev/nullb0,xvdb,w
check "the guest sees xvdb" g 60 "$G wait_blk xvdb" && metric "attached" "vbd xvdb <- /dev/nullb0 (1 GiB null_blk, rw): $GOUT"
check "fio random writes 4K-1M at QD32, verified" g 600 "$G fio_verify /dev/xvdb verify --rw=randwrite --bsrange=4k-1m --iodepth=32 --size=64M"
metric "fio verify" "$GOUT"
check "fio 1 MiB sequential reads" g 120 "set -o pipefail; fio --name=seq --filename=/dev/xvdb --ioengine=libaio --direct=1 --rw=read --bs=1M --iodepth=4 --runtime=10 --time_based --output-format=terse --terse-version=3 | awk -F';' '{printf \"%d MiB/s\", \$7/1024}'"
metric "sequential read" "$GOUT"
check "fio 4 KiB random reads at QD32" g 120 "set -o pipefail; fio --name=rr --filename=/dev/xvdb --ioengine=libaio --direct=1 --rw=randread --bs=4k --iodepth=32 --runtime=10 --time_based --output-format=terse --terse-version=3 | awk -F';' '{printf \"%d IOPS\", \$8}'"
metric "random read" "$GOUT"
check "ext4 file checksum round trip" g 300 "$G ext4_roundtrip /dev/xvdb"
metric "ext4" "$GOUT"
check "xl block-detach" timeout 60 xl block-detach $GUEST xvdb

# A USB stick through usbback
usb_setup
usb_attach && echo "@@LAB metric usb: stick $STICK_ID (bus $STICK_BUS dev $STICK_DEV) on vusb port 1, seen by the guest as sda"
usb_data
usb_detach
guest_stop
# usbback first: it holds xenbus_lite and xenidc, which unload_backend removes
check "unload usbback" rmmod usbback
check "unload $BACKEND" unload_backend
lab_end demo
