// SPDX-License-Identifier: GPL-2.0-only
//
// What blkback2's request path costs the CPU, through the simulator: a
// frontend sends one request at a time (4 KiB direct, 1 MiB indirect) and
// the fake disk completes it at once, so the time per request is the
// backend's own: copy and validate, grant map (or a persistent-cache hit),
// bio submission, unmap, response. With and without persistent grants;
// with grant operations batched per request or issued one at a time.
//
// Grant maps here are mmap() of a shared file, not hypercalls: the numbers
// rank the variants, they do not predict a real dom0's.
#include <benchmark/benchmark.h>

#include "blk_front.h"
#include "fake_disk.h"

using namespace xenidc;

struct bb2_limits bb2_limits;

namespace {

constexpr xi_domid_t kDom = 7;

struct World {
	sim::Sim sim;
	sim::Xenstore xs;
	sim::FakeDisk disk{kMajor, kMinor, kDiskSectors};
	BlkFront<blkif::Abi::kX86_64> front{sim, xs, kDom, 51712};
	std::vector<xi_gref_t> grefs;
	xi_gref_t desc = 0;

	World(bool persistent, uint32_t map_batch)
	{
		sim.on_warning = [](const std::string &m) {
			fprintf(stderr, "simulator: %s\n", m.c_str());
			abort();
		};
		sim.AddDomain(kDom, 4096);
		bb2_limits = {256, 4, 4, 1024, 1056, 1, 32, map_batch};
		disk.complete_inline = true;
		front.Attach(1, 0, persistent);
		// The frontend's pages, granted once (blkfront reuses its grants).
		uint32_t d = front.Frame();
		auto *segs = reinterpret_cast<blkif::Segment *>(front.Data(d));
		for (unsigned i = 0; i < 256; i++) {
			grefs.push_back(front.Grant(front.Frame(), false));
			segs[i] = {grefs[i], 0, 7, 0};
		}
		desc = front.Grant(d, false); // writable, as blkfront grants it
	}
	~World() { front.Remove(); }

	void Run(const typename blkif::Proto<blkif::Abi::kX86_64>::WireRequest &w,
		 benchmark::State &state)
	{
		front.Send(w);
		sim.RunUntilIdle();
		auto r = front.Responses();
		if (r.size() != 1 || r[0].status != blkif::kRspOkay)
			state.SkipWithError("request failed");
	}
};

// args: bytes (4096 or 1 MiB), persistent (0/1), map_batch (0 = batched, 1 = one op per call)
void BM_Read(benchmark::State &state)
{
	World w(state.range(1), (uint32_t)state.range(2));
	bool big = state.range(0) > 4096;
	uint64_t id = 0;

	for (auto _ : state) {
		unsigned k = id % 256;
		if (big)
			w.Run(w.front.Indirect(id, blkif::kOpRead, 0, 256, {w.desc}), state);
		else
			w.Run(w.front.Rw(id, blkif::kOpRead, 8 * k, {{w.grefs[k], 0, 7}}), state);
		id++;
	}
	state.SetItemsProcessed(state.iterations());
	state.SetBytesProcessed(state.iterations() * state.range(0));
	state.counters["maps/req"] = benchmark::Counter((double)w.sim.counters().map_ops /
							(double)state.iterations());
	state.counters["map calls/req"] = benchmark::Counter((double)w.sim.counters().map_calls /
							     (double)state.iterations());
}

BENCHMARK(BM_Read)
	->ArgNames({"bytes", "persistent", "map_batch"})
	->ArgsProduct({{4096, 1 << 20}, {0, 1}, {0, 1}})
	->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
