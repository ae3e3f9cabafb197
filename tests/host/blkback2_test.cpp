// SPDX-License-Identifier: GPL-2.0-only
//
// blkback2 through the simulator: xenbus_lite + the I/O path + a fake disk,
// driven by a frontend that speaks blkif like xen-blkfront (both guest ABIs)
// and, where the test says so, like a hostile one.
#include <cstring>
#include <memory>

#include "../../blkback2/io.h"
#include "blk_front.h"
#include "fake_disk.h"
#include "sim_test.h"

using namespace xenidc;
using blkif::Abi;

extern "C" struct bb2_limits bb2_limits;
struct bb2_limits bb2_limits;

class Blkback2Test : public SimTest {
protected:
	void SetUp() override
	{
		SimTest::SetUp();
		// What the module ships with (coalescing on): tests that need
		// one event per answer switch it off themselves.
		bb2_limits = BB2_DEFAULT_LIMITS;
		bb2_limits.max_queues = 4; // the module's: one per online CPU
		for (size_t i = 0; i < disk_.data.size(); i++)
			disk_.data[i] = (uint8_t)(i * 7 + i / 512);
	}
	void TearDown() override
	{
		front_.reset();
		EXPECT_FALSE(disk_.open) << "the backing device was closed";
		SimTest::TearDown();
	}
	// Three indirect writes of 16 pages each through one descriptor page;
	// checks the data and that a disconnect leaves nothing mapped.
	void IndirectWrites(bool persistent, bool ro_desc)
	{
		auto &f = Front();
		f.Attach(1, 0, persistent);
		const int n = 16;
		uint32_t desc = f.Frame();
		auto *d = reinterpret_cast<blkif::Segment *>(f.Data(desc));
		for (int i = 0; i < n; i++) {
			uint32_t fr = f.Frame();
			memset(f.Data(fr), 0x40 + i, XI_PAGE_SIZE);
			d[i] = {f.Grant(fr, false), 0, 7, 0};
		}
		xi_gref_t dg = f.Grant(desc, ro_desc);
		for (int k = 0; k < 3; k++)
			ASSERT_EQ(f.Do(f.Indirect(k, blkif::kOpWrite, 256 * k, n, {dg})),
				  blkif::kRspOkay);
		for (int k = 0; k < 3; k++)
			for (int i = 0; i < n; i++)
				ASSERT_EQ(disk_.At(256 * k + 8 * i)[5], (uint8_t)(0x40 + i));
		f.FrontendState(5);
		f.FrontendState(6);
		sim_.RunUntilQuiet();
		EXPECT_EQ(sim_.counters().mappings, 0);
	}
	BlkFront<Abi::kX86_64> &Front()
	{
		if (!front_)
			front_ = std::make_unique<BlkFront<Abi::kX86_64>>(sim_, xs_, kGuest, 51712);
		return *front_;
	}
	// A writable page granted for a read, and its gref.
	std::pair<uint32_t, xi_gref_t> Page(bool ro = false)
	{
		uint32_t f = Front().Frame();
		return {f, Front().Grant(f, ro)};
	}

	sim::Xenstore xs_;
	sim::FakeDisk disk_{kMajor, kMinor, kDiskSectors};
	std::unique_ptr<BlkFront<Abi::kX86_64>> front_;
};

TEST_F(Blkback2Test, ProbeAdvertisesLimitsAndConnectPublishesTheDisk)
{
	auto &f = Front();
	f.Probe();
	EXPECT_EQ(f.Back("feature-max-indirect-segments"), "256");
	EXPECT_EQ(f.Back("max-ring-page-order"), "4");
	EXPECT_EQ(f.Back("multi-queue-max-queues"), "4");
	EXPECT_EQ(f.dev().state, 2);
	f.Hotplug();
	EXPECT_TRUE(disk_.open);
	f.Connect();
	EXPECT_EQ(f.dev().state, 4);
	EXPECT_EQ(f.Back("sectors"), std::to_string(kDiskSectors));
	EXPECT_EQ(f.Back("info"), "0");
	EXPECT_EQ(f.Back("sector-size"), "512");
	EXPECT_EQ(f.Back("feature-flush-cache"), "1");
	EXPECT_EQ(f.Back("feature-barrier"), "1");
	EXPECT_EQ(f.Back("feature-discard"), "1");
	EXPECT_EQ(f.Back("discard-granularity"), "4096");
	EXPECT_EQ(f.Back("discard-secure"), "1");
	EXPECT_EQ(f.Back("feature-persistent"), "1");
}

TEST_F(Blkback2Test, ReadOnlyModeIsPublishedAndWritesFail)
{
	auto &f = Front();
	f.Probe();
	f.Hotplug("r");
	f.Connect();
	EXPECT_EQ(f.Back("info"), std::to_string(blkif::kInfoReadOnly));
	EXPECT_TRUE(disk_.opened_readonly);
	auto [fr, g] = Page(true);
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpWrite, 0, {{g, 0, 7}})), blkif::kRspError);
	EXPECT_EQ(f.Do(f.Discard(2, 0, 8)), blkif::kRspError);
	EXPECT_TRUE(disk_.bios.empty()) << "no bio for a rejected request";
	auto [fr2, g2] = Page();
	EXPECT_EQ(f.Do(f.Rw(3, blkif::kOpRead, 0, {{g2, 0, 7}})), blkif::kRspOkay);
}

TEST_F(Blkback2Test, WriteThenReadRoundTripsTheData)
{
	auto &f = Front();
	f.Attach();
	std::vector<Seg> segs;
	std::vector<uint32_t> frames;
	for (int i = 0; i < 3; i++) {
		uint32_t fr = f.Frame();
		frames.push_back(fr);
		memset(f.Data(fr), 0x10 + i, XI_PAGE_SIZE);
		segs.push_back({f.Grant(fr, true), 0, 7});
	}
	segs[1] = {segs[1].gref, 2, 5}; // a partial page in the middle
	ASSERT_EQ(f.Do(f.Rw(7, blkif::kOpWrite, 100, segs)), blkif::kRspOkay);
	EXPECT_EQ(disk_.At(100)[0], 0x10);
	EXPECT_EQ(disk_.At(108)[0], 0x11) << "segment 1 starts at its first_sect";
	EXPECT_EQ(disk_.At(112)[0], 0x12) << "4 sectors of segment 1, then segment 2";
	// Read the same 16 sectors back into fresh pages.
	std::vector<Seg> rsegs;
	std::vector<uint32_t> rframes;
	for (int i = 0; i < 2; i++) {
		uint32_t fr = f.Frame();
		rframes.push_back(fr);
		rsegs.push_back({f.Grant(fr, false), 0, 7});
	}
	ASSERT_EQ(f.Do(f.Rw(8, blkif::kOpRead, 100, rsegs)), blkif::kRspOkay);
	EXPECT_EQ(memcmp(f.Data(rframes[0]), disk_.At(100), 4096), 0);
	EXPECT_EQ(memcmp(f.Data(rframes[1]), disk_.At(108), 4096), 0);
	EXPECT_EQ(sim_.counters().mappings, 0) << "transient grants unmapped after the response";
}

TEST_F(Blkback2Test, ResponseEchoesIdAndOperation)
{
	auto &f = Front();
	f.Attach();
	auto [fr, g] = Page();
	f.Send(f.Rw(0xdeadbeefcafe, blkif::kOpRead, 0, {{g, 0, 0}}));
	sim_.RunUntilQuiet();
	auto r = f.Responses();
	ASSERT_EQ(r.size(), 1u);
	EXPECT_EQ(r[0].id, 0xdeadbeefcafeu);
	EXPECT_EQ(r[0].operation, blkif::kOpRead);
	EXPECT_EQ(r[0].status, blkif::kRspOkay);
}

// Which bio of a three-bio request fails.
class Blkback2BioError : public Blkback2Test, public ::testing::WithParamInterface<int> {};

TEST_P(Blkback2BioError, AnyFailedBioFailsTheRequest)
{
	auto &f = Front();
	f.Attach();
	disk_.max_vecs = 4; // 11 segments -> bios of 4, 4, 3
	std::vector<Seg> segs;
	for (int i = 0; i < 11; i++)
		segs.push_back({Page().second, 0, 7});
	int bad = GetParam();
	disk_.inject = [bad](const sim::Bio &, size_t i) { return (int)i == bad ? -5 : 0; };
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 0, segs)), blkif::kRspError);
	ASSERT_EQ(disk_.bios.size(), 3u);
	EXPECT_EQ(disk_.bios[1].sector, 32u);
	EXPECT_EQ(disk_.bios[2].nvecs, 3u);
	EXPECT_EQ(sim_.counters().mappings, 0);
	// And with no failure the same request succeeds.
	disk_.inject = nullptr;
	EXPECT_EQ(f.Do(f.Rw(2, blkif::kOpRead, 0, segs)), blkif::kRspOkay);
}

INSTANTIATE_TEST_SUITE_P(FirstMiddleLast, Blkback2BioError, ::testing::Values(0, 1, 2));

namespace {
xi_gref_t G(BlkFront<Abi::kX86_64> &f, bool ro = false)
{
	return f.Grant(f.Frame(), ro);
}
using F = BlkFront<Abi::kX86_64>;
} // namespace

TEST_F(Blkback2Test, ErrorsCompletingOutOfOrderStillFailTheRequest)
{
	auto &f = Front();
	f.Attach();
	disk_.max_vecs = 1;
	disk_.hold = true;
	std::vector<Seg> segs;
	for (int i = 0; i < 4; i++)
		segs.push_back({Page().second, 0, 7});
	disk_.inject = [](const sim::Bio &, size_t i) { return i == 0 ? -5 : 0; };
	f.Send(f.Rw(1, blkif::kOpWrite, 0, segs));
	sim_.RunUntilQuiet();
	ASSERT_EQ(disk_.held.size(), 4u);
	for (size_t i : {3, 1, 2, 0}) // the failing first bio completes last
		disk_.Complete(i);
	sim_.RunUntilQuiet();
	auto r = f.Responses();
	ASSERT_EQ(r.size(), 1u);
	EXPECT_EQ(r[0].status, blkif::kRspError);
}

// Several bios fail, with different errors, completing in either order:
// the first error to complete is the request's, and no success after it
// clears it. (A flush's EOPNOTSUPP is its own answer; EIO is an error.)
TEST_F(Blkback2Test, TheFirstErrorSticksWhateverTheOrder)
{
	struct Order {
		std::vector<size_t> completions;
		int16_t status;
	};
	for (const Order &o :
	     {Order{{0, 1, 2}, blkif::kRspError}, Order{{1, 0, 2}, blkif::kRspEopnotsupp},
	      Order{{2, 1, 0}, blkif::kRspEopnotsupp}}) {
		auto &f = Front();
		f.Attach();
		disk_.max_vecs = 1;
		disk_.hold = true;
		disk_.held.clear();
		disk_.bios.clear();
		disk_.inject = [](const sim::Bio &, size_t i) {
			return i == 0 ? -5 : i == 1 ? -95 : 0;
		};
		f.Send(f.Rw(1, blkif::kOpFlushDiskcache, 0,
			    {{Page().second, 0, 7}, {Page().second, 0, 7}, {Page().second, 0, 7}}));
		sim_.RunUntilQuiet();
		ASSERT_EQ(disk_.held.size(), 3u);
		for (size_t i : o.completions)
			disk_.Complete(i);
		sim_.RunUntilQuiet();
		auto r = f.Responses();
		ASSERT_EQ(r.size(), 1u);
		EXPECT_EQ(r[0].status, o.status)
			<< "bio " << o.completions[0] << " completed first";
		front_.reset();
		disk_.hold = false;
	}
}

// The guest hears a request is done only once its grants are unmapped.
TEST_F(Blkback2Test, GrantsAreUnmappedBeforeTheAnswer)
{
	auto &f = Front();
	f.Attach();
	int answers = 0;
	sim_.on_notify = [&](unsigned) {
		answers++;
		EXPECT_EQ(sim_.counters().mappings, 0) << "an answer while a grant is mapped";
	};
	disk_.max_vecs = 1;
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 7}, {G(f), 0, 7}})), blkif::kRspOkay);
	EXPECT_EQ(f.Do(f.Rw(2, blkif::kOpWrite, 0, {{G(f, true), 0, 7}})), blkif::kRspOkay);
	EXPECT_EQ(answers, 2);
	sim_.on_notify = nullptr;
}

// Each first-line check holds at its edge: the last valid value passes, the
// first invalid one is refused, for its own reason, before anything is
// mapped or submitted.
TEST_F(Blkback2Test, ChecksHoldAtTheirEdges)
{
	auto &f = Front();
	f.Attach();
	uint32_t desc = f.Frame();
	auto *d = reinterpret_cast<blkif::Segment *>(f.Data(desc));
	for (int i = 0; i < 257; i++)
		d[i] = {G(f), 0, 7, 0};
	xi_gref_t dg = f.Grant(desc, true);
	auto seg11 = std::vector<Seg>(11, Seg{G(f), 0, 7});
	auto refused = [&](F &fe, const blkif::ProtoX86_64::WireRequest &w, const char *why) {
		long maps = sim_.counters().map_ops;
		size_t bios = disk_.bios.size(), lines = sim_.log().size();
		EXPECT_EQ(fe.Do(w), blkif::kRspError) << why;
		bool said = false; // this request's refusal, for this reason
		for (size_t i = lines; i < sim_.log().size(); i++)
			said |= sim_.log()[i].find(std::string("refused: ") + why) !=
				std::string::npos;
		EXPECT_TRUE(said) << why;
		EXPECT_EQ(sim_.counters().map_ops, maps) << why;
		EXPECT_EQ(disk_.bios.size(), bios) << why;
	};
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 7}})), blkif::kRspOkay);
	refused(f, f.Rw(2, blkif::kOpRead, 0, {{G(f), 0, 8}}),
		"a segment's sectors are out of its page");
	refused(f, f.Rw(3, blkif::kOpRead, 0, {{G(f), 5, 4}}),
		"a segment's sectors are out of its page");
	EXPECT_EQ(f.Do(f.Rw(4, blkif::kOpRead, 0, seg11)), blkif::kRspOkay);
	auto w12 = f.Rw(5, blkif::kOpRead, 0, seg11);
	w12.b[1] = 12;
	refused(f, w12, "bad segment count");
	EXPECT_EQ(f.Do(f.Indirect(6, blkif::kOpRead, 0, 256, {dg})), blkif::kRspOkay);
	refused(f, f.Indirect(7, blkif::kOpRead, 0, 257, {dg}), "bad indirect segment count");
	EXPECT_EQ(f.Do(f.Rw(8, blkif::kOpRead, kDiskSectors - 8, {{G(f), 0, 7}})), blkif::kRspOkay);
	refused(f, f.Rw(9, blkif::kOpRead, kDiskSectors - 7, {{G(f), 0, 7}}),
		"beyond the end of the device");
	front_.reset();
	disk_.info.logical_block_size = 4096;
	auto &g = Front();
	g.Attach();
	EXPECT_EQ(g.Do(g.Rw(10, blkif::kOpRead, 0, {{G(g), 0, 7}})), blkif::kRspOkay);
	// two half pages: 8 sectors in all, aligned, but each segment is not
	refused(g, g.Rw(11, blkif::kOpRead, 0, {{G(g), 0, 3}, {G(g), 4, 7}}),
		"a segment's sectors are out of its page, or misaligned");
	EXPECT_EQ(g.Do(g.Discard(12, 8, 8)), blkif::kRspOkay);
	refused(g, g.Discard(13, 8, 4), "not aligned to the device's logical blocks");
}

// One invalid request and its expected status.
struct Invalid {
	const char *name;
	std::function<blkif::ProtoX86_64::WireRequest(BlkFront<Abi::kX86_64> &)> make;
	int16_t status;
};

class Blkback2Invalid : public Blkback2Test, public ::testing::WithParamInterface<Invalid> {};

TEST_P(Blkback2Invalid, GetsAnErrorAndNoBio)
{
	auto &f = Front();
	f.Attach();
	EXPECT_EQ(f.Do(GetParam().make(f)), GetParam().status) << GetParam().name;
	EXPECT_TRUE(disk_.bios.empty());
	EXPECT_EQ(sim_.counters().mappings, 0);
	// The device still works afterwards.
	auto g = f.Grant(f.Frame(), false);
	EXPECT_EQ(f.Do(f.Rw(9, blkif::kOpRead, 0, {{g, 0, 7}})), blkif::kRspOkay);
}

INSTANTIATE_TEST_SUITE_P(
	Rules, Blkback2Invalid,
	::testing::Values(
		Invalid{"unknown op",
			[](F &f) {
				auto w = f.Rw(1, 4, 0, {{G(f), 0, 7}});
				return w;
			},
			blkif::kRspEopnotsupp},
		Invalid{"op 200", [](F &f) { return f.Rw(1, 200, 0, {}); }, blkif::kRspEopnotsupp},
		Invalid{"read with no segment", [](F &f) { return f.Rw(1, blkif::kOpRead, 0, {}); },
			blkif::kRspError},
		Invalid{"12 segments",
			[](F &f) {
				auto w = f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 7}});
				w.b[1] = 12;
				return w;
			},
			blkif::kRspError},
		Invalid{"first_sect > last_sect",
			[](F &f) {
				return f.Rw(1, blkif::kOpRead, 0, {{G(f), 5, 4}});
			},
			blkif::kRspError},
		Invalid{"last_sect past the page",
			[](F &f) {
				return f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 8}});
			},
			blkif::kRspError},
		Invalid{"beyond the end",
			[](F &f) {
				return f.Rw(1, blkif::kOpRead, kDiskSectors - 4, {{G(f), 0, 7}});
			},
			blkif::kRspError},
		Invalid{"sector overflow",
			[](F &f) {
				return f.Rw(1, blkif::kOpRead, ~0ull - 2, {{G(f), 0, 7}});
			},
			blkif::kRspError},
		Invalid{"discard beyond the end",
			[](F &f) { return f.Discard(1, 8, kDiskSectors); }, blkif::kRspError},
		Invalid{"ungranted data page",
			[](F &f) {
				return f.Rw(1, blkif::kOpRead, 0, {{4040, 0, 7}});
			},
			blkif::kRspError},
		Invalid{"read into a read-only grant",
			[](F &f) {
				return f.Rw(1, blkif::kOpRead, 0, {{G(f, true), 0, 7}});
			},
			blkif::kRspError},
		Invalid{"indirect with a flush inside",
			[](F &f) { return f.Indirect(1, blkif::kOpFlushDiskcache, 0, 1, {G(f)}); },
			blkif::kRspError},
		Invalid{"indirect with 0 segments",
			[](F &f) { return f.Indirect(1, blkif::kOpRead, 0, 0, {G(f)}); },
			blkif::kRspError},
		Invalid{"indirect with too many segments",
			[](F &f) { return f.Indirect(1, blkif::kOpRead, 0, 257, {G(f)}); },
			blkif::kRspError},
		Invalid{"indirect descriptor page not granted",
			[](F &f) { return f.Indirect(1, blkif::kOpRead, 0, 2, {31337}); },
			blkif::kRspError},
		Invalid{"indirect descriptor with a bad segment",
			[](F &f) {
				uint32_t d = f.Frame();
				blkif::Segment s[2] = {{G(f), 0, 7, 0}, {G(f), 3, 1, 0}};
				memcpy(f.Data(d), s, sizeof(s));
				return f.Indirect(1, blkif::kOpRead, 0, 2, {f.Grant(d, true)});
			},
			blkif::kRspError}),
	[](const ::testing::TestParamInfo<Invalid> &i) {
		std::string n = i.param.name;
		for (char &c : n)
			if (!isalnum((unsigned char)c))
				c = '_';
		return n;
	});

TEST_F(Blkback2Test, MisalignedIoOn4kDiskFails)
{
	disk_.info.logical_block_size = 4096;
	auto &f = Front();
	f.Attach();
	EXPECT_EQ(f.Back("sector-size"), "4096");
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 1, {{G(f), 0, 7}})), blkif::kRspError);
	EXPECT_EQ(f.Do(f.Rw(2, blkif::kOpRead, 0, {{G(f), 0, 3}})), blkif::kRspError);
	EXPECT_EQ(f.Do(f.Rw(3, blkif::kOpRead, 8, {{G(f), 0, 7}})), blkif::kRspOkay);
}

TEST_F(Blkback2Test, EmptyFlushIsAPreflushBio)
{
	auto &f = Front();
	f.Attach();
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpFlushDiskcache, 0, {})), blkif::kRspOkay);
	ASSERT_EQ(disk_.bios.size(), 1u);
	EXPECT_EQ(disk_.bios[0].op, BB2_WRITE);
	EXPECT_EQ(disk_.bios[0].flags, BB2_PREFLUSH);
	EXPECT_EQ(disk_.bios[0].bytes, 0u);
}

TEST_F(Blkback2Test, FlushWithDataIsDurable)
{
	auto &f = Front();
	f.Attach();
	disk_.max_vecs = 2;
	std::vector<Seg> segs;
	for (int i = 0; i < 3; i++)
		segs.push_back({G(f, true), 0, 7});
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpFlushDiskcache, 16, segs)), blkif::kRspOkay);
	ASSERT_EQ(disk_.bios.size(), 2u);
	EXPECT_EQ(disk_.bios[0].flags, BB2_PREFLUSH | BB2_FUA) << "earlier writes first";
	EXPECT_EQ(disk_.bios[1].flags, BB2_FUA) << "this data durable on completion";
}

TEST_F(Blkback2Test, UnsupportedFlushIsWithdrawn)
{
	auto &f = Front();
	f.Attach();
	disk_.inject = [](const sim::Bio &b, size_t) { return b.flags & BB2_PREFLUSH ? -95 : 0; };
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpFlushDiskcache, 0, {})), blkif::kRspEopnotsupp);
	EXPECT_EQ(f.Back("feature-flush-cache"), "0");
	EXPECT_EQ(f.Do(f.Rw(2, blkif::kOpWriteBarrier, 0, {})), blkif::kRspEopnotsupp);
	EXPECT_EQ(f.Back("feature-barrier"), "0");
}

TEST_F(Blkback2Test, NoWriteCacheMeansNoFlushFeature)
{
	disk_.info.write_cache = false;
	auto &f = Front();
	f.Attach();
	EXPECT_EQ(f.Back("feature-flush-cache"), "0");
	EXPECT_EQ(f.Back("feature-barrier"), "0");
}

TEST_F(Blkback2Test, BarrierWaitsForEverythingInFlight)
{
	auto &f = Front();
	f.Attach();
	f.Send(f.Rw(1, blkif::kOpWrite, 0, {{G(f, true), 0, 7}}));
	f.Send(f.Rw(2, blkif::kOpWriteBarrier, 8, {{G(f, true), 0, 7}}));
	sim_.RunOne(); // the work: submits #1, holds the barrier
	EXPECT_EQ(disk_.bios.size(), 1u) << "the barrier waits for the write in flight";
	sim_.RunUntilQuiet();
	ASSERT_EQ(disk_.bios.size(), 2u);
	EXPECT_EQ(disk_.bios[1].flags & BB2_PREFLUSH, BB2_PREFLUSH);
	auto r = f.Responses();
	ASSERT_EQ(r.size(), 2u);
	EXPECT_EQ(r[1].status, blkif::kRspOkay);
}

TEST_F(Blkback2Test, DiscardAndSecureErase)
{
	auto &f = Front();
	f.Attach();
	EXPECT_EQ(f.Do(f.Discard(1, 64, 64)), blkif::kRspOkay);
	ASSERT_EQ(disk_.bios.size(), 1u);
	EXPECT_EQ(disk_.bios[0].op, BB2_DISCARD);
	EXPECT_EQ(disk_.bios[0].bytes, 64u * 512);
	EXPECT_EQ(disk_.At(64)[100], 0);
	EXPECT_EQ(f.Do(f.Discard(2, 0, 8, blkif::kDiscardSecure)), blkif::kRspOkay);
	EXPECT_EQ(disk_.bios[1].op, BB2_SECURE_ERASE);
	EXPECT_EQ(f.Do(f.Discard(3, 0, 0)), blkif::kRspOkay) << "an empty discard";
	disk_.inject = [](const sim::Bio &, size_t) { return -95; };
	EXPECT_EQ(f.Do(f.Discard(4, 0, 8)), blkif::kRspEopnotsupp);
}

TEST_F(Blkback2Test, SecureFlagIgnoredWhenUnsupported)
{
	disk_.info.secure_erase = false;
	auto &f = Front();
	f.Attach();
	EXPECT_EQ(f.Back("discard-secure"), "0");
	EXPECT_EQ(f.Do(f.Discard(1, 0, 8, blkif::kDiscardSecure)), blkif::kRspOkay);
	EXPECT_EQ(disk_.bios[0].op, BB2_DISCARD);
}

TEST_F(Blkback2Test, DiscardDisabledByTheToolstack)
{
	auto &f = Front();
	f.Probe();
	xs_.Write(f.dev().Back("discard-enable"), "0");
	f.Hotplug();
	f.Connect();
	EXPECT_EQ(f.Back("feature-discard"), "");
	EXPECT_EQ(f.Do(f.Discard(1, 0, 8)), blkif::kRspEopnotsupp);
	EXPECT_TRUE(disk_.bios.empty());
}

TEST_F(Blkback2Test, IndirectRequestRoundTrip)
{
	auto &f = Front();
	f.Attach();
	const int n = 64;
	uint32_t desc = f.Frame();
	std::vector<uint32_t> frames;
	auto *d = reinterpret_cast<blkif::Segment *>(f.Data(desc));
	for (int i = 0; i < n; i++) {
		frames.push_back(f.Frame());
		memset(f.Data(frames[i]), i, XI_PAGE_SIZE);
		d[i] = {f.Grant(frames[i], true), 0, 7, 0};
	}
	auto w = f.Indirect(5, blkif::kOpWrite, 1024, n, {f.Grant(desc, true)});
	f.Send(w);
	sim_.RunUntilQuiet();
	auto r = f.Responses();
	ASSERT_EQ(r.size(), 1u);
	EXPECT_EQ(r[0].status, blkif::kRspOkay);
	EXPECT_EQ(r[0].operation, blkif::kOpWrite)
		<< "an indirect request answers with its inner op";
	for (int i = 0; i < n; i++)
		ASSERT_EQ(disk_.At(1024 + 8 * i)[17], (uint8_t)i);
	EXPECT_EQ(disk_.bios.size(), 1u);
}

// Indirect descriptor pages are read through the persistent cache like data
// pages, as xen-blkfront grants them (writable, reused): mapped once, no
// grant copy per request. Otherwise (no persistent grants, or a descriptor
// page granted read-only) they are grant-copied. Nothing stays mapped.
TEST_F(Blkback2Test, IndirectDescriptorsComeThroughThePersistentCache)
{
	IndirectWrites(true, false);
	EXPECT_EQ(sim_.counters().copy_ops, 0);
	EXPECT_EQ(sim_.counters().map_ops, 17) << "every page, the descriptors' too, mapped once";
}

TEST_F(Blkback2Test, IndirectDescriptorsAreCopiedWithoutPersistentGrants)
{
	IndirectWrites(false, false);
	EXPECT_EQ(sim_.counters().copy_ops, 3);
}

TEST_F(Blkback2Test, ReadOnlyIndirectDescriptorsAreCopied)
{
	IndirectWrites(true, true);
	EXPECT_EQ(sim_.counters().copy_ops, 3);
}

TEST_F(Blkback2Test, X86_32GuestAbi)
{
	BlkFront<Abi::kX86_32> f(sim_, xs_, kGuest, 51728);
	f.Probe();
	f.Hotplug();
	f.Connect();
	uint32_t fr = f.Frame();
	memset(f.Data(fr), 0x5a, XI_PAGE_SIZE);
	EXPECT_EQ(f.Do(f.Rw(77, blkif::kOpWrite, 8, {{f.Grant(fr, true), 0, 7}})), blkif::kRspOkay);
	EXPECT_EQ(disk_.At(8)[0], 0x5a);
	uint32_t rf = f.Frame();
	f.Send(f.Rw(78, blkif::kOpRead, 8, {{f.Grant(rf, false), 0, 7}}));
	sim_.RunUntilQuiet();
	auto r = f.Responses();
	ASSERT_EQ(r.size(), 1u);
	EXPECT_EQ(r[0].id, 78u);
	EXPECT_EQ(f.Data(rf)[4095], 0x5a);
}

TEST_F(Blkback2Test, MissingProtocolMeansX86_32)
{
	BlkFront<Abi::kX86_32> f(sim_, xs_, kGuest, 51744);
	f.Probe();
	f.Hotplug();
	f.Connect(1, 0, false, "");
	EXPECT_EQ(f.dev().state, 4);
	EXPECT_EQ(f.Do(f.Rw(3, blkif::kOpRead, 0, {{f.Grant(f.Frame(), false), 0, 7}})),
		  blkif::kRspOkay);
}

// On Arm the native layout is x86_64's, named "arm-abi"; a frontend that
// writes no protocol has it. On x86, "arm-abi" is nobody's.
TEST_F(Blkback2Test, ProtocolKeyFollowsTheBackendsArchitecture)
{
	for (const char *proto : {"", "arm-abi", "x86_64-abi"}) {
		SCOPED_TRACE(*proto ? proto : "no key");
		BlkFront<Abi::kX86_64> f(sim_, xs_, kGuest, 51744);
		f.driver = &blkback2::VbdDriver(blkif::Arch::kArm);
		f.Probe();
		f.Hotplug();
		f.Connect(1, 0, false, proto);
		ASSERT_EQ(f.dev().state, 4);
		EXPECT_EQ(f.Do(f.Rw(3, blkif::kOpRead, 0, {{f.Grant(f.Frame(), false), 0, 7}})),
			  blkif::kRspOkay);
	}
	{
		SCOPED_TRACE("an Arm frontend on x86");
		BlkFront<Abi::kX86_64> f(sim_, xs_, kGuest, 51744);
		f.driver = &blkback2::VbdDriver(blkif::Arch::kX86);
		f.Probe();
		f.Hotplug();
		f.Connect(1, 0, false, "arm-abi");
		EXPECT_EQ(f.dev().state, 5);
		EXPECT_EQ(sim_.counters().rings, 0);
	}
	EXPECT_EQ(&blkback2::VbdDriver(blkif::kArch), bb2_xenbus_driver()) << "the module's own";
}

// What xen-blkback tolerates: a ring-page-order that is no number means one
// page, a feature-persistent that is neither 0 nor 1 means off. A page order
// past the maximum still fails the device.
TEST_F(Blkback2Test, ToleratedValuesConnectAsXenBlkbackWould)
{
	struct Case {
		const char *key, *value;
		bool connects;
	} cases[] = {
		{"ring-page-order", "one", true},    {"ring-page-order", "", true},
		{"ring-page-order", "5", false},     {"feature-persistent", "2", true},
		{"feature-persistent", "yes", true}, {"event-channel", "x", false},
	};
	unsigned devid = 51712;
	for (const Case &c : cases) {
		SCOPED_TRACE(std::string(c.key) + "=" + c.value);
		long unmaps = sim_.counters().unmap_ops;
		BlkFront<Abi::kX86_64> f(sim_, xs_, kGuest, devid += 16); // fresh keys
		f.front_keys = {{c.key, c.value}};
		f.Probe();
		f.Hotplug();
		f.Connect(1, 0, true);
		ASSERT_EQ(f.dev().state, c.connects ? 4 : 5)
			<< (f.dev().fatal.empty() ? "" : f.dev().fatal.back());
		if (!c.connects)
			continue;
		std::vector<Seg> segs = {{G(f), 0, 7}};
		EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 0, segs)), blkif::kRspOkay);
		EXPECT_EQ(f.Do(f.Rw(2, blkif::kOpRead, 0, segs)), blkif::kRspOkay);
		bool persistent = std::string(c.key) != "feature-persistent";
		EXPECT_EQ(sim_.counters().unmap_ops - unmaps, persistent ? 0 : 2)
			<< "persistent grants only when the frontend said 1";
	}
}

// xen-blkback's sysfs files beside statistics/: physical_device as
// "major:minor" in hex, and the mode the toolstack wrote.
TEST_F(Blkback2Test, PhysicalDeviceAndModeReadAsXenBlkbacks)
{
	auto &f = Front();
	f.Probe();
	f.Hotplug("r", "fd:10");
	char buf[64];
	ASSERT_GT(xbl_show(f.handle(), 0, buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, "fd:10\n");
	ASSERT_GT(xbl_show(f.handle(), 1, buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, "r\n");
	EXPECT_LT(xbl_show(f.handle(), 2, buf, sizeof(buf)), 0);
}

TEST_F(Blkback2Test, PersistentGrantsAreMappedOnce)
{
	auto &f = Front();
	f.Attach(1, 0, true);
	std::vector<Seg> segs;
	for (int i = 0; i < 4; i++)
		segs.push_back({G(f), 0, 7});
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(f.Do(f.Rw(i, i % 2 ? blkif::kOpWrite : blkif::kOpRead, 8 * i, segs)),
			  blkif::kRspOkay);
	EXPECT_EQ(sim_.counters().map_ops, 4);
	EXPECT_EQ(sim_.counters().unmap_ops, 0);
	f.FrontendState(5);
	f.FrontendState(6);
	sim_.RunUntilQuiet();
	EXPECT_EQ(sim_.counters().mappings, 0) << "disconnect unmaps the persistent grants";
}

// With persistent grants nothing is unmapped before the answer, so the last
// bio's completion answers at once; a transient grant is unmapped first, by
// the work.
TEST_F(Blkback2Test, CompletionAnswersWhenNothingIsToUnmap)
{
	for (bool persistent : {true, false}) {
		SCOPED_TRACE(persistent ? "persistent" : "transient");
		auto &f = Front();
		f.Attach(1, 0, persistent);
		disk_.max_vecs = 1; // two bios
		f.Send(f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 7}, {G(f), 0, 7}}));
		sim_.RunOne(); // the work submits the bios
		ASSERT_EQ(sim_.pending(), 2u);
		sim_.RunOne(); // first bio completes
		EXPECT_TRUE(f.Responses().empty());
		sim_.RunOne(); // last bio completes
		auto r = f.Responses();
		EXPECT_EQ(r.size(), persistent ? 1u : 0u);
		EXPECT_EQ(sim_.counters().mappings, 2);
		sim_.RunUntilQuiet(); // the work releases (and answers) the request
		if (!persistent)
			r = f.Responses();
		ASSERT_EQ(r.size(), 1u);
		EXPECT_EQ(r[0].status, blkif::kRspOkay);
		EXPECT_TRUE(f.Responses().empty()) << "answered once";
		EXPECT_EQ(sim_.counters().mappings, persistent ? 2 : 0);
		// A failed request waits for the work, like any error.
		disk_.inject = [](const sim::Bio &, size_t) { return -5; };
		f.Send(f.Rw(2, blkif::kOpRead, 0, {{G(f), 0, 7}}));
		sim_.RunOne();
		sim_.RunOne();
		EXPECT_TRUE(f.Responses().empty());
		sim_.RunUntilQuiet();
		r = f.Responses();
		ASSERT_EQ(r.size(), 1u);
		EXPECT_EQ(r[0].status, blkif::kRspError);
		disk_.inject = nullptr;
		front_.reset();
		EXPECT_EQ(sim_.counters().mappings, 0);
	}
}

// A device that completes bios as they are submitted (null_blk, a RAM
// disk): the pass's answers go out with one publish, so a frontend that
// consumes while the pass runs (the guest's other vCPU) takes one event for
// the batch, not one per request.
TEST_F(Blkback2Test, OnePassAnswersWithOneEvent)
{
	auto &f = Front();
	f.Attach(1, 0, true);
	disk_.complete_inline = true;
	size_t early = 0;
	disk_.inject = [&](const sim::Bio &, size_t) {
		early += f.Responses().size(); // the racing frontend
		return 0;
	};
	for (int i = 0; i < 8; i++)
		f.Send(f.Rw(i, blkif::kOpRead, 8 * i, {{G(f), 0, 7}}));
	long notifies = sim_.counters().notifies;
	sim_.RunUntilQuiet();
	EXPECT_EQ(early, 0u) << "nothing published before the pass ends";
	EXPECT_EQ(f.Responses().size(), 8u);
	EXPECT_EQ(sim_.counters().notifies - notifies, 1);
	disk_.inject = nullptr;
}

// Event coalescing at 1000 us on one ring of a device that keeps each bio
// until the test completes it (Done); Reads() sends reads with ids [from, to).
class CoalescingTest : public Blkback2Test {
protected:
	static constexpr int kDeep = 4; // requests out for coalescing to start

	BlkFront<Abi::kX86_64> &CoalescingFront()
	{
		bb2_limits.coalesce_us = 1000;
		auto &f = Front();
		f.Attach(1, 0, true);
		disk_.hold = true;
		return f;
	}
	void Reads(BlkFront<Abi::kX86_64> &f, int from, int to)
	{
		for (int i = from; i < to; i++)
			f.Send(f.Rw(i, blkif::kOpRead, 8 * i, {{G(f), 0, 7}}));
	}
	// The device completes the n oldest bios it still has.
	void Done(size_t n)
	{
		for (size_t i = 0; i < disk_.held.size() && n; i++) {
			if (disk_.held[i]) {
				disk_.Complete(i);
				n--;
			}
		}
	}
};

// With kDeep or more out and in flight, the ring is polled: the kicks are
// off, answers are held, and the next look comes once a quarter of what
// was in flight is answered, with one event for all it publishes. The
// burst ends at the look that finds nothing in flight.
TEST_F(CoalescingTest, HoldsAnswersUntilAQuarterIsDone)
{
	auto &f = CoalescingFront();
	const int n = 4 * kDeep;

	Reads(f, 0, n);
	sim_.RunNow();
	ASSERT_EQ(disk_.held.size(), (size_t)n);
	EXPECT_EQ(sim_.timers_soon(), 1u) << "coalesce_us bounds the wait";
	long notifies = sim_.counters().notifies;
	for (int i = 1; i < n / 4; i++) {
		Done(1);
		EXPECT_TRUE(sim_.runq().empty()) << i << " of " << n << " answered";
	}
	Done(1); // a quarter: a look now
	EXPECT_EQ(sim_.runq().size(), 1u);
	EXPECT_TRUE(f.Responses().empty()) << "answers wait for the look";
	sim_.RunNow();
	EXPECT_EQ(f.Responses().size(), (size_t)n / 4);
	EXPECT_EQ(sim_.counters().notifies - notifies, 1);

	Done(n); // the rest
	sim_.RunNow();
	EXPECT_EQ(f.Responses().size(), (size_t)n - n / 4);
	EXPECT_EQ(sim_.counters().notifies - notifies, 2);
	EXPECT_EQ(sim_.counters().timers_fired, 0);
	Reads(f, n, n + 1);
	EXPECT_FALSE(sim_.runq().empty()) << "nothing in flight: the kicks are back on";
	sim_.RunNow();
	Done(1);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Responses().size(), 1u);
	EXPECT_EQ(f.Stat(BB2_BURSTS), 1u);
	EXPECT_EQ(f.Stat(BB2_LOOKS), 2u);
}

// A polling ring asks for the frontend's event once it queued a quarter of
// the requests it has out anew: a frontend is held back at most until its
// next quarter, and takes one event per quarter.
TEST_F(CoalescingTest, LooksAgainOnceTheFrontendQueuedAQuarter)
{
	auto &f = CoalescingFront();
	const int n = 4 * kDeep;

	Reads(f, 0, n);
	sim_.RunNow();
	Reads(f, n, n + n / 4 - 1);
	EXPECT_TRUE(sim_.runq().empty()) << "kicked early";
	Reads(f, n + n / 4 - 1, n + n / 4);
	EXPECT_EQ(sim_.runq().size(), 1u) << "no kick";
	sim_.RunNow();
	EXPECT_EQ(disk_.held.size(), n + n / 4u) << "taken at that look";
	EXPECT_EQ(f.Stat(BB2_LOOKS), 2u);
	EXPECT_EQ(sim_.counters().timers_fired, 0);
	Done(n + n / 4);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Responses().size(), n + n / 4u);
}

// Answers wait only on a device with I/O in flight. One that completes as
// it is submitted leaves nothing to end the wait but the frontend's next
// requests, which a frontend waiting on these answers never sends: they go
// out at once, with one event, and no burst starts.
TEST_F(CoalescingTest, AnswersAtOnceWithNothingInFlight)
{
	auto &f = CoalescingFront();
	disk_.hold = false;
	disk_.complete_inline = true;

	for (int round = 0; round < 3; round++) {
		long notifies = sim_.counters().notifies;
		Reads(f, round * kDeep, (round + 1) * kDeep);
		sim_.RunNow();
		EXPECT_EQ(f.Responses().size(), (size_t)kDeep) << "round " << round;
		EXPECT_EQ(sim_.counters().notifies - notifies, 1);
		EXPECT_TRUE((sim_.timers_soon() == 0)) << "round " << round;
	}
	EXPECT_EQ(f.Stat(BB2_BURSTS), 0u);
	EXPECT_EQ(sim_.counters().timers_fired, 0);
}

// coalesce_us below kDeep requests out (here queue depth 1): the frontend
// waits on its requests, so each is answered as it completes and the next
// one kicks; no timer, no added latency.
TEST_F(CoalescingTest, LeavesAShallowRingAlone)
{
	auto &f = CoalescingFront();
	long notifies = sim_.counters().notifies;

	for (int i = 0; i < 3; i++) {
		Reads(f, i, i + 1);
		EXPECT_FALSE(sim_.runq().empty()) << "request " << i << " did not kick";
		sim_.RunNow();
		Done(1);
		sim_.RunNow();
		EXPECT_EQ(f.Responses().size(), 1u) << "request " << i << " held";
		EXPECT_TRUE((sim_.timers_soon() == 0));
	}
	EXPECT_EQ(sim_.counters().notifies - notifies, 3);

	Reads(f, 3, 3 + kDeep - 1); // one short of kDeep
	sim_.RunNow();
	EXPECT_TRUE((sim_.timers_soon() == 0));
	Done(kDeep - 1);
	sim_.RunNow();
	EXPECT_EQ(f.Responses().size(), kDeep - 1u);
	EXPECT_EQ(sim_.counters().timers_fired, 0);
}

// A burst whose frontend drops below kDeep out ends at the next look: what
// was held goes out then and the kicks are back on.
TEST_F(CoalescingTest, EndsWhenTheRingGoesShallow)
{
	auto &f = CoalescingFront();

	Reads(f, 0, kDeep);
	sim_.RunNow();
	Done(kDeep - 1);
	sim_.RunNow();
	ASSERT_EQ(f.Responses().size(), kDeep - 1u) << "read: one left out";
	Reads(f, kDeep, kDeep + 1); // two out: the look it asks for ends the burst
	sim_.RunNow();
	Done(1);
	EXPECT_EQ(f.Responses().size(), 1u) << "answered as it completes";
	Reads(f, kDeep + 1, kDeep + 2);
	EXPECT_FALSE(sim_.runq().empty()) << "the next request kicks";
	sim_.RunNow();
	Done(2);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Responses().size(), 2u);
	EXPECT_EQ(f.Stat(BB2_BURSTS), 1u);
	EXPECT_EQ(f.Stat(BB2_LOOKS), 2u) << "the first, and the one after the first answer";
}

// A device that stalls: coalesce_us after the last look, the next one
// publishes what completed meanwhile.
TEST_F(CoalescingTest, PublishesWithinThePeriod)
{
	auto &f = CoalescingFront();
	const int n = 4 * kDeep;

	Reads(f, 0, n);
	sim_.RunNow();
	Done(n / 4 - 1); // short of a quarter; the rest stall
	sim_.RunNow();
	EXPECT_TRUE(f.Responses().empty());
	sim_.RunOne(); // the period ends
	sim_.RunNow();
	EXPECT_EQ(f.Responses().size(), n / 4u - 1);
	EXPECT_EQ(sim_.counters().timers_fired, 1);
	Done(n);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Responses().size(), n - n / 4u + 1);
}

// Large requests (here 32 KiB each) are answered as they complete even
// with kDeep out: their frontend sends several per kick anyway.
TEST_F(CoalescingTest, LeavesLargeRequestsAlone)
{
	auto &f = CoalescingFront();
	for (int i = 0; i < kDeep; i++) {
		std::vector<Seg> segs;
		for (int j = 0; j < 8; j++)
			segs.push_back({G(f), 0, 7});
		f.Send(f.Rw(i, blkif::kOpRead, 64 * i, segs));
	}
	sim_.RunNow();
	EXPECT_TRUE((sim_.timers_soon() == 0));
	Done(1);
	sim_.RunNow();
	EXPECT_EQ(f.Responses().size(), 1u);
	Done(kDeep);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Stat(BB2_BURSTS), 0u);
}

// coalesce_us is read at each pass: switched off during a burst, the next
// look answers what was held and ends the burst (the kicks are back on,
// answers go out as they complete); switched on again, the next deep ring
// is polled as a new burst.
TEST_F(CoalescingTest, SwitchesOffAndOnWhileConnected)
{
	auto &f = CoalescingFront();

	Reads(f, 0, kDeep);
	sim_.RunNow();
	bb2_limits.coalesce_us = 0;
	Done(1);
	sim_.RunNow();
	EXPECT_EQ(f.Responses().size(), 1u);
	Done(1);
	EXPECT_EQ(f.Responses().size(), 1u) << "held with coalescing off";
	Reads(f, 100, 101);
	EXPECT_FALSE(sim_.runq().empty()) << "no kick";
	sim_.RunNow();
	Done(kDeep);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Responses().size(), kDeep - 1u);

	bb2_limits.coalesce_us = 1000;
	Reads(f, 200, 200 + kDeep);
	sim_.RunNow();
	Done(1);
	EXPECT_TRUE(f.Responses().empty()) << "not held with coalescing back on";
	Done(kDeep);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Responses().size(), (size_t)kDeep);
	EXPECT_EQ(f.Stat(BB2_BURSTS), 2u);
}

// Held answers and an armed timer do not outlive a disconnect.
TEST_F(CoalescingTest, DisconnectAnswersHeldRequests)
{
	auto &f = CoalescingFront();
	Reads(f, 0, 4 * kDeep);
	sim_.RunNow();
	Done(2);
	ASSERT_TRUE(f.Responses().empty());
	f.FrontendState(5);
	f.FrontendState(6);
	Done(4 * kDeep);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Responses().size(), 4u * kDeep);
	EXPECT_TRUE((sim_.timers_soon() == 0));
	EXPECT_EQ(sim_.counters().mappings, 0);
}

TEST_F(Blkback2Test, MultiQueueAndMultiPageRings)
{
	auto &f = Front();
	f.Attach(3, 2);
	EXPECT_EQ(f.ring(2).size(), 128u);
	for (unsigned q = 0; q < 3; q++)
		EXPECT_EQ(f.Do(f.Rw(q, blkif::kOpRead, 8 * q, {{G(f), 0, 7}}), q), blkif::kRspOkay);
}

// The frontend closes with requests in flight: the disconnect (xenwatch)
// returns at once, the backend stays Closing, and once the I/O ends every
// request is answered, everything is unmapped, and then it says Closed.
TEST_F(Blkback2Test, DisconnectReturnsAtOnceAndDrainsLater)
{
	auto &f = Front();
	f.Attach();
	for (int i = 0; i < 8; i++)
		f.Send(f.Rw(i, blkif::kOpRead, 8 * i, {{G(f), 0, 7}}));
	sim_.RunOne(); // submitted, not completed
	ASSERT_EQ(disk_.bios.size(), 8u);
	size_t before = sim_.pending();
	f.FrontendState(5);
	long waits = sim_.counters().waits;
	f.FrontendState(6);
	EXPECT_EQ(sim_.counters().waits, waits) << "nothing waited in xenwatch";
	EXPECT_GE(sim_.pending(), before) << "the I/O still in flight";
	EXPECT_EQ(f.dev().state, 5);
	EXPECT_EQ(sim_.counters().mappings, 8);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Responses().size(), 8u) << "every request in flight was answered";
	EXPECT_EQ(sim_.counters().mappings, 0);
	EXPECT_EQ(sim_.counters().rings, 0);
	EXPECT_EQ(f.dev().state, 6);
}

// The same with several queues: Closed once the last one drained.
TEST_F(Blkback2Test, EveryQueueDrainsBeforeClosed)
{
	auto &f = Front();
	f.Attach(3);
	for (unsigned q = 0; q < 3; q++)
		f.Send(f.Rw(q, blkif::kOpRead, 8 * q, {{G(f), 0, 7}}), q);
	sim_.RunNow();
	f.FrontendState(6);
	EXPECT_EQ(f.dev().state, 5);
	while (f.dev().state == 5 && sim_.RunOne())
		EXPECT_TRUE(sim_.counters().rings > 0 || f.dev().state == 6);
	EXPECT_EQ(f.dev().state, 6);
	EXPECT_EQ(sim_.counters().rings, 0);
	for (unsigned q = 0; q < 3; q++)
		EXPECT_EQ(f.Responses(q).size(), 1u) << q;
}

TEST_F(Blkback2Test, GuestDestroyedMidIo)
{
	auto &f = Front();
	f.Attach();
	for (int i = 0; i < 8; i++)
		f.Send(f.Rw(i, blkif::kOpWrite, 8 * i, {{G(f, true), 0, 7}}));
	sim_.RunOne();
	f.FrontendState(0); // the frontend directory vanished: xl destroy
	EXPECT_TRUE(f.dev().unregistered);
	EXPECT_EQ(sim_.counters().mappings, 0);
	EXPECT_FALSE(disk_.open);
}

TEST_F(Blkback2Test, HostileProducerFailsOnlyThatDevice)
{
	auto &f = Front();
	f.Attach();
	BlkFront<Abi::kX86_64> other(sim_, xs_, kGuest, 51760);
	sim::FakeDisk disk2(kMajor, 2, 64);
	other.Probe();
	other.Hotplug("w", "ca:2");
	other.Connect();
	f.ring().hdr()->req_prod = 1000;
	sim_.Kick(f.ring().port());
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.dev().state, 5) << "the device closes";
	EXPECT_FALSE(f.dev().fatal.empty());
	EXPECT_EQ(f.Responses().size(), 0u);
	EXPECT_EQ(other.dev().state, 4) << "the other vbd is untouched";
	EXPECT_EQ(other.Do(other.Rw(1, blkif::kOpRead, 0,
				    {{other.Grant(other.Frame(), false), 0, 7}})),
		  blkif::kRspOkay);
	f.FrontendState(6);
	sim_.RunUntilQuiet();
	EXPECT_EQ(sim_.counters().rings, 1) << "only the other vbd's ring is left";
	other.Remove();
}

// The rings look for a new size at each pass (as xen-blkback does), so an
// idle vbd needs no timer; the first request after a resize announces it.
TEST_F(Blkback2Test, OnlineResizeIsSeenAtTheNextRequestWithoutATimer)
{
	auto &f = Front();
	f.Attach();
	sim_.RunUntilIdle(); // the ring's first pass
	int commits = xs_.commits();
	long timers = sim_.counters().timers_fired;
	disk_.Resize(kDiskSectors * 2);
	sim_.RunUntilIdle();
	EXPECT_EQ(f.Back("sectors"), std::to_string(kDiskSectors)) << "idle: nobody looked";
	EXPECT_EQ(sim_.counters().timers_fired, timers) << "and no timer fired";
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 7}})), blkif::kRspOkay);
	EXPECT_EQ(f.Back("sectors"), std::to_string(kDiskSectors * 2));
	EXPECT_EQ(f.Back("state"), "4");
	EXPECT_EQ(xs_.commits(), commits + 1) << "sectors and state in one transaction";
	EXPECT_EQ(f.Do(f.Rw(2, blkif::kOpRead, kDiskSectors + 8, {{G(f), 0, 7}})), blkif::kRspOkay);
}

TEST_F(Blkback2Test, SmallPoolMakesRequestsWaitNotFail)
{
	bb2_limits.pool_frames = 256;
	bb2_limits.max_indirect_segments = 256;
	auto &f = Front();
	f.Attach();
	// 2 indirect requests of 200 segments each: the second waits for frames.
	for (int k = 0; k < 2; k++) {
		uint32_t desc = f.Frame();
		auto *d = reinterpret_cast<blkif::Segment *>(f.Data(desc));
		for (int i = 0; i < 200; i++)
			d[i] = {G(f), 0, 7, 0};
		f.Send(f.Indirect(k, blkif::kOpRead, 0, 200, {f.Grant(desc, true)}));
	}
	sim_.RunUntilQuiet();
	auto r = f.Responses();
	ASSERT_EQ(r.size(), 2u);
	EXPECT_EQ(r[0].status, blkif::kRspOkay);
	EXPECT_EQ(r[1].status, blkif::kRspOkay);
}

TEST_F(Blkback2Test, RequestLargerThanThePoolFails)
{
	bb2_limits.pool_frames = 16;
	bb2_limits.max_indirect_segments = 64;
	auto &f = Front();
	f.Attach();
	uint32_t desc = f.Frame();
	auto *d = reinterpret_cast<blkif::Segment *>(f.Data(desc));
	for (int i = 0; i < 64; i++)
		d[i] = {G(f), 0, 7, 0};
	EXPECT_EQ(f.Do(f.Indirect(1, blkif::kOpRead, 0, 64, {f.Grant(desc, true)})),
		  blkif::kRspOkay)
		<< "the pool is sized to hold at least one largest request";
}

TEST_F(Blkback2Test, ReconnectAfterFrontendRestart)
{
	auto &f = Front();
	f.Attach();
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 7}})), blkif::kRspOkay);
	f.FrontendState(5);
	f.FrontendState(6);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.dev().state, 6);
	f.FrontendState(1);
	EXPECT_EQ(f.dev().state, 2);
	f.Connect();
	EXPECT_EQ(f.dev().state, 4);
	EXPECT_EQ(f.Do(f.Rw(2, blkif::kOpRead, 0, {{G(f), 0, 7}}), 1), blkif::kRspOkay);
}

TEST_F(Blkback2Test, StatisticsCountRequestsAndSectors)
{
	auto &f = Front();
	f.Attach();
	ASSERT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 7}, {G(f), 0, 3}})), blkif::kRspOkay);
	ASSERT_EQ(f.Do(f.Rw(2, blkif::kOpWrite, 0, {{G(f, true), 0, 7}})), blkif::kRspOkay);
	ASSERT_EQ(f.Do(f.Rw(3, blkif::kOpFlushDiskcache, 0, {})), blkif::kRspOkay);
	ASSERT_EQ(f.Do(f.Discard(4, 0, 8)), blkif::kRspOkay);
	disk_.inject = [](const sim::Bio &, size_t) { return -5; };
	ASSERT_EQ(f.Do(f.Rw(5, blkif::kOpRead, 0, {{G(f), 0, 7}})), blkif::kRspError);
	EXPECT_EQ(f.Stat(BB2_RD_REQ), 2u);
	EXPECT_EQ(f.Stat(BB2_RD_SECT), 12u + 8u);
	EXPECT_EQ(f.Stat(BB2_WR_REQ), 1u);
	EXPECT_EQ(f.Stat(BB2_WR_SECT), 8u);
	EXPECT_EQ(f.Stat(BB2_F_REQ), 1u);
	EXPECT_EQ(f.Stat(BB2_DS_REQ), 1u);
	EXPECT_EQ(f.Stat(BB2_ERRORS), 1u);
	EXPECT_EQ(f.Stat(BB2_OO_REQ), 0u);
}

TEST_F(Blkback2Test, LifecycleTraceOnlyWhenSwitchedOn)
{
	auto &f = Front();
	f.Attach();
	ASSERT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 7}})), blkif::kRspOkay);
	EXPECT_FALSE(sim_.LogContains("request 1 ")) << "the trace is off by default";
	sim_.set_debug(true);
	ASSERT_EQ(f.Do(f.Rw(2, blkif::kOpRead, 8, {{G(f), 0, 7}})), blkif::kRspOkay);
	ASSERT_EQ(f.Do(f.Rw(3, 99, 0, {{G(f), 0, 7}})), blkif::kRspEopnotsupp);
	EXPECT_TRUE(sim_.LogContains("request 2 op 0 sector 8+8, 1 segments"));
	EXPECT_TRUE(sim_.LogContains("request 2 answered 0 (0)"));
	EXPECT_TRUE(sim_.LogContains("request 3 op 99 refused: unknown operation"));
}

// Requests the frontend should not have sent are answered, counted, logged
// with the reason, and make its ring wait: a millisecond each.
TEST_F(Blkback2Test, RefusedRequestsAreCountedAndMakeTheRingWait)
{
	bb2_limits.coalesce_us = 0; // answers as they come, to count them
	auto &f = Front();
	f.Attach();
	for (uint64_t i = 0; i < 8; i++)
		f.ring().Put(f.Rw(i, 99, 0, {{G(f), 0, 7}}));
	f.ring().Put(f.Rw(8, blkif::kOpRead, 1u << 30, {{G(f), 0, 7}}));
	f.ring().Push();
	uint64_t t0 = sim_.now_ns();
	sim_.RunNow(); // no time passes
	EXPECT_EQ(f.Responses().size(), 9u);
	EXPECT_EQ(f.Stat(BB2_REJECTED), 9u);
	EXPECT_TRUE(sim_.LogContains("refused: beyond the end of the device"));
	f.Send(f.Rw(9, blkif::kOpRead, 0, {{G(f), 0, 7}}));
	sim_.RunNow();
	EXPECT_TRUE(f.Responses().empty()) << "not looked at before the wait is over";
	EXPECT_EQ(sim_.counters().eois, 0) << "its events stay masked meanwhile";
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Responses().size(), 1u);
	EXPECT_GE(sim_.now_ns() - t0, 9 * 1000000u);
}

// The guest's budget, as the backend charged it.
static uint64_t Charged()
{
	xi_budget *b = xi_budget_get(SimTest::kGuest);
	uint64_t n = xi_budget_charged(b);
	xi_budget_put(b);
	return n;
}

// A frontend that negotiates the most it may (16 pages of ring, 16 queues,
// 512-segment indirect requests) costs what it uses, not what it could.
TEST_F(Blkback2Test, MemoryFollowsWhatTheFrontendUses)
{
	bb2_limits.max_queues = 16;
	bb2_limits.max_indirect_segments = 512;
	bb2_limits.pool_frames = 1056;
	auto &f = Front();
	f.Attach(16, 4);
	EXPECT_LT(Charged(), 64u << 10) << "connected and idle: next to nothing";
	uint32_t desc = f.Frame();
	auto *d = reinterpret_cast<blkif::Segment *>(f.Data(desc));
	for (int i = 0; i < 512; i++)
		d[i] = {G(f), 0, 7, 0};
	f.Send(f.Indirect(1, blkif::kOpRead, 0, 512, {f.Grant(desc, true)}), 5);
	sim_.RunNow(); // no time passes: no trim yet
	ASSERT_EQ(f.Responses(5).size(), 1u);
	uint64_t busy = Charged();
	EXPECT_GE(busy, 512u * XI_PAGE_SIZE) << "the frames the request needed";
	EXPECT_LT(busy, 4u << 20) << "and little more, on the one queue that had I/O";
	sim_.RunUntilIdle(); // the ring idles, time passes: it gives back
	EXPECT_LT(Charged(), 64u << 10) << "its slots stay, the rest went";
	EXPECT_EQ(sim_.counters().pages, 0);
}

// dom0's memory reclaim (xenbus's reclaim_memory) makes a ring give back
// what it holds idle at its next pass, not 10 s later.
TEST_F(Blkback2Test, MemoryPressureMakesARingGiveBackAtOnce)
{
	auto &f = Front();
	f.Attach();
	uint32_t desc = f.Frame();
	auto *d = reinterpret_cast<blkif::Segment *>(f.Data(desc));
	for (int i = 0; i < 256; i++)
		d[i] = {G(f), 0, 7, 0};
	f.Send(f.Indirect(1, blkif::kOpRead, 0, 256, {f.Grant(desc, true)}));
	sim_.RunNow();
	ASSERT_EQ(f.Responses().size(), 1u);
	uint64_t busy = Charged();
	ASSERT_GE(busy, 256u * XI_PAGE_SIZE);
	sim_.RunNow();
	EXPECT_EQ(Charged(), busy) << "without pressure, it waits for the trim";
	xbl_reclaim(f.handle());
	sim_.RunNow(); // no time passes
	EXPECT_LT(Charged(), 64u << 10) << "the frames and the indirect arrays went";
	EXPECT_EQ(f.Do(f.Rw(2, blkif::kOpRead, 0, {{G(f), 0, 7}})), blkif::kRspOkay);
}

// log_stats: a busy vbd logs its counters, at most every 10 s.
TEST_F(Blkback2Test, LogStatsReportsEveryTenSecondsWhileBusy)
{
	auto count = [&] {
		int n = 0;
		for (auto &l : sim_.log())
			n += l.find("| rd ") != std::string::npos;
		return n;
	};
	auto &f = Front();
	f.Attach();
	EXPECT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 7}})), blkif::kRspOkay);
	EXPECT_EQ(count(), 0) << "off by default";
	bb2_limits.log_stats = 1;
	EXPECT_EQ(f.Do(f.Rw(2, blkif::kOpRead, 0, {{G(f), 0, 7}})), blkif::kRspOkay);
	EXPECT_EQ(f.Do(f.Rw(3, blkif::kOpWrite, 0, {{G(f), 0, 7}})), blkif::kRspOkay);
	ASSERT_EQ(count(), 1);
	EXPECT_NE(sim_.log().back().find("rd 2 | wr 0"), std::string::npos) << sim_.log().back();
	sim_.Advance(10ull * 1000000000);
	EXPECT_EQ(f.Do(f.Rw(4, blkif::kOpWrite, 0, {{G(f), 0, 7}})), blkif::kRspOkay);
	EXPECT_EQ(count(), 2);
}

// Unbinding blkback2 from a connected vbd leaves the frontend connected
// (allow_rebind); binding it again reconnects to the same rings, and what
// the frontend queued meanwhile is answered.
TEST_F(Blkback2Test, UnbindAndBindAgainKeepTheFrontendsRing)
{
	auto &f = Front();
	f.Attach(2, 1);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(f.Do(f.Rw(i, blkif::kOpWrite, 8 * i, {{G(f), 0, 7}})), blkif::kRspOkay);
	EXPECT_TRUE(blkback2::VbdDriver(blkif::kArch).allow_rebind);
	f.Remove(); // unbind: the kernel leaves the state as it is
	EXPECT_EQ(sim_.counters().rings, 0);
	EXPECT_EQ(sim_.counters().mappings, 0);
	f.Send(f.Rw(10, blkif::kOpRead, 0, {{G(f), 0, 7}}), 1);
	sim_.RunUntilQuiet();
	EXPECT_EQ(f.Responses(1).size(), 0u) << "nobody bound";
	f.Probe(); // bind: the backend keys are there, the frontend is Connected
	f.FrontendState(4);
	EXPECT_EQ(f.dev().state, 4);
	sim_.RunUntilQuiet();
	auto r = f.Responses(1);
	ASSERT_EQ(r.size(), 1u) << "the request queued while unbound";
	EXPECT_EQ(r[0].id, 10u);
	for (unsigned q = 0; q < 2; q++)
		EXPECT_EQ(f.Do(f.Rw(20 + q, blkif::kOpRead, 8, {{G(f), 0, 7}}), q),
			  blkif::kRspOkay);
}

// Past the guest's budget a request waits for others to give back, and
// every request is answered.
TEST_F(Blkback2Test, TheGuestsBudgetMakesRequestsWait)
{
	bb2_limits.max_indirect_segments = 256;
	bb2_limits.max_guest_mib = 2; // room for about two 256-page requests
	auto &f = Front();
	f.Attach();
	for (int k = 0; k < 4; k++) {
		uint32_t desc = f.Frame();
		auto *d = reinterpret_cast<blkif::Segment *>(f.Data(desc));
		for (int i = 0; i < 256; i++)
			d[i] = {G(f), 0, 7, 0};
		f.ring().Put(f.Indirect(k, blkif::kOpRead, 0, 256, {f.Grant(desc, true)}));
	}
	f.ring().Push();
	sim_.RunUntilQuiet();
	auto r = f.Responses();
	ASSERT_EQ(r.size(), 4u);
	for (auto &x : r)
		EXPECT_EQ(x.status, blkif::kRspOkay);
	EXPECT_GT(f.Stat(BB2_OO_REQ), 0u) << "some waited";
	EXPECT_LE(Charged(), 2u << 20);
}

// Persistent grants unused for persistent_grant_unused_seconds are
// unmapped by an idle ring; 0 keeps them.
TEST_F(Blkback2Test, IdlePersistentGrantsAreUnmapped)
{
	for (uint32_t secs : {0u, 60u}) {
		SCOPED_TRACE(secs);
		bb2_limits.persistent_idle_s = secs;
		auto &f = Front();
		f.Attach(1, 0, true);
		uint64_t t0 = sim_.now_ns();
		ASSERT_EQ(f.Do(f.Rw(1, blkif::kOpRead, 0, {{G(f), 0, 7}, {G(f), 0, 7}})),
			  blkif::kRspOkay);
		EXPECT_EQ(sim_.counters().mappings, 2) << "soon after, the grants stay";
		sim_.RunUntilIdle(); // time passes
		EXPECT_EQ(sim_.counters().mappings, secs ? 0 : 2);
		EXPECT_GE(sim_.now_ns() - t0, secs * 1000000000ull);
		EXPECT_TRUE(sim_.timers().empty()) << "nothing left to wake for";
		front_.reset();
	}
}

// The tracepoints (blkback2/trace.h) follow one request through every
// stage, with what each stage knows; a malformed one is received, rejected
// with the reason and answered; a failing bio shows in completed.
TEST_F(Blkback2Test, TracepointsFollowARequestThroughItsLife)
{
	auto &f = Front();
	f.Attach();
	disk_.max_vecs = 1; // two segments: two bios
	auto stages = [](uint64_t id) {
		std::vector<std::pair<int, int>> v;
		for (const sim::Trace &t : sim::FakeDisk::traces)
			if (t.id == id)
				v.push_back({t.stage, t.val});
		return v;
	};
	using P = std::vector<std::pair<int, int>>;
	sim::FakeDisk::traces.clear();
	sim::FakeDisk::tracing = true;
	ASSERT_EQ(f.Do(f.Rw(7, blkif::kOpRead, 8, {{Page().second, 0, 7}, {Page().second, 0, 7}})),
		  blkif::kRspOkay);
	EXPECT_EQ(stages(7), (P{{BB2_RECEIVED, 2},
				{BB2_MAPPED, 2},
				{BB2_SUBMITTED, 2},
				{BB2_COMPLETED, 0},
				{BB2_ANSWERED, blkif::kRspOkay}}));

	ASSERT_EQ(f.Do(f.Rw(8, blkif::kOpRead, kDiskSectors, {{Page().second, 0, 7}})),
		  blkif::kRspError);
	EXPECT_EQ(stages(8), (P{{BB2_RECEIVED, 1},
				{sim::Trace::kRejected, blkif::kRspError},
				{BB2_ANSWERED, blkif::kRspError}}));
	EXPECT_FALSE(sim::FakeDisk::traces[sim::FakeDisk::traces.size() - 2].why.empty());

	disk_.inject = [](const sim::Bio &, size_t i) { return i == 1 ? -5 : 0; };
	disk_.bios.clear();
	ASSERT_EQ(f.Do(f.Rw(9, blkif::kOpWrite, 8, {{Page().second, 0, 7}, {Page().second, 0, 7}})),
		  blkif::kRspError);
	EXPECT_EQ(stages(9), (P{{BB2_RECEIVED, 2},
				{BB2_MAPPED, 2},
				{BB2_SUBMITTED, 2},
				{BB2_COMPLETED, -5},
				{BB2_ANSWERED, blkif::kRspError}}));
	sim::FakeDisk::tracing = false;
	sim::FakeDisk::traces.clear();
}
