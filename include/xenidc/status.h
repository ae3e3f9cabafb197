// SPDX-License-Identifier: GPL-2.0-only
//
// Errors in the core: a negative errno, carried by Status or Result<T> and
// marked [[nodiscard]] so none is dropped silently. The C glue returns the
// same numbers to the kernel; platform.c checks they match <linux/errno.h>.
//
//   Result<Mapping *> r = pool.Map(sg);
//   if (!r.ok())
//           return r.status();
//   Mapping *m = r.value();
//
// XI_TRY(expr) returns early from a Status-returning function on error.
#ifndef XENIDC_STATUS_H
#define XENIDC_STATUS_H

#include <xenidc/ktl.h>

namespace xenidc {

// The errno values the core uses (identical in Linux and glibc on x86).
namespace err {
constexpr int kPerm = 1;
constexpr int kNoEnt = 2;
constexpr int kTooBig = 7;
constexpr int kIo = 5;
constexpr int kAgain = 11;
constexpr int kNoMem = 12;
constexpr int kAccess = 13;
constexpr int kFault = 14;
constexpr int kBusy = 16;
constexpr int kNoDev = 19;
constexpr int kInval = 22;
constexpr int kNoSpace = 28;
constexpr int kRange = 34;
constexpr int kProto = 71;
constexpr int kOverflow = 75;
constexpr int kOpNotSupp = 95;
constexpr int kShutdown = 108;
constexpr int kTimedOut = 110;
constexpr int kConnReset = 104;
} // namespace err

class [[nodiscard]] Status {
public:
	constexpr Status() = default;
	static constexpr Status Ok() { return Status(); }
	// errno: a positive errno constant (err::kInval) or its negation.
	static constexpr Status Error(int errno_value)
	{
		return Status(errno_value < 0 ? errno_value : -errno_value);
	}

	constexpr bool ok() const { return code_ == 0; }
	// 0 or a negative errno.
	constexpr int code() const { return code_; }

private:
	constexpr explicit Status(int code) : code_(code) {}
	int code_ = 0;
};

template <class T> class [[nodiscard]] Result {
public:
	constexpr Result(T value) : value_(ktl::Move(value)) {}
	constexpr Result(Status s) : status_(s) {}

	constexpr bool ok() const { return status_.ok(); }
	constexpr Status status() const { return status_; }
	constexpr T &value() { return value_; }
	constexpr const T &value() const { return value_; }

private:
	T value_{};
	Status status_;
};

} // namespace xenidc

#define XI_TRY(expr)                               \
	do {                                       \
		::xenidc::Status xi_try_ = (expr); \
		if (!xi_try_.ok())                 \
			return xi_try_;            \
	} while (0)

#endif // XENIDC_STATUS_H
