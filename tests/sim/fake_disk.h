// SPDX-License-Identifier: GPL-2.0-only
//
// A simulated block device: the host implementation of blkback2/backing.h.
// Data lives in memory; bios complete later (as simulator events) or at
// once; any bio can be made to fail; every bio is logged.
#ifndef XENIDC_TESTS_FAKE_DISK_H
#define XENIDC_TESTS_FAKE_DISK_H

#include <functional>
#include <string>
#include <vector>

#include "../../blkback2/backing.h"
#include "sim.h"

namespace sim {

struct Bio {
	bb2_op op;
	unsigned flags;
	uint64_t sector;
	uint64_t bytes;
	unsigned nvecs;
};

// One tracepoint hit (blkback2/trace.h): a bb2_stage, or kRejected.
struct Trace {
	static constexpr int kRejected = -1;
	int stage;
	uint64_t id;
	unsigned op;
	int val;
	std::string why;
};

class FakeDisk {
public:
	FakeDisk(uint32_t major, uint32_t minor, uint64_t sectors);
	~FakeDisk();

	bb2_info info{512, 512, false, false, false, true, true, true, 4096, 0};
	uint64_t sectors;
	std::vector<uint8_t> data;
	unsigned max_vecs = 256;
	bool complete_inline = false;
	// hold: bios wait in held (by index) until the test completes each, in
	// whatever order it chooses.
	bool hold = false;
	std::vector<std::function<void()>> held;
	void Complete(size_t index);
	// Decides each bio's result (index counts bios from 0); 0 = success.
	std::function<int(const Bio &, size_t index)> inject;
	std::vector<Bio> bios;
	int opens = 0;
	bool open = false;
	bool opened_readonly = false;

	void Resize(uint64_t new_sectors);
	uint8_t *At(uint64_t sector) { return data.data() + sector * 512; }

	// Every tracepoint hit, in order, while tracing is on (a test turns
	// it on; the fuzzers leave it off, or traces would grow without end).
	static bool tracing;
	static std::vector<Trace> traces;

	// Used by the backing.h implementation.
	static FakeDisk *Find(uint32_t major, uint32_t minor);
	uint32_t major, minor;
};

} // namespace sim

#endif
