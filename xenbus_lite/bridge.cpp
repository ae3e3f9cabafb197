// SPDX-License-Identifier: GPL-2.0-only
//
// The C entry points of include/xenidc/xenbus_lite_glue.h, over the C++ shim.
#include <xenidc/xenbus_lite.h>
#include <xenidc/xenbus_lite_glue.h>

using xenidc::xb::Device;
using xenidc::xb::Driver;

namespace {
const Driver &Drv(const void *d)
{
	return *static_cast<const Driver *>(d);
}
Device *Dev(void *d)
{
	return static_cast<Device *>(d);
}
} // namespace

extern "C" {

const char *xbl_driver_type(const void *driver)
{
	return Drv(driver).type;
}

unsigned int xbl_driver_nwatch(const void *driver)
{
	return (unsigned)Drv(driver).watch.size();
}

const char *xbl_driver_watch(const void *driver, unsigned int i)
{
	return Drv(driver).watch[i];
}

unsigned int xbl_driver_nstats(const void *driver)
{
	return (unsigned)Drv(driver).stats.size();
}

const char *xbl_driver_stat_name(const void *driver, unsigned int i)
{
	return Drv(driver).stats[i];
}

uint64_t xbl_stat(void *device, unsigned int i)
{
	return Dev(device)->Stat(i);
}

unsigned int xbl_driver_nattrs(const void *driver)
{
	return (unsigned)Drv(driver).attrs.size();
}

const char *xbl_driver_attr_name(const void *driver, unsigned int i)
{
	return Drv(driver).attrs[i];
}

bool xbl_driver_allow_rebind(const void *driver)
{
	return Drv(driver).allow_rebind;
}

int xbl_show(void *device, unsigned int i, char *buf, size_t len)
{
	return Dev(device)->Show(i, buf, len);
}

void xbl_reclaim(void *device)
{
	Dev(device)->Reclaim();
}

int xbl_probe(const void *driver, struct xi_xbdev *dev, void **device)
{
	Device *d = nullptr;
	xenidc::Status s = Device::Probe(Drv(driver), dev, &d);
	*device = d;
	return s.code();
}

void xbl_backend_changed(void *device, const char *path)
{
	Dev(device)->BackendChanged(path);
}

void xbl_frontend_changed(void *device, int state)
{
	Dev(device)->FrontendChanged(xenidc::xb::State(state));
}

bool xbl_remove(void *device)
{
	return Dev(device)->Remove();
}

} // extern "C"
