// SPDX-License-Identifier: GPL-2.0-only
//
// Shared by the fuzz targets: a fresh simulated Xen per input, a byte reader
// over the input, and the check that nothing leaked. Any invariant the
// simulator or the core detects aborts: libFuzzer reports it as a crash.
#ifndef XENIDC_FUZZ_WORLD_H
#define XENIDC_FUZZ_WORLD_H

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sim.h"
#include "xenstore.h"
#include <xenidc/xenbus_lite_glue.h>

namespace fuzz {

constexpr xi_domid_t kGuest = 7;

class Input {
public:
	Input(const uint8_t *d, size_t n) : d_(d), n_(n) {}
	bool empty() const { return pos_ >= n_; }
	uint8_t U8() { return pos_ < n_ ? d_[pos_++] : 0; }
	uint16_t U16() { return (uint16_t)(U8() | U8() << 8); }
	uint32_t U32() { return U16() | (uint32_t)U16() << 16; }
	uint64_t U64() { return U32() | (uint64_t)U32() << 32; }
	void Bytes(void *out, size_t n)
	{
		for (size_t i = 0; i < n; i++)
			static_cast<uint8_t *>(out)[i] = U8();
	}

private:
	const uint8_t *d_;
	size_t n_;
	size_t pos_ = 0;
};

// The grants a fuzzed request can name: raw values are mapped onto real
// grants most of the time, so inputs reach past the grant checks.
struct Grants {
	std::vector<xi_gref_t> refs;
	void Add(sim::Sim &s, uint32_t frames, bool readonly)
	{
		uint32_t f = s.domain(kGuest).AllocFrames(frames);
		for (uint32_t i = 0; i < frames; i++)
			refs.push_back(s.GrantAccess(kGuest, f + i, sim::kDom0, readonly));
	}
	xi_gref_t Pick(uint32_t raw) const
	{
		return raw >= 0xf0000000u || refs.empty() ? raw : refs[raw % refs.size()];
	}
};

// Removes the device as the xenbus core would (unless the input did, with
// its teardown pending or not), then lets the teardown run out: a removal
// that had to wait must end once nothing is left to run.
inline void RemoveAndDrain(sim::Sim &s, sim::XbDev &dev, void *device, bool removed, bool pending)
{
	if (!removed)
		pending = !xbl_remove(device);
	s.RunUntilIdle();
	if (pending && !dev.released)
		abort(); // the teardown never ended
}

inline void CheckNothingLeft(sim::Sim &s)
{
	const sim::Counters &c = s.counters();
	if (c.allocs || c.pages || c.mappings || c.rings || c.evtchns || c.works ||
	    s.GrantsMapped()) {
		fprintf(stderr,
			"leak: allocs %ld pages %ld mappings %ld rings %ld evtchns %ld works %ld\n",
			c.allocs, c.pages, c.mappings, c.rings, c.evtchns, c.works);
		abort();
	}
}

} // namespace fuzz

#endif
