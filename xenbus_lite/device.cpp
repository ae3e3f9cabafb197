// SPDX-License-Identifier: GPL-2.0-only
//
// xenbus_lite's state machine: see include/xenidc/xenbus_lite.h.
#include <xenidc/xenbus_lite.h>

namespace xenidc::xb {

namespace {

constexpr size_t kValueMax = 256; // longest xenstore value we accept
constexpr size_t kKeyMax = 64;

const char *StateName(int s)
{
	static const char *const names[] = {"Unknown",	   "Initialising",  "InitWait",
					    "Initialised", "Connected",	    "Closing",
					    "Closed",	   "Reconfiguring", "Reconfigured"};
	return s >= 0 && s <= kReconfigured ? names[s] : "invalid";
}

// Formats a value and writes it to key; a value too long is an error.
Status WriteV(xi_xbdev *dev, xi_xs_txn txn, const char *key, const char *fmt, __builtin_va_list ap)
{
	char value[kValueMax];
	int n = xi_vsnprintf(value, sizeof(value), fmt, ap);

	if (n < 0 || (size_t)n >= sizeof(value))
		return Status::Error(err::kRange);
	return Status::Error(xi_xs_write(dev, txn, key, value));
}

} // namespace

Status Writer::Printf(const char *key, const char *fmt, ...)
{
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	Status s = WriteV(dev_, txn_, key, fmt, ap);
	__builtin_va_end(ap);
	return s;
}

Status Device::Write(const char *key, const char *fmt, ...)
{
	__builtin_va_list ap;

	__builtin_va_start(ap, fmt);
	Status s = WriteV(dev_, XI_XS_NO_TXN, key, fmt, ap);
	__builtin_va_end(ap);
	return s;
}

Status Device::Read(const char *key, char *buf, size_t len)
{
	return Status::Error(xi_xs_read(dev_, false, key, buf, len));
}

Status Device::Probe(const Driver &drv, xi_xbdev *dev, Device **out)
{
	void *mem = xi_zalloc(sizeof(Device));
	if (!mem)
		return Status::Error(err::kNoMem);
	Device *d = new (mem) Device(drv, dev);
	d->config_ = static_cast<uint8_t *>(xi_zalloc(drv.config_size));
	d->ctx_ = d->config_ ? drv.ops.probe(*d) : nullptr;
	Status s = d->ctx_ ? Status::Ok() : Status::Error(err::kNoMem);
	if (s.ok() && drv.ops.advertise) {
		Writer w(dev, XI_XS_NO_TXN);
		s = drv.ops.advertise(d->ctx_, w);
	}
	if (!s.ok()) {
		xi_xs_fatal(dev, s.code(), "probing the backend");
		if (d->ctx_)
			drv.ops.remove(d->ctx_);
		xi_free(d->config_);
		d->~Device();
		xi_free(d);
		return s;
	}
	// Backend keys may already be there (a device re-probed after rmmod).
	{
		MutexGuard g(d->lock_);
		d->BackendChangedLocked(nullptr);
		if (!d->failed_.Load())
			d->SwitchState(kInitWait);
	}
	*out = d;
	return Status::Ok();
}

void Device::SwitchState(State s)
{
	int rc = xi_xs_switch_state(dev_, s);
	if (rc)
		xi_log(XI_LOG_WARN, "%s: switching to %s failed (%d)", nodename(), StateName(s),
		       rc);
	state_.Store(s);
}

void Device::Fail(Status s, const char *what, const char *key)
{
	char msg[kKeyMax + 32];

	xi_snprintf(msg, sizeof(msg), "%s%s%s", what, key ? " " : "", key ? key : "");
	failed_.Store(true);
	xi_xs_fatal(dev_, s.code(), msg);
	state_.Store(kClosing);
	Disconnect();
}

void Device::Fatal(Status s, const char *msg)
{
	if (failed_.Exchange(true))
		return;
	xi_xs_fatal(dev_, s.code(), msg);
	state_.Store(kClosing);
}

// Reads one key (or the 2^order keys of a multi-page ring) into base.
Status Device::ReadKey(const Key &k, const char *prefix, uint8_t *base, const uint8_t *config)
{
	bool fe = k.dir == Dir::kFrontend;
	char name[kKeyMax], value[kValueMax];

	if (k.type == Type::kGrantRefs) {
		auto *v = reinterpret_cast<GrantRefsValue *>(base);
		uint32_t order = 0;
		// The page order is one key for all queues (blkif: top level).
		int rc = k.order_key ? xi_xs_read(dev_, fe, k.order_key, value, sizeof(value))
				     : -err::kNoEnt;
		bool paged = rc == 0;
		if (rc && rc != -err::kNoEnt)
			return Status::Error(rc);
		Key order_key = U32(k.order_key, k.dir, 0, 0, k.max_ref ? *k.max_ref : 0);
		if (paged) {
			uint32_t any;
			if (k.lenient &&
			    !ParseValue(U32(k.order_key, k.dir, 0, 0, ~0u), value, &any).ok())
				paged = false; // not a number: the single-page keys
			else
				XI_TRY(ParseValue(order_key, value, &order));
		}
		v->count = 1u << order;
		for (uint32_t i = 0; i < v->count; i++) {
			if (paged)
				xi_snprintf(name, sizeof(name), "%s%s%u", prefix, k.name, i);
			else
				xi_snprintf(name, sizeof(name), "%s%s", prefix, k.name);
			rc = xi_xs_read(dev_, fe, name, value, sizeof(value));
			if (rc)
				return Status::Error(rc);
			XI_TRY(ParseValue(k, value, &v->refs[i]));
		}
		return Status::Ok();
	}
	xi_snprintf(name, sizeof(name), "%s%s", prefix, k.name);
	int rc = xi_xs_read(dev_, fe, name, value, sizeof(value));
	if (rc == -err::kNoEnt && !k.required) {
		if (k.type == Type::kU32 || k.type == Type::kEnum)
			*reinterpret_cast<uint32_t *>(base) = k.def;
		return Status::Ok();
	}
	if (rc)
		return Status::Error(rc);
	Status s = ParseValue(k, value, base);
	if (!s.ok() && k.lenient && k.type == Type::kU32) {
		*reinterpret_cast<uint32_t *>(base) = k.def;
		return Status::Ok();
	}
	return s;
}

// Parses every key of one directory into config. *bad names the key that
// failed, for the error message.
Status Device::ReadKeys(Dir dir, uint8_t *config, const char **bad)
{
	uint32_t queues = 1;

	if (dir == Dir::kFrontend && drv_.queues_key) {
		Key qk = U32Ref(drv_.queues_key, dir, 0, drv_.max_queues).Optional(1);
		qk.min = 1;
		*bad = drv_.queues_key;
		XI_TRY(ReadKey(qk, "", reinterpret_cast<uint8_t *>(&queues), config));
		if (queues > kMaxQueues)
			return Status::Error(err::kRange);
		*reinterpret_cast<uint32_t *>(config + drv_.queues_offset) = queues;
	}
	for (const Key &k : drv_.keys) {
		if (k.dir != dir)
			continue;
		*bad = k.name;
		uint32_t n = k.per_queue ? queues : 1;
		for (uint32_t q = 0; q < n; q++) {
			char prefix[16] = "";
			if (k.per_queue && queues > 1)
				xi_snprintf(prefix, sizeof(prefix), "queue-%u/", q);
			XI_TRY(ReadKey(k, prefix, config + k.offset + q * drv_.queue_stride,
				       config));
		}
	}
	return Status::Ok();
}

void Device::BackendChanged(const char *path)
{
	MutexGuard g(lock_);
	BackendChangedLocked(path);
}

// A watched backend key changed (nullptr: check them all, at probe).
void Device::BackendChangedLocked(const char *path)
{
	lock_.AssertHeld();
	if (failed_.Load())
		return;
	if (configured_) {
		if (path && drv_.ops.changed)
			drv_.ops.changed(ctx_, path);
		return;
	}
	const char *bad = nullptr;
	Status s = ReadKeys(Dir::kBackend, config_, &bad);
	if (s.code() == -err::kNoEnt)
		return; // the hotplug script has not written everything yet
	if (!s.ok())
		return Fail(s, "reading backend key", bad);
	s = drv_.ops.configure(ctx_, config_);
	if (!s.ok())
		return Fail(s, "configuring the backend", nullptr);
	configured_ = true;
	MaybeConnect();
}

void Device::MaybeConnect()
{
	if (!configured_ || !frontend_ready_ || connected_ || disconnecting_ || failed_.Load())
		return;
	Status s = drv_.ops.connect(ctx_, config_);
	connected_ = true; // even if it failed: disconnect undoes what it did
	if (!s.ok())
		return Fail(s, "connecting to the frontend", nullptr);
	if (drv_.ops.publish)
		s = Transaction([&](Writer &w) { return drv_.ops.publish(ctx_, w); });
	if (!s.ok())
		return Fail(s, "writing the connect keys", nullptr);
	SwitchState(kConnected);
}

// Starts the driver's disconnect; true if nothing is connected any more.
bool Device::Disconnect()
{
	if (connected_) {
		connected_ = false;
		disconnecting_ = !drv_.ops.disconnect(ctx_);
	}
	return !disconnecting_;
}

void Device::Disconnected()
{
	xi_xbdev *dev = dev_;
	bool unregister = false, removed;
	{
		MutexGuard g(lock_);
		if (XI_WARN_ON(!disconnecting_))
			return;
		disconnecting_ = false;
		removed = removing_;
		if (removed)
			drv_.ops.remove(ctx_);
		else
			Resume(&unregister);
	}
	// Unlocked, and nothing of this touched after: unregistering runs
	// Remove(), which frees it.
	if (removed) {
		Free();
		xi_xs_released(dev);
	} else if (unregister) {
		xi_xs_unregister(dev);
	}
}

// A teardown ended: what the frontend asked for meanwhile happens now.
void Device::Resume(bool *unregister)
{
	if (close_pending_) {
		close_pending_ = false;
		SwitchState(kClosed);
		if (!xi_xs_online(dev_)) {
			*unregister = true;
			return;
		}
	}
	if (state() == kClosed && xi_xs_frontend_state(dev_) == kInitialising) {
		failed_.Store(false);
		SwitchState(kInitWait);
	}
	MaybeConnect();
}

void Device::FrontendChanged(State fs)
{
	bool remove = false;
	xi_xbdev *dev = dev_;

	{
		MutexGuard g(lock_);
		switch (fs) {
		case kInitialising:
			if (state() == kClosed) {
				xi_log(XI_LOG_INFO, "%s: frontend restarted, reconnecting",
				       nodename());
				failed_.Store(false);
				SwitchState(kInitWait);
			}
			break;
		case kInitialised:
		case kConnected: {
			if (state() == kConnected || failed_.Load())
				break;
			Disconnect(); // a connect waits for the last one's teardown
			frontend_ready_ = false;
			const char *bad = nullptr;
			Status s = ReadKeys(Dir::kFrontend, config_, &bad);
			if (!s.ok()) {
				Fail(s, "reading frontend key", bad);
				break;
			}
			frontend_ready_ = true;
			MaybeConnect();
			break;
		}
		case kClosing:
			SwitchState(kClosing);
			break;
		case kClosed:
			frontend_ready_ = false;
			if (!Disconnect()) {
				// Closed once the driver holds nothing of the frontend's.
				close_pending_ = true;
				if (state() != kClosing)
					SwitchState(kClosing);
				break;
			}
			SwitchState(kClosed);
			remove = !xi_xs_online(dev_);
			break;
		case kUnknown:
			remove = true; // the frontend is gone (forced detach)
			break;
		default:
			Fail(Status::Error(err::kInval), "unexpected frontend state",
			     StateName(fs));
			break;
		}
	}
	// Unregistering runs Remove(), which may free this: last, and unlocked.
	if (remove)
		xi_xs_unregister(dev);
}

int Device::Show(unsigned i, char *buf, size_t len)
{
	if (!drv_.ops.show || i >= drv_.attrs.size())
		return -err::kInval;
	MutexGuard g(lock_);
	return drv_.ops.show(ctx_, i, buf, len);
}

bool Device::Remove()
{
	{
		MutexGuard g(lock_);
		removing_ = true;
		if (!Disconnect())
			return false; // Disconnected() finishes
		drv_.ops.remove(ctx_);
	}
	Free();
	return true;
}

void Device::Free()
{
	xi_free(config_);
	this->~Device();
	xi_free(this);
}

} // namespace xenidc::xb
