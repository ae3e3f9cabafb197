# SPDX-License-Identifier: GPL-2.0-only
# The smallest end-to-end run: a backend, a guest, one disk, a few reads.
. /lab/lib.sh
check "load $BACKEND" load_backend
modprobe null_blk nr_devices=1 gb=1 memory_backed=1
check "guest boots" guest_start
check "xl block-attach" timeout 60 xl block-attach $GUEST phy:/dev/nullb0,xvdb,w
check "guest sees xvdb" g 60 'for i in $(seq 120); do [ -b /dev/xvdb ] && break; sleep 0.5; done; cat /sys/block/xvdb/size'
echo "guest: $GOUT"
check "guest reads and writes xvdb" g 120 'dd if=/dev/urandom of=/tmp/a bs=1M count=8 && dd if=/tmp/a of=/dev/xvdb bs=1M oflag=direct && dd if=/dev/xvdb of=/tmp/b bs=1M count=8 iflag=direct && cmp /tmp/a /tmp/b && echo same'
check "xl block-detach" timeout 60 xl block-detach $GUEST xvdb
guest_stop
check "unload $BACKEND" unload_backend
lab_end smoke
