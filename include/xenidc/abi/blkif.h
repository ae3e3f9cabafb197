// SPDX-License-Identifier: GPL-2.0-only
//
// The blkif ring protocol (xen/interface/io/blkif.h) for Channel<>.
//
// Guests write requests in one of two layouts: x86_64 (also "native" here)
// aligns the 64-bit id to 8 bytes, x86_32 to 4, which removes a 4-byte hole
// and shortens the request from 112 to 108 bytes. One template describes both
// by offsets; Decode() copies the fields of the private copy into Request.
// The offsets are checked against the Xen public headers where those meet the
// core: blkback2/xenbus.c (kernel) and tests/host (libxen-dev).
#ifndef XENIDC_ABI_BLKIF_H
#define XENIDC_ABI_BLKIF_H

#include <xenidc/abi/layout.h>
#include <xenidc/ktl.h>

namespace xenidc::blkif {

enum Op : uint8_t {
	kOpRead = 0,
	kOpWrite = 1,
	kOpWriteBarrier = 2,
	kOpFlushDiskcache = 3,
	kOpDiscard = 5,
	kOpIndirect = 6,
};

constexpr int16_t kRspOkay = 0;
constexpr int16_t kRspError = -1;
constexpr int16_t kRspEopnotsupp = -2;

constexpr unsigned kMaxSegments = 11;	       // per direct request
constexpr unsigned kMaxIndirectPages = 8;      // grefs in an indirect request
constexpr unsigned kSegsPerIndirectPage = 512; // XI_PAGE_SIZE / sizeof(Segment)
constexpr unsigned kSectorShift = 9;	       // wire sectors are 512 bytes, always
constexpr unsigned kSectorsPerPage = XI_PAGE_SIZE >> kSectorShift;
constexpr uint8_t kDiscardSecure = 1;

// VDISK_* bits of the "info" key.
constexpr unsigned kInfoCdrom = 1;
constexpr unsigned kInfoRemovable = 2;
constexpr unsigned kInfoReadOnly = 4;

// One data segment: inline in a request, or in an indirect descriptor page.
struct Segment {
	uint32_t gref;
	uint8_t first_sect; // inclusive, within the page
	uint8_t last_sect;  // inclusive
	uint16_t pad;
};
static_assert(sizeof(Segment) == XI_BLKIF_SEGMENT_SIZE);

enum class Abi { kX86_32, kX86_64 };

// The frontend's "protocol" key names its ABI. xen-blkback's rules: the
// backend's native name ("x86_64-abi" on x86, "arm-abi" on Arm) and the two
// x86 names are accepted; no key means the backend's default, the 32-bit
// layout on x86 (the oldest frontends) and the native one on Arm. Arm's
// layout is x86_64's (64-bit fields 8-byte aligned).
enum class Arch { kX86, kArm };
#if defined(__aarch64__) || defined(__arm__)
constexpr Arch kArch = Arch::kArm;
#else
constexpr Arch kArch = Arch::kX86;
#endif
template <Arch> struct Protocols {
	static constexpr const char *kNames[] = {"x86_32-abi", "x86_64-abi", nullptr};
	static constexpr uint32_t kAbsent = 0; // x86_32-abi
};
template <> struct Protocols<Arch::kArm> {
	static constexpr const char *kNames[] = {"x86_32-abi", "x86_64-abi", "arm-abi", nullptr};
	static constexpr uint32_t kAbsent = 2; // arm-abi
};
// The layout of Protocols<>::kNames[i].
constexpr Abi ProtocolAbi(uint32_t i)
{
	return i == 0 ? Abi::kX86_32 : Abi::kX86_64;
}

// Field offsets in a request/response for one ABI.
template <Abi A> struct Layout {
	static constexpr size_t kHole = A == Abi::kX86_64 ? 4 : 0;
	static constexpr size_t kOperation = 0;
	static constexpr size_t kNrSegments = 1; // u8; u16 in indirect requests
	static constexpr size_t kHandle = 2;
	static constexpr size_t kId = 4 + kHole;
	static constexpr size_t kSector = kId + 8;
	static constexpr size_t kSeg = kSector + 8;	       // rw
	static constexpr size_t kNrSectors = kSector + 8;      // discard
	static constexpr size_t kIndirectHandle = kSector + 8; // indirect
	static constexpr size_t kIndirectGrefs = kIndirectHandle + 4;
	static constexpr size_t kRequestSize = kSeg + kMaxSegments * sizeof(Segment);

	static constexpr size_t kRspId = 0;
	static constexpr size_t kRspOperation = 8;
	static constexpr size_t kRspStatus = 10;
	static constexpr size_t kResponseSize = A == Abi::kX86_64 ? 16 : 12;
};
using L64 = Layout<Abi::kX86_64>;
static_assert(L64::kRequestSize == XI_BLKIF64_REQ_SIZE && L64::kId == XI_BLKIF64_RW_ID &&
	      L64::kSector == XI_BLKIF64_RW_SECTOR && L64::kSeg == XI_BLKIF64_RW_SEG &&
	      L64::kNrSectors == XI_BLKIF64_DISCARD_NR_SECTORS &&
	      L64::kHandle == XI_BLKIF64_INDIRECT_NR_SEGMENTS &&
	      L64::kIndirectHandle == XI_BLKIF64_INDIRECT_HANDLE &&
	      L64::kIndirectGrefs == XI_BLKIF64_INDIRECT_GREFS &&
	      L64::kResponseSize == XI_BLKIF64_RSP_SIZE &&
	      L64::kRspStatus == XI_BLKIF64_RSP_STATUS);
// x86_32: the layout xen-blkback's common.h gives (no public header has it).
static_assert(Layout<Abi::kX86_32>::kRequestSize == 108);
static_assert(Layout<Abi::kX86_32>::kIndirectGrefs == 24);
static_assert(Layout<Abi::kX86_32>::kResponseSize == 12);

// The private, decoded request. Only the fields of its operation are set.
struct Request {
	uint8_t operation;
	uint8_t indirect_op;  // kOpIndirect: kOpRead or kOpWrite
	uint8_t discard_flag; // kOpDiscard: kDiscardSecure or 0
	uint16_t nr_segments; // rw: <= 255 on the wire; indirect: <= 65535
	uint16_t handle;
	uint64_t id;
	uint64_t sector;
	uint64_t nr_sectors; // kOpDiscard
	Segment seg[kMaxSegments];
	uint32_t indirect_grefs[kMaxIndirectPages];
};

struct Response {
	uint64_t id;
	uint8_t operation;
	int16_t status;
};

template <class T> inline T Load(const uint8_t *p)
{
	T v;
	ktl::MemCopy(&v, p, sizeof(v));
	return v;
}

template <class T> inline void Store(uint8_t *p, T v)
{
	ktl::MemCopy(p, &v, sizeof(v));
}

template <Abi A> struct Proto {
	using L = Layout<A>;
	struct WireRequest {
		uint8_t b[L::kRequestSize];
	};
	struct WireResponse {
		uint8_t b[L::kResponseSize];
	};
	using Request = blkif::Request;
	using Response = blkif::Response;

	static void Decode(const WireRequest &w, Request *r)
	{
		const uint8_t *b = w.b;
		r->operation = b[L::kOperation];
		r->id = Load<uint64_t>(b + L::kId);
		switch (r->operation) {
		case kOpRead:
		case kOpWrite:
		case kOpWriteBarrier:
		case kOpFlushDiskcache:
			r->nr_segments = b[L::kNrSegments];
			r->handle = Load<uint16_t>(b + L::kHandle);
			r->sector = Load<uint64_t>(b + L::kSector);
			ktl::MemCopy(r->seg, b + L::kSeg, sizeof(r->seg));
			break;
		case kOpDiscard:
			r->discard_flag = b[L::kNrSegments];
			r->sector = Load<uint64_t>(b + L::kSector);
			r->nr_sectors = Load<uint64_t>(b + L::kNrSectors);
			break;
		case kOpIndirect:
			r->indirect_op = b[L::kNrSegments];
			r->nr_segments = Load<uint16_t>(b + L::kHandle);
			r->sector = Load<uint64_t>(b + L::kSector);
			r->handle = Load<uint16_t>(b + L::kIndirectHandle);
			ktl::MemCopy(r->indirect_grefs, b + L::kIndirectGrefs,
				     sizeof(r->indirect_grefs));
			break;
		default:
			break;
		}
	}

	// The ring zeroes w first: padding never carries backend memory.
	static void Encode(const Response &r, WireResponse *w)
	{
		Store<uint64_t>(w->b + L::kRspId, r.id);
		w->b[L::kRspOperation] = r.operation;
		Store<int16_t>(w->b + L::kRspStatus, r.status);
	}
};

using ProtoX86_32 = Proto<Abi::kX86_32>;
using ProtoX86_64 = Proto<Abi::kX86_64>;

} // namespace xenidc::blkif

#endif // XENIDC_ABI_BLKIF_H
