// SPDX-License-Identifier: GPL-2.0-only
//
// ktl: the small freestanding subset of C++ utilities the core uses, in the
// spirit of Zircon's ktl. The kernel build has no C++ standard library
// (-nostdinc++ -ffreestanding); the host build compiles the core the same way,
// so nothing here may come from std::.
#ifndef XENIDC_KTL_H
#define XENIDC_KTL_H

#include <xenidc/platform.h>

// Placement new: <new> exists only where a C++ library does (host tests).
#if __has_include(<new>)
#include <new>
#else
inline void *operator new(size_t, void *where) noexcept
{
	return where;
}
#endif

namespace ktl {

template <class T> struct RemoveReference {
	using Type = T;
};
template <class T> struct RemoveReference<T &> {
	using Type = T;
};
template <class T> struct RemoveReference<T &&> {
	using Type = T;
};

template <class T> constexpr typename RemoveReference<T>::Type &&Move(T &&v) noexcept
{
	return static_cast<typename RemoveReference<T>::Type &&>(v);
}

template <class T> constexpr T &&Forward(typename RemoveReference<T>::Type &v) noexcept
{
	return static_cast<T &&>(v);
}

template <class T> constexpr const T &Min(const T &a, const T &b)
{
	return b < a ? b : a;
}
template <class T> constexpr const T &Max(const T &a, const T &b)
{
	return a < b ? b : a;
}

template <class T> constexpr void Swap(T &a, T &b)
{
	T t = Move(a);
	a = Move(b);
	b = Move(t);
}

template <class T, size_t N> constexpr size_t ArraySize(const T (&)[N])
{
	return N;
}

constexpr bool IsPowerOf2(uint64_t v)
{
	return v && !(v & (v - 1));
}

// Largest power of two <= v (v > 0).
constexpr uint32_t RoundDownPow2(uint32_t v)
{
	uint32_t p = 1;
	while (p <= v / 2)
		p *= 2;
	return p;
}

// Explicit builtins: -ffreestanding turns off the implicit ones.
inline void MemCopy(void *dst, const void *src, size_t n)
{
	__builtin_memcpy(dst, src, n);
}
inline void MemZero(void *dst, size_t n)
{
	__builtin_memset(dst, 0, n);
}
inline int MemCompare(const void *a, const void *b, size_t n)
{
	return __builtin_memcmp(a, b, n);
}

// A view of a contiguous array it does not own.
template <class T> class Span {
public:
	constexpr Span() = default;
	constexpr Span(T *data, size_t size) : data_(data), size_(size) {}
	template <size_t N> constexpr Span(T (&a)[N]) : data_(a), size_(N) {}

	constexpr T *data() const { return data_; }
	constexpr size_t size() const { return size_; }
	constexpr bool empty() const { return size_ == 0; }
	constexpr T &operator[](size_t i) const { return data_[i]; }
	constexpr T *begin() const { return data_; }
	constexpr T *end() const { return data_ + size_; }
	constexpr Span subspan(size_t off, size_t n) const { return Span(data_ + off, n); }

private:
	T *data_ = nullptr;
	size_t size_ = 0;
};

// ---- Allocation -----------------------------------------------------------
//
// No operator new: every allocation is explicit and its failure is a value.

// A zeroed array of n trivially constructible T, or nullptr.
template <class T> T *AllocArray(size_t n)
{
	if (n > (size_t)-1 / sizeof(T))
		return nullptr;
	return static_cast<T *>(xi_zalloc(n * sizeof(T)));
}

template <class T, class... Args> T *New(Args &&...args)
{
	void *p = xi_zalloc(sizeof(T));
	return p ? new (p) T(Forward<Args>(args)...) : nullptr;
}

template <class T> void Delete(T *p)
{
	if (p) {
		p->~T();
		xi_free(p);
	}
}

// ---- Memory ordering ----------------------------------------------------
//
// The peer of a shared ring is another domain, so these order against other
// CPUs whatever the kernel's SMP configuration (the kernel's virt_*mb()).

inline void CompilerBarrier()
{
	asm volatile("" ::: "memory");
}
inline void VirtRmb()
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
}
inline void VirtWmb()
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
}
inline void VirtMb()
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

// One load the compiler may not repeat or tear (READ_ONCE).
template <class T> inline T ReadOnce(const T &v)
{
	return __atomic_load_n(&v, __ATOMIC_RELAXED);
}
template <class T> inline void WriteOnce(T &v, T x)
{
	__atomic_store_n(&v, x, __ATOMIC_RELAXED);
}

// A value shared between contexts, with explicit memory order.
template <class T> class Atomic {
public:
	constexpr Atomic() = default;
	constexpr explicit Atomic(T v) : v_(v) {}
	Atomic(const Atomic &) = delete;
	Atomic &operator=(const Atomic &) = delete;

	T Load(int order = __ATOMIC_SEQ_CST) const { return __atomic_load_n(&v_, order); }
	void Store(T v, int order = __ATOMIC_SEQ_CST) { __atomic_store_n(&v_, v, order); }
	T FetchAdd(T d) { return __atomic_fetch_add(&v_, d, __ATOMIC_SEQ_CST); }
	T FetchSub(T d) { return __atomic_fetch_sub(&v_, d, __ATOMIC_SEQ_CST); }
	T Exchange(T v) { return __atomic_exchange_n(&v_, v, __ATOMIC_SEQ_CST); }
	bool CompareExchange(T &expected, T desired)
	{
		return __atomic_compare_exchange_n(&v_, &expected, desired, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}

private:
	T v_{};
};

// A statistics counter: updated from any context, read without ordering.
class Counter {
public:
	void Add(uint64_t d = 1) { __atomic_fetch_add(&v_, d, __ATOMIC_RELAXED); }
	uint64_t Get() const { return __atomic_load_n(&v_, __ATOMIC_RELAXED); }

private:
	uint64_t v_ = 0;
};

} // namespace ktl

// Marks a function as part of a module's exported API and gives it a short,
// stable C symbol name: other modules link against it by that name, and
// the module's exports.c is generated from exactly these symbols (C++
// mangled names are too long for module versioning on 6.1).
#define XI_EXPORT(symbol) __asm__(#symbol)

// Checks an invariant the code relies on. On failure it reports (a kernel
// WARN, a test failure on the host) and evaluates to true so the caller can
// fail the operation instead of continuing: never a crash.
#define XI_WARN_ON(cond)                                             \
	({                                                           \
		bool xi_warn_ = !!(cond);                            \
		if (__builtin_expect(xi_warn_, 0))                   \
			xi_assert_failed(#cond, __FILE__, __LINE__); \
		xi_warn_;                                            \
	})

#endif // XENIDC_KTL_H
