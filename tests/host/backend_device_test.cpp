// SPDX-License-Identifier: GPL-2.0-only
//
// BackendDevice: requests counted from taken to answered, completions from
// any context answered by the work, and Stop() returning only when every
// request taken was answered.
#include <functional>
#include <utility>

#include <xenidc/abi/blkif.h>
#include <xenidc/backend_device.h>

#include "front_ring.h"
#include "sim_test.h"

using namespace xenidc;
using Proto = blkif::ProtoX86_64;

namespace {

struct Req : BackendRequest {
	uint64_t id;
	bool early = false; // answered by its completion
};

// A minimal backend: takes requests, "submits" each to a fake device that
// completes it later, answers on completion.
class Echo : public BackendDevice {
public:
	Status Open(sim::FrontRing<Proto> &f)
	{
		refs_ = f.refs();
		XI_TRY(ring_.Map(reinterpret_cast<xi_xendev *>(&dev_),
				 ktl::Span<const GrantRef>(refs_.data(), refs_.size())));
		return Start(reinterpret_cast<xi_xendev *>(&dev_), f.port(), "echo", &Echo::Pass);
	}
	void Close()
	{
		Stop();
		ring_.Unmap();
	}
	// Completion context: answer r now and let the work release it.
	void AnswerEarly(Req *r)
	{
		r->early = true;
		if (ring_.Respond({r->id, blkif::kOpRead, 0}))
			events().Notify();
		Answered(r);
	}
	// The driver's asynchronous stop: stopped is set once it ended.
	bool StopLater()
	{
		return BeginStop([](BackendDevice *) { stopped = true; });
	}
	static inline bool stopped = false;
	std::vector<Req *> submitted; // the "device" completes these
	int answered = 0;
	uint32_t limit = ~0u;		// most requests in flight: then stall
	std::function<void()> on_stall; // an interrupt during the stalling pass

private:
	static void Pass(BackendDevice *self)
	{
		auto *e = static_cast<Echo *>(self);
		auto *r = static_cast<Req *>(e->TakeCompleted());
		uint32_t n = 0;
		for (; r; r = static_cast<Req *>(r->next), n++) {
			if (!r->early && e->ring_.Respond({r->id, blkif::kOpRead, 0}))
				e->events().Notify();
			e->answered++;
		}
		e->Drop(n);
		if (e->stopping())
			return;
		unsigned taken;
		e->BeginPass();
		Outcome o = e->ring_.Consume(
			64,
			[e](const blkif::Request &q) {
				if (e->in_flight() >= e->limit) {
					if (e->on_stall)
						std::exchange(e->on_stall, nullptr)();
					return false;
				}
				e->Hold();
				e->submitted.push_back(new Req{{}, q.id});
				return true;
			},
			&taken);
		e->EndPass(o, taken);
	}

	MappedRing<Proto> ring_;
	sim::XenDev dev_{SimTest::kGuest};
	std::vector<GrantRef> refs_;
};

Proto::WireRequest Read(uint64_t id)
{
	Proto::WireRequest w{};
	w.b[0] = blkif::kOpRead;
	blkif::Store<uint64_t>(w.b + 8, id);
	return w;
}

} // namespace

class BackendDeviceTest : public SimTest {
protected:
	// The device completes everything submitted so far, later (as an IRQ);
	// with early, each completion answers its request itself.
	void CompleteAll(Echo &e, bool early = false)
	{
		for (Req *r : e.submitted)
			sim_.Defer([&e, r, early] { early ? e.AnswerEarly(r) : e.Completed(r); });
		keep_.insert(keep_.end(), e.submitted.begin(), e.submitted.end());
		e.submitted.clear();
	}
	void AnswerAll(Echo &e) { CompleteAll(e, true); }
	void Send(sim::FrontRing<Proto> &f, int from, int n)
	{
		for (int i = from; i < from + n; i++)
			f.Put(Read(i));
		f.Push();
	}
	void TearDown() override
	{
		for (Req *r : keep_)
			delete r;
		SimTest::TearDown();
	}
	std::vector<Req *> keep_;
};

TEST_F(BackendDeviceTest, CountsRequestsFromTakenToAnswered)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Echo e;
	ASSERT_TRUE(e.Open(f).ok());
	EXPECT_EQ(e.in_flight(), 0u);
	for (int i = 0; i < 5; i++)
		f.Put(Read(i));
	f.Push();
	sim_.RunUntilIdle();
	EXPECT_EQ(e.in_flight(), 5u);
	CompleteAll(e);
	sim_.RunUntilIdle();
	EXPECT_EQ(e.in_flight(), 0u);
	EXPECT_EQ(f.Take().size(), 5u);
	e.Close();
}

TEST_F(BackendDeviceTest, StopWaitsForEveryAnswer)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Echo e;
	ASSERT_TRUE(e.Open(f).ok());
	for (int i = 0; i < 7; i++)
		f.Put(Read(i));
	f.Push();
	sim_.RunUntilIdle();
	CompleteAll(e); // completions pending when Stop() starts
	e.Close();
	EXPECT_EQ(e.answered, 7);
	EXPECT_EQ(f.Take().size(), 7u) << "answered before the ring went away";
	EXPECT_FALSE(e.started());
}

// BeginStop() returns at once; the driver hears Stopped only once the last
// request in flight was answered (then the ring may go).
TEST_F(BackendDeviceTest, BeginStopEndsOnceTheLastRequestIsAnswered)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Echo e;
	ASSERT_TRUE(e.Open(f).ok());
	for (int i = 0; i < 3; i++)
		f.Put(Read(i));
	f.Push();
	sim_.RunUntilIdle();
	ASSERT_EQ(e.submitted.size(), 3u);
	Echo::stopped = false;
	ASSERT_TRUE(e.StopLater());
	sim_.RunUntilIdle();
	EXPECT_FALSE(Echo::stopped) << "three requests are still in flight";
	EXPECT_EQ(sim_.counters().evtchns, 1) << "and their answers need the event channel";
	CompleteAll(e);
	sim_.RunUntilIdle();
	EXPECT_TRUE(Echo::stopped);
	EXPECT_EQ(f.Take().size(), 3u);
	EXPECT_EQ(sim_.counters().evtchns, 0);
	e.Close();
}

TEST_F(BackendDeviceTest, StopTakesNoNewRequests)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Echo e;
	ASSERT_TRUE(e.Open(f).ok());
	f.Put(Read(1));
	f.Push();
	sim_.RunUntilIdle();
	CompleteAll(e);
	f.Put(Read(2)); // arrives while stopping
	f.Push();
	e.Close();
	EXPECT_EQ(e.answered, 1);
	EXPECT_TRUE(e.submitted.empty());
}

TEST_F(BackendDeviceTest, StopIsIdempotentAndSafeWhenNeverStarted)
{
	Echo never;
	never.Close();
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Echo e;
	ASSERT_TRUE(e.Open(f).ok());
	e.Close();
	e.Close();
}

TEST_F(BackendDeviceTest, FailedStartLeavesNothing)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Echo e;
	sim_.FailNth(sim::Fault::kEvtchnBind, 1);
	EXPECT_FALSE(e.Open(f).ok());
	EXPECT_FALSE(e.started());
	EXPECT_EQ(e.in_flight(), 0u);
	e.Close();
}

TEST_F(BackendDeviceTest, CompletionsAreAnsweredOldestFirst)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Echo e;
	ASSERT_TRUE(e.Open(f).ok());
	for (int i = 0; i < 4; i++)
		f.Put(Read(i));
	f.Push();
	sim_.RunUntilIdle();
	for (Req *r : e.submitted)
		e.Completed(r); // all before the work runs
	keep_.insert(keep_.end(), e.submitted.begin(), e.submitted.end());
	e.submitted.clear();
	sim_.RunUntilIdle();
	auto rsp = f.Take();
	ASSERT_EQ(rsp.size(), 4u);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(blkif::Load<uint64_t>(rsp[i].b), (uint64_t)i);
	e.Close();
}

TEST_F(BackendDeviceTest, AnsweredRequestsCostNoWakeupAndAreReleasedByTheNextPass)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Echo e;
	ASSERT_TRUE(e.Open(f).ok());
	Send(f, 0, 3);
	sim_.RunUntilIdle();
	AnswerAll(e);
	for (int i = 0; i < 3; i++)
		ASSERT_TRUE(sim_.RunOne());
	EXPECT_EQ(sim_.pending(), 0u) << "no work queued by an answered completion";
	EXPECT_EQ(f.Take().size(), 3u);
	EXPECT_EQ(e.in_flight(), 3u) << "not released yet";
	Send(f, 3, 1); // the guest's next request
	sim_.RunUntilIdle();
	EXPECT_EQ(e.answered, 3);
	EXPECT_EQ(e.in_flight(), 1u);
	EXPECT_TRUE(f.Take().empty()) << "each request answered once";
	AnswerAll(e);
	e.Close(); // stopping: the answered one is released without a new event
	EXPECT_EQ(e.answered, 4);
	EXPECT_FALSE(e.started());
}

TEST_F(BackendDeviceTest, StalledPassResumesWhenAnAnsweredRequestCompletes)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Echo e;
	e.limit = 2;
	ASSERT_TRUE(e.Open(f).ok());
	Send(f, 0, 5);
	sim_.RunUntilIdle();
	EXPECT_EQ(e.submitted.size(), 2u);
	EXPECT_EQ(sim_.pending(), 0u);
	AnswerAll(e);
	sim_.RunUntilIdle(); // the first completion wakes the waiting pass
	EXPECT_EQ(e.submitted.size(), 2u);
	AnswerAll(e);
	sim_.RunUntilIdle();
	EXPECT_EQ(e.submitted.size(), 1u);
	AnswerAll(e);
	sim_.RunUntilIdle();
	EXPECT_EQ(f.Take().size(), 5u);
	e.Close();
}

TEST_F(BackendDeviceTest, CompletionDuringTheStallingPassIsNotLost)
{
	sim::FrontRing<Proto> f(sim_, kGuest, 1);
	Echo e;
	e.limit = 1;
	ASSERT_TRUE(e.Open(f).ok());
	Send(f, 0, 2);
	Req *first = nullptr;
	e.on_stall = [&] { // after the pass took its completions, before it stalls
		first = e.submitted[0];
		keep_.push_back(first);
		e.submitted.clear();
		e.AnswerEarly(first);
	};
	sim_.RunUntilIdle();
	EXPECT_NE(first, nullptr);
	EXPECT_EQ(e.submitted.size(), 1u) << "the second request went in";
	AnswerAll(e);
	sim_.RunUntilIdle();
	EXPECT_EQ(f.Take().size(), 2u);
	e.Close();
}
