// SPDX-License-Identifier: GPL-2.0-only
//
// xb::Ops for a driver class, so a descriptor needs no trampolines:
//
//   const xb::Driver kDriver = {..., .ops = xb::OpsFor<Vusb, VusbConfig>()};
//
// T is made with ktl::New<T>(xb::Device &) at probe and deleted at remove,
// and has Status Configure(const Config &), Status Connect(const Config &),
// bool Disconnect() and uint64_t stat(unsigned); Advertise(xb::Writer &),
// Publish(xb::Writer &) and Changed(const char *path) only if it wants them.
// And RingBroken(), what a driver does about a hostile ring index.
#ifndef XENIDC_XENBUS_OPS_H
#define XENIDC_XENBUS_OPS_H

#include <xenidc/xenbus_lite.h>

namespace xenidc::xb {

template <class T, class Config> constexpr Ops OpsFor()
{
	Ops o = {};
	o.probe = [](Device &d) -> void * { return ktl::New<T>(d); };
	o.configure = [](void *t, const void *c) {
		return static_cast<T *>(t)->Configure(*static_cast<const Config *>(c));
	};
	o.connect = [](void *t, const void *c) {
		return static_cast<T *>(t)->Connect(*static_cast<const Config *>(c));
	};
	o.disconnect = [](void *t) { return static_cast<T *>(t)->Disconnect(); };
	o.remove = [](void *t) { ktl::Delete(static_cast<T *>(t)); };
	o.stat = [](void *t, unsigned i) { return static_cast<T *>(t)->stat(i); };
	if constexpr (requires(T & t, Writer & w) { t.Advertise(w); })
		o.advertise = [](void *t, Writer &w) { return static_cast<T *>(t)->Advertise(w); };
	if constexpr (requires(T & t, Writer & w) { t.Publish(w); })
		o.publish = [](void *t, Writer &w) { return static_cast<T *>(t)->Publish(w); };
	if constexpr (requires(T & t, const char *p) { t.Changed(p); })
		o.changed = [](void *t, const char *p) { static_cast<T *>(t)->Changed(p); };
	return o;
}

// A frontend's ring index out of range: logged, rate-limited, and the
// device closed.
inline void RingBroken(Device &dev, const char *ring)
{
	xi_log_ratelimited(XI_LOG_WARN, "%s: frontend produced a bogus %s ring index",
			   dev.nodename(), ring);
	dev.Fatal(Status::Error(err::kProto), "frontend ring index out of range");
}

} // namespace xenidc::xb

#endif // XENIDC_XENBUS_OPS_H
