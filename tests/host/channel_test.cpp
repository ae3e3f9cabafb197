// SPDX-License-Identifier: GPL-2.0-only
//
// Channel: ring mapping and teardown, batched consumption with a final
// re-check, late EOI (spurious events counted), stalls, hostile producers.
#include <xenidc/abi/blkif.h>
#include <xenidc/channel.h>

#include "front_ring.h"
#include "sim_test.h"

using namespace xenidc;
using Proto = blkif::ProtoX86_64;

namespace {

struct Backend {
	Channel<Proto> ch;
	sim::XenDev dev{SimTest::kGuest};
	unsigned budget = 1000;
	int accept = 1 << 30; // how many more requests the handler takes
	std::vector<uint64_t> seen;
	Outcome last{};
	int passes = 0;

	static void Work(void *arg)
	{
		auto *b = static_cast<Backend *>(arg);
		b->passes++;
		b->last = b->ch.Consume(b->budget, [b](const blkif::Request &r) {
			if (b->accept <= 0)
				return false;
			b->accept--;
			b->seen.push_back(r.id);
			b->ch.Respond({r.id, r.operation, blkif::kRspOkay});
			return true;
		});
	}

	Status Open(sim::FrontRing<Proto> &f)
	{
		refs = f.refs();
		Channel<Proto>::Params p;
		p.dev = reinterpret_cast<xi_xendev *>(&dev);
		p.ring_refs = ktl::Span<const GrantRef>(refs.data(), refs.size());
		p.evtchn = f.port();
		p.name = "test";
		return ch.Open(p, &Backend::Work, this);
	}
	std::vector<GrantRef> refs;
};

Proto::WireRequest Req(uint64_t id)
{
	Proto::WireRequest w{};
	w.b[0] = blkif::kOpRead;
	w.b[1] = 1;
	blkif::Store<uint64_t>(w.b + 8, id);
	return w;
}

} // namespace

class ChannelTest : public SimTest {};

TEST_F(ChannelTest, OpenAndCloseLeaveNothingBehind)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 4);
	Backend b;
	ASSERT_TRUE(b.Open(f).ok());
	EXPECT_EQ(sim_.counters().rings, 1);
	EXPECT_TRUE(sim_.Bound(f.port()));
	b.ch.Close();
	EXPECT_EQ(sim_.counters().rings, 0);
	EXPECT_FALSE(sim_.Bound(f.port()));
	b.ch.Close(); // idempotent
}

TEST_F(ChannelTest, EventRunsWorkWhichAnswersAndAcknowledges)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Backend b;
	ASSERT_TRUE(b.Open(f).ok());
	f.hdr()->rsp_event = 1;
	for (int i = 0; i < 5; i++)
		f.Put(Req(i));
	f.Push();
	sim_.RunUntilIdle();
	EXPECT_EQ(b.seen.size(), 5u);
	EXPECT_EQ(f.Take().size(), 5u);
	EXPECT_EQ(b.last, Outcome::kIdle);
	EXPECT_EQ(sim_.counters().eois, 1);
	EXPECT_EQ(sim_.counters().spurious_eois, 0);
	EXPECT_GE(sim_.Notified(f.port()), 1);
}

TEST_F(ChannelTest, EventWithNothingToDoIsAcknowledgedAsSpurious)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Backend b;
	ASSERT_TRUE(b.Open(f).ok());
	for (int i = 0; i < 3; i++) {
		sim_.Kick(f.port());
		sim_.RunUntilIdle();
	}
	EXPECT_EQ(sim_.counters().eois, 3);
	EXPECT_EQ(sim_.counters().spurious_eois, 3);
	EXPECT_EQ(b.ch.events().spurious_events(), 3u);
}

TEST_F(ChannelTest, EventStormWhileMaskedIsCoalesced)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Backend b;
	ASSERT_TRUE(b.Open(f).ok());
	for (int i = 0; i < 1000; i++)
		sim_.Kick(f.port()); // the first masks the channel until EOI
	sim_.RunUntilIdle();
	EXPECT_LE(b.passes, 3);
	EXPECT_LE(sim_.counters().eois, 2);
}

TEST_F(ChannelTest, BoundedBatchRequeuesAndFinishesEverything)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 4); // 128 entries
	Backend b;
	b.budget = 8;
	ASSERT_TRUE(b.Open(f).ok());
	for (int i = 0; i < 100; i++)
		f.Put(Req(i));
	f.Push();
	sim_.RunUntilIdle();
	ASSERT_EQ(b.seen.size(), 100u);
	for (int i = 0; i < 100; i++)
		EXPECT_EQ(b.seen[i], (uint64_t)i);
	EXPECT_GE(b.passes, 13); // 100 / 8, each pass gave others a turn
	EXPECT_EQ(sim_.counters().eois, 1) << "acknowledged once, when idle";
}

TEST_F(ChannelTest, TwoChannelsShareTheWorkerFairly)
{
	sim::FrontRing<Proto> f1(sim_, kGuest, 4), f2(sim_, kGuest, 4);
	Backend a, b;
	a.budget = b.budget = 4;
	ASSERT_TRUE(a.Open(f1).ok());
	ASSERT_TRUE(b.Open(f2).ok());
	for (int i = 0; i < 64; i++) {
		f1.Put(Req(i));
		f2.Put(Req(i));
	}
	f1.Push();
	f2.Push();
	// After a few steps both have made progress: neither starves the other.
	for (int i = 0; i < 6; i++)
		sim_.RunOne();
	EXPECT_GT(a.seen.size(), 0u);
	EXPECT_GT(b.seen.size(), 0u);
	sim_.RunUntilIdle();
	EXPECT_EQ(a.seen.size(), 64u);
	EXPECT_EQ(b.seen.size(), 64u);
}

TEST_F(ChannelTest, StalledRequestIsOfferedAgainFirst)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Backend b;
	b.accept = 2;
	ASSERT_TRUE(b.Open(f).ok());
	for (int i = 0; i < 5; i++)
		f.Put(Req(i));
	f.Push();
	sim_.RunUntilIdle();
	EXPECT_EQ(b.seen.size(), 2u);
	EXPECT_EQ(b.last, Outcome::kStalled);
	EXPECT_EQ(sim_.counters().eois, 0) << "event stays masked while stalled";
	b.accept = 100;
	b.ch.Kick(); // resources came back
	sim_.RunUntilIdle();
	ASSERT_EQ(b.seen.size(), 5u);
	EXPECT_EQ(b.seen[2], 2u) << "the stalled request comes first, once";
	EXPECT_EQ(sim_.counters().eois, 1);
}

TEST_F(ChannelTest, RequestPublishedWithoutKickIsFoundByFinalCheck)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Backend b;
	ASSERT_TRUE(b.Open(f).ok());
	f.Put(Req(1));
	f.Push();
	// The guest adds one more before the work ran: req_event says the
	// backend is awake, so no kick is needed, and the work must find it.
	f.Put(Req(2));
	EXPECT_FALSE(f.Push(false));
	sim_.RunUntilIdle();
	EXPECT_EQ(b.seen.size(), 2u);
}

TEST_F(ChannelTest, HostileProducerIndexBreaksOnlyThisChannel)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1), g(sim_, kGuest, 1);
	Backend bad, good;
	ASSERT_TRUE(bad.Open(f).ok());
	ASSERT_TRUE(good.Open(g).ok());
	f.hdr()->req_prod = 0x80000000u;
	sim_.Kick(f.port());
	g.Put(Req(9));
	g.Push();
	sim_.RunUntilIdle();
	EXPECT_EQ(bad.last, Outcome::kBroken);
	EXPECT_TRUE(bad.seen.empty());
	EXPECT_EQ(good.seen.size(), 1u);
	// The broken channel keeps its event masked; no storm reaches us.
	sim_.Kick(f.port());
	sim_.RunUntilIdle();
	EXPECT_EQ(bad.passes, 1);
}

TEST_F(ChannelTest, OpenFailsCleanlyAtEveryStep)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 2);
	for (sim::Fault fault :
	     {sim::Fault::kRingMap, sim::Fault::kAlloc, sim::Fault::kEvtchnBind}) {
		Backend b;
		sim_.FailNth(fault, 1);
		EXPECT_FALSE(b.Open(f).ok());
		EXPECT_FALSE(b.ch.open());
		EXPECT_EQ(sim_.counters().rings, 0);
		EXPECT_EQ(sim_.counters().works, 0);
		EXPECT_EQ(sim_.counters().evtchns, 0);
	}
	Backend ok;
	EXPECT_TRUE(ok.Open(f).ok()) << "and a later open works";
}

TEST_F(ChannelTest, RejectsBadRingGeometry)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Backend b;
	Channel<Proto>::Params p;
	sim::XenDev dev{kGuest};
	p.dev = reinterpret_cast<xi_xendev *>(&dev);
	p.evtchn = f.port();
	EXPECT_EQ(b.ch.Open(p, &Backend::Work, &b).code(), -err::kInval); // no pages
	std::vector<GrantRef> many(kMaxRingPages + 1, f.refs()[0]);
	p.ring_refs = ktl::Span<const GrantRef>(many.data(), many.size());
	EXPECT_EQ(b.ch.Open(p, &Backend::Work, &b).code(), -err::kInval);
	GrantRef bogus(999999);
	p.ring_refs = ktl::Span<const GrantRef>(&bogus, 1);
	EXPECT_FALSE(b.ch.Open(p, &Backend::Work, &b).ok()) << "ungranted ring page";
}

TEST_F(ChannelTest, CloseWithQueuedWorkCancelsIt)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Backend b;
	ASSERT_TRUE(b.Open(f).ok());
	f.Put(Req(1));
	f.Push(); // queues the work
	b.ch.Close();
	sim_.RunUntilIdle();
	EXPECT_TRUE(b.seen.empty());
}

TEST_F(ChannelTest, EventPendingAtBindIsHandledOnceReady)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	f.Put(Req(1));
	f.Push(); // kicks a port nobody has bound yet
	Backend b;
	ASSERT_TRUE(b.Open(f).ok()); // the event fires inside the bind
	sim_.RunUntilIdle();
	EXPECT_EQ(b.seen.size(), 1u);
	EXPECT_EQ(sim_.counters().eois, 1);
}

TEST_F(ChannelTest, RequestsQueuedBeforeOpenAreServedWithoutAnEvent)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	f.Put(Req(1));
	f.Push(false);
	Backend b;
	ASSERT_TRUE(b.Open(f).ok());
	sim_.RunUntilIdle();
	EXPECT_EQ(b.seen.size(), 1u);
}
