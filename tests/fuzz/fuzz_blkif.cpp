// SPDX-License-Identifier: GPL-2.0-only
//
// blkback2's whole request path, both guest ABIs, direct and indirect
// requests, under any input: a vbd is connected through xenbus_lite, then
// the input writes raw request images into the ring, picks bio failures and
// completion order, and may pull the frontend away mid-I/O. Every request
// must be answered exactly once, naming its operation, with a known status
// and zeroed padding, and once the frontend leaves nothing may stay mapped
// or leak.
#include <map>

#include <xenidc/abi/blkif.h>
#include <xenidc/xenbus_lite_glue.h>

#include "fake_disk.h"
#include "front_ring.h"
#include "world.h"

using namespace xenidc;

extern "C" struct bb2_limits bb2_limits;
struct bb2_limits bb2_limits;

namespace {

template <blkif::Abi A>
void Run(fuzz::Input &in, sim::Sim &s, sim::Xenstore &xs, sim::XbDev &dev, void *device,
	 sim::FakeDisk &disk)
{
	using P = blkif::Proto<A>;
	using L = blkif::Layout<A>;
	sim::FrontRing<P> f(s, fuzz::kGuest, 1);
	fuzz::Grants g;
	g.Add(s, 12, false);
	g.Add(s, 4, true);
	// One indirect descriptor page the input fills.
	uint32_t desc = s.domain(fuzz::kGuest).AllocFrames(1);
	g.refs.push_back(s.GrantAccess(fuzz::kGuest, desc, sim::kDom0, true));
	in.Bytes(s.domain(fuzz::kGuest).Frame(desc), 256);
	auto *d = reinterpret_cast<blkif::Segment *>(s.domain(fuzz::kGuest).Frame(desc));
	for (int i = 0; i < 32; i++)
		d[i].gref = g.Pick(d[i].gref);

	xs.Write(dev.Front("ring-ref"), std::to_string(f.refs()[0].value()));
	xs.Write(dev.Front("event-channel"), std::to_string(f.port()));
	xs.Write(dev.Front("protocol"), A == blkif::Abi::kX86_64 ? "x86_64-abi" : "x86_32-abi");
	xs.Write(dev.Front("feature-persistent"), in.U8() & 1 ? "1" : "0");
	xbl_frontend_changed(device, 3);

	// Each request gets its own id; the response it must get carries the
	// op the backend acts on (an indirect request's inner op).
	std::map<uint64_t, uint8_t> op_of;
	std::map<uint64_t, int> answers;
	while (!in.empty() && !f.Full()) {
		typename P::WireRequest w;
		in.Bytes(&w, sizeof(w));
		w.b[0] %= 8; // mostly known operations
		if (w.b[0] == blkif::kOpIndirect) {
			for (unsigned p = 0; p < blkif::kMaxIndirectPages; p++) {
				uint8_t *gp = w.b + L::kIndirectGrefs + 4 * p;
				blkif::Store<uint32_t>(gp, g.Pick(blkif::Load<uint32_t>(gp)));
			}
		} else if (w.b[0] != blkif::kOpDiscard) {
			for (unsigned i = 0; i < blkif::kMaxSegments; i++) {
				uint8_t *sp = w.b + L::kSeg + 8 * i;
				blkif::Store<uint32_t>(sp, g.Pick(blkif::Load<uint32_t>(sp)));
			}
		}
		uint64_t id = 0x1000 + op_of.size();
		blkif::Store<uint64_t>(w.b + L::kId, id);
		bool inner = w.b[0] == blkif::kOpIndirect &&
			     (w.b[1] == blkif::kOpRead || w.b[1] == blkif::kOpWrite);
		op_of[id] = inner ? w.b[1] : w.b[0];
		f.Put(w);
		uint8_t ctl = in.U8();
		if (ctl & 1)
			f.Push();
		if (ctl & 2)
			s.RunOne(); // interleave completions and work
		if ((ctl & 0x1c) == 0x1c)
			break; // the frontend goes away mid-I/O
	}
	f.Push();
	s.RunUntilIdle(1 << 20);
	for (auto &r : f.Take()) {
		uint64_t id = blkif::Load<uint64_t>(r.b + L::kRspId);
		if (!op_of.count(id) || answers[id]++)
			abort(); // an answer to a request never sent, or a second one
		if (r.b[L::kRspOperation] != op_of[id])
			abort(); // the answer names another operation
		int16_t st = blkif::Load<int16_t>(r.b + L::kRspStatus);
		if (st != blkif::kRspOkay && st != blkif::kRspError && st != blkif::kRspEopnotsupp)
			abort();
		for (size_t i = 0; i < sizeof(r.b); i++)
			if (r.b[i] && (i < L::kRspId || i >= L::kRspId + 8) &&
			    i != L::kRspOperation && i != L::kRspStatus && i != L::kRspStatus + 1)
				abort(); // padding carries something (XSA-216)
	}
	if (answers.size() != op_of.size())
		abort(); // a request taken and never answered
	xbl_frontend_changed(device, in.U8() & 1 ? 6 : 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz::Input in(data, size);
	sim::Sim s;
	s.AddDomain(fuzz::kGuest, 512);
	sim::Xenstore xs;
	sim::FakeDisk disk(202, 1, 4096);
	uint8_t cfg = in.U8();
	// bits: 1 persistent grants, 2 4K sectors, 4 read-only, 8 32-bit ABI,
	// 16 event coalescing; the high bits size the batch and the bios
	bb2_limits = {
		64, 0, 1, 96, cfg & 1 ? 32u : 0u, 1, 1u + (cfg >> 4), 0, cfg & 16 ? 100u : 0u};
	disk.info.logical_block_size = cfg & 2 ? 4096 : 512;
	disk.max_vecs = 1 + (cfg >> 5);
	uint32_t fail = in.U32();
	disk.inject = [fail](const sim::Bio &b, size_t i) {
		return (fail >> (i % 32)) & 1 ? (i & 1 ? -5 : -95) : 0;
	};
	sim::XbDev dev("vbd", fuzz::kGuest, 51712);
	void *device = nullptr;
	bool removed = false, pending = false;
	dev.on_unregister = [&] {
		pending = !xbl_remove(device);
		removed = true;
	};
	if (xbl_probe(bb2_xenbus_driver(), dev.xb(), &device))
		abort();
	xs.Write(dev.Back("physical-device"), "ca:1");
	xs.Write(dev.Back("mode"), cfg & 4 ? "r" : "w");
	xbl_backend_changed(device, dev.Back("physical-device").c_str());
	if (cfg & 8)
		Run<blkif::Abi::kX86_32>(in, s, xs, dev, device, disk);
	else
		Run<blkif::Abi::kX86_64>(in, s, xs, dev, device, disk);
	fuzz::RemoveAndDrain(s, dev, device, removed, pending);
	fuzz::CheckNothingLeft(s);
	return 0;
}
