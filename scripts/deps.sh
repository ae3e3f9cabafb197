#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# make deps: installs every Debian 12 package the project needs, by exact
# name. Idempotent; silent when everything is there. Run as root.
set -eu

# Kernel trees the modules are built against (README: supported kernels),
# and one installed kernel for the DKMS test. The cross compilers build them
# for arm64 too; the build layer fetches that kernel's arm64 headers itself.
KERNELS="linux-headers-6.1.0-56-amd64 linux-headers-6.12.117+deb12-amd64"
PKGS="
	$KERNELS
	linux-image-6.12.117+deb12-amd64
	linux-source-6.1 linux-source-6.12
	make gcc g++ bc bison flex libelf-dev libssl-dev dwarves xz-utils kmod cpio
	gcc-aarch64-linux-gnu g++-aarch64-linux-gnu
	ccache rsync python3 perl
	cmake googletest libgtest-dev libgmock-dev libbenchmark-dev
	clang clang-format libclang-rt-14-dev libxen-dev
	qemu-system-x86 busybox-static fio e2fsprogs socat dmsetup util-linux
	dkms linux-perf
	dpkg-dev debhelper dh-dkms lintian
"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "make deps: missing packages:$missing (run as root)" >&2
	exit 1
fi
echo "make deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
