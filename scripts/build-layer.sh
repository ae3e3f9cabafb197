#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The build layer: the modules against Debian 12's 6.1 and 6.12 kernel
# headers, each in its own copy of the tree, with zero warnings and no
# constructor or exception sections (the KUnit layer adds the third tree);
# and the style: clang-format for the C++, checkpatch --strict for the C.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

# build_copy KDIR DIR NAME: the modules, built in a copy of the tree in DIR
# (so each kernel's objects stay apart), as result NAME.
build_copy() {
	mkdir -p "$2"
	rsync -a --delete --exclude .build --exclude .git "$XENIDC_ROOT/" "$2/"
	if "$XENIDC_ROOT/scripts/build-modules.sh" "$1" "$2" >"$2.log" 2>&1; then
		result pass "$3"
	else
		grep -iE 'warning|error|forbidden' "$2.log" | head -20
		result fail "$3"
	fi
}

for kdir in "$HDRS_61" "$HDRS_612"; do
	tag=$(basename "$kdir" | sed 's/^linux-headers-//')
	if [ ! -d "$kdir" ]; then
		result fail "modules build against $tag" "$kdir missing (make deps)"
		continue
	fi
	src=$XENIDC_BUILD/modules-$tag
	build_copy "$kdir" "$src" "modules build against $tag: no warnings, no forbidden sections"
	# The fake-Xen hook is for test builds only (make XENIDC_TEST=y).
	if grep -qw xi_set_xen_ops "$src/Module.symvers" 2>/dev/null || [ ! -s "$src/Module.symvers" ]; then
		result fail "xenidc.ko ($tag) exports no test hook (xi_set_xen_ops)"
	else
		result pass "xenidc.ko ($tag) exports no test hook (xi_set_xen_ops)"
	fi
	for m in xenidc xenbus_lite blkback2 usbback; do
		ko=$src/$m/$m.ko
		[ -f "$ko" ] || continue
		deps=$(modinfo -F depends "$ko")
		case $m in
		xenidc) want="" ;;
		xenbus_lite) want="xenidc" ;;
		*) want="xenidc,xenbus_lite" ;;
		esac
		# modinfo lists dependencies in any order
		if [ "$(echo "$deps" | tr ',' '\n' | grep -E '^(xenidc|xenbus_lite)$' | sort | paste -sd,)" = "$(echo "$want" | tr ',' '\n' | sort | paste -sd,)" ]; then
			result pass "$m.ko ($tag) depends on: ${want:-nothing of ours}"
		else
			result fail "$m.ko ($tag) depends on: ${want:-nothing of ours}" "modinfo says '$deps'"
		fi
	done
done

# An oops in the C++ names a file and line: Debian's 6.12 config keeps
# DWARF, and so do our C++ objects (no -g0; no module BTF instead). A frame
# inside blkback2's Ring::Pass resolves to ring.cpp.
ko=$XENIDC_BUILD/modules-$(basename "$HDRS_612" | sed 's/^linux-headers-//')/blkback2/blkback2.ko
name="an address in blkback2's C++ (Ring::Pass+0x10) resolves to ring.cpp:line (addr2line)"
addr=$(nm "$ko" 2>/dev/null | awk '$3 ~ /^_ZN8blkback24Ring4Pass/ { print $1; exit }')
# -i: the chain of inlined calls, innermost first; Pass's own line is in it
line=$([ -n "$addr" ] && addr2line -i -j .text -e "$ko" "$(printf '0x%x' $((0x$addr + 0x10)))" |
	sed -n 's/.*\/\(blkback2\/ring.cpp:[0-9]*\).*/\1/p' | head -1)
if [ -n "$line" ] && ! readelf -S "$ko" | grep -q '\.BTF'; then
	result pass "$name: $line, no .BTF section"
else
	result fail "$name" "address '${addr:-none}' -> '${line:-nothing}'"
fi

# arm64: the same 6.12 kernel's arm64 headers, from Debian, unpacked once per
# version into the cache. apt gets them with a private state (its own lists,
# arm64 only): dpkg gets no foreign architecture. Their scripts/ and tools/
# link to the host's linux-kbuild of the same version (fixdep, modpost... as
# x86 binaries); .kernelvariables sets ARCH=arm64 and CROSS_COMPILE itself.
# Prints the tree's path.
ARM64_FLAVOUR=$(basename "$HDRS_612" | sed 's/^linux-headers-//; s/-amd64$/-arm64/')
ARM64_KBUILD=linux-kbuild-${ARM64_FLAVOUR%-arm64}
arm64_kdir() {
	local ver dir kdir apt
	ver=$(dpkg-query -W -f='${Version}' "$ARM64_KBUILD") || return 1
	dir=$XENIDC_CACHE/arm64-headers-$ver
	kdir=$dir/usr/src/linux-headers-$ARM64_FLAVOUR
	if [ ! -f "$kdir/Makefile" ]; then
		apt=$(mktemp -d) || return 1
		local -a o=(-qq -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
			-o "Dir::State::status=$apt/status" -o APT::Architecture=arm64
			-o APT::Architectures=arm64 -o APT::Sandbox::User=root)
		mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/deb" &&
			touch "$apt/status" && apt-get "${o[@]}" update &&
			(cd "$apt/deb" && apt-get "${o[@]}" download "linux-headers-$ARM64_FLAVOUR=$ver") &&
			rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" &&
			dpkg-deb -x "$apt"/deb/*.deb "$dir.tmp" &&
			ln -sfn "/usr/lib/$ARM64_KBUILD/scripts" "$dir.tmp/usr/src/linux-headers-$ARM64_FLAVOUR/scripts" &&
			ln -sfn "/usr/lib/$ARM64_KBUILD/tools" "$dir.tmp/usr/src/linux-headers-$ARM64_FLAVOUR/tools" &&
			rm -rf "$dir" && mv "$dir.tmp" "$dir"
		local rc=$?
		rm -rf "$apt"
		[ $rc = 0 ] || return 1
	fi
	echo "$kdir"
}

name="arm64: the modules build with aarch64-linux-gnu-, zero warnings"
# The compilers the arm64 tree names: $(CROSS_COMPILE)gcc-12, and its g++.
if ! command -v aarch64-linux-gnu-gcc-12 >/dev/null || ! command -v aarch64-linux-gnu-g++-12 >/dev/null; then
	result skip "$name" "no aarch64-linux-gnu-gcc-12/g++-12: g++-aarch64-linux-gnu is not installed (make deps)"
elif ! kdir=$(arm64_kdir); then
	result fail "$name" "cannot get linux-headers-$ARM64_FLAVOUR for $ARM64_KBUILD's version"
else
	build_copy "$kdir" "$XENIDC_BUILD/modules-$ARM64_FLAVOUR" "$name"
fi

# ---- Style ----

cxx=$("$XENIDC_ROOT/scripts/cxx-files.sh")
# shellcheck disable=SC2086 # $cxx: a file name a word
if ! command -v clang-format >/dev/null; then
	result fail "C++ sources are clang-format clean" "no clang-format (make deps)"
elif out=$(cd "$XENIDC_ROOT" && clang-format --dry-run --Werror $cxx 2>&1); then
	result pass "C++ sources are clang-format clean ($(echo "$cxx" | wc -l) files)"
else
	echo "$out" | grep -F 'error:' | head -20
	result fail "C++ sources are clang-format clean" "clang-format -i fixes them"
fi

# clang's thread-safety analysis over the C++ (the core and both drivers),
# as freestanding as the kernel build: the lock annotations of lock.h.
if ! command -v clang++ >/dev/null; then
	result fail "C++ passes clang -Wthread-safety" "no clang++ (make deps)"
elif out=$(cd "$XENIDC_ROOT" && for f in $cxx; do
	case $f in tests/*) continue ;; *.cpp) ;; *) continue ;; esac
	clang++ -std=gnu++20 -fsyntax-only -Wthread-safety -Werror -nostdinc++ -ffreestanding \
		-fno-exceptions -fno-rtti -Iinclude -Iblkback2 -Iusbback "$f" 2>&1
done) && [ -z "$out" ]; then
	result pass "C++ passes clang -Wthread-safety (guarded fields, locks required)"
else
	echo "$out" | grep -E 'warning|error' | head -20
	result fail "C++ passes clang -Wthread-safety"
fi

# checkpatch.pl from Debian's linux-source-6.12: just the script and the two
# data files it reads, unpacked once per package version. Prints its path.
CP_TARBALL=/usr/src/linux-source-6.12.tar.xz
checkpatch_pl() {
	local ver dir
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.12) || return 1
	dir=$XENIDC_CACHE/checkpatch-$ver
	if [ ! -f "$dir/checkpatch.pl" ]; then
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" &&
			tar -xJf "$CP_TARBALL" -C "$dir.tmp" --strip-components=2 \
				--wildcards --no-wildcards-match-slash '*/scripts/checkpatch.pl' \
				'*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch' &&
			rm -rf "$dir" && mv "$dir.tmp" "$dir" || return 1
	fi
	echo "$dir/checkpatch.pl"
}

# checkpatch's exceptions, each with its reason. Everywhere:
#   CAMELCASE           the kernel's USB descriptor fields (bConfigurationValue,
#                       idVendor...): run tree-less, checkpatch cannot tell them
#   LINUX_VERSION_CODE  an out-of-tree module built for both 6.1 and 6.12
CP_IGNORE=CAMELCASE,LINUX_VERSION_CODE
# In headers shared with the C++ core (they test __cplusplus), which cannot
# include kernel headers: uint32_t and the like (and types.h's typedefs that
# give them to the kernel's C++), 1u << n, __attribute__((format(printf...))).
CP_IGNORE_SHARED=PREFER_KERNEL_TYPES,NEW_TYPEDEFS,BIT_MACRO,PREFER_DEFINED_ATTRIBUTE_MACRO
declare -A CP_IGNORE_FILE=(
	# LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0): taken for a constant
	[blkback2/bdev.h]="CONSTANT_COMPARISON"
	[tests/lab/hostile/xihostile.c]="CONSTANT_COMPARISON"
	# TRACE_EVENT's own layout (as the kernel's include/trace/events/ have
	# it), and the same version test; __assign_str() lost its source in 6.10
	[blkback2/trace.h]="CONSTANT_COMPARISON,MACRO_ARG_UNUSED,PARENTHESIS_ALIGNMENT,OPEN_ENDED_LINE"
	# an X-macro: the KUnit cases listed once for the C and the C++ side
	[tests/kunit/core_cases.h]="COMPLEX_MACRO,MACRO_ARG_REUSE,TRAILING_SEMICOLON"
	# printk(KERN_DEBUG) for the trace: xi_debug_enabled() is its one switch,
	# pr_debug() would add another per call site
	[xenidc/platform.c]="PREFER_PR_LEVEL"
)

if [ ! -f "$CP_TARBALL" ] || ! command -v perl >/dev/null; then
	result fail "C sources are checkpatch --strict clean" "no $CP_TARBALL or perl (make deps)"
elif ! cp_pl=$(checkpatch_pl); then
	result fail "C sources are checkpatch --strict clean" "cannot unpack checkpatch.pl"
else
	files=$(cd "$XENIDC_ROOT" && git ls-files '*.c' '*.h' | grep -v -x -f <(scripts/cxx-files.sh))
	out=$(cd "$XENIDC_ROOT" && for f in $files; do
		ign=$CP_IGNORE${CP_IGNORE_FILE[$f]:+,${CP_IGNORE_FILE[$f]}}
		grep -q __cplusplus "$f" && ign=$ign,$CP_IGNORE_SHARED
		perl "$cp_pl" --strict --no-tree --terse --no-summary --ignore "$ign" -f "$f" 2>&1
	done)
	if [ -z "$out" ]; then
		result pass "C sources are checkpatch --strict clean ($(echo "$files" | wc -l) files)"
	else
		echo "$out" | head -30
		result fail "C sources are checkpatch --strict clean" "$(echo "$out" | wc -l) findings"
	fi
fi

summary build
