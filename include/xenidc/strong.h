// SPDX-License-Identifier: GPL-2.0-only
//
// Strong integer types: a grant reference is not a domain id is not a sector,
// and the compiler says so. Each is the size of its representation.
//
//   GrantRef g{req.gref};     // explicit construction only
//   g.value()                 // back to the raw number at the ABI edge
#ifndef XENIDC_STRONG_H
#define XENIDC_STRONG_H

#include <xenidc/platform.h>

namespace xenidc {

template <class Tag, class Rep> class StrongInt {
public:
	using RepType = Rep;
	constexpr StrongInt() = default;
	constexpr explicit StrongInt(Rep v) : v_(v) {}
	constexpr Rep value() const { return v_; }

	friend constexpr bool operator==(StrongInt a, StrongInt b) { return a.v_ == b.v_; }
	friend constexpr bool operator!=(StrongInt a, StrongInt b) { return a.v_ != b.v_; }
	friend constexpr bool operator<(StrongInt a, StrongInt b) { return a.v_ < b.v_; }

private:
	Rep v_{};
};

using DomId = StrongInt<struct DomIdTag, xi_domid_t>;
using GrantRef = StrongInt<struct GrantRefTag, xi_gref_t>;
// A 512-byte sector number, the unit of the blkif protocol.
using Sector = StrongInt<struct SectorTag, uint64_t>;

static_assert(sizeof(DomId) == 2 && sizeof(GrantRef) == 4 && sizeof(Sector) == 8);

} // namespace xenidc

#endif // XENIDC_STRONG_H
