# SPDX-License-Identifier: GPL-2.0-only
# Helpers for commands the lab runs in the guest: g 60 '. /lab/g.sh; wait_blk xvdb'

wait_blk() { # NAME [SECONDS]
	local i=0
	while [ ! -b "/dev/$1" ]; do
		i=$((i + 1))
		[ $i -ge $((${2:-60} * 4)) ] && { echo "/dev/$1 did not appear"; return 1; }
		sleep 0.25
	done
	echo "$1: $(cat /sys/block/$1/size) sectors, ro=$(cat /sys/block/$1/ro)"
}

wait_gone() { # NAME [SECONDS]
	local i=0
	while [ -e "/sys/block/$1" ]; do
		i=$((i + 1))
		[ $i -ge $((${2:-60} * 4)) ] && { echo "/dev/$1 did not go away"; return 1; }
		sleep 0.25
	done
}

# fio with data verification; fails on any I/O or verify error.
fio_verify() { # DEV NAME FIO-ARGS...
	local dev=$1 name=$2
	shift 2
	fio --name="$name" --filename="$dev" --ioengine=libaio --direct=1 --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --output-format=terse --terse-version=3 "$@" >/tmp/fio.$name || return 1
	# terse v3: field 5 = read KiB, 6 = read bw KiB/s, 47 = write KiB, 48 = write bw
	awk -F';' '{printf "%s: read %d MiB (%d KiB/s), wrote %d MiB (%d KiB/s), errors %s\n",
		$3, $6/1024, $7, $47/1024, $48, $5}' /tmp/fio.$name
}

# A file written through ext4, read back after the page cache is dropped.
ext4_roundtrip() { # DEV
	mkfs.ext4 -q -F "$1" || return 1
	mount -t ext4 "$1" /mnt || return 1
	dd if=/dev/urandom of=/mnt/file bs=1M count=32 2>/dev/null
	local a=$(sha256sum /mnt/file | cut -d' ' -f1)
	umount /mnt && echo 3 >/proc/sys/vm/drop_caches && mount -t ext4 "$1" /mnt || return 1
	local b=$(sha256sum /mnt/file | cut -d' ' -f1)
	umount /mnt
	echo "sha256 written $a, read back $b"
	[ "$a" = "$b" ]
}

# A command that must fail with the given error (an I/O error must never
# look like success, nor like some other failure).
must_fail() { # ERROR-TEXT CMD...
	local want=$1
	shift
	if "$@" 2>/tmp/err; then
		echo "succeeded but must fail: $*"
		return 1
	fi
	echo "failed: $(grep -v 'records' /tmp/err | tail -1)"
	grep -qE "$want" /tmp/err
}

# CPU time so far outside idle, iowait and steal, in USER_HZ ticks (100:
# a tick is 1e4 us). Used in dom0 too.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }

# The interrupts so far from the sources whose line matches PATTERN, all
# CPUs summed. Used in dom0 too.
irq_total() { # PATTERN
	awk -v p="$1" '$0 ~ p { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }' /proc/interrupts
}

# The guest's CPU ticks, the interrupts its block frontends took, the time
# and its CPU count: "TICKS IRQS UPTIME CPUS"
guest_counts() { echo "$(busy_ticks) $(irq_total blkif) $(cut -d' ' -f1 /proc/uptime) $(nproc)"; }

# The IOPS of each job in a fio JSON report, a line "JOB READ WRITE" each
# (fio writes a read, a write and a trim section per job, "iops" in each).
fio_iops() { # FILE
	awk '/^ *"jobname" :/ { j = $3; gsub(/[",]/, "", j); n = 0 }
		/^ *"iops" :/ { v = $3; sub(/,$/, "", v); io[j, ++n] = v; if (n == 1) order[++k] = j }
		END { for (i = 1; i <= k; i++) print order[i], io[order[i], 1], io[order[i], 2] }' "$1"
}

# The I/Os of a one-job fio JSON report, all directions: "TOTAL_IOS IOPS"
fio_totals() { # FILE
	awk '/^ *"(total_ios|iops)" :/ { v = $3; sub(/,$/, "", v); t[$1] += v }
		END { print t["\"total_ios\""] + 0, t["\"iops\""] + 0 }' "$1"
}

# A cpu-clock profile of the whole machine, for make bench's counted runs
# (the lab puts perf in dom0 and the guest only for make bench): samples on
# a timer, nothing patched. Used in dom0 too.
prof_start() { # FILE
	perf record -a -g -e cpu-clock -F 499 -q -o "$1" 2>/dev/null &
	echo $! >"$1.pid"
}
prof_stop() { kill -INT "$(cat "$1.pid")"; } # FILE
prof_wait() { # FILE: until it is written (perf is this shell's child)
	wait "$(cat "$1.pid")" 2>/dev/null
	while kill -0 "$(cat "$1.pid")" 2>/dev/null; do sleep 0.2; done
}
# The share of samples by task, on one line (after prof_wait). Under PV a
# sample lands where interrupts are next enabled, so the task is reliable,
# the function less so.
prof_shares() { # FILE
	perf report -i "$1" --stdio --no-children --sort comm --percent-limit 1 -g none 2>/dev/null |
		grep -v '^#' | grep . | head -8 | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 } END { print "" }'
}
# The report by task and function, with the call chains (callee first)
prof_report() { # FILE
	perf report -i "$1" --stdio --no-children --sort comm,dso,sym --percent-limit 0.3 \
		-g graph,0.5,callee 2>/dev/null | grep -v '^#' | grep .
}

# Each job's IOPS and completion latency from a fio JSON report with fio's
# clock on, a line "JOB IOPS P50 P99 P99.9" (latencies in us, from fio's
# clat percentiles: run with --percentile_list=50:99:99.9). IOPS are both
# directions summed; the latency is the reads' when the job read, else the
# writes' (a 70/30 mix: the reads, what its submitter waits on). Kept short:
# the agent hands back 2000 bytes. (+ 0: busybox awk compares a string
# from sub() as a string, and "0.000000" > 0.)
fio_lat() { # FILE
	awk '/^ *"jobname" :/ { j = $3; gsub(/[",]/, "", j); order[++k] = j; d = "" }
		/^ *"(read|write|trim|sync)" : \{/ { d = $1; gsub(/"/, "", d) }
		d != "read" && d != "write" { next }
		/^ *"iops" :/ { v = $3; sub(/,$/, "", v); io[j, d] = v }
		/^ *"(50\.000000|99\.000000|99\.900000)" : / { p = $1; gsub(/"/, "", p); v = $3; sub(/,$/, "", v)
			if (!((j, d, p + 0) in pc)) pc[j, d, p + 0] = v }
		END { for (i = 1; i <= k; i++) { j = order[i]; d = io[j, "read"] + 0 > 0 ? "read" : "write"
			printf "%s %.0f %.0f %.0f %.0f\n", j, io[j, "read"] + io[j, "write"],
				pc[j, d, 50] / 1000, pc[j, d, 99] / 1000, pc[j, d, 99.9] / 1000 } }' "$1"
}

# bb2_set PARAM VALUE: has dom0 (make bench's watcher, on data/bb2set)
# write blkback2's writable parameter, and waits until it did: fio's
# exec_prerun calls it, so blkback2 switches between two jobs of one fio
# run. Nothing to do when it is already so (as this guest last set it).
bb2_set() {
	local n i=0
	[ "$(cat /tmp/bb2_$1 2>/dev/null)" = "$2" ] && return 0
	n=$(($(xenstore-read data/bb2ack) + 1))
	xenstore-write data/bb2set "$n $1 $2" || return 1
	until [ "$(xenstore-read data/bb2ack)" = "$n" ]; do
		i=$((i + 1))
		[ $i -ge 200 ] && { echo "@@G bb2_set $1=$2: no answer from dom0" >/dev/console; return 1; }
		sleep 0.05
	done
	echo "$2" >/tmp/bb2_$1
}
