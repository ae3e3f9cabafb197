# SPDX-License-Identifier: GPL-2.0-only
#
# make bench's matrix as Markdown tables, from its metrics ("TARGET JOB REP
# VALUE" a line, JOB being NAME/DISK for IOPS and NAME/DISK:p50, :p99,
# :p999 for completion latency in us). Ratios are the median of the
# per-repetition ratios, with their range: each repetition ran its peers
# seconds apart, so a ratio within one repetition cancels the machine's
# drift that comparing medians across repetitions would not. Prints the
# devices' own latency, the matrix, and the coalescing verdict: where the
# default (coalesce_us=2000) loses or wins against coalesce_us=0 in every
# repetition and by more than the noise margin at the median (iops_noise,
# default 0.10; p99_noise, default 0.20: with three repetitions, all three
# on one side happens by chance for one cell in four).
#   awk -v peer=xen-blkback -f scripts/bench-matrix.awk metrics.txt

function sortn(a, n,    i, j, t) { # insertion sort of a[1..n]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}
function median(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
# the median of T's KEY over the repetitions, "" if none
function med(t, key,    r, a, n) {
	n = 0
	for (r = 1; r <= maxrep; r++) if ((t, key, r) in v) a[++n] = v[t, key, r]
	if (!n) return ""
	sortn(a, n)
	return median(a, n)
}
# ratio A/B of KEY per repetition: sets rmed, rlo, rhi, rn; 0 if none
function ratio(a, b, key,    r, x, n) {
	n = 0
	for (r = 1; r <= maxrep; r++)
		if ((a, key, r) in v && (b, key, r) in v && v[b, key, r] > 0) x[++n] = v[a, key, r] / v[b, key, r]
	rn = n
	if (!n) return 0
	sortn(x, n)
	rmed = median(x, n); rlo = x[1]; rhi = x[n]
	return 1
}
function fr(a, b, key) { # a ratio cell
	if (!ratio(a, b, key)) return "–"
	return sprintf("%.2f× (%.2f–%.2f)", rmed, rlo, rhi)
}
function lat3(t, key,    a, b, c) { # p50 / p99 / p99.9, medians
	a = med(t, key ":p50"); b = med(t, key ":p99"); c = med(t, key ":p999")
	if (a == "") return "–"
	return sprintf("%d / %d / %d", a, b, c)
}
{
	v[$1, $2, $3] = $4
	if ($3 > maxrep) maxrep = $3
	if ($2 ~ /:/) next
	split($2, p, "/")
	if (p[2] == "") next
	if (!((p[2]) in disk)) { disk[p[2]] = 1 }
	if (!(($2) in seen)) { seen[$2] = 1; order[++njobs] = $2 }
}
END {
	c0 = "blkback2-c0"
	if (iops_noise == "") iops_noise = 0.10
	if (p99_noise == "") p99_noise = 0.20
	ndisk = split("inst 100us 2ms", disks, " ")
	name["inst"] = "instant"; name["100us"] = "100 µs"; name["2ms"] = "2 ms"
	# what the devices deliver natively
	print "What the disks deliver here, natively in dom0 (fio, 4 KiB random read, completion latency in µs):"
	print ""
	print "| null_blk disk | QD | IOPS | p50 | p99 | p99.9 |"
	print "|---|---|---|---|---|---|"
	for (d = 1; d <= ndisk; d++) for (q = 1; q <= 2; q++) {
		k = (q == 1 ? "rr1/" : "rr16/") disks[d]
		if (!(("native", k, 1) in v)) continue
		printf "| %s | %s | %d | %d | %d | %d |\n", name[disks[d]], q == 1 ? 1 : 16, v["native", k, 1],
			v["native", k ":p50", 1], v["native", k ":p99", 1], v["native", k ":p999", 1]
	}
	print ""
	print "The matrix: blkback2 at its defaults against " peer " and against itself with event coalescing off"
	print "(`coalesce_us=0`), all three in one fio run, job by job. IOPS ratios above 1 and p99 ratios below 1"
	print "favour blkback2's default. Median of the per-repetition ratios (range, n = " maxrep "); latency in µs,"
	print "medians over the repetitions; the 70/30 mix gives the reads' latency and both directions' IOPS."
	print ""
	print "| disk | job | blkback2 IOPS | ÷ " peer ": IOPS | ÷ " peer ": p99 | ÷ coalesce_us=0: IOPS | ÷ coalesce_us=0: p99 | p50 / p99 / p99.9: blkback2 | coalesce_us=0 | " peer " |"
	print "|---|---|---|---|---|---|---|---|---|---|"
	nj = split("rr1 rr4 rr8 rr16 rr32 rw1 rw4 rw8 rw16 rw32 rrw16 sr64k sw64k sr1m sw1m burst", jobs, " ")
	for (d = 1; d <= ndisk; d++) for (i = 1; i <= nj; i++) {
		k = jobs[i] "/" disks[d]
		split(k, p, "/")
		if (med("blkback2", k) == "") continue
		printf "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", name[p[2]], p[1], med("blkback2", k),
			fr("blkback2", peer, k), fr("blkback2", peer, k ":p99"), fr("blkback2", c0, k), fr("blkback2", c0, k ":p99"),
			lat3("blkback2", k), lat3(c0, k), lat3(peer, k)
		# the verdict on coalescing: the whole range on one side of 1
		if (ratio("blkback2", c0, k)) {
			if (rhi < 1 && rmed < 1 - iops_noise) lose = lose sprintf(" %s IOPS %.2f×;", k, rmed)
			if (rlo > 1 && rmed > 1 + iops_noise) win = win sprintf(" %s IOPS %.2f×;", k, rmed)
		}
		if (ratio("blkback2", c0, k ":p99")) {
			if (rlo > 1 && rmed > 1 + p99_noise) lose = lose sprintf(" %s p99 %.2f×;", k, rmed)
			if (rhi < 1 && rmed < 1 - p99_noise) win = win sprintf(" %s p99 %.2f×;", k, rmed)
		}
		if (ratio("blkback2", peer, k)) {
			if (rhi < 1) behind = behind sprintf(" %s IOPS %.2f×;", k, rmed)
		}
		if (ratio("blkback2", peer, k ":p99")) {
			if (rlo > 1.1) behind = behind sprintf(" %s p99 %.2f×;", k, rmed)
		}
	}
	print ""
	printf "Coalescing (`coalesce_us=2000` against `0`), cells whose every repetition is on one side and whose median is\n"
	printf "beyond the noise margin (IOPS ±%d %%, p99 ±%d %%):\n", iops_noise * 100, p99_noise * 100
	print ""
	print "* the default loses:" (lose == "" ? " nowhere" : lose)
	print "* the default wins:" (win == "" ? " nowhere" : win)
	print "* blkback2 behind " peer " (IOPS below 1×, or p99 above 1.1×, in every repetition):" (behind == "" ? " nowhere" : behind)
}
