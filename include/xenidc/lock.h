// SPDX-License-Identifier: GPL-2.0-only
//
// Locks with RAII guards. SpinLock is IRQ-safe (completions run in interrupt
// context); Mutex may sleep. Each lock is made with its own lockdep class,
// named after the place that declares it:
//
//   SpinLock lock_{XI_LOCK_CLASS("Foo::lock_")};
//   int n_ XI_GUARDED_BY(lock_);
//   { SpinGuard g(lock_); n_++; }       // released at the closing brace
//
// The guards and fields carry clang's thread-safety attributes, which the
// build layer checks (-Wthread-safety); with gcc they expand to nothing.
//
// Lock order, for every xenidc module (take them top to bottom, never up):
//   xb::Device::lock_           xenbus_lite; held around every driver call
//   blkback2::Vbd::rings_lock_  blkback2: a vbd's rings, for reclaim (spin)
//   Registry::lock              usbback: the controllers; held across the
//                               reset at attach (a probe: under the device lock)
//   Vusb::lock_                 usbback: a controller's ports
//   Registry::busids            usbback: the assigned bus ids (spin)
//   Vusb::urb_lock_             usbback: the URBs in flight (spin)
//   BackendDevice::done_lock_   completed requests (spin)
//   MappedRing::rsp_lock_       a ring's responses (spin)
// Registry::busids is never held with Vusb::lock_, nor rsp_lock_ with
// done_lock_; nothing else is taken under the spinlocks (rings_lock_ only
// queues work). xenbus_lite's glue has one more, a leaf: xbl_deferred_lock.
#ifndef XENIDC_LOCK_H
#define XENIDC_LOCK_H

#include <xenidc/platform.h>

#if defined(__clang__)
#define XI_TSA(x) __attribute__((x))
#else
#define XI_TSA(x)
#endif
#define XI_CAPABILITY(x)	XI_TSA(capability(x))
#define XI_SCOPED_CAPABILITY	XI_TSA(scoped_lockable)
#define XI_GUARDED_BY(x)	XI_TSA(guarded_by(x))
#define XI_REQUIRES(...)	XI_TSA(requires_capability(__VA_ARGS__))
#define XI_EXCLUDES(...)	XI_TSA(locks_excluded(__VA_ARGS__))
#define XI_ACQUIRE(...)		XI_TSA(acquire_capability(__VA_ARGS__))
#define XI_RELEASE(...)		XI_TSA(release_capability(__VA_ARGS__))
#define XI_ASSERT_CAPABILITY(x) XI_TSA(assert_capability(x))
#define XI_NO_TSA		XI_TSA(no_thread_safety_analysis)

namespace xenidc {

// Where a lock is made: its name and its lockdep class (a static object).
struct LockClass {
	const char *name;
	xi_lock_class *key;
};

// A class of its own for each place it is written (one static key each).
#define XI_LOCK_CLASS(name)                                      \
	([]() {                                                  \
		static xi_lock_class xi_lock_key_;               \
		return ::xenidc::LockClass{name, &xi_lock_key_}; \
	}())

class XI_CAPABILITY("spinlock") SpinLock {
public:
	explicit SpinLock(LockClass c) { xi_spin_init(&l_, c.name, c.key); }
	SpinLock(const SpinLock &) = delete;
	SpinLock &operator=(const SpinLock &) = delete;

	unsigned long Lock() XI_ACQUIRE() { return xi_spin_lock_irqsave(&l_); }
	void Unlock(unsigned long flags) XI_RELEASE() { xi_spin_unlock_irqrestore(&l_, flags); }
	void AssertHeld() const XI_ASSERT_CAPABILITY(this) { xi_spin_assert_held(&l_); }

private:
	mutable xi_spinlock l_;
};

class XI_SCOPED_CAPABILITY [[nodiscard]] SpinGuard {
public:
	explicit SpinGuard(SpinLock &l) XI_ACQUIRE(l) : l_(l), flags_(l.Lock()) {}
	~SpinGuard() XI_RELEASE() { l_.Unlock(flags_); }
	SpinGuard(const SpinGuard &) = delete;
	SpinGuard &operator=(const SpinGuard &) = delete;

private:
	SpinLock &l_;
	unsigned long flags_;
};

class XI_CAPABILITY("mutex") Mutex {
public:
	explicit Mutex(LockClass c) { xi_mutex_init(&m_, c.name, c.key); }
	Mutex(const Mutex &) = delete;
	Mutex &operator=(const Mutex &) = delete;

	void Lock() XI_ACQUIRE() { xi_mutex_lock(&m_); }
	void Unlock() XI_RELEASE() { xi_mutex_unlock(&m_); }
	void AssertHeld() const XI_ASSERT_CAPABILITY(this) { xi_mutex_assert_held(&m_); }

private:
	mutable xi_mutex m_;
};

class XI_SCOPED_CAPABILITY [[nodiscard]] MutexGuard {
public:
	explicit MutexGuard(Mutex &m) XI_ACQUIRE(m) : m_(m) { m_.Lock(); }
	~MutexGuard() XI_RELEASE() { m_.Unlock(); }
	MutexGuard(const MutexGuard &) = delete;
	MutexGuard &operator=(const MutexGuard &) = delete;

private:
	Mutex &m_;
};

} // namespace xenidc

#endif // XENIDC_LOCK_H
