# SPDX-License-Identifier: GPL-2.0-only
#
# make bench, in dom0: one boot, one guest whose disks are served at once
# by blkback2 (xvdb) and by the in-tree xen-blkback (xvdd), each on a
# device-mapper disk that points in turn at dom0 null_blk devices with
# latency: instant (irqmode=0), 100 us and 2 ms timer completions. First
# what those devices deliver natively here, and one pass of fio verify per
# backend on memory-backed disks; then the matrix (4 KiB random read and
# write at QD 1-32, a 70/30 mix, sequential 64 KiB and 1 MiB, a bursty
# job), each job on blkback2, on blkback2 with event coalescing off
# (coalesce_us=0, switched in place between fio's jobs) and on xen-blkback
# in turn, fio's clock on: IOPS and completion latency p50/p99/p99.9. Then
# where the time goes (blkback2's optimisations with BENCH_VAR=1), and the QEMU stick read
# through usbback, through QEMU's qusb and natively. Every measurement is
# repeated (BENCH_REPS, default 3), the peers interleaved job by job, so
# drift in a long run hits them alike. Each result is a line
# "@@LAB metric bench TARGET JOB REP VALUE" for the host to turn into
# ratios; fio's JSON goes back in the results archive.
. /lab/lib.sh
. /lab/suites/usb.sh
. /lab/g.sh # busy_ticks, irq_total, fio_iops: the guest's helpers work here too
G='. /lab/g.sh;'
REPS=${BENCH_REPS:-3}
RT=${BENCH_RUNTIME:-5}
# fio's own clock reads cost the guest more than its I/O path does here: a
# PV guest on TCG has no usable vDSO clock, so every read is a system call
# through Xen (a sixth of the guest's samples in a counted run). They are
# the same for every peer and only dilute the difference, so the ratio runs
# reduce them (fio's gtod_reduce: no latency statistics, so the counted
# runs derive their mean latency). BENCH_GTOD_REDUCE=0 keeps them all.
# The matrix keeps fio's clock on: it reports latency, and the clock's
# cost is the same for every peer.
GTOD=--gtod_reduce=${BENCH_GTOD_REDUCE:-1}
mkdir -p /out/fio

# name rw bs iodepth
JOBS="rr1:randread:4k:1 rr32:randread:4k:32 rw32:randwrite:4k:32 sr64k:read:64k:8 sw64k:write:64k:8 sr1m:read:1m:4 sw1m:write:1m:4"
VARIANT_JOBS=${BENCH_VAR_JOBS:-rr32 sr1m}
# the counted runs: the job that is behind; sr1m too when there is time.
# BENCH_WHERE_JOBS and BENCH_WHERE (the targets: a backend, or blkback2
# with module parameters, "blkback2-coalesce_us=0") override them.
WHERE_JOBS="rr32"
WHERE_TARGETS=${BENCH_WHERE:-xen-blkback blkback2}
[ "$WHERE_TARGETS" = none ] && WHERE_TARGETS=
# the peers, each on its own disk of the guest: a device-mapper disk
# (dm-linear, bench_xvdb and bench_xvdd) that points at one of that disk's
# null_blk devices, all made alike, switched between fio runs with the
# vbds connected (a reconnect costs 10-15 s here). Two checks on the
# comparison itself: BENCH_SWAP_DISKS=1 swaps the two backends' disks,
# BENCH_TWIN=1 serves xen-blkback's with blkback2 too, as target "twin" (an
# A/A run: the peers only, no counted runs, no coalescing peer).
B2=xvdb KB=xvdd
[ "${BENCH_SWAP_DISKS:-}" = 1 ] && B2=xvdd KB=xvdb
declare -A NULLB=([xvdb]=mapper/bench_xvdb [xvdd]=mapper/bench_xvdd)
PEER=xen-blkback
[ "${BENCH_TWIN:-}" = 1 ] && PEER=twin
declare -A DISK=([blkback2]=$B2 [$PEER]=$KB [qdisk]=xvdc)

metric() { echo "@@LAB metric bench $*"; }
# BENCH_ONLY=blk: the matrix and the counted runs; matrix: the matrix only
# (with what the devices deliver and the verify pass); where: the counted
# runs only; var: blkback2's optimisations only; usb: the USB part only
full() { [ -z "${BENCH_ONLY:-}" ]; }
matrix_part() { full || [ "$BENCH_ONLY" = blk ] || [ "$BENCH_ONLY" = matrix ]; }
# blkback2's optimisations are no longer in a full run, for time (the
# matrix has coalescing beside every job): BENCH_VAR=1 adds them
var_part() { [ "${BENCH_ONLY:-}" = var ] || { [ "${BENCH_VAR:-}" = 1 ] && full; }; }
usb_part() { full || [ "$BENCH_ONLY" = usb ]; }
blk_part() { [ "${BENCH_ONLY:-}" != usb ]; }

job_spec() { echo $JOBS | tr ' ' '\n' | grep "^$1:"; }

# fio_cmd DEV [TARGET@]JOB[.REP]...: one fio run of the named jobs, one
# after the other (one fio start and one guest round trip: under TCG each
# costs seconds), on DEV or on TARGET's disk. fio runs on CPU 0: in the
# guest that decides which of blkfront's queues carries the I/O and that
# its events arrive on the CPU that submitted it, which otherwise changed
# with where the scheduler put fio, and moved results more than the
# backends did.
fio_cmd() {
	local dev=$1 cmd name rw bs qd
	shift
	cmd="fio --cpus_allowed=0 --filename=$dev --ioengine=libaio --direct=1 --time_based=1 --runtime=$RT --ramp_time=1 $GTOD --output-format=json --output=/tmp/fio.json"
	for name in "$@"; do
		IFS=: read -r _ rw bs qd <<<"$(job_spec "$(job_of "$name")")"
		cmd="$cmd --name=$name --rw=$rw --bs=$bs --iodepth=$qd --stonewall"
		[ "$name" = "${name#*@}" ] || cmd="$cmd --filename=/dev/${DISK[${name%@*}]}"
	done
	echo "$cmd"
}

# a job's name: [TARGET@]JOB[.REP]
job_of() { local j=${1#*@}; echo "${j%.*}"; }

# run_jobs TARGET REP DEV [TARGET@]JOB[.REP]...: in the guest, or in dom0
# for "native"; a job named JOB.N is repetition N, one named T@JOB runs on
# T's disk and counts for T. The guest writes fio's JSON to its console
# (dom0 keeps the log, and it goes back in the results archive) and
# answers with each job's IOPS.
run_jobs() {
	local target=$1 rep=$2 dev=$3 cmd name r w t j job
	shift 3
	cmd="$(fio_cmd "$dev" "$@") && { echo '@@FIO $target $rep'; cat /tmp/fio.json; } >/dev/console && fio_iops /tmp/fio.json"
	if [ "$target" = native ]; then
		GOUT=$(bash -c ". /lab/g.sh; $cmd" 2>&1) && cp /tmp/fio.json "/out/fio/native-$rep.json"
	else
		G_WATCH=1 g $(((RT + 1) * $# * 3 + 60)) "$G $cmd"
	fi || { fail "bench $target $* #$rep" "$(echo "$GOUT" | tail -3)"; return; }
	GOUT=$(printf '%b' "$GOUT") # xenstore-read shows a newline as \n
	for name in "$@"; do
		read -r r w <<<"$(echo "$GOUT" | awk -v j="$name" '$1 == j { print $2, $3 }')"
		j=${name#*@} # JOB[.REP]
		job=${j%.*}
		case $(job_spec "$job" | cut -d: -f2) in *write) r=$w ;; esac
		[ "$j" = "$job" ] || rep=${j##*.}
		t=$target
		[ "$name" = "$j" ] || t=${name%@*}
		if [ -n "$r" ]; then
			metric "$t $job $rep $r"
		else
			fail "bench $t $job #$rep" "no IOPS in fio's report"
		fi
	done
}

# serve TARGET: blkback2 as TARGET names it (module parameters, or xenidc's
# unbound_work) serving its disk ($B2), named in SERVED once it serves;
# xen-blkback serves its own beside it throughout (serve_peer). blkback2's
# writable parameters (batch, map_batch, coalesce_us) are switched in place
# while it serves with its load-time defaults: a reconnect costs 10-15 s
# here.
SERVED=
WRITABLE="batch map_batch coalesce_us"
declare -A DEFAULTS # the writable parameters as blkback2 loaded
writable() { # TARGET: blkback2 with at most one writable parameter set
	local p
	[ "$1" = blkback2 ] && return
	for p in $WRITABLE; do [[ $1 == blkback2-$p=* ]] && return; done
	return 1
}
serve() {
	local params unbound=N p
	if writable "$1" && writable "$SERVED" && [ ${#DEFAULTS[@]} -gt 0 ]; then
		for p in $WRITABLE; do echo "${DEFAULTS[$p]}" >/sys/module/blkback2/parameters/$p; done
		p=${1#blkback2-}
		[ "$1" = blkback2 ] || echo "${p#*=}" >"/sys/module/blkback2/parameters/${p%=*}"
		SERVED=$1
		return
	fi
	SERVED=
	case $1 in
	blkback2) params= ;;
	blkback2-*) params=${1#blkback2-} ;;
	xenidc-unbound_work=1) params= unbound=Y ;;
	*) return 1 ;;
	esac
	if lsmod | grep -q '^blkback2 '; then
		detach $B2 >/dev/null 2>&1
		g 60 "$G wait_gone $B2" >/dev/null
		wait_for 30 vbd_gone $B2
		rmmod blkback2
	fi
	echo $unbound >/sys/module/xenidc/parameters/unbound_work
	lsmod | grep -q '^xenbus_lite ' || insmod /lab/modules/xenbus_lite.ko
	# shellcheck disable=SC2086
	insmod /lab/modules/blkback2.ko coexist=Y ${params//,/ } && { [ -n "$params" ] ||
		for p in $WRITABLE; do DEFAULTS[$p]=$(cat /sys/module/blkback2/parameters/$p); done; } &&
		attach_to blkback2 "phy:/dev/${NULLB[$B2]},$B2,w" && g 60 "$G wait_blk $B2" >/dev/null && SERVED=$1
}
serve_peer() { # the other kernel backend's disk, for the whole run
	local drv=vbd
	if [ $PEER = twin ]; then drv=blkback2; else modprobe xen-blkback || return; fi
	attach_to $drv "phy:/dev/${NULLB[$KB]},$KB,w" && g 60 "$G wait_blk $KB" >/dev/null
}

# irq_counts: dom0's interrupts by source, "NAME COUNT" (all CPUs summed)
irq_counts() {
	awk 'NR > 1 { n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i
		name = ""; for (; i <= NF; i++) name = name (name ? "_" : "") $i
		print $1 name, n }' /proc/interrupts
}

# proc_ticks: each dom0 task's CPU time so far, "PID:COMM TICKS" (a
# kworker's comm names the workqueue it last ran: dropped), but for the
# measuring tools (perf, and the cat reading this)
proc_ticks() {
	cat /proc/[0-9]*/stat 2>/dev/null |
		awk '$2 != "(perf)" && $2 != "(cat)" { c = $2; if (c ~ /^\(kworker/) sub(/-.*/, ")", c); print $1 ":" c, $14 + $15 }'
}

# top_deltas BEFORE AFTER N SCALE: the N largest growths (from 0 for what
# is new: a kworker created meanwhile), "NAME GROWTH*SCALE, ..."
top_deltas() {
	awk 'NR == FNR { a[$1] = $2; next } $2 > a[$1] { print $2 - a[$1], $1 }' "$1" "$2" |
		sort -rn | head -"$3" | awk -v k="$4" '{ printf "%s%s %.2f", (NR > 1 ? ", " : ""), $2, $1 * k }'
}

# dom_secs: each domain's CPU time as Xen counts it, hypervisor work on
# its behalf included, "NAME SECONDS" (0.1 s resolution)
dom_secs() { xl list | awk 'NR > 1 { print $1, $NF }'; }

# vbd_reqs STATS: the backend's requests so far, and how many waited for
# resources (oo_req); both backends keep these counters
vbd_reqs() { echo $(($(cat "$1/rd_req") + $(cat "$1/wr_req"))) "$(cat "$1/oo_req")"; }

# where TARGET JOB: one more run of JOB, counting per request dom0's CPU
# time, context switches and interrupts (the three busiest sources), with
# fio's mean latency, and cpu-clock profiles of dom0 and the guest (perf,
# sampling on a timer: nothing is patched). (Not the workqueue tracepoints:
# switching a tracepoint on or off under a PV dom0 on TCG has crashed dom0
# here with an int3 oops in the kernel's text patching.)
where() {
	local t=$1 name=$2 dev=${DISK[$1]:-$B2} ios fios lat c0 c1 b0 b1 r0 r1 w0 w1 u0 u1 stats pcpus k0 k1 l0 l1
	stats=$(vbd_stats "$dev")
	pcpus=$(xl info | awk '$1 == "nr_cpus" { print $3 }')
	read -r r0 w0 <<<"$(vbd_reqs "$stats")"
	read -r k0 l0 <<<"$(coalescing "$stats")"
	irq_counts >/tmp/irq0
	proc_ticks >/tmp/cpu0
	c0=$(awk '/^ctxt/ { print $2 }' /proc/stat)
	b0=$(busy_ticks)
	prof_start /tmp/perf.data
	dom_secs >/tmp/dom0
	u0=$(cut -d' ' -f1 /proc/uptime)
	G_WATCH=1 g $(((RT + 1) * 3 + 60)) "$G c0=\$(guest_counts) && $(fio_cmd /dev/$dev "$name") && c1=\$(guest_counts) && echo \$(fio_totals /tmp/fio.json) \$c0 \$c1" ||
		{ fail "where $t $name" "$GOUT"; prof_stop /tmp/perf.data; prof_wait /tmp/perf.data; return; }
	prof_stop /tmp/perf.data
	u1=$(cut -d' ' -f1 /proc/uptime)
	dom_secs >/tmp/dom1
	b1=$(busy_ticks)
	c1=$(awk '/^ctxt/ { print $2 }' /proc/stat)
	proc_ticks >/tmp/cpu1
	irq_counts >/tmp/irq1
	read -r r1 w1 <<<"$(vbd_reqs "$stats")"
	read -r k1 l1 <<<"$(coalescing "$stats")"
	# fio's I/Os and IOPS, then the guest's counts before and after; the
	# mean latency of a closed loop is its queue depth over its IOPS
	fios=$(echo "$GOUT" | awk '{ print $1 }')
	lat=$(echo "$GOUT" | awk -v qd="$(job_spec "$name" | cut -d: -f4)" '{ printf "%.0f", qd * 1e6 / ($2 + ($2 == 0)) }')
	# per backend request (fio's large I/Os arrive split), counted over the
	# same window as dom0's counters
	ios=$((r1 - r0 + (r1 == r0)))
	echo "  where $t $name: $fios fio I/Os (mean latency ${lat} us), $ios backend requests, $((w1 - w0)) waited for resources; per request in dom0: $(awk -v a="$b0" -v b="$b1" -v n="$ios" 'BEGIN { printf "%.0f", (b - a) * 1e4 / n }') us CPU, $(awk -v a="$c0" -v b="$c1" -v n="$ios" 'BEGIN { printf "%.2f", (b - a) / n }') context switches"
	[ "$l1" = "$l0" ] || echo "  where   coalescing: $((k1 - k0)) bursts polled, $((l1 - l0)) looks, $(awk -v n="$ios" -v l="$((l1 - l0))" 'BEGIN { printf "%.1f", n / l }') requests per look"
	echo "  where   interrupts per request: $(top_deltas /tmp/irq0 /tmp/irq1 4 "$(awk -v n="$ios" 'BEGIN { print 1 / n }')")"
	echo "  where   CPU us per request, busiest tasks: $(top_deltas /tmp/cpu0 /tmp/cpu1 5 "$(awk -v n="$ios" 'BEGIN { print 1e4 / n }')")"
	# the guest's side, counted in the guest over fio's run (a little
	# wider than dom0's window), and Xen's count of both domains
	echo "  where   per request in the guest: $(echo "$GOUT" | awk -v n="$ios" '{ printf "%.0f us CPU, %.2f blkif interrupts", ($7 - $3) * 1e4 / n, ($8 - $4) / n }'); Xen's count per request (hypervisor work included): $(top_deltas /tmp/dom0 /tmp/dom1 2 "$(awk -v n="$ios" 'BEGIN { print 1e6 / n }')") us"
	# is it one domain, or the whole machine, that is busy?
	echo "  where   busy: the guest's vCPUs $(echo "$GOUT" | awk '{ printf "%.0f", ($7 - $3) / (($9 - $5) * $6) }') % (its own count, fio's run); of the machine's $pcpus CPUs as Xen counts it: $(top_deltas /tmp/dom0 /tmp/dom1 2 "$(awk -v a="$u0" -v b="$u1" -v c="$pcpus" 'BEGIN { print 100 / ((b - a) * c) }')") % over $(awk -v a="$u0" -v b="$u1" 'BEGIN { printf "%.1f", b - a }') s"
	metric "where:$t $name 1 $lat"
	# where dom0's CPU went, by task and function. Under PV a sample lands
	# where interrupts are next enabled, so most fall in xen_hypercall_pv:
	# the task is reliable, the function less so, and the call chains
	# (callee first) say which path made the hypercall.
	prof_wait /tmp/perf.data
	prof_report /tmp/perf.data >"/out/perf-$t-$name.txt"
	echo "  where   share of dom0 samples: $(prof_shares /tmp/perf.data)"
	# the guest's profile, from one more run (sampling slows the guest by
	# a fifth here, so not in the counted one): the report to its console
	# (kept in the results), the shares here. Not in a full run, for time:
	# it has read about half fio, half idle in every run.
	full && return
	G_WATCH=1 g $(((RT + 1) * 3 + 120)) "$G prof_start /tmp/perf.data && $(fio_cmd /dev/$dev "$name") && prof_stop /tmp/perf.data && prof_wait /tmp/perf.data && { echo '@@PERF $t $name'; prof_report /tmp/perf.data; } >/dev/console && prof_shares /tmp/perf.data" &&
		echo "  where   share of the guest's samples (a run of its own): $GOUT"
}

# ---- setup ----
# dom0's null_blk devices (configfs), named DISK_LAT: LAT is inst (each I/O
# completes inside its submission, irqmode=0), 100us or 2ms (a timer per
# I/O, irqmode=2 completion_nsec: what TCG's timers make of them is
# measured below, not assumed), or mem (memory-backed, 100 us timers: the
# verify pass's disk). All 4 GiB, so a disk's table can point at any of
# them; q_inst is qdisk's (nullb: lib.sh).
dm_table() { echo "0 $(blockdev --getsz "/dev/$1") linear /dev/$1 0"; } # DEV
bench_disks() {
	local d
	modprobe null_blk nr_devices=0 || return 1
	nullb q_inst 0 0 0 || return 1
	for d in xvdb xvdd; do
		nullb ${d}_inst 0 0 0 && nullb ${d}_100us 2 100000 0 && nullb ${d}_2ms 2 2000000 0 &&
			nullb ${d}_mem 2 100000 1 && dmsetup create bench_$d --table "$(dm_table ${d}_inst)" || return 1
	done
	dmsetup mknodes && test -b /dev/mapper/bench_xvdb && test -b /dev/mapper/bench_xvdd
}
# disks_on LAT: both disks point at their LAT device from now on (between
# fio runs: a suspended table holds what arrives meanwhile)
disks_on() {
	local d
	for d in xvdb xvdd; do
		dmsetup suspend bench_$d && dmsetup load bench_$d --table "$(dm_table ${d}_$1)" &&
			dmsetup resume bench_$d || return 1
	done
}
check "null_blk devices with latency, device-mapper disks over them" bench_disks
insmod /lab/modules/xenidc.ko
usb_setup
# the native USB reference first, while dom0's usb-storage has the stick
usb_part && for rep in $(seq "$REPS"); do
	t0=$(cut -d' ' -f1 /proc/uptime)
	dd if=/dev/$STICK_SD of=/dev/null bs=1M count=16 iflag=direct 2>/dev/null
	t1=$(cut -d' ' -f1 /proc/uptime)
	metric "usb-native read16m $rep $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", 16.78/(b-a)}')"
done
# qdisk and qusb must be in the config at create time (that starts QEMU)
bench_guest() {
	GUEST_VCPUS=2 guest_start "disk=['format=raw,vdev=xvdc,access=rw,backendtype=qdisk,target=/dev/q_inst']" \
		"usbctrl=['type=qusb,version=2,ports=4']"
}
check "guest boots with a qdisk vbd and a qusb controller" bench_guest
check "the qdisk vbd appears in the guest" g 60 "$G wait_blk xvdc"

# ---- block: what the devices deliver, verify, then the matrix ----
case ${BENCH_ONLY:-} in var) WHERE_TARGETS= ;; matrix) WHERE_TARGETS= ;; esac
full || WHERE_JOBS="rr32 sr1m"
WHERE_JOBS=${BENCH_WHERE_JOBS:-$WHERE_JOBS}
[ $PEER = twin ] && WHERE_TARGETS= # and no variants
blk_part && check "blkback2 (coexist=Y) serves $B2" serve blkback2
blk_part && check "$PEER serves $KB beside it" serve_peer

# blkback2's writable parameters as the guest asks for them between fio's
# jobs (bb2_set in g.sh): "N PARAM VALUE" in its data/bb2set is written
# here, and acknowledged with N in data/bb2ack only once written. A watch,
# not a poll: dom0's CPU is what the backends share. It ends with the
# guest (its directory gone).
bb2_watcher() {
	local p a
	p=$(gpath bb2set) a=$(gpath bb2ack)
	xenstore-write "$p" 0 "$a" 0 || return 1
	xenstore-watch "$p" 2>/dev/null | while read -r _; do
		v=$(xenstore-read "$p" 2>/dev/null) || break
		# shellcheck disable=SC2086 # N PARAM VALUE
		set -- $v
		[ $# = 3 ] || continue
		case " $WRITABLE " in *" $2 "*) ;; *) continue ;; esac
		echo "$3" >"/sys/module/blkback2/parameters/$2" && xenstore-write "$a" "$1" &&
			echo "$2=$3 (#$1)" >>/out/bb2set.log
	done &
}
blk_part && check "dom0 switches blkback2's parameters when the guest asks" bb2_watcher

# The matrix: each job on each target in turn, in one fio run per device
# and repetition, fio's clock on. Targets: b, blkback2 at its defaults; c,
# blkback2 with event coalescing off (coalesce_us=0, switched in place by
# fio's exec_prerun, so b and c run the same job seconds apart in one
# boot); k, xen-blkback (or the A/A twin); q, qdisk with BENCH_QDISK=1, on
# the instant disk only (its own). JOB:RW:BS:QD; "burst" submits 8 at once,
# waits for all 8 and rests 5 ms: a ring that goes idle with answers held.
MRT=${BENCH_MATRIX_RUNTIME:-2}
MJOBS="rr1:randread:4k:1 rr4:randread:4k:4 rr8:randread:4k:8 rr16:randread:4k:16 rr32:randread:4k:32
	rw1:randwrite:4k:1 rw4:randwrite:4k:4 rw8:randwrite:4k:8 rw16:randwrite:4k:16 rw32:randwrite:4k:32
	rrw16:randrw:4k:16 sr64k:read:64k:8 sw64k:write:64k:8 sr1m:read:1m:4 sw1m:write:1m:4 burst:randread:4k:8"
# each device's jobs, fewer where a job takes long (for time: make bench
# must fit in 45 minutes here; a job costs its 2.5 s and 0.7 s more of
# fio's and of the switch's own under TCG, 2026-12-03); BENCH_LATS picks
# the devices, BENCH_JOBS narrows the jobs
declare -A MLIST=(
	[inst]="rr1 rr4 rr8 rr16 rr32 rw1 rw4 rw8 rw16 rw32 rrw16 sr64k sw64k sr1m sw1m burst"
	[100us]="rr1 rr4 rr8 rr16 rr32 rw1 rw16 rw32 rrw16 sr1m burst"
	[2ms]="rr1 rr4 rr8 rr16 rr32 rw16 rrw16 burst")
LATS=${BENCH_LATS:-inst 100us 2ms}
mjobs() { # LAT
	local j
	for j in ${MLIST[$1]}; do
		[ -z "${BENCH_JOBS:-}" ] || [[ " $BENCH_JOBS " == *" $j "* ]] && echo "$j"
	done
}
mspec() { echo $MJOBS | tr ' ' '\n' | grep "^$1:"; }
mopts() { # JOB: fio options beyond rw, bs and iodepth
	case $1 in
	rrw*) echo --rwmixread=70 ;;
	burst) echo --iodepth_batch_submit=8 --iodepth_batch_complete_min=8 --thinktime=5000 --thinktime_blocks=8 ;;
	esac
}
declare -A TNAME=([b]=blkback2 [c]=blkback2-c0 [k]=$PEER [q]=qdisk)
declare -A TDISK=([b]=$B2 [c]=$B2 [k]=$KB [q]=xvdc)
mtargets() { # LAT
	local ts="b c k"
	[ $PEER = twin ] && ts="b k" # the twin is blkback2: a switch would hit both
	[ "${BENCH_QDISK:-}" = 1 ] && [ "$1" = inst ] && ts="$ts q"
	echo $ts
}
prerun() { # TARGET: blkback2's coalescing as the target has it
	case $1 in
	b) echo "--exec_prerun='. /lab/g.sh; bb2_set coalesce_us ${DEFAULTS[coalesce_us]}'" ;;
	c) echo "--exec_prerun='. /lab/g.sh; bb2_set coalesce_us 0'" ;;
	esac
}
# order I TARGET...: rotated by I and reversed when I is odd, so that over
# consecutive jobs each target runs first, in the middle and last
order() {
	local i=$1 n k out=()
	shift
	n=$#
	for ((k = 0; k < n; k++)); do out+=("${@:$(((i + k) % n + 1)):1}"); done
	if [ $((i % 2)) = 1 ]; then printf '%s\n' "${out[@]}" | tac | tr '\n' ' '; else echo "${out[@]}"; fi
}
FIO_LAT="fio --cpus_allowed=0 --ioengine=libaio --direct=1 --time_based=1 --runtime=$MRT --ramp_time=500ms --percentile_list=50:99:99.9 --output-format=json --output=/tmp/fio.json"
# lat_metrics TARGET JOB REP LINE: the IOPS and latencies of fio_lat's line
lat_metrics() {
	local iops p50 p99 p999
	read -r _ iops p50 p99 p999 <<<"$4"
	metric "$1 $2 $3 $iops"
	metric "$1 $2:p50 $3 $p50"
	metric "$1 $2:p99 $3 $p99"
	metric "$1 $2:p999 $3 $p999"
}
# What the devices deliver here, natively in dom0 (fio's clock on): 4 KiB
# random read at QD1 and QD16 on each of blkback2's disk's devices. (In an
# earlier probe a 2 ms completion took about 5 ms in a guest.)
device_native() {
	local lat j cmd line
	cmd=$FIO_LAT
	for lat in $LATS; do
		for j in rr1 rr16; do
			cmd="$cmd --name=native@$j.$lat --filename=/dev/${B2}_$lat --rw=randread --bs=4k --iodepth=${j#rr} --stonewall"
		done
	done
	$cmd >/dev/null && cp /tmp/fio.json /out/fio/native-devices.json || return 1
	while read -r line; do
		set -- $line
		j=${1#native@}
		lat_metrics native "${j%.*}/${j#*.}" 1 "$line"
		echo "  device ${j#*.}: ${j%.*} natively in dom0: $2 IOPS, completion p50 $3 us, p99 $4 us, p99.9 $5 us"
	done < <(fio_lat /tmp/fio.json)
}
# One pass of fio verify (crc32c) through every peer before anything is
# timed, on the memory-backed disks: 32 MiB in mostly small blocks at QD16
# (deep and small: blkback2 coalesces), then all of it read back and
# checked. A mismatch or an I/O error fails make bench.
bench_verify() {
	local t cmd
	disks_on mem || return 1
	cmd="rm -f /tmp/bb2_*; fio --ioengine=libaio --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 --rw=randwrite --bssplit=4k/70:16k/20:128k/10 --iodepth=16 --size=32m --output-format=json --output=/tmp/fio.json"
	for t in $(mtargets mem); do cmd="$cmd --name=$t@verify --filename=/dev/${TDISK[$t]} $(prerun $t) --stonewall"; done
	G_WATCH=1 g 900 "$G $cmd && fio_iops /tmp/fio.json" || { echo "$GOUT"; return 1; }
	printf '%b\n' "$GOUT" | sed 's/^/  verify /'
}
# matrix_run LAT REP: each of LAT's jobs on every target in turn, in as
# few fio runs as fit in a command to the guest (xenstore takes 4 KiB)
matrix_run() {
	local lat=$1 rep=$2 k=0 c=0 j t rw bs qd parts=() p cmd
	for j in $(mjobs "$lat"); do
		IFS=: read -r _ rw bs qd <<<"$(mspec "$j")"
		# shellcheck disable=SC2046 # the targets: words
		for t in $(order $((rep + k)) $(mtargets "$lat")); do
			parts+=("--name=$t@$j --filename=/dev/${TDISK[$t]} --rw=$rw --bs=$bs --iodepth=$qd $(mopts "$j") $(prerun "$t") --stonewall")
		done
		k=$((k + 1))
	done
	cmd=
	for p in "${parts[@]}" ""; do
		if [ -n "$cmd" ] && { [ -z "$p" ] || [ $((${#cmd} + ${#p})) -gt 3000 ]; }; then
			matrix_fio "$lat" "$rep" $c "$cmd"
			c=$((c + 1)) cmd=
		fi
		[ -z "$p" ] || cmd="$cmd $p"
	done
}
# matrix_fio LAT REP CHUNK JOBS: one fio run in the guest; fio's JSON to
# the console (dom0 keeps the log, the host the JSON), the IOPS and
# latencies back, every job's
matrix_fio() {
	local lat=$1 rep=$2 n got=0 line t j
	n=$(grep -o -- '--name=' <<<"$4" | wc -l)
	G_WATCH=1 g $(((MRT + 3) * n + 120)) "$G rm -f /tmp/bb2_*; $FIO_LAT $4 && { echo '@@FIOZ $lat.$rep.$3'; gzip -c /tmp/fio.json | base64; echo '@@FIOZ-END'; } >/dev/console && fio_lat /tmp/fio.json" ||
		{ fail "bench matrix $lat #$rep.$3" "$(echo "$GOUT" | tail -3)"; return; }
	while read -r line; do
		t=${line%%@*} j=${line#*@}
		j=${j%% *}
		[ -n "$t" ] && [ -n "${TNAME[$t]:-}" ] || continue
		lat_metrics "${TNAME[$t]}" "$j/$lat" "$rep" "$line"
		got=$((got + 1))
	done < <(printf '%b\n' "$GOUT")
	[ "$got" = "$n" ] || fail "bench matrix $lat #$rep.$3" "$got of $n jobs reported"
}
if blk_part && matrix_part; then
	t0=$SECONDS
	check "what the devices deliver natively (fio in dom0)" device_native
	check "fio verify=crc32c through every peer, memory-backed disks" bench_verify
	for rep in $(seq "$REPS"); do
		# the devices in turn, the order reversed every other repetition
		lats=$LATS
		[ $((rep % 2)) = 0 ] && lats=$(echo $LATS | tr ' ' '\n' | tac)
		for lat in $lats; do
			if disks_on "$lat"; then matrix_run "$lat" "$rep"; else fail "bench: disks on $lat (#$rep)"; fi
		done
	done
	echo "  matrix: $((SECONDS - t0)) s"
fi
blk_part && { disks_on inst || fail "bench: disks back on the instant devices"; }

# ---- where the time goes: counted runs ----
# blkback2 last: the variants below start from it as it is served
blk_part && for t in $WHERE_TARGETS; do
	if [ "$t" = xen-blkback ] || [ "$SERVED" = "$t" ] || serve "$t"; then
		for j in $WHERE_JOBS; do where "$t" "$j"; done
	else
		fail "bench: serve $B2 with $t (where)"
	fi
done

# ---- blkback2's optimisations, each switched off in turn ----
# Interleaved like the peers, REPS times, default in the middle and the
# order reversed every other repetition: a machine that speeds up or slows
# down midway tilts each variant's ratio one way in one repetition and the
# other way in the next, by at most three places. The writable ones sit
# next to the default: they switch in place. Every variant runs the same
# jobs in the same order, so each job follows the same history. (Running
# each variant's jobs beside xen-blkback's, as the peers do, and comparing
# ratios to it did not narrow the spread, and cost 3 minutes a run.)
# BENCH_VARIANTS replaces the list, in this form: "xenidc-unbound_work=1"
# (per-CPU work against unbound, left out for time) is one more.
# (coalesce_us=0 is not among them: the matrix has it beside every job.)
VARIANTS=${BENCH_VARIANTS:-blkback2-feature_persistent=0 blkback2-map_batch=1 blkback2-batch=1 blkback2 blkback2-max_queues=1}
var_part && [ $PEER != twin ] && for rep in $(seq "$REPS"); do
	vs=$VARIANTS
	[ $((rep % 2)) = 0 ] && vs=$(echo $VARIANTS | tr ' ' '\n' | tac)
	for v in $vs; do
		if [ "$SERVED" = "$v" ] || serve "$v"; then
			read -r _ l0 <<<"$(coalescing "$(vbd_stats $B2)")"
			# shellcheck disable=SC2086
			run_jobs "var:${v#blkback2-}" "$rep" /dev/$B2 $VARIANT_JOBS
			read -r _ l1 <<<"$(coalescing "$(vbd_stats $B2)")"
			# switched off in place, it must be off
			[ "$v" != blkback2-coalesce_us=0 ] || [ "$l1" = "$l0" ] ||
				fail "bench: coalesce_us=0 (#$rep) still polled" "$((l1 - l0)) looks"
		else
			fail "bench: serve $B2 with $v (#$rep)"
		fi
	done
done
blk_part && detach $B2 && detach $KB
blk_part && check "the guest's kernel log is clean after the backends took turns" log_clean guest

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
usb_where() { # TARGET REP
	local u0 b0 i0 u1 b1 i1
	u0=$(vusb_stat urbs) b0=$(vusb_stat bytes_in) i0=$(irq_total xhci)
	usb_read "$@" || return 1
	u1=$(vusb_stat urbs) b1=$(vusb_stat bytes_in) i1=$(irq_total xhci)
	echo "  where $1 read16m: $((u1 - u0)) guest URBs, $((i1 - i0)) xHCI interrupts, $(((b1 - b0) / (u1 - u0 + (u1 == u0)))) bytes per guest URB"
}
# the first read after an attach ran slower than the next ones (the guest
# still probing the new disk): one read of 1 MiB first, for every target
usb_warm() { g 120 "$G wait_blk sda 90 >/dev/null && dd if=/dev/sda of=/dev/null bs=1M count=1 iflag=direct 2>/dev/null"; }
usb_part && for rep in $(seq "$REPS"); do
	if usb_to 1 && usb_warm; then
		usb_where usbback "$rep"
		usb_off 1 || fail "bench usbback #$rep" "detach"
	else
		fail "bench usbback #$rep" "attach"
	fi
	{ usb_to 0 && usb_warm && usb_read qusb "$rep" && usb_off 0; } || fail "bench qusb #$rep" "attach/detach"
done
cp /var/log/xen/console/guest-$GUEST.log /out/fio/guest-console.log 2>/dev/null
guest_stop
ok "bench ran to the end"
lab_end bench
