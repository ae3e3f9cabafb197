# SPDX-License-Identifier: GPL-2.0-only
#
# xenidc: Xen backend modules (xenidc core, xenbus_lite, blkback2, usbback).
# The kernel build itself is in Kbuild; this file is the front door.
#
#   make lab        boot Xen + dom0 + a guest in QEMU and use the backends
#   make check      every test layer; ends with "N passed, N failed, N skipped"
#   make modules    build against KDIR (default: the running kernel's headers)
#   make deps       install the Debian packages all of the above need
#   make fuzz       the libFuzzer targets, FUZZ_SECONDS each (default 20)

KVER ?= $(shell uname -r)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build) /usr/src/linux-headers-6.12.117+deb12-amd64)

.PHONY: all modules deps check lab fuzz bench clean help

all: modules

modules:
	scripts/build-modules.sh $(KDIR) $(CURDIR)

deps:
	@scripts/deps.sh

check: deps
	scripts/check.sh

lab: deps
	tests/lab/run-lab.sh

fuzz: deps
	tests/fuzz/run.sh

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf .build

help:
	@sed -n '3,10p' Makefile
