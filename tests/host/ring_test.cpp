// SPDX-License-Identifier: GPL-2.0-only
//
// BackRing: index arithmetic, wraparound, hostile producers, response
// encoding, for the blkif (both ABIs) and usbif rings.
#include <xenidc/abi/blkif.h>
#include <xenidc/abi/usbif.h>
#include <xenidc/ring.h>

#include "front_ring.h"
#include "sim_test.h"

using namespace xenidc;

namespace {

// A ring mapped straight from the frontend's memory (no Channel).
template <class Proto> struct RingPair {
	RingPair(sim::Sim &s, xi_domid_t dom, unsigned pages, RingIdx start = 0)
	    : front(s, dom, pages)
	{
		if (start)
			front.SetIndexes(start);
		back.Attach(front.hdr(), pages * XI_PAGE_SIZE);
	}
	sim::FrontRing<Proto> front;
	BackRing<Proto> back;
};

blkif::ProtoX86_64::WireRequest BlkRw64(uint64_t id, uint8_t op, uint64_t sector, uint8_t nseg)
{
	blkif::ProtoX86_64::WireRequest w{};
	w.b[0] = op;
	w.b[1] = nseg;
	blkif::Store<uint64_t>(w.b + 8, id);
	blkif::Store<uint64_t>(w.b + 16, sector);
	for (uint8_t i = 0; i < nseg; i++) {
		blkif::Segment s{100u + i, 0, 7, 0};
		memcpy(w.b + 24 + 8 * i, &s, sizeof(s));
	}
	return w;
}

} // namespace

using RingTest = SimTest;

TEST_F(RingTest, EntriesPerPageMatchXenRingSize)
{
	EXPECT_EQ(BackRing<blkif::ProtoX86_64>::kEntrySize, 112u);
	EXPECT_EQ(BackRing<blkif::ProtoX86_32>::kEntrySize, 108u);
	EXPECT_EQ(RingEntries(XI_PAGE_SIZE, 112), 32u);
	EXPECT_EQ(RingEntries(XI_PAGE_SIZE, 108), 32u);
	EXPECT_EQ(RingEntries(16 * XI_PAGE_SIZE, 112), 512u);
	EXPECT_EQ(RingEntries(XI_PAGE_SIZE, sizeof(BackRing<usbif::UrbProto>::Entry)), 16u);
	EXPECT_EQ(RingEntries(XI_PAGE_SIZE, sizeof(BackRing<usbif::ConnProto>::Entry)), 512u);
	EXPECT_EQ(RingEntries(10, 112), 0u);
}

TEST_F(RingTest, PopsInOrderAcrossIndexWraparound)
{
	RingPair<blkif::ProtoX86_64> r(sim_, kGuest, 1, 0xFFFFFFF0u);
	uint64_t next = 0;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 20; i++)
			r.front.Put(BlkRw64(round * 20 + i, blkif::kOpRead, i, 1));
		r.front.Push(false);
		blkif::Request req;
		while (r.back.PopRequest(&req) == BackRing<blkif::ProtoX86_64>::Pop::kRequest) {
			EXPECT_EQ(req.id, next++);
			r.back.PutResponse({req.id, req.operation, blkif::kRspOkay});
		}
		r.back.PushResponses();
		EXPECT_EQ(r.front.Take().size(), 20u);
	}
	EXPECT_EQ(next, 80u);
	EXPECT_EQ(r.back.req_cons(), 0xFFFFFFF0u + 80u); // wrapped past zero
}

TEST_F(RingTest, ProducerMoreThanARingAheadBreaksTheRing)
{
	RingPair<blkif::ProtoX86_64> r(sim_, kGuest, 1);
	r.front.hdr()->req_prod = r.back.size() + 1;
	blkif::Request req;
	EXPECT_EQ(r.back.PopRequest(&req), BackRing<blkif::ProtoX86_64>::Pop::kBroken);
	EXPECT_TRUE(r.back.broken());
	// Broken stays broken even if the frontend backs off.
	r.front.hdr()->req_prod = 1;
	EXPECT_EQ(r.back.PopRequest(&req), BackRing<blkif::ProtoX86_64>::Pop::kBroken);
	EXPECT_FALSE(r.back.HasUnconsumedRequests());
}

TEST_F(RingTest, ProducerExactlyARingAheadIsFine)
{
	RingPair<blkif::ProtoX86_64> r(sim_, kGuest, 1);
	for (uint32_t i = 0; i < r.back.size(); i++)
		r.front.Put(BlkRw64(i, blkif::kOpWrite, 0, 1));
	r.front.Push(false);
	blkif::Request req;
	uint32_t n = 0;
	while (r.back.PopRequest(&req) == BackRing<blkif::ProtoX86_64>::Pop::kRequest)
		n++;
	EXPECT_EQ(n, r.back.size());
	EXPECT_FALSE(r.back.broken());
}

TEST_F(RingTest, NoMoreRequestsThanFreeResponseSlots)
{
	RingPair<blkif::ProtoX86_64> r(sim_, kGuest, 1);
	for (uint32_t i = 0; i < r.back.size(); i++)
		r.front.Put(BlkRw64(i, blkif::kOpRead, 0, 1));
	r.front.Push(false);
	blkif::Request req;
	for (uint32_t i = 0; i < r.back.size(); i++)
		ASSERT_EQ(r.back.PopRequest(&req), BackRing<blkif::ProtoX86_64>::Pop::kRequest);
	// A hostile frontend publishes more before any response: all response
	// slots are owed, so nothing more is consumed.
	r.front.hdr()->req_prod += 4;
	EXPECT_EQ(r.back.PopRequest(&req), BackRing<blkif::ProtoX86_64>::Pop::kFull);
	r.back.PutResponse({0, 0, 0});
	EXPECT_EQ(r.back.PopRequest(&req), BackRing<blkif::ProtoX86_64>::Pop::kRequest);
}

TEST_F(RingTest, RequestIsCopiedOnceRewritesAfterPopAreNotSeen)
{
	RingPair<blkif::ProtoX86_64> r(sim_, kGuest, 1);
	r.front.Put(BlkRw64(42, blkif::kOpRead, 1000, 3));
	r.front.Push(false);
	blkif::Request req;
	ASSERT_EQ(r.back.PopRequest(&req), BackRing<blkif::ProtoX86_64>::Pop::kRequest);
	// The guest rewrites the slot right after the backend read it.
	memset(r.front.slot(0), 0xff, sizeof(*r.front.slot(0)));
	EXPECT_EQ(req.id, 42u);
	EXPECT_EQ(req.nr_segments, 3);
	EXPECT_EQ(req.sector, 1000u);
	EXPECT_EQ(req.seg[2].gref, 102u);
}

// Leaves a stack the next call reuses full of 0xAA: what an uncleared
// response would carry to the guest (XSA-216).
__attribute__((noinline)) static void DirtyStack()
{
	volatile uint8_t junk[1024];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = 0xAA;
}

TEST_F(RingTest, ResponsePaddingIsZeroed)
{
	RingPair<blkif::ProtoX86_64> r(sim_, kGuest, 1);
	memset(r.front.slot(0), 0xAA, sizeof(*r.front.slot(0)));
	DirtyStack();
	r.back.PutResponse({0x1122334455667788ull, blkif::kOpWrite, blkif::kRspError});
	const uint8_t *b = reinterpret_cast<const uint8_t *>(r.front.slot(0));
	uint64_t id;
	memcpy(&id, b, 8);
	EXPECT_EQ(id, 0x1122334455667788ull);
	EXPECT_EQ(b[8], blkif::kOpWrite);
	EXPECT_EQ(b[9], 0) << "padding after operation";
	EXPECT_EQ((int16_t)(b[10] | b[11] << 8), blkif::kRspError);
	for (int i = 12; i < 16; i++)
		EXPECT_EQ(b[i], 0) << "tail padding byte " << i;
}

TEST_F(RingTest, PushNotifiesOnlyWhenTheFrontendAsked)
{
	RingPair<blkif::ProtoX86_64> r(sim_, kGuest, 1);
	r.front.hdr()->rsp_event = 1; // wants an event at the first response
	r.back.PutResponse({1, 0, 0});
	EXPECT_TRUE(r.back.PushResponses());
	r.back.PutResponse({2, 0, 0});
	EXPECT_FALSE(r.back.PushResponses()); // rsp_event still 1: no new event
	r.front.hdr()->rsp_event = 3;
	r.back.PutResponse({3, 0, 0});
	EXPECT_TRUE(r.back.PushResponses());
}

TEST_F(RingTest, FinalCheckArmsReqEventAndSeesLateRequests)
{
	RingPair<blkif::ProtoX86_64> r(sim_, kGuest, 1);
	EXPECT_FALSE(r.back.FinalCheckForRequests());
	EXPECT_EQ(r.front.hdr()->req_event, 1u);
	r.front.Put(BlkRw64(1, blkif::kOpRead, 0, 1));
	EXPECT_TRUE(r.front.Push(false)) << "the armed req_event asks for a kick";
	EXPECT_TRUE(r.back.FinalCheckForRequests());
}

// ArmEventAfter(n): the frontend's push that makes n requests wait kicks,
// not the ones before; n already waiting is said at once.
TEST_F(RingTest, ArmEventAfterKicksAtTheNthRequest)
{
	RingPair<blkif::ProtoX86_64> r(sim_, kGuest, 1, 0);
	blkif::Request q;
	EXPECT_FALSE(r.back.ArmEventAfter(3));
	for (int i = 0; i < 2; i++) {
		r.front.Put(BlkRw64(i, blkif::kOpRead, 0, 1));
		EXPECT_FALSE(r.front.Push(false)) << "request " << i;
	}
	r.front.Put(BlkRw64(2, blkif::kOpRead, 0, 1));
	EXPECT_TRUE(r.front.Push(false));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(r.back.PopRequest(&q), BackRing<blkif::ProtoX86_64>::Pop::kRequest);
	for (int i = 0; i < 2; i++) {
		r.front.Put(BlkRw64(i, blkif::kOpRead, 0, 1));
		r.front.Push(false);
	}
	EXPECT_FALSE(r.back.ArmEventAfter(3)) << "two waiting";
	EXPECT_TRUE(r.back.ArmEventAfter(2)) << "two waiting";
}

// FrontendDepth counts requests taken whose answers the frontend has not
// consumed (by its rsp_event), UnreadResponses the published answers it has
// not consumed; across the index wrap; nonsense reads as 0.
TEST_F(RingTest, FrontendDepthFollowsRspEventAndIgnoresNonsense)
{
	RingPair<blkif::ProtoX86_64> r(sim_, kGuest, 1, 0xfffffffe);
	blkif::Request q;
	for (int i = 0; i < 5; i++)
		r.front.Put(BlkRw64(i, blkif::kOpRead, 0, 1));
	r.front.Push(false);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(r.back.PopRequest(&q), BackRing<blkif::ProtoX86_64>::Pop::kRequest);
	EXPECT_EQ(r.back.FrontendDepth(), 5u) << "nothing consumed yet";
	for (int i = 0; i < 3; i++)
		r.back.PutResponse({(uint64_t)i, blkif::kOpRead, 0});
	EXPECT_EQ(r.back.UnreadResponses(), 0u) << "written, not published";
	r.back.PushResponses();
	EXPECT_EQ(r.back.UnreadResponses(), 3u);
	r.front.Take(); // consumes three, sets rsp_event past them
	EXPECT_EQ(r.back.FrontendDepth(), 2u);
	EXPECT_EQ(r.back.UnreadResponses(), 0u);
	r.front.hdr()->rsp_event = 0x12345678; // hostile
	EXPECT_EQ(r.back.FrontendDepth(), 0u);
	EXPECT_EQ(r.back.UnreadResponses(), 0u);
	r.front.hdr()->rsp_event = r.back.req_cons() + 5; // answers we never gave
	EXPECT_EQ(r.back.FrontendDepth(), 0u);
	EXPECT_EQ(r.back.UnreadResponses(), 0u);
}

TEST_F(RingTest, X86_32LayoutDecodesShiftedFields)
{
	RingPair<blkif::ProtoX86_32> r(sim_, kGuest, 1);
	blkif::ProtoX86_32::WireRequest w{};
	w.b[0] = blkif::kOpWrite;
	w.b[1] = 2;
	blkif::Store<uint16_t>(w.b + 2, 0x51);
	blkif::Store<uint64_t>(w.b + 4, 77);	// id at 4, no hole
	blkif::Store<uint64_t>(w.b + 12, 4096); // sector at 12
	blkif::Segment s{9, 1, 6, 0};
	memcpy(w.b + 20 + 8, &s, sizeof(s)); // seg[1]
	r.front.Put(w);
	r.front.Push(false);
	blkif::Request req;
	ASSERT_EQ(r.back.PopRequest(&req), BackRing<blkif::ProtoX86_32>::Pop::kRequest);
	EXPECT_EQ(req.id, 77u);
	EXPECT_EQ(req.sector, 4096u);
	EXPECT_EQ(req.handle, 0x51);
	EXPECT_EQ(req.seg[1].gref, 9u);
	EXPECT_EQ(req.seg[1].first_sect, 1);
	EXPECT_EQ(req.seg[1].last_sect, 6);
	r.back.PutResponse({77, blkif::kOpWrite, 0});
	const uint8_t *b = reinterpret_cast<const uint8_t *>(r.front.slot(0));
	EXPECT_EQ(blkif::Load<uint64_t>(b), 77u);
	EXPECT_EQ(b[8], blkif::kOpWrite);
}

TEST_F(RingTest, IndirectAndDiscardDecode)
{
	for (int abi32 = 0; abi32 < 2; abi32++) {
		size_t hole = abi32 ? 0 : 4;
		uint8_t raw[112] = {};
		raw[0] = blkif::kOpIndirect;
		raw[1] = blkif::kOpRead;
		blkif::Store<uint16_t>(raw + 2, 300);
		blkif::Store<uint64_t>(raw + 4 + hole, 5);
		blkif::Store<uint64_t>(raw + 12 + hole, 8);
		blkif::Store<uint16_t>(raw + 20 + hole, 3);
		blkif::Store<uint32_t>(raw + 24 + hole, 1234);
		blkif::Request req{};
		if (abi32)
			blkif::ProtoX86_32::Decode(
				*reinterpret_cast<blkif::ProtoX86_32::WireRequest *>(raw), &req);
		else
			blkif::ProtoX86_64::Decode(
				*reinterpret_cast<blkif::ProtoX86_64::WireRequest *>(raw), &req);
		EXPECT_EQ(req.indirect_op, blkif::kOpRead);
		EXPECT_EQ(req.nr_segments, 300);
		EXPECT_EQ(req.id, 5u);
		EXPECT_EQ(req.sector, 8u);
		EXPECT_EQ(req.handle, 3);
		EXPECT_EQ(req.indirect_grefs[0], 1234u);

		uint8_t d[112] = {};
		d[0] = blkif::kOpDiscard;
		d[1] = blkif::kDiscardSecure;
		blkif::Store<uint64_t>(d + 4 + hole, 6);
		blkif::Store<uint64_t>(d + 12 + hole, 2048);
		blkif::Store<uint64_t>(d + 20 + hole, 4096);
		blkif::Request dr{};
		if (abi32)
			blkif::ProtoX86_32::Decode(
				*reinterpret_cast<blkif::ProtoX86_32::WireRequest *>(d), &dr);
		else
			blkif::ProtoX86_64::Decode(
				*reinterpret_cast<blkif::ProtoX86_64::WireRequest *>(d), &dr);
		EXPECT_EQ(dr.discard_flag, blkif::kDiscardSecure);
		EXPECT_EQ(dr.id, 6u);
		EXPECT_EQ(dr.sector, 2048u);
		EXPECT_EQ(dr.nr_sectors, 4096u);
	}
}

TEST_F(RingTest, UsbifConnRingCarriesPortEvents)
{
	RingPair<usbif::ConnProto> r(sim_, kGuest, 1);
	EXPECT_EQ(r.back.size(), 512u);
	for (uint16_t i = 0; i < 512; i++)
		r.front.Put(usbif::ConnRequest{i});
	r.front.Push(false);
	usbif::ConnRequest credit;
	ASSERT_EQ(r.back.PopRequest(&credit), BackRing<usbif::ConnProto>::Pop::kRequest);
	r.back.PutResponse({credit.id, 3, usbif::kSpeedHigh});
	r.back.PushResponses();
	auto rsp = r.front.Take();
	ASSERT_EQ(rsp.size(), 1u);
	EXPECT_EQ(rsp[0].portnum, 3);
	EXPECT_EQ(rsp[0].speed, usbif::kSpeedHigh);
}

TEST_F(RingTest, UsbifUrbRequestLayoutAndPipeFields)
{
	RingPair<usbif::UrbProto> r(sim_, kGuest, 1);
	EXPECT_EQ(r.back.size(), 16u);
	usbif::UrbRequest u{};
	u.id = 3;
	u.pipe = 0xC0010304; // bulk OUT, ep 2, addr 3, port 4
	u.nr_buffer_segs = 1;
	u.buffer_length = 512;
	u.seg[0] = {55, 0, 512};
	r.front.Put(u);
	r.front.Push(false);
	usbif::UrbRequest got;
	ASSERT_EQ(r.back.PopRequest(&got), BackRing<usbif::UrbProto>::Pop::kRequest);
	EXPECT_EQ(usbif::PipePort(got.pipe), 4u);
	EXPECT_EQ(usbif::PipeDev(got.pipe), 3u);
	EXPECT_EQ(usbif::PipeEp(got.pipe), 2u);
	EXPECT_EQ(usbif::PipeKind(got.pipe), usbif::kBulk);
	EXPECT_FALSE(usbif::PipeIn(got.pipe));
	EXPECT_FALSE(usbif::PipeUnlink(got.pipe));
	EXPECT_EQ(got.seg[0].gref, 55u);
}
