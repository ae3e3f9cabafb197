// SPDX-License-Identifier: GPL-2.0-only
//
// Locks with RAII guards. SpinLock is IRQ-safe (completions run in interrupt
// context); Mutex may sleep.
//
//   SpinLock lock_;
//   { SpinGuard g(lock_); ... }          // released at the closing brace
#ifndef XENIDC_LOCK_H
#define XENIDC_LOCK_H

#include <xenidc/platform.h>

namespace xenidc {

class SpinLock {
public:
	SpinLock() { xi_spin_init(&l_); }
	SpinLock(const SpinLock &) = delete;
	SpinLock &operator=(const SpinLock &) = delete;

	unsigned long Lock() { return xi_spin_lock_irqsave(&l_); }
	void Unlock(unsigned long flags) { xi_spin_unlock_irqrestore(&l_, flags); }

private:
	xi_spinlock l_;
};

class [[nodiscard]] SpinGuard {
public:
	explicit SpinGuard(SpinLock &l) : l_(l), flags_(l.Lock()) {}
	~SpinGuard() { l_.Unlock(flags_); }
	SpinGuard(const SpinGuard &) = delete;
	SpinGuard &operator=(const SpinGuard &) = delete;

private:
	SpinLock &l_;
	unsigned long flags_;
};

class Mutex {
public:
	Mutex() { xi_mutex_init(&m_); }
	Mutex(const Mutex &) = delete;
	Mutex &operator=(const Mutex &) = delete;

	void Lock() { xi_mutex_lock(&m_); }
	void Unlock() { xi_mutex_unlock(&m_); }

private:
	xi_mutex m_;
};

class [[nodiscard]] MutexGuard {
public:
	explicit MutexGuard(Mutex &m) : m_(m) { m_.Lock(); }
	~MutexGuard() { m_.Unlock(); }
	MutexGuard(const MutexGuard &) = delete;
	MutexGuard &operator=(const MutexGuard &) = delete;

private:
	Mutex &m_;
};

} // namespace xenidc

#endif // XENIDC_LOCK_H
