// SPDX-License-Identifier: GPL-2.0-only
//
// The ring consumer under an adversarial producer: the input moves req_prod,
// rsp_event and the request slots at will between pops and responses.
#include <xenidc/abi/blkif.h>
#include <xenidc/ring.h>

#include "front_ring.h"
#include "world.h"

using namespace xenidc;
using Proto = blkif::ProtoX86_64;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz::Input in(data, size);
	sim::Sim s;
	s.AddDomain(fuzz::kGuest, 64);
	unsigned pages = 1u << (in.U8() % 3);
	sim::FrontRing<Proto> f(s, fuzz::kGuest, pages);
	f.SetIndexes(in.U32());
	BackRing<Proto> ring;
	ring.Attach(f.hdr(), pages * XI_PAGE_SIZE);
	uint32_t owed = 0; // requests consumed, not yet answered

	while (!in.empty()) {
		switch (in.U8() % 6) {
		case 0: // the producer index, anything
			f.hdr()->req_prod = in.U32();
			break;
		case 1: // a slot rewritten, any time
			in.Bytes(f.slot(in.U32()), sizeof(Proto::WireRequest));
			break;
		case 2: { // consume
			blkif::Request r;
			auto p = ring.PopRequest(&r);
			if (p == BackRing<Proto>::Pop::kRequest)
				owed++;
			if (owed > ring.size())
				abort(); // more in flight than response slots
			if (ring.broken() && p != BackRing<Proto>::Pop::kBroken)
				abort();
			break;
		}
		case 3: // answer one
			if (owed) {
				ring.PutResponse({in.U64(), in.U8(), (int16_t)in.U16()});
				owed--;
			}
			break;
		case 4:
			f.hdr()->rsp_event = in.U32();
			(void)ring.PushResponses();
			break;
		case 5:
			(void)ring.FinalCheckForRequests();
			break;
		}
		if (ring.req_cons() - ring.rsp_prod_pvt() > ring.size())
			abort();
	}
	return 0;
}
