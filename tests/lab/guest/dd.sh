# SPDX-License-Identifier: GPL-2.0-only
# Sourced by the guest's /init when its command line says xidd: a driver
# domain. The Xen device modules and xenfs for the tool stack, our
# backends, and xl devd, which runs the hotplug scripts for the devices
# this domain serves (dom0's toolstack writes them under its backend/).
export PATH=/usr/lib/xen-4.17/bin:$PATH
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs; do modprobe $m; done
mount -t xenfs xenfs /proc/xen
mount -t debugfs debugfs /sys/kernel/debug # xenidc/live
mkdir -p /var/run/xen /var/log/xen /var/lib/xen /var/lock /var/run/xen-hotplug
# the hotplug scripts write to these
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
for m in xenidc xenbus_lite blkback2 usbback; do
	insmod /lab/modules/$m.ko || echo "@@G driver domain: $m did not load"
done
xl devd -F >/var/log/xen/xldevd.log 2>&1 &
echo "@@G driver domain up, xl devd pid $!"
