# SPDX-License-Identifier: GPL-2.0-only
#
# Host-side helpers for building the lab's initramfs roots. Roots use a
# merged /usr (bin, sbin, lib, lib64 -> usr/...), so every path is
# normalised to /usr/... before copying and cpio overlays merge cleanly.
# LAB_STAGE: where the Xen and kernel .debs are unpacked; LAB_LIBPATH: its
# library directory.

_usrpath() { case $1 in /bin/* | /sbin/* | /lib/* | /lib64/*) echo "/usr$1" ;; *) echo "$1" ;; esac; }

# copy_libs ROOT FILE...: the ELF interpreter and shared libraries (ldd)
copy_libs() {
	local root=$1 f l dst
	shift
	for f in "$@"; do
		head -c4 "$f" 2>/dev/null | grep -q ELF || continue
		{ LD_LIBRARY_PATH=${LAB_LIBPATH:-} ldd "$f" 2>/dev/null || true; } |
			awk '/=> \// {print $3} /^[ \t]*\/[^ ]+ \(/ {print $1}' | while read -r l; do
			dst=$l
			case $l in "${LAB_STAGE:-/nonexistent}"/*) dst=${l#"$LAB_STAGE"} ;; esac
			dst=$(_usrpath "$dst")
			[ -e "$root$dst" ] && continue
			mkdir -p "$root$(dirname "$dst")"
			cp -L "$l" "$root$dst"
		done
	done
}

# copy_bin ROOT BIN...: host programs (name or path) and their libraries
copy_bin() {
	local root=$1 b p dst
	shift
	for b in "$@"; do
		case $b in /*) p=$b ;; *) p=$(command -v "$b") || { echo "copy_bin: $b not found" >&2; return 1; } ;; esac
		dst=$p
		case $p in "${LAB_STAGE:-/nonexistent}"/*) dst=${p#"$LAB_STAGE"} ;; esac
		dst=$(_usrpath "$dst")
		mkdir -p "$root$(dirname "$dst")"
		rm -f "$root$dst"
		cp -L "$p" "$root$dst"
		copy_libs "$root" "$p"
	done
}

# mkcpio DIR OUT: an uncompressed newc archive (fastest to unpack under TCG)
mkcpio() { (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$2"; }

# lab_complete OUT SUITE: the suite printed its last line, every result the
# suites counted reached the host, and each suite that ended ran at least as
# many cases as min-cases.txt asks of it (for $BACKEND). Prints why not.
lab_complete() {
	local out=$1 suite=$2 got counted short
	got=$(grep -c '^@@LAB \(ok\|not ok\|skip\) ' "$out/results.txt" 2>/dev/null)
	counted=$(sed -n 's/^@@LAB-END .* cases=//p' "$out/ends.txt" 2>/dev/null | awk '{ n += $1 } END { print n + 0 }')
	short=$(awk -v b="${BACKEND:-blkback2}" '
		FNR == NR { if ($1 !~ /^#/) min[$1] = $2; next }
		/^@@LAB-END / { n = $3; sub(/cases=/, "", n); m = min[$2 ":" b] + 0
			if (m < 1) m = 1
			if (n + 0 < m) printf "suite %s ran %d cases, fewer than the %d of min-cases.txt; ", $2, n, m }
	' "$(dirname "${BASH_SOURCE[0]}")/min-cases.txt" "$out/ends.txt" 2>/dev/null)
	if ! grep -q "^@@LAB-END $suite " "$out/ends.txt" 2>/dev/null; then
		echo "suite $suite did not reach its end"
	elif [ "$got" != "$counted" ]; then
		echo "the suites counted $counted results, $got reached the host"
	elif [ -n "$short" ]; then
		echo "${short%; }"
	else
		return 0
	fi
	return 1
}

# new_root DIR: an empty merged-/usr skeleton with busybox
new_root() {
	local a
	mkdir -p "$1"/usr/bin "$1"/usr/sbin "$1"/usr/lib "$1"/usr/lib64
	ln -sfn usr/bin "$1/bin"
	ln -sfn usr/sbin "$1/sbin"
	ln -sfn usr/lib "$1/lib"
	ln -sfn usr/lib64 "$1/lib64"
	cp /bin/busybox "$1/usr/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		a=$(_usrpath "/$a")
		[ -e "$1$a" ] || [ -L "$1$a" ] || ln -s /usr/bin/busybox "$1$a"
	done
}

# The kernels the lab boots, Debian 12's: lab_kver 6.1|6.12 prints the
# version (linux-image-<it>-unsigned, /usr/src/linux-headers-<it>).
lab_kver() {
	case $1 in
	6.1) echo 6.1.0-56-amd64 ;;
	6.12) echo 6.12.117+deb12-amd64 ;;
	*) echo "unknown lab kernel '$1' (6.1 or 6.12)" >&2; return 1 ;;
	esac
}
# lab_kversion 6.1|6.12: the upstream version of the kernel the lab boots
# (6.1.192), from its .deb's name
lab_kversion() {
	local d
	d=$(ls "$XENIDC_CACHE/lab/debs/linux-image-$(lab_kver "$1")-unsigned_"*.deb 2>/dev/null | tail -1)
	[ -n "$d" ] || { echo "$1"; return; }
	d=${d##*/}
	d=${d#*_}
	echo "${d%%-*}"
}
