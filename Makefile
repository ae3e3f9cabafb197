# SPDX-License-Identifier: GPL-2.0-only
#
# xenidc: Xen backend modules (xenidc core, xenbus_lite, blkback2, usbback).
# The kernel build itself is in Kbuild; this file is the front door.
#
#   make lab        boot Xen + dom0 + a guest in QEMU and use the backends
#                   (KERNEL=6.1: Debian 12's 6.1 kernel in both; default 6.12)
#   make check      every test layer; ends with "N passed, N failed, N skipped"
#   make modules    build against KDIR (default: the running kernel's headers)
#   make install    modules into /lib/modules/KVER/extra; make uninstall
#   make dkms       register with DKMS (rebuilt for each new kernel)
#   make deb        the xenidc-dkms Debian package, in .build/deb/ (debian/)
#   make deps       install the Debian packages all of the above need
#   make fuzz       the libFuzzer targets, FUZZ_SECONDS each (default 20)
#   make bench      blkback2 vs xen-blkback vs qdisk, usbback vs qusb: ratios
#   make reliability  memory per vbd and a flood, blkback2 vs xen-blkback
#   make mutants    break the code on purpose, one way at a time: do the tests notice?

KVER ?= $(shell uname -r)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build) /usr/src/linux-headers-6.12.117+deb12-amd64)

.PHONY: all modules install uninstall dkms deb deps check lab fuzz bench reliability mutants clean help

MODULES := xenidc xenbus_lite blkback2 usbback
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

all: modules

modules:
	scripts/build-modules.sh $(KDIR) $(CURDIR)

# Into /lib/modules/$(KVER)/extra (INSTALL_MOD_PATH=<root> for another root).
install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=extra INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) modules_install
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) -a $(KVER)

uninstall:
	rm -rf $(foreach m,$(MODULES),$(INSTALL_MOD_PATH)/lib/modules/$(KVER)/extra/$(m))
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) -a $(KVER)

# Registers this tree with DKMS, which rebuilds it for new kernels.
dkms:
	scripts/dkms-source.sh /usr/src/xenidc-$(DKMS_VERSION) $(DKMS_VERSION)
	dkms add -m xenidc -v $(DKMS_VERSION)
	dkms build -m xenidc -v $(DKMS_VERSION) -k $(KVER)
	dkms install -m xenidc -v $(DKMS_VERSION) -k $(KVER)

# xenidc-dkms_$(DKMS_VERSION)_all.deb in .build/deb/, built by debhelper and
# dh-dkms from a copy: debian/ next to the DKMS source tree (src/) that
# scripts/dkms-source.sh selects. Installing it has DKMS build the modules
# (running and newest kernel, then each new one); removing it removes them.
DEB_DIR := $(CURDIR)/.build/deb
DEB_TREE := $(DEB_DIR)/xenidc-$(DKMS_VERSION)
deb:
	@v=$$(dpkg-parsechangelog -l debian/changelog -S Version) && [ "$$v" = "$(DKMS_VERSION)" ] || \
		{ echo "make deb: debian/changelog is at $$v, dkms.conf at $(DKMS_VERSION)" >&2; exit 1; }
	rm -rf $(DEB_DIR)
	scripts/dkms-source.sh $(DEB_TREE)/src
	cp -R debian $(DEB_TREE)/
	mkdir -p $(DEB_TREE)/contrib && cp -R contrib/modprobe.d $(DEB_TREE)/contrib/
	cd $(DEB_TREE) && dpkg-buildpackage --build=all --no-sign
	@echo "make deb: $(DEB_DIR)/xenidc-dkms_$(DKMS_VERSION)_all.deb"

deps:
	@scripts/deps.sh

check: deps
	scripts/check.sh

lab: deps
	tests/lab/run-lab.sh

fuzz: deps
	tests/fuzz/run.sh

bench: deps
	scripts/bench.sh

reliability: deps
	scripts/reliability.sh

mutants: deps
	tests/mutants/run.py

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf .build

help:
	@sed -n '3,16p' Makefile
