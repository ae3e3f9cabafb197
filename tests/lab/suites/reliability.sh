# SPDX-License-Identifier: GPL-2.0-only
#
# make reliability, in dom0: one boot measuring what a guest costs dom0,
# blkback2 and xen-blkback side by side.
#  - Memory per connected vbd, idle and after 4 KiB and 1 MiB I/O (and, for
#    blkback2, once its rings gave back what idles), for a guest at
#    xen-blkfront's defaults and one at the most it may negotiate (rings of
#    16 pages, 16 queues, 512-segment indirect requests), without persistent
#    grants: with them xen-blkfront keeps a bounce page for every grant it
#    may use, (512 + 1) x 512 pages per queue, and the guest dies out of
#    memory (seen at the first attach, 2026-12-03).
#  - A guest flooding its vbd's ring with invalid requests for 30 s while
#    another reads its disk and a CPU-bound task runs in dom0.
# Results are "@@LAB metric reliability ..." lines the host turns into the
# README's tables.
. /lab/lib.sh
. /lab/suites/hostile.sh
G='. /lab/g.sh;'
NVBD=4
metric() { echo "@@LAB metric reliability $*"; }

# dom0's memory now, in KiB: "free slab vmalloc" (page cache dropped)
mem_now() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	awk '/^MemFree:/ { f = $2 } /^Slab:/ { s = $2 } /^VmallocUsed:/ { v = $2 }
		END { print f, s, v }' /proc/meminfo
}
# per_vbd BEFORE AFTER: "free slab vmalloc" spent per vbd, in KiB
per_vbd() {
	echo "$1 $2" | awk -v n=$NVBD '{ printf "%d %d %d", ($1 - $4) / n, ($5 - $2) / n, ($6 - $3) / n }'
}
vdevs() { echo xvdb xvdc xvdd xvde | cut -d' ' -f1-$NVBD; }

# One backend's column: NVBD vbds on nullb0.., idle, after I/O, and after
# its rings idled 15 s. CONFIG names the frontend's configuration.
mem_column() { # BACKEND CONFIG
	local m0 m1 m2 m3 v i=0 jobs="" f
	m0=$(mem_now)
	for v in $(vdevs); do
		attach "phy:/dev/nullb$i,$v,w" || return 1
		i=$((i + 1))
		jobs="$jobs --name=r$v --filename=/dev/$v"
	done
	g 120 "$G for v in $(vdevs); do wait_blk \$v >/dev/null || exit 1; done" ||
		{ echo "  the guest's disks: $GOUT"; return 1; }
	sleep 2
	m1=$(mem_now)
	# 4 KiB random reads at QD32, then 1 MiB sequential at QD4, on every
	# disk at once, from every CPU of the guest
	f="fio --ioengine=libaio --direct=1 --time_based --runtime=10 --numjobs=\$(nproc) --group_reporting"
	g 300 "$f --rw=randread --bs=4k --iodepth=32 $jobs >/dev/null && $f --rw=read --bs=1m --iodepth=4 $jobs >/dev/null" ||
		{ echo "  fio: $GOUT"; return 1; }
	m2=$(mem_now)
	sleep 15
	m3=$(mem_now)
	metric "memory $1 $2 idle $(per_vbd "$m0" "$m1")"
	metric "memory $1 $2 io $(per_vbd "$m0" "$m2")"
	metric "memory $1 $2 later $(per_vbd "$m0" "$m3")"
	[ "$1" = blkback2 ] && metric "memory $1 $2 budget $(awk -v n=$NVBD '{ s += $2 } END { printf "%d", s / 1024 / n }' /sys/kernel/debug/xenidc/budgets)"
	for v in $(vdevs); do detach $v || { echo "  detach $v failed"; return 1; }; done
	wait_for 60 no_vbds
}

# Both backends for the guest running now.
mem_config() { # CONFIG BLKBACK2-PARAMS XEN-BLKBACK-PARAMS
	check "memory, $1: blkback2 loads" insmod /lab/modules/blkback2.ko $2
	check "memory, $1: blkback2's $NVBD vbds" mem_column blkback2 "$1"
	check "memory, $1: blkback2 unloads" rmmod blkback2
	check "memory, $1: xen-blkback loads" modprobe xen-blkback $3
	check "memory, $1: xen-blkback's $NVBD vbds" mem_column xen-blkback "$1"
	check "memory, $1: xen-blkback unloads" rmmod xen_blkback
}

insmod /lab/modules/xenidc.ko && insmod /lab/modules/xenbus_lite.ko
modprobe null_blk nr_devices=$NVBD gb=1 # not memory backed: dom0 memory is the backends'
check "guest boots (xen-blkfront's defaults)" guest_start
mem_config defaults "" ""
guest_stop
# The guest pays for its maximum too: about 350 MiB per vbd of shadow and
# grant arrays (16 queues of 512 slots, 513 grants each), so it gets 900
# MiB and one vbd.
max_guest() {
	GUEST_MEM=900 GUEST_VCPUS=16 GUEST_EXTRA="xen_blkfront.max_ring_page_order=4 xen_blkfront.max_queues=16 xen_blkfront.max_indirect_segments=512" guest_start
}
check "guest boots (16 vCPUs; xen-blkfront at its maximum)" max_guest
check "the guest's xen-blkfront asks for the maximum" \
	g 30 "[ \$(cat /sys/module/xen_blkfront/parameters/max_queues) = 16 ]"
NVBD=1
mem_config max "max_queues=16 max_indirect_segments=512 feature_persistent=0" "max_queues=16 feature_persistent=0"
NVBD=4
guest_stop
rmmod null_blk

# ---- the flood: the first guest reads, the hostile one floods ----
modprobe null_blk nr_devices=1 gb=1 memory_backed=1
modprobe loop
truncate -s 64M /tmp/flood.img
LOOP=$(losetup -f --show /tmp/flood.img)
[ -b "$LOOP" ] || fail "flood setup: a loop device for the hostile guest's vbd" "loop=$LOOP"
check "load blkback2" insmod /lab/modules/blkback2.ko
check "guest boots" guest_start
check "hostile guest boots" hstart
check "the first guest's disk" attach phy:/dev/nullb0,xvdb,w
g 60 "$G wait_blk xvdb" >/dev/null
BACKEND=blkback2 hostile_flood
hstop
guest_stop
lab_end reliability
