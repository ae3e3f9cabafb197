// SPDX-License-Identifier: GPL-2.0-only
//
// xenbus_lite: a declarative xenbus backend. A driver describes the xenstore
// keys it reads (with type, bounds, required or default) and supplies a few
// callbacks; the shim runs the XenbusState machine, the watches, the
// transactions and the error reporting, and hands the driver parsed values.
//
//   struct VbdConfig { DevNum dev; char mode[4]; uint32_t order; ... };
//   constexpr xb::Key kKeys[] = {
//           xb::DevNum("physical-device", xb::Dir::kBackend, XB_AT(VbdConfig, dev)),
//           xb::U32("ring-page-order", xb::Dir::kFrontend, XB_AT(VbdConfig, order), 0, 4),
//           ...
//   };
//   constexpr xb::Driver kVbd = {.type = "vbd", .keys = kKeys, ..., .ops = {...}};
//   xb::Register(kVbd, THIS_MODULE, KBUILD_MODNAME);   (from the C glue)
//
// Everything read from the frontend's directory is hostile: a missing,
// malformed or out-of-bounds value fails that one device with a message
// (xenbus "error" node, state Closing) and touches nothing else.
//
// Lifecycle, as the toolstack and the Linux frontends expect it:
//   probe        ops.probe, ops.advertise, then InitWait
//   backend keys (watched) all required present -> ops.configure
//   frontend Initialised/Connected -> frontend keys parsed; once configured:
//                ops.connect, then ops.publish in a transaction, Connected
//   frontend Closing -> Closing; Closed -> ops.disconnect, then, once the
//                driver holds nothing of the frontend's (Disconnected()),
//                Closed, and removal if the toolstack set online=0
//   frontend Initialising after Closed -> InitWait again (reconnect)
//   remove       ops.disconnect, then (once disconnected) ops.remove
//
// Nothing here waits for the guest: ops.disconnect only starts the
// teardown, and the driver reports its end from its own context. Until then
// the backend stays Closing, a reconnect waits, and a removed device stays
// allocated (the glue keeps the xenbus device; module unload waits for it).
#ifndef XENIDC_XENBUS_LITE_H
#define XENIDC_XENBUS_LITE_H

#include <xenidc/channel.h>
#include <xenidc/lock.h>
#include <xenidc/status.h>
#include <xenidc/strong.h>
#include <xenidc/xenbus_io.h>

namespace xenidc::xb {

enum State : int {
	kUnknown = 0,
	kInitialising = 1,
	kInitWait = 2,
	kInitialised = 3,
	kConnected = 4,
	kClosing = 5,
	kClosed = 6,
	kReconfiguring = 7,
	kReconfigured = 8,
};

enum class Dir : uint8_t { kBackend, kFrontend };
enum class Type : uint8_t { kU32, kString, kEnum, kDevNum, kGrantRefs };

// Value types a Key stores into the driver's config struct.
struct DevNumValue {
	uint32_t major;
	uint32_t minor;
};
struct GrantRefsValue {
	uint32_t count;
	GrantRef refs[kMaxRingPages];
};

constexpr uint32_t kMaxQueues = 16;

struct Key {
	const char *name;
	Dir dir;
	Type type;
	bool required;
	uint16_t offset;	    // of the value in the config struct
	uint32_t min;		    // kU32
	uint32_t max;		    // kU32: bound; kString: buffer size
	uint32_t def;		    // kU32, kEnum: value when absent and optional
	const uint32_t *max_ref;    // kU32: a bound set at run time (module parameter)
	const char *const *choices; // kEnum: nullptr-terminated
	const char *order_key;	    // kGrantRefs: 2^order refs named <name><i>
	bool per_queue;		    // under queue-<q>/ when there are several queues
	bool lenient;		    // a value that does not parse counts as absent

	constexpr Key PerQueue() const
	{
		Key k = *this;
		k.per_queue = true;
		return k;
	}
	constexpr Key Optional(uint32_t default_value) const
	{
		Key k = *this;
		k.required = false;
		k.def = default_value;
		return k;
	}
	// Tolerated as xen-blkback tolerates it: a kU32 value that does not
	// parse or is out of bounds is the default; a kGrantRefs order key that
	// does not parse means one page (one out of bounds still fails).
	constexpr Key Lenient() const
	{
		Key k = *this;
		k.lenient = true;
		return k;
	}
};

// Offset of a config field, for Key::offset.
#define XB_AT(type, field) ((uint16_t) __builtin_offsetof(type, field))

constexpr Key U32(const char *name, Dir d, uint16_t off, uint32_t min, uint32_t max)
{
	return {name, d,       Type::kU32, true,    off,   min,	 max,
		0,    nullptr, nullptr,	   nullptr, false, false};
}
constexpr Key U32Ref(const char *name, Dir d, uint16_t off, const uint32_t *max_ref)
{
	return {name, d, Type::kU32, true, off, 0, ~0u, 0, max_ref, nullptr, nullptr, false, false};
}
constexpr Key Flag(const char *name, Dir d, uint16_t off)
{
	return U32(name, d, off, 0, 1).Optional(0);
}
constexpr Key String(const char *name, Dir d, uint16_t off, uint32_t size)
{
	return {name, d,       Type::kString, true,    off,   0,    size,
		0,    nullptr, nullptr,	      nullptr, false, false};
}
constexpr Key Enum(const char *name, Dir d, uint16_t off, const char *const *choices)
{
	return {name, d, Type::kEnum, true, off, 0, 0, 0, nullptr, choices, nullptr, false, false};
}
constexpr Key DevNum(const char *name, Dir d, uint16_t off)
{
	return {name, d,       Type::kDevNum, true,    off,   0,    0,
		0,    nullptr, nullptr,	      nullptr, false, false};
}
// One ring reference named `name`, or 2^order named <name>0.. when the
// frontend wrote `order_key` (bounded by max_order_ref; nullptr: always one).
constexpr Key GrantRefs(const char *name, Dir d, uint16_t off, const char *order_key,
			const uint32_t *max_order_ref)
{
	return {name,	       d,	Type::kGrantRefs, true,	 off,  0, 0, 0,
		max_order_ref, nullptr, order_key,	  false, false};
}

// Writes keys of the backend directory, inside a transaction when there is one.
class Writer {
public:
	Writer(xi_xbdev *dev, xi_xs_txn txn) : dev_(dev), txn_(txn) {}
	Status Printf(const char *key, const char *fmt, ...) XI_EXPORT(xi_xb_writer_printf)
		__attribute__((format(printf, 3, 4)));

private:
	xi_xbdev *dev_;
	xi_xs_txn txn_;
};

class Device;

struct Ops {
	// Allocates the driver's per-device object (nullptr: -ENOMEM).
	void *(*probe)(Device &dev);
	// Keys the frontend reads before it connects; written before InitWait.
	Status (*advertise)(void *ctx, Writer &w);
	// Every required backend key is present (once per device).
	Status (*configure)(void *ctx, const void *config);
	// The frontend's keys are parsed: map rings, start work.
	Status (*connect)(void *ctx, const void *config);
	// Keys written in the connect transaction, just before Connected.
	Status (*publish)(void *ctx, Writer &w);
	// Driver::attrs[i] as one line, for sysfs; the length, or -errno.
	// Called with the device's lock held (the config is stable).
	int (*show)(void *ctx, unsigned i, char *buf, size_t len);
	// dom0 is short of memory: give back what is idle, soon. Called from
	// memory reclaim: must not sleep or allocate (may be nullptr).
	void (*reclaim)(void *ctx);
	// Starts undoing connect, or what a failed connect left; never waits
	// for the frontend's I/O. true: everything is released already; false:
	// the driver calls Device::Disconnected() when it is, from another
	// context (never from inside disconnect).
	bool (*disconnect)(void *ctx);
	// A watched backend key changed after configure (may be nullptr).
	void (*changed)(void *ctx, const char *path);
	void (*remove)(void *ctx);
	// Counter i of Driver::stats (may be nullptr if there are none).
	uint64_t (*stat)(void *ctx, unsigned i);
};

struct Driver {
	const char *type; // xenbus device type: "vbd", "vusb"
	ktl::Span<const Key> keys;
	// Backend keys to watch; a directory covers its children.
	ktl::Span<const char *const> watch;
	// Multi-queue: the frontend key with the queue count (nullptr: one
	// queue), its bound, where it is stored, and the per-queue stride.
	const char *queues_key;
	const uint32_t *max_queues;
	uint16_t queues_offset;
	uint16_t queue_stride;
	uint32_t config_size;
	// Per-device counters, shown in sysfs as statistics/<name>.
	ktl::Span<const char *const> stats;
	// Per-device sysfs files beside statistics/ (ops.show).
	ktl::Span<const char *const> attrs;
	// Unbinding the driver leaves the frontend connected, and binding it
	// again reconnects to the same rings (xen-blkback's allow_rebind).
	bool allow_rebind;
	Ops ops;
};

// One backend device, as the shim runs it. Drivers get a reference in
// ops.probe and may keep it until ops.remove.
class Device {
public:
	xi_xbdev *xbdev() const { return dev_; }
	xi_xendev *xendev() const { return xi_xs_xendev(dev_); }
	DomId otherend() const { return DomId(xi_xs_otherend_id(dev_)); }
	const char *nodename() const { return xi_xs_nodename(dev_); }
	State state() const { return State(state_.Load()); }
	// The parsed configuration (the driver's struct), valid after configure.
	const void *config() const { return config_; }

	// Reads one backend key now (keys whose names are not fixed: port/<n>).
	Status Read(const char *key, char *buf, size_t len) XI_EXPORT(xi_xb_read);
	// Writes one backend key now (e.g. withdrawing a feature).
	Status Write(const char *key, const char *fmt, ...) XI_EXPORT(xi_xb_write)
		__attribute__((format(printf, 3, 4)));
	// Rewrites keys and the current state in one transaction, so a
	// connected frontend re-reads them (online resize).
	template <class Fn> Status Announce(Fn &&fn)
	{
		return Transaction([&](Writer &w) {
			XI_TRY(fn(w));
			return w.Printf("state", "%d", state_.Load());
		});
	}
	// Reports a device-fatal error (xenbus error node, Closing). Safe from
	// the driver's work: it takes no lock and waits for nothing. Teardown
	// follows when the frontend closes.
	void Fatal(Status s, const char *msg) XI_EXPORT(xi_xb_fatal);
	// The disconnect that ops.disconnect started is complete: the driver
	// holds nothing of the frontend's. From the driver's own context (not
	// xenwatch); may free the device if it was removed meanwhile.
	void Disconnected() XI_EXPORT(xi_xb_disconnected);

	// --- the shim's entry points (from the xenbus glue) ---
	static Status Probe(const Driver &drv, xi_xbdev *dev, Device **out);
	void BackendChanged(const char *path);
	void FrontendChanged(State s);
	// true: freed now; false: freed once disconnected (then the glue
	// hears xi_xs_released()).
	bool Remove();
	uint64_t Stat(unsigned i) { return drv_.ops.stat ? drv_.ops.stat(ctx_, i) : 0; }
	int Show(unsigned i, char *buf, size_t len);
	void Reclaim()
	{
		if (drv_.ops.reclaim)
			drv_.ops.reclaim(ctx_);
	}

	template <class Fn> Status Transaction(Fn &&fn)
	{
		for (int attempt = 0; attempt < 16; attempt++) {
			xi_xs_txn t;
			int rc = xi_xs_txn_start(&t);
			if (rc)
				return Status::Error(rc);
			Writer w(dev_, t);
			Status s = fn(w);
			rc = xi_xs_txn_end(t, !s.ok());
			if (!s.ok())
				return s;
			if (rc != -err::kAgain)
				return Status::Error(rc);
		}
		return Status::Error(err::kAgain);
	}

private:
	Device(const Driver &drv, xi_xbdev *dev) : drv_(drv), dev_(dev) {}
	~Device() = default;

	void BackendChangedLocked(const char *path) XI_REQUIRES(lock_);
	Status ReadKeys(Dir dir, uint8_t *config, const char **bad);
	Status ReadKey(const Key &k, const char *prefix, uint8_t *base, const uint8_t *config);
	void SwitchState(State s);
	void MaybeConnect() XI_REQUIRES(lock_);
	bool Disconnect() XI_REQUIRES(lock_);
	void Resume(bool *unregister) XI_REQUIRES(lock_);
	void Free();
	void Fail(Status s, const char *what, const char *key) XI_REQUIRES(lock_);

	const Driver &drv_;
	xi_xbdev *dev_;
	// Serialises watch callbacks and driver calls.
	Mutex lock_{XI_LOCK_CLASS("xb::Device::lock_")};
	void *ctx_ = nullptr;
	ktl::Atomic<int> state_{kInitialising};
	uint8_t *config_ = nullptr;
	bool configured_ XI_GUARDED_BY(lock_) = false;	   // ops.configure succeeded
	bool frontend_ready_ XI_GUARDED_BY(lock_) = false; // frontend keys parsed
	bool connected_ XI_GUARDED_BY(lock_) = false;	   // ops.connect called, disconnect not yet
	bool disconnecting_ XI_GUARDED_BY(lock_) = false;  // ops.disconnect started, not finished
	bool close_pending_ XI_GUARDED_BY(lock_) = false;  // the frontend closed meanwhile
	bool removing_ XI_GUARDED_BY(lock_) = false;	   // removed meanwhile: then ops.remove
	ktl::Atomic<bool> failed_{false};
};

// Parses one xenstore value as Key k. Exposed for tests and fuzzing.
Status ParseValue(const Key &k, const char *value, void *out) XI_EXPORT(xi_xb_parse_value);

} // namespace xenidc::xb

#endif // XENIDC_XENBUS_LITE_H
