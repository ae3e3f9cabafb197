# SPDX-License-Identifier: GPL-2.0-only
#
# make bench, in dom0: one boot, one guest, one null_blk disk served in
# turn by blkback2, by the in-tree xen-blkback and by QEMU's qdisk, then
# read natively in dom0; the QEMU stick read through usbback, through QEMU's
# qusb and natively. Every measurement is repeated (BENCH_REPS, default 3),
# the peers interleaved, so drift in a long run hits them alike. Each result
# is a line "@@LAB metric bench TARGET JOB REP VALUE" for the host to turn
# into ratios; fio's JSON goes back in the results archive.
. /lab/lib.sh
. /lab/suites/usb.sh
G='. /lab/g.sh;'
REPS=${BENCH_REPS:-3}
RT=${BENCH_RUNTIME:-5}
mkdir -p /out/fio

# name rw bs iodepth
JOBS="rr1:randread:4k:1 rr32:randread:4k:32 rw32:randwrite:4k:32 sr64k:read:64k:8 sw64k:write:64k:8 sr1m:read:1m:4 sw1m:write:1m:4"
VARIANT_JOBS="rr32 sr1m"

metric() { echo "@@LAB metric bench $*"; }

# fio_cmd DEV JOB-SPEC: the command line for one job
fio_cmd() {
	local dev=$1 name rw bs qd
	IFS=: read -r name rw bs qd <<<"$2"
	echo "fio --name=$name --filename=$dev --rw=$rw --bs=$bs --iodepth=$qd --ioengine=libaio --direct=1 --time_based=1 --runtime=$RT --ramp_time=1 --output-format=json --output=/tmp/fio.json"
}

# run_jobs TARGET REP DEV JOB...: in the guest, or in dom0 for "native".
# The guest writes fio's JSON to its console (dom0 keeps the log, and it goes
# back in the results archive) and answers with the IOPS alone.
run_jobs() {
	local target=$1 rep=$2 dev=$3 spec name rw n cmd
	shift 3
	for name in "$@"; do
		spec=$(echo $JOBS | tr ' ' '\n' | grep "^$name:")
		rw=$(echo "$spec" | cut -d: -f2)
		case $rw in *write) n=2 ;; *) n=1 ;; esac
		cmd="$(fio_cmd "$dev" "$spec") && { echo '@@FIO $target $name $rep'; cat /tmp/fio.json; } >/dev/console && grep -E '^ *\"iops\" :' /tmp/fio.json | sed -n ${n}p | sed 's/.*: *//; s/,\$//'"
		if [ "$target" = native ]; then
			GOUT=$(bash -c "$cmd" 2>&1) && cp /tmp/fio.json "/out/fio/native-$name-$rep.json"
		else
			g $((RT * 6 + 60)) "$cmd"
		fi || { fail "bench $target $name #$rep" "$(echo "$GOUT" | tail -3)"; continue; }
		metric "$target $name $rep $(echo "$GOUT" | tail -1)"
	done
}

blk_jobs() { echo $JOBS | tr ' ' '\n' | cut -d: -f1; }

# serve TARGET: the vbd backend for the next measurements (xvdb)
serve() {
	local mod params
	case $1 in
	xen-blkback) mod=xen-blkback params= ;;
	blkback2) mod=blkback2 params= ;;
	blkback2-*) mod=blkback2 params=${1#blkback2-} ;;
	esac
	if lsmod | grep -q '^blkback2 \|^xen_blkback '; then
		detach xvdb >/dev/null 2>&1
		g 60 "$G wait_gone xvdb" >/dev/null
		wait_for 30 no_vbds
		rmmod blkback2 2>/dev/null
		rmmod xen_blkback 2>/dev/null
	fi
	if [ $mod = xen-blkback ]; then
		modprobe xen-blkback
	else
		lsmod | grep -q '^xenbus_lite ' || insmod /lab/modules/xenbus_lite.ko
		# shellcheck disable=SC2086
		insmod /lab/modules/blkback2.ko ${params//,/ }
	fi && attach phy:/dev/nullb0,xvdb,w && g 60 "$G wait_blk xvdb" >/dev/null
}

attach() { timeout 60 xl block-attach $GUEST "$1"; }
detach() { timeout 60 xl block-detach $GUEST "$1"; }
vbd_count() { xenstore-list "$(vbd_backend_dir)" 2>/dev/null | wc -l; }
no_vbds() { [ "$(vbd_count)" = 0 ]; }

# where TARGET JOB: one more run of JOB, counting dom0's context switches
# and interrupts per request, with fio's mean latency. (Not the workqueue
# tracepoints: switching a tracepoint on or off under a PV dom0 on TCG has
# crashed dom0 here with an int3 oops in the kernel's text patching.)
where() {
	local t=$1 name=$2 spec ios lat c0 c1 i0 i1
	spec=$(echo $JOBS | tr ' ' '\n' | grep "^$name:")
	c0=$(awk '/^ctxt/ { print $2 }' /proc/stat)
	i0=$(awk '/^intr/ { print $2 }' /proc/stat)
	g $((RT * 6 + 60)) "$(fio_cmd /dev/xvdb "$spec") && grep -E '\"(total_ios|mean)\" :' /tmp/fio.json | head -4 | sed 's/.*: *//; s/,\$//' | tr '\n' ' '" ||
		{ fail "where $t $name" "$GOUT"; return; }
	c1=$(awk '/^ctxt/ { print $2 }' /proc/stat)
	i1=$(awk '/^intr/ { print $2 }' /proc/stat)
	# fio (a read job): total_ios, then the means of slat, clat and lat in ns
	ios=$(echo "$GOUT" | awk '{ print $1 }')
	lat=$(echo "$GOUT" | awk '{ printf "%.0f", $4 / 1000 }')
	echo "  where $t $name: $ios requests, mean latency ${lat} us; per request in dom0: $(awk -v a="$c0" -v b="$c1" -v n="$ios" 'BEGIN { printf "%.2f", (b - a) / n }') context switches, $(awk -v a="$i0" -v b="$i1" -v n="$ios" 'BEGIN { printf "%.2f", (b - a) / n }') interrupts"
	metric "where:$t $name 1 $lat"
}

# ---- setup ----
modprobe null_blk nr_devices=1 gb=4 memory_backed=0 irqmode=0
insmod /lab/modules/xenidc.ko
usb_setup
# the native USB reference first, while dom0's usb-storage has the stick
for rep in $(seq "$REPS"); do
	t0=$(cut -d' ' -f1 /proc/uptime)
	dd if=/dev/$STICK_SD of=/dev/null bs=1M count=16 iflag=direct 2>/dev/null
	t1=$(cut -d' ' -f1 /proc/uptime)
	metric "usb-native read16m $rep $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", 16.78/(b-a)}')"
done
# qdisk and qusb must be in the config at create time (that starts QEMU)
bench_guest() {
	GUEST_VCPUS=2 guest_start "disk=['format=raw,vdev=xvdc,access=rw,backendtype=qdisk,target=/dev/nullb0']" \
		"usbctrl=['type=qusb,version=2,ports=4']"
}
check "guest boots with a qdisk vbd and a qusb controller" bench_guest
check "the qdisk vbd appears in the guest" g 60 "$G wait_blk xvdc"

# ---- block: the peers interleaved, REPS times ----
[ "${BENCH_ONLY:-}" = where ] && REPS=0
for rep in $(seq "$REPS"); do
	for t in blkback2 xen-blkback; do
		if serve $t; then
			# shellcheck disable=SC2046
			run_jobs $t "$rep" /dev/xvdb $(blk_jobs)
		else
			fail "bench: serve xvdb with $t (#$rep)"
		fi
	done
	# shellcheck disable=SC2046
	run_jobs qdisk "$rep" /dev/xvdc $(blk_jobs)
	# shellcheck disable=SC2046
	run_jobs native "$rep" /dev/nullb0 $(blk_jobs)
done

# ---- where the time goes: a counted QD1 and QD32 run each ----
for t in blkback2 xen-blkback; do
	if serve $t; then
		where $t rr1
		where $t rr32
	else
		fail "bench: serve xvdb with $t (where)"
	fi
done

# ---- blkback2's optimisations, each switched off in turn ----
for rep in $(seq "$REPS"); do
	for v in blkback2 blkback2-feature_persistent=0 blkback2-map_batch=1 blkback2-max_queues=1 blkback2-batch=1; do
		if serve "$v"; then
			# shellcheck disable=SC2086
			run_jobs "var:${v#blkback2-}" "$rep" /dev/xvdb $VARIANT_JOBS
		else
			fail "bench: serve xvdb with $v (#$rep)"
		fi
	done
done
detach xvdb

# ---- USB: the stick through usbback (controller 1) and qusb (0) ----
usb_read() { # TARGET REP
	if g 120 "$G wait_blk sda 90 >/dev/null && t0=\$(cut -d' ' -f1 /proc/uptime) && dd if=/dev/sda of=/dev/null bs=1M count=16 iflag=direct 2>/dev/null && t1=\$(cut -d' ' -f1 /proc/uptime) && awk -v a=\$t0 -v b=\$t1 'BEGIN{printf \"%.2f\", 16.78/(b-a)}'"; then
		metric "$1 read16m $2 $GOUT"
	else
		fail "bench $1 read16m #$2" "$GOUT"
	fi
}
usb_to() { # CONTROLLER
	timeout 60 xl usbdev-attach $GUEST hostbus=$STICK_BUS hostaddr=$STICK_DEV controller=$1 port=1
}
usb_off() { # CONTROLLER
	timeout 60 xl usbdev-detach $GUEST $1 1 && g 60 "$G wait_gone sda" >/dev/null
}
check "xl usbctrl-attach type=pv (usbback, controller 1)" \
	timeout 60 xl usbctrl-attach $GUEST type=pv version=2 ports=4
# usbback's own counters around a read: how many URBs carried the bytes
vusb_stat() { cat /sys/bus/xen-backend/devices/vusb-$(guest_domid)-1/statistics/$1 2>/dev/null || echo 0; }
usb_where() {
	local u0 b0 u1 b1
	u0=$(vusb_stat urbs) b0=$(vusb_stat bytes_in)
	usb_read usbback "$1" || return 1
	u1=$(vusb_stat urbs) b1=$(vusb_stat bytes_in)
	echo "  where usbback read16m: $((u1 - u0)) URBs, $((b1 - b0)) bytes in, $(((b1 - b0) / (u1 - u0 + (u1 == u0)))) bytes per URB"
}
for rep in $(seq "$REPS"); do
	usb_to 1 && usb_where "$rep" && usb_off 1 || fail "bench usbback #$rep" "attach/detach"
	usb_to 0 && usb_read qusb "$rep" && usb_off 0 || fail "bench qusb #$rep" "attach/detach"
done
cp /var/log/xen/console/guest-$GUEST.log /out/fio/guest-console.log 2>/dev/null
guest_stop
ok "bench ran to the end"
