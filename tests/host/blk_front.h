// SPDX-License-Identifier: GPL-2.0-only
//
// A blkfront over the simulator, for the blkback2 tests and benchmarks: it
// speaks blkif like xen-blkfront (either guest ABI) and, where a test says
// so, like a hostile frontend.
#ifndef XENIDC_TESTS_BLK_FRONT_H
#define XENIDC_TESTS_BLK_FRONT_H

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <xenidc/abi/blkif.h>
#include <xenidc/xenbus_lite_glue.h>

#include "../../blkback2/backing.h"
#include "front_ring.h"
#include "sim.h"
#include "xenstore.h"

extern "C" struct bb2_limits bb2_limits;

namespace xenidc {

constexpr uint32_t kMajor = 202, kMinor = 1;
constexpr uint64_t kDiskSectors = 8192; // 4 MiB

struct Seg {
	xi_gref_t gref;
	uint8_t first, last;
};

// A blkfront for ABI A, over the simulator.
template <blkif::Abi A> class BlkFront {
public:
	using P = blkif::Proto<A>;
	using L = blkif::Layout<A>;

	BlkFront(sim::Sim &s, sim::Xenstore &xs, xi_domid_t dom, unsigned devid)
	    : s_(s), xs_(xs), dom_(dom), dev_("vbd", dom, devid)
	{
		dev_.on_unregister = [this] { Remove(); };
	}
	~BlkFront()
	{
		if (device_)
			Remove();
	}

	void Probe() { ASSERT_EQ(xbl_probe(driver, dev_.xb(), &device_), 0); }
	void Hotplug(const char *mode = "w", const char *pdev = "ca:1")
	{
		xs_.Write(dev_.Back("physical-device"), pdev);
		xs_.Write(dev_.Back("mode"), mode);
		xbl_backend_changed(device_, dev_.Back("physical-device").c_str());
	}
	// Writes the frontend keys and goes Initialised, like talk_to_blkback().
	void Connect(unsigned queues = 1, unsigned order = 0, bool persistent = false,
		     const char *protocol = nullptr)
	{
		for (unsigned q = 0; q < queues; q++) {
			rings_.push_back(
				std::make_unique<sim::FrontRing<P>>(s_, dom_, 1u << order));
			std::string d = queues > 1 ? "queue-" + std::to_string(q) + "/" : "";
			auto refs = rings_.back()->refs();
			for (unsigned i = 0; i < refs.size(); i++)
				xs_.Write(dev_.Front(d + (order ? "ring-ref" + std::to_string(i)
								: "ring-ref")),
					  std::to_string(refs[i].value()));
			xs_.Write(dev_.Front(d + "event-channel"),
				  std::to_string(rings_.back()->port()));
		}
		if (order)
			xs_.Write(dev_.Front("ring-page-order"), std::to_string(order));
		if (queues > 1)
			xs_.Write(dev_.Front("multi-queue-num-queues"), std::to_string(queues));
		if (!protocol)
			protocol = A == blkif::Abi::kX86_64 ? "x86_64-abi" : "x86_32-abi";
		if (*protocol) // "": no key at all
			xs_.Write(dev_.Front("protocol"), protocol);
		xs_.Write(dev_.Front("feature-persistent"), persistent ? "1" : "0");
		for (auto &[k, v] : front_keys)
			xs_.Write(dev_.Front(k), v);
		xbl_frontend_changed(device_, 3);
	}
	void Attach(unsigned queues = 1, unsigned order = 0, bool persistent = false)
	{
		Probe();
		Hotplug();
		Connect(queues, order, persistent);
	}
	// The frontend's state key, then its watch.
	void FrontendState(int st)
	{
		xs_.Write(dev_.Front("state"), std::to_string(st));
		xbl_frontend_changed(device_, st);
	}
	// The xenbus_lite device, for the glue's entry points.
	void *handle() { return device_; }
	// The driver probed (the module's, or one with another architecture's
	// protocol rules), and keys Connect() writes last, overriding its own.
	const void *driver = bb2_xenbus_driver();
	std::vector<std::pair<std::string, std::string>> front_keys;

	// The device's removal, and the teardown it may have to wait for.
	void Remove()
	{
		void *d = device_;
		device_ = nullptr;
		if (!xbl_remove(d)) {
			s_.RunUntilIdle();
			EXPECT_TRUE(dev_.released);
		}
	}

	// A guest page, granted to dom0.
	uint32_t Frame() { return s_.domain(dom_).AllocFrames(1); }
	uint8_t *Data(uint32_t frame) { return s_.domain(dom_).Frame(frame); }
	xi_gref_t Grant(uint32_t frame, bool ro)
	{
		return s_.GrantAccess(dom_, frame, sim::kDom0, ro);
	}

	typename P::WireRequest Rw(uint64_t id, uint8_t op, uint64_t sector,
				   const std::vector<Seg> &segs)
	{
		typename P::WireRequest w{};
		w.b[0] = op;
		w.b[1] = (uint8_t)segs.size();
		blkif::Store<uint16_t>(w.b + L::kHandle, 0);
		blkif::Store<uint64_t>(w.b + L::kId, id);
		blkif::Store<uint64_t>(w.b + L::kSector, sector);
		for (size_t i = 0; i < segs.size() && i < blkif::kMaxSegments; i++) {
			blkif::Segment s{segs[i].gref, segs[i].first, segs[i].last, 0};
			memcpy(w.b + L::kSeg + 8 * i, &s, 8);
		}
		return w;
	}
	typename P::WireRequest Indirect(uint64_t id, uint8_t op, uint64_t sector, uint16_t nseg,
					 const std::vector<xi_gref_t> &pages)
	{
		typename P::WireRequest w{};
		w.b[0] = blkif::kOpIndirect;
		w.b[1] = op;
		blkif::Store<uint16_t>(w.b + 2, nseg);
		blkif::Store<uint64_t>(w.b + L::kId, id);
		blkif::Store<uint64_t>(w.b + L::kSector, sector);
		for (size_t i = 0; i < pages.size(); i++)
			blkif::Store<uint32_t>(w.b + L::kIndirectGrefs + 4 * i, pages[i]);
		return w;
	}
	typename P::WireRequest Discard(uint64_t id, uint64_t sector, uint64_t n, uint8_t flag = 0)
	{
		typename P::WireRequest w{};
		w.b[0] = blkif::kOpDiscard;
		w.b[1] = flag;
		blkif::Store<uint64_t>(w.b + L::kId, id);
		blkif::Store<uint64_t>(w.b + L::kSector, sector);
		blkif::Store<uint64_t>(w.b + L::kNrSectors, n);
		return w;
	}

	void Send(const typename P::WireRequest &w, unsigned q = 0)
	{
		rings_[q]->Put(w);
		rings_[q]->Push();
	}
	std::vector<blkif::Response> Responses(unsigned q = 0)
	{
		std::vector<blkif::Response> out;
		for (auto &w : rings_[q]->Take())
			out.push_back({blkif::Load<uint64_t>(w.b + L::kRspId),
				       w.b[L::kRspOperation],
				       blkif::Load<int16_t>(w.b + L::kRspStatus)});
		return out;
	}
	// Sends one request and returns its status after everything ran.
	int16_t Do(const typename P::WireRequest &w, unsigned q = 0)
	{
		Send(w, q);
		s_.RunUntilQuiet();
		auto r = Responses(q);
		EXPECT_EQ(r.size(), 1u);
		return r.empty() ? 99 : r[0].status;
	}

	sim::XbDev &dev() { return dev_; }
	sim::FrontRing<P> &ring(unsigned q = 0) { return *rings_[q]; }
	uint64_t Stat(unsigned i) { return xbl_stat(device_, i); }
	std::string Back(const char *k) { return xs_.Get(dev_.Back(k)); }

private:
	sim::Sim &s_;
	sim::Xenstore &xs_;
	xi_domid_t dom_;
	sim::XbDev dev_;
	void *device_ = nullptr;
	std::vector<std::unique_ptr<sim::FrontRing<P>>> rings_;
};

} // namespace xenidc

#endif // XENIDC_TESTS_BLK_FRONT_H
