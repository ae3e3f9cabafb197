// SPDX-License-Identifier: GPL-2.0-only
//
// usbback through the simulator: xenbus_lite + the controller + a fake host
// USB device, driven by a frontend that speaks usbif like xen-hcd (and, where
// the test says so, like a hostile one).
#include <cstring>
#include <map>
#include <memory>

#include <xenidc/abi/usbif.h>
#include <xenidc/xenbus_lite_glue.h>

#include "fake_usb.h"
#include "front_ring.h"
#include "sim_test.h"
#include "xenstore.h"

using namespace xenidc;
using namespace xenidc::usbif;

namespace {

constexpr unsigned kPorts = 4;

uint32_t Pipe(unsigned port, PipeType t, bool in, unsigned dev, unsigned ep)
{
	return port | (in ? kPipeDirIn : 0) | dev << kPipeDevShift | ep << kPipeEpShift |
	       (uint32_t)t << kPipeTypeShift;
}

class HcdFront {
public:
	HcdFront(sim::Sim &s, sim::Xenstore &xs, xi_domid_t dom, unsigned usb_ver = 2,
		 unsigned ports = kPorts)
	    : s_(s), xs_(xs), dom_(dom), dev_("vusb", dom, 0)
	{
		dev_.on_unregister = [this] { Remove(); };
		xs_.Write(dev_.Back("num-ports"), std::to_string(ports));
		xs_.Write(dev_.Back("usb-ver"), std::to_string(usb_ver));
		xs_.Write(dev_.Back("type"), "pv");
		for (unsigned i = 1; i <= ports; i++)
			xs_.Write(dev_.Back("port/" + std::to_string(i)), "");
	}
	~HcdFront()
	{
		if (device_)
			Remove();
	}

	void Probe() { ASSERT_EQ(xbl_probe(ub_xenbus_driver(), dev_.xb(), &device_), 0); }
	void AssignPort(unsigned n, const std::string &busid)
	{
		xs_.Write(dev_.Back("port/" + std::to_string(n)), busid);
		xbl_backend_changed(device_, dev_.Back("port").c_str());
	}
	// xenhcd_connect(): rings, one event channel, 512 conn credits, Connected.
	void Connect(bool credits = true)
	{
		urb_ = std::make_unique<sim::FrontRing<UrbProto>>(s_, dom_, 1);
		conn_ = std::make_unique<sim::FrontRing<ConnProto>>(s_, dom_, 1, urb_->port());
		if (credits)
			GiveCredits(512);
		xs_.Write(dev_.Front("urb-ring-ref"), std::to_string(urb_->refs()[0].value()));
		xs_.Write(dev_.Front("conn-ring-ref"), std::to_string(conn_->refs()[0].value()));
		xs_.Write(dev_.Front("event-channel"), std::to_string(urb_->port()));
		xbl_frontend_changed(device_, 4);
		s_.RunUntilIdle();
	}
	void GiveCredits(unsigned n)
	{
		for (unsigned i = 0; i < n; i++)
			conn_->Put(ConnRequest{(uint16_t)(credit_++ % 512)});
		conn_->Push();
	}
	// The frontend's state key, then its watch.
	void FrontendState(int st)
	{
		xs_.Write(dev_.Front("state"), std::to_string(st));
		xbl_frontend_changed(device_, st);
	}
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

	// Port events the backend sent.
	std::vector<ConnResponse> Events() { return conn_->Take(); }

	// Guest buffers: page-granted, like xen-hcd (first segment at an offset).
	struct Buf {
		std::vector<uint32_t> frames;
		std::vector<Segment> segs;
	};
	Buf Alloc(uint32_t len, bool readonly, uint16_t first_offset = 0)
	{
		Buf b;
		uint32_t off = first_offset;
		while (len) {
			uint32_t f = s_.domain(dom_).AllocFrames(1);
			uint16_t n = (uint16_t)std::min<uint32_t>(len, XI_PAGE_SIZE - off);
			b.frames.push_back(f);
			b.segs.push_back(
				{s_.GrantAccess(dom_, f, sim::kDom0, readonly), (uint16_t)off, n});
			len -= n;
			off = 0;
		}
		return b;
	}
	uint8_t *At(const Buf &b, size_t seg)
	{
		return s_.domain(dom_).Frame(b.frames[seg]) + b.segs[seg].offset;
	}

	UrbRequest Req(uint16_t id, uint32_t pipe, const Buf *b = nullptr, uint32_t len = 0)
	{
		UrbRequest r{};
		r.id = id;
		r.pipe = pipe;
		r.buffer_length = (uint16_t)len;
		if (b) {
			r.nr_buffer_segs = (uint16_t)b->segs.size();
			for (size_t i = 0; i < b->segs.size(); i++)
				r.seg[i] = b->segs[i];
		}
		return r;
	}
	static void Setup(UrbRequest &r, uint8_t type, uint8_t req, uint16_t value, uint16_t index,
			  uint16_t length)
	{
		uint8_t s[8] = {type,
				req,
				(uint8_t)value,
				(uint8_t)(value >> 8),
				(uint8_t)index,
				(uint8_t)(index >> 8),
				(uint8_t)length,
				(uint8_t)(length >> 8)};
		memcpy(r.u.ctrl, s, 8);
	}

	void Send(const UrbRequest &r)
	{
		urb_->Put(r);
		urb_->Push();
	}
	std::vector<UrbResponse> Run()
	{
		s_.RunUntilIdle();
		return urb_->Take();
	}
	// One request, one answer.
	UrbResponse Do(const UrbRequest &r)
	{
		Send(r);
		auto v = Run();
		EXPECT_EQ(v.size(), 1u);
		return v.empty() ? UrbResponse{0xffff, 0, 999, 0, 0} : v[0];
	}

	sim::XbDev &dev() { return dev_; }
	sim::FrontRing<UrbProto> &urb() { return *urb_; }
	sim::FrontRing<ConnProto> &conn() { return *conn_; }
	uint64_t Stat(unsigned i) { return xbl_stat(device_, i); }

private:
	sim::Sim &s_;
	sim::Xenstore &xs_;
	xi_domid_t dom_;
	sim::XbDev dev_;
	void *device_ = nullptr;
	std::unique_ptr<sim::FrontRing<UrbProto>> urb_;
	std::unique_ptr<sim::FrontRing<ConnProto>> conn_;
	unsigned credit_ = 0;
};

} // namespace

class UsbbackTest : public SimTest {
protected:
	void TearDown() override
	{
		front_.reset();
		stick_.reset();
		SimTest::TearDown();
	}
	HcdFront &Front(unsigned usb_ver = 2)
	{
		if (!front_)
			front_ = std::make_unique<HcdFront>(sim_, xs_, kGuest, usb_ver);
		return *front_;
	}
	sim::FakeUsbDevice &Stick(unsigned speed = kSpeedHigh)
	{
		if (!stick_)
			stick_ = std::make_unique<sim::FakeUsbDevice>("3-1.5", speed);
		return *stick_;
	}
	// Probe, a device on port 2, the frontend connected, the guest having
	// addressed the device as 5.
	HcdFront &Ready()
	{
		auto &f = Front();
		f.Probe();
		f.AssignPort(2, "3-1.5");
		EXPECT_EQ(Stick(kSpeedHigh).Plug(), 0);
		f.Connect();
		f.Events();
		UrbRequest sa = f.Req(1, Pipe(2, kCtrl, false, 0, 0));
		HcdFront::Setup(sa, 0x00, 5, 5, 0, 0);
		EXPECT_EQ(f.Do(sa).status, kStatusOk);
		return f;
	}

	sim::Xenstore xs_;
	std::unique_ptr<HcdFront> front_;
	std::unique_ptr<sim::FakeUsbDevice> stick_;
};

TEST_F(UsbbackTest, ProbeWaitsForTheFrontend)
{
	auto &f = Front();
	f.Probe();
	EXPECT_EQ(f.dev().state, 2);
	EXPECT_TRUE(f.dev().fatal.empty());
}

TEST_F(UsbbackTest, OnlyAssignedDevicesAttach)
{
	auto &f = Front();
	f.Probe();
	sim::FakeUsbDevice other("1-2", kSpeedFull);
	EXPECT_EQ(other.Plug(), -19) << "not in any port/N";
	f.AssignPort(3, "1-2");
	EXPECT_EQ(other.Plug(), 0) << "the toolstack assigned it (before the guest connected)";
	EXPECT_EQ(other.refs, 1);
	other.Unplug();
	EXPECT_EQ(other.refs, 0);
}

TEST_F(UsbbackTest, PortReadFreshWhenTheToolstackBinds)
{
	auto &f = Front();
	f.Probe();
	// libxl writes port/N and binds right away: the watch may not have run.
	xs_.Write(f.dev().Back("port/1"), "3-1.5");
	unsigned long reads = ub_probes_read;
	EXPECT_EQ(Stick().Plug(false), -19) << "a hub's probe looks in memory only";
	EXPECT_EQ(ub_probes_read, reads);
	EXPECT_EQ(Stick().Plug(), 0);
	EXPECT_EQ(ub_probes_read, reads + 1) << "counted for debugfs";
	Stick().Unplug();
}

// The device is reset as it is attached, before the guest can hear of it
// (qusb resets too): the guest starts from a known state. A device that
// does not survive its reset is not attached.
TEST_F(UsbbackTest, AttachResetsTheDeviceBeforeTheGuestHearsOfIt)
{
	auto &f = Front();
	f.Probe();
	f.Connect();
	f.AssignPort(2, "3-1.5");
	size_t heard = 99;
	Stick().on_reset = [&] {
		sim_.RunUntilIdle();
		heard = f.Events().size();
	};
	ASSERT_EQ(Stick().Plug(), 0);
	EXPECT_EQ(Stick().resets, 1);
	EXPECT_EQ(heard, 0u) << "the guest heard of the device before its reset";
	sim_.RunUntilIdle();
	EXPECT_EQ(f.Events().size(), 1u);
	Stick().Unplug(false);
	sim_.RunUntilIdle();
	f.Events();
	Stick().reset_error = -19;
	EXPECT_EQ(Stick().Plug(), -19);
	sim_.RunUntilIdle();
	EXPECT_TRUE(f.Events().empty());
	EXPECT_EQ(Stick().refs, 0);
}

TEST_F(UsbbackTest, SpeedsThatCannotBePassedOnAreRefused)
{
	auto &f = Front(1);
	f.Probe();
	f.AssignPort(1, "3-1.5");
	EXPECT_EQ(Stick(kSpeedHigh).Plug(), -19) << "high speed on a USB 1.1 controller";
	sim::FakeUsbDevice super("2-1", 0);
	f.AssignPort(2, "2-1");
	EXPECT_EQ(super.Plug(), -19) << "SuperSpeed has no usbif speed";
}

TEST_F(UsbbackTest, ConnectAnnouncesDevicesAlreadyThere)
{
	auto &f = Front();
	f.Probe();
	f.AssignPort(2, "3-1.5");
	ASSERT_EQ(Stick().Plug(), 0);
	f.Connect();
	EXPECT_EQ(f.dev().state, 4);
	auto ev = f.Events();
	ASSERT_EQ(ev.size(), 1u);
	EXPECT_EQ(ev[0].portnum, 2);
	EXPECT_EQ(ev[0].speed, kSpeedHigh);
}

TEST_F(UsbbackTest, HotplugBothWays)
{
	auto &f = Front();
	f.Probe();
	f.Connect();
	EXPECT_TRUE(f.Events().empty());
	f.AssignPort(4, "3-1.5");
	ASSERT_EQ(Stick(kSpeedFull).Plug(), 0);
	sim_.RunUntilIdle();
	auto ev = f.Events();
	ASSERT_EQ(ev.size(), 1u);
	EXPECT_EQ(ev[0].portnum, 4);
	EXPECT_EQ(ev[0].speed, kSpeedFull);
	Stick().Unplug(false); // libxl unbinds: the assignment stays
	sim_.RunUntilIdle();
	ev = f.Events();
	ASSERT_EQ(ev.size(), 1u);
	EXPECT_EQ(ev[0].speed, kSpeedNone);
	EXPECT_EQ(xs_.Get(f.dev().Back("port/4")), "3-1.5");
}

TEST_F(UsbbackTest, EventsWaitForConnCredits)
{
	auto &f = Front();
	f.Probe();
	f.AssignPort(1, "3-1.5");
	ASSERT_EQ(Stick().Plug(), 0);
	f.Connect(false); // no credits posted
	EXPECT_TRUE(f.Events().empty());
	f.GiveCredits(1);
	sim_.RunUntilIdle();
	EXPECT_EQ(f.Events().size(), 1u);
}

TEST_F(UsbbackTest, EnumerationThroughTheBackend)
{
	auto &f = Front();
	f.Probe();
	f.AssignPort(2, "3-1.5");
	ASSERT_EQ(Stick().Plug(), 0);
	f.Connect();
	// GET_DESCRIPTOR(DEVICE) to address 0 on port 2
	auto b = f.Alloc(64, false);
	UrbRequest gd = f.Req(3, Pipe(2, kCtrl, true, 0, 0), &b, 64);
	HcdFront::Setup(gd, 0x80, 6, 0x0100, 0, 64);
	auto r = f.Do(gd);
	EXPECT_EQ(r.status, kStatusOk);
	EXPECT_EQ(r.actual_length, 18);
	EXPECT_EQ(f.At(b, 0)[0], 18);
	EXPECT_EQ(f.At(b, 0)[1], 1) << "the descriptor reached the guest's buffer";
	// SET_ADDRESS(7): answered by the backend, never sent to the device.
	size_t urbs = Stick().urbs.size();
	UrbRequest sa = f.Req(4, Pipe(2, kCtrl, false, 0, 0));
	HcdFront::Setup(sa, 0x00, 5, 7, 0, 0);
	EXPECT_EQ(f.Do(sa).status, kStatusOk);
	EXPECT_EQ(Stick().urbs.size(), urbs);
	// Now the guest uses address 7; another address finds nothing.
	EXPECT_EQ(f.Do(gd).status, kStatusOk) << "address 0 still routes by port";
	UrbRequest at7 = gd, at8 = gd;
	at7.pipe = Pipe(2, kCtrl, true, 7, 0);
	at8.pipe = Pipe(2, kCtrl, true, 8, 0);
	EXPECT_EQ(f.Do(at7).status, kStatusOk);
	EXPECT_EQ(f.Do(at8).status, kStatusNoDev);
	// After SET_ADDRESS only GET_DESCRIPTOR goes to address 0.
	UrbRequest cfg0 = f.Req(5, Pipe(2, kCtrl, false, 0, 0));
	HcdFront::Setup(cfg0, 0x00, 9, 1, 0, 0);
	EXPECT_EQ(f.Do(cfg0).status, kStatusInval);
}

TEST_F(UsbbackTest, ConfigurationInterfaceAndHaltGoThroughTheHostCore)
{
	auto &f = Ready();
	UrbRequest r = f.Req(10, Pipe(2, kCtrl, false, 5, 0));
	HcdFront::Setup(r, 0x00, 9, 1, 0, 0); // SET_CONFIGURATION(1): the current one
	EXPECT_EQ(f.Do(r).status, kStatusOk);
	EXPECT_EQ(Stick().reset_config, 1);
	HcdFront::Setup(r, 0x00, 9, 2, 0, 0); // another configuration: refused
	EXPECT_EQ(f.Do(r).status, kStatusInval);
	HcdFront::Setup(r, 0x01, 11, 1, 0, 0); // SET_INTERFACE(0, alt 1)
	EXPECT_EQ(f.Do(r).status, kStatusOk);
	EXPECT_EQ(Stick().set_interface, 1);
	EXPECT_EQ(Stick().last_alt, 1u);
	HcdFront::Setup(r, 0x02, 1, 0, 0x81, 0); // CLEAR_FEATURE(ENDPOINT_HALT, ep 1 IN)
	EXPECT_EQ(f.Do(r).status, kStatusOk);
	EXPECT_EQ(Stick().clear_halt, 1);
	EXPECT_EQ(Stick().last_ep, 0x81u);
	EXPECT_EQ(Stick().urbs.size(), 0u) << "none of them went to the device raw";
}

TEST_F(UsbbackTest, BulkOutAndInCarryTheBytes)
{
	auto &f = Ready();
	auto out = f.Alloc(10000, true, 100);
	for (size_t s = 0; s < out.segs.size(); s++)
		for (int i = 0; i < out.segs[s].length; i++)
			f.At(out, s)[i] = (uint8_t)(s * 37 + i);
	auto r = f.Do(f.Req(20, Pipe(2, kBulk, false, 5, 2), &out, 10000));
	EXPECT_EQ(r.status, kStatusOk);
	EXPECT_EQ(r.actual_length, 10000);
	auto &got = Stick().urbs.back()->data;
	ASSERT_EQ(got.size(), 10000u);
	size_t pos = 0;
	for (size_t s = 0; s < out.segs.size(); s++)
		for (int i = 0; i < out.segs[s].length; i++)
			ASSERT_EQ(got[pos++], (uint8_t)(s * 37 + i));
	EXPECT_FALSE(Stick().urbs.back()->x.short_not_ok) << "never on OUT";

	Stick().in_data.assign(3000, 0);
	for (int i = 0; i < 3000; i++)
		Stick().in_data[i] = (uint8_t)(i ^ 0x5a);
	auto in = f.Alloc(8192, false, 512);
	UrbRequest rq = f.Req(21, Pipe(2, kBulk, true, 5, 1), &in, 8192);
	rq.transfer_flags = kShortNotOk;
	r = f.Do(rq);
	EXPECT_EQ(r.status, kStatusIoError) << "a short read the guest called an error";
	EXPECT_EQ(r.actual_length, 3000) << "and the bytes it did bring";
	EXPECT_TRUE(Stick().urbs.back()->x.short_not_ok);
	for (int i = 0; i < 3000; i++) {
		size_t s = i < 3584 ? 0 : 1;
		ASSERT_EQ(f.At(in, s)[i - (s ? 3584 : 0)], (uint8_t)(i ^ 0x5a)) << i;
	}
	EXPECT_EQ(sim_.counters().mappings, 0);
}

TEST_F(UsbbackTest, SixtyFourKiBArrivesWithLengthZero)
{
	auto &f = Ready();
	auto out = f.Alloc(65536, true);
	ASSERT_EQ(out.segs.size(), 16u);
	auto r = f.Do(f.Req(31, Pipe(2, kBulk, false, 5, 2), &out, 0)); // u16 wrapped
	EXPECT_EQ(r.status, kStatusOk);
	EXPECT_EQ(r.actual_length, 65536);
}

// An iso IN request of n packets of 192 bytes into a fresh buffer filled
// with 0xee; its descriptors in pages of their own, crossing a page as they
// may. Returns the answer; *res gets the packet results the guest reads.
static UrbResponse IsoIn(HcdFront &f, int n, HcdFront::Buf *buf, std::vector<IsoDesc> *res)
{
	*buf = f.Alloc(n * 192, false);
	for (size_t s = 0; s < buf->segs.size(); s++)
		memset(f.At(*buf, s), 0xee, buf->segs[s].length);
	auto desc = f.Alloc(n * sizeof(IsoDesc), false, 4000);
	std::vector<IsoDesc> d(n);
	for (int i = 0; i < n; i++)
		d[i] = {(uint32_t)(i * 192), 192, 0, -1};
	const uint8_t *src = reinterpret_cast<const uint8_t *>(d.data());
	for (size_t s = 0, pos = 0; s < desc.segs.size(); pos += desc.segs[s].length, s++)
		memcpy(f.At(desc, s), src + pos, desc.segs[s].length);
	UrbRequest r = f.Req(40, Pipe(2, kIsoc, true, 5, 4), buf, n * 192);
	r.u.isoc.interval = 1;
	r.u.isoc.number_of_packets = n;
	r.u.isoc.nr_frame_desc_segs = (uint16_t)desc.segs.size();
	for (size_t s = 0; s < desc.segs.size(); s++)
		r.seg[r.nr_buffer_segs + s] = desc.segs[s];
	auto rsp = f.Do(r);
	res->assign(n, IsoDesc{});
	auto *back = reinterpret_cast<uint8_t *>(res->data());
	for (size_t s = 0, pos = 0; s < desc.segs.size(); pos += desc.segs[s].length, s++)
		memcpy(back + pos, f.At(desc, s), desc.segs[s].length);
	return rsp;
}

// Byte `at` of an iso buffer (192-byte packets, 21 to a page).
static uint8_t IsoByte(HcdFront &f, const HcdFront::Buf &b, uint32_t at)
{
	return f.At(b, at / XI_PAGE_SIZE)[at % XI_PAGE_SIZE];
}

TEST_F(UsbbackTest, IsochronousPacketsAndResults)
{
	auto &f = Ready();
	HcdFront::Buf buf;
	std::vector<IsoDesc> res;
	auto rsp = IsoIn(f, 8, &buf, &res);
	EXPECT_EQ(rsp.status, kStatusOk);
	EXPECT_EQ(rsp.start_frame, 77);
	for (int i = 0; i < 8; i++) {
		EXPECT_EQ(res[i].actual_length, 192u) << i;
		EXPECT_EQ(res[i].status, 0) << i;
	}
	EXPECT_EQ(IsoByte(f, buf, 192 * 3), 0x43) << "packet 3's data";
}

// Short packets: each packet's bytes land at its own offset, wherever the
// packets before it stopped, and the rest of a short packet's room keeps
// what the guest had there.
TEST_F(UsbbackTest, ShortIsochronousPacketsKeepTheirOffsets)
{
	auto &f = Ready();
	Stick().iso_actual = [](uint32_t i, uint32_t len) { return i % 3 ? len / (i + 1) : len; };
	HcdFront::Buf buf;
	std::vector<IsoDesc> res;
	const int n = 24; // more than a page of packets
	auto rsp = IsoIn(f, n, &buf, &res);
	EXPECT_EQ(rsp.status, kStatusOk);
	uint32_t sum = 0;
	for (int i = 0; i < n; i++) {
		uint32_t got = i % 3 ? 192 / (i + 1) : 192;
		sum += got;
		EXPECT_EQ(res[i].actual_length, got) << i;
		for (uint32_t k = 0; k < 192; k++)
			ASSERT_EQ(IsoByte(f, buf, 192 * i + k), k < got ? 0x40 + i : 0xee)
				<< "packet " << i << " byte " << k;
	}
	EXPECT_EQ((uint32_t)rsp.actual_length, sum);
}

TEST_F(UsbbackTest, UnlinkAnswersBothRequests)
{
	auto &f = Ready();
	Stick().hold = true;
	auto in = f.Alloc(8, false);
	f.Send(f.Req(50, Pipe(2, kInt, true, 5, 3), &in, 8)); // a long-lived poll
	EXPECT_TRUE(f.Run().empty());
	UrbRequest un = f.Req(51, Pipe(2, kInt, true, 5, 3) | kPipeUnlink);
	un.u.unlink.unlink_id = 50;
	f.Send(un);
	auto r = f.Run();
	ASSERT_EQ(r.size(), 2u);
	EXPECT_EQ(r[0].id, 51) << "the unlink request, at once";
	EXPECT_EQ(r[1].id, 50) << "the unlinked request, when its URB completed";
	EXPECT_EQ(Stick().unlinks, 1);
	// An unlink for a request that already finished is just answered.
	un.id = 52;
	un.u.unlink.unlink_id = 50;
	auto r2 = f.Do(un);
	EXPECT_EQ(r2.id, 52);
	EXPECT_EQ(Stick().unlinks, 1);
}

struct StatusCase {
	int host;
	int32_t wire;
};

class UsbbackStatus : public UsbbackTest, public ::testing::WithParamInterface<StatusCase> {};

TEST_P(UsbbackStatus, HostStatusesMapToTheSevenUsbifStatuses)
{
	auto &f = Ready();
	int st = GetParam().host;
	Stick().status = [st](const sim::FakeUrb &) { return st; };
	Stick().in_data.assign(64, 0);
	auto in = f.Alloc(64, false);
	UrbRequest r = f.Req(60, Pipe(2, kBulk, true, 5, 1), &in, 64);
	r.transfer_flags = kShortNotOk; // else a short read (EREMOTEIO) is no error
	EXPECT_EQ(f.Do(r).status, GetParam().wire);
}

INSTANTIATE_TEST_SUITE_P(
	Errnos, UsbbackStatus,
	::testing::Values(StatusCase{0, kStatusOk}, StatusCase{-32, kStatusStall},
			  StatusCase{-75, kStatusBabble}, StatusCase{-71, kStatusIoError},
			  StatusCase{-84, kStatusIoError}, StatusCase{-62, kStatusIoError},
			  StatusCase{-121, kStatusIoError}, StatusCase{-110, kStatusIoError},
			  StatusCase{-108, kStatusNoDev}, StatusCase{-19, kStatusNoDev}));

// A request that must be refused without touching the device, for the
// reason given (the first check it fails, not a later one).
struct Bad {
	const char *name;
	std::function<UrbRequest(HcdFront &)> make;
	const char *why;
};

class UsbbackInvalid : public UsbbackTest, public ::testing::WithParamInterface<Bad> {};

TEST_P(UsbbackInvalid, IsAnsweredInvalAndNeverSubmitted)
{
	auto &f = Ready();
	size_t lines = sim_.log().size();
	auto r = f.Do(GetParam().make(f));
	EXPECT_EQ(r.status, kStatusInval) << GetParam().name;
	bool said = !GetParam().why; // (nullptr: refused when its grant fails)
	for (size_t i = lines; i < sim_.log().size() && !said; i++)
		said = sim_.log()[i].find(std::string("refused: ") + GetParam().why) !=
		       std::string::npos;
	EXPECT_TRUE(said) << GetParam().name << ": not refused for " << GetParam().why;
	EXPECT_EQ(Stick().urbs.size(), 0u);
	EXPECT_EQ(sim_.counters().mappings, 0);
	// and the controller still works
	auto in = f.Alloc(8, false);
	EXPECT_EQ(f.Do(f.Req(99, Pipe(2, kBulk, true, 5, 1), &in, 8)).status, kStatusOk);
}

namespace {
UrbRequest BulkIn(HcdFront &f, uint32_t len, uint16_t id = 70)
{
	static HcdFront::Buf keep;
	keep = f.Alloc(len, false);
	return f.Req(id, Pipe(2, kBulk, true, 5, 1), &keep, len);
}
} // namespace

INSTANTIATE_TEST_SUITE_P(
	Rules, UsbbackInvalid,
	::testing::Values(Bad{"port 0",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.pipe &= ~kPipePortMask;
				      return r;
			      },
			      "no such port"},
			  Bad{"port past num-ports",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.pipe = (r.pipe & ~kPipePortMask) | 5;
				      return r;
			      },
			      "no such port"},
			  Bad{"reserved pipe bit 6",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.pipe |= 0x40;
				      return r;
			      },
			      "reserved pipe bits or transfer flags"},
			  Bad{"reserved pipe bits 19-29",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.pipe |= 1u << 22;
				      return r;
			      },
			      "reserved pipe bits or transfer flags"},
			  Bad{"an undefined transfer flag",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.transfer_flags = 0x100;
				      return r;
			      },
			      "reserved pipe bits or transfer flags"},
			  Bad{"17 segments",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.nr_buffer_segs = 17;
				      return r;
			      },
			      "too many segments"},
			  Bad{"segment past its page",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.seg[0].offset = 4090;
				      return r;
			      },
			      "a segment is empty or leaves its page"},
			  Bad{"empty segment",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.seg[0].length = 0;
				      r.buffer_length = 0;
				      return r;
			      },
			      "a segment is empty or leaves its page"},
			  Bad{"segments shorter than the buffer",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.buffer_length = 100;
				      return r;
			      },
			      "the segments' lengths and buffer_length disagree"},
			  Bad{"segments longer than the buffer",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.buffer_length = 32;
				      return r;
			      },
			      "the segments' lengths and buffer_length disagree"},
			  Bad{"ungranted OUT buffer",
			      [](HcdFront &f) {
				      static HcdFront::Buf b;
				      b = f.Alloc(64, true);
				      auto r = f.Req(71, Pipe(2, kBulk, false, 5, 2), &b, 64);
				      r.seg[0].gref = 99999;
				      return r;
			      },
			      nullptr},
			  Bad{"control wLength != buffer",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.pipe = Pipe(2, kCtrl, true, 5, 0);
				      HcdFront::Setup(r, 0x80, 6, 0x100, 0, 32);
				      return r;
			      },
			      "the setup packet disagrees with the buffer or the pipe"},
			  Bad{"control direction != pipe",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.pipe = Pipe(2, kCtrl, true, 5, 0);
				      HcdFront::Setup(r, 0x00, 6, 0x100, 0, 64);
				      return r;
			      },
			      "the setup packet disagrees with the buffer or the pipe"},
			  Bad{"zero-length control on an IN pipe",
			      [](HcdFront &f) {
				      auto r = f.Req(72, Pipe(2, kCtrl, true, 5, 0));
				      HcdFront::Setup(r, 0x00, 3, 1, 0, 0);
				      return r;
			      },
			      "the setup packet disagrees with the buffer or the pipe"},
			  Bad{"iso with no packets",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 64);
				      r.pipe = Pipe(2, kIsoc, true, 5, 4);
				      return r;
			      },
			      "bad isochronous packet count"},
			  Bad{"iso packets past the descriptors",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 192);
				      static HcdFront::Buf d;
				      d = f.Alloc(16, false);
				      r.pipe = Pipe(2, kIsoc, true, 5, 4);
				      r.u.isoc.number_of_packets =
					      2; // needs 32 bytes of descriptors
				      r.u.isoc.nr_frame_desc_segs = 1;
				      r.seg[1] = d.segs[0];
				      return r;
			      },
			      "bad isochronous packet count"},
			  Bad{"iso packet outside the buffer",
			      [](HcdFront &f) {
				      auto r = BulkIn(f, 192);
				      static HcdFront::Buf d;
				      d = f.Alloc(16, false);
				      IsoDesc bad{100, 200, 0, 0};
				      memcpy(f.At(d, 0), &bad, sizeof(bad));
				      r.pipe = Pipe(2, kIsoc, true, 5, 4);
				      r.u.isoc.number_of_packets = 1;
				      r.u.isoc.nr_frame_desc_segs = 1;
				      r.seg[1] = d.segs[0];
				      return r;
			      },
			      "an isochronous packet leaves the buffer"}),
	[](const ::testing::TestParamInfo<Bad> &i) {
		std::string n = i.param.name;
		for (char &c : n)
			if (!isalnum((unsigned char)c))
				c = '_';
		return n;
	});

TEST_F(UsbbackTest, UnknownDeviceAddressIsNoDev)
{
	auto &f = Ready();
	auto r = BulkIn(f, 8);
	r.pipe = Pipe(2, kBulk, true, 9, 1);
	EXPECT_EQ(f.Do(r).status, kStatusNoDev);
	r.pipe = Pipe(3, kBulk, true, 5, 1); // address 5 lives on port 2, not 3
	EXPECT_EQ(f.Do(r).status, kStatusNoDev);
}

TEST_F(UsbbackTest, SubmitFailureIsAnsweredAndReleased)
{
	auto &f = Ready();
	Stick().submit_error = -32;
	EXPECT_EQ(f.Do(BulkIn(f, 64)).status, kStatusStall);
	EXPECT_EQ(sim_.counters().mappings, 0);
	EXPECT_EQ(Stick().refs, 1) << "only the port's reference remains";
}

TEST_F(UsbbackTest, UnplugMidTransferAnswersEverything)
{
	auto &f = Ready();
	Stick().hold = true;
	for (uint16_t i = 0; i < 3; i++)
		f.Send(BulkIn(f, 512, 80 + i));
	EXPECT_TRUE(f.Run().empty());
	EXPECT_EQ(Stick().Pending().size(), 3u);
	Stick().Unplug();
	auto r = f.Run();
	ASSERT_EQ(r.size(), 3u);
	for (auto &x : r)
		EXPECT_EQ(x.status, kStatusShutdown) << "the guest sees the device gone";
	EXPECT_EQ(Stick().kills, 3);
	EXPECT_EQ(Stick().refs, 0);
	EXPECT_EQ(sim_.counters().mappings, 0);
	auto ev = f.Events();
	ASSERT_EQ(ev.size(), 1u);
	EXPECT_EQ(ev[0].speed, kSpeedNone);
	EXPECT_EQ(f.Do(BulkIn(f, 8, 90)).status, kStatusNoDev);
	EXPECT_EQ(xs_.Get(f.dev().Back("port/2")), "") << "a pulled device frees its port";
}

TEST_F(UsbbackTest, DisconnectKillsAndAnswersInFlightUrbs)
{
	auto &f = Ready();
	Stick().hold = true;
	f.Send(BulkIn(f, 512, 100));
	f.Send(BulkIn(f, 512, 101));
	f.Run();
	f.FrontendState(5);
	f.FrontendState(6);
	EXPECT_EQ(f.dev().state, 5) << "Closed once every URB has ended";
	sim_.RunUntilIdle();
	EXPECT_EQ(f.dev().state, 6);
	EXPECT_EQ(Stick().unlinks, 2) << "asked to end, not waited for";
	EXPECT_EQ(f.urb().Take().size(), 2u);
	EXPECT_EQ(sim_.counters().rings, 0);
	EXPECT_EQ(sim_.counters().mappings, 0);
	EXPECT_EQ(Stick().refs, 1) << "the device stays on its port";
}

TEST_F(UsbbackTest, ControllerRemovedWithADeviceAttached)
{
	auto &f = Ready();
	f.FrontendState(0); // forced detach: the frontend directory is gone
	EXPECT_TRUE(f.dev().unregistered);
	EXPECT_EQ(Stick().refs, 0);
	Stick().Unplug(); // the usb_driver's disconnect comes later: harmless
}

TEST_F(UsbbackTest, HostileRingIndexClosesTheController)
{
	auto &f = Ready();
	f.urb().hdr()->req_prod = 200;
	sim_.Kick(f.urb().port());
	sim_.RunUntilIdle();
	EXPECT_EQ(f.dev().state, 5);
	f.FrontendState(6);
	sim_.RunUntilIdle();
	EXPECT_EQ(sim_.counters().rings, 0);
}

TEST_F(UsbbackTest, HostileConnRingIndexClosesTheController)
{
	auto &f = Front();
	f.Probe();
	f.AssignPort(1, "3-1.5");
	f.Connect(false);
	f.conn().hdr()->req_prod = 5000; // credits it never posted
	ASSERT_EQ(Stick().Plug(), 0);
	sim_.Kick(f.urb().port());
	sim_.RunUntilIdle();
	EXPECT_EQ(f.dev().state, 5);
	EXPECT_TRUE(f.Events().empty());
	f.FrontendState(6);
	sim_.RunUntilIdle();
	EXPECT_EQ(sim_.counters().rings, 0);
}

TEST_F(UsbbackTest, InIntoABadGrantIsAnError)
{
	// Staged IN data is copied to the guest after the transfer: a grant the
	// guest did not give (or gave read-only) fails then, and the answer says so.
	auto &f = Ready();
	Stick().in_data.assign(64, 1);
	auto ro = f.Alloc(64, true);
	EXPECT_EQ(f.Do(f.Req(73, Pipe(2, kBulk, true, 5, 1), &ro, 64)).status, kStatusInval);
	auto bad = BulkIn(f, 64, 74);
	bad.seg[0].gref = 99999;
	EXPECT_EQ(f.Do(bad).status, kStatusInval);
	EXPECT_EQ(f.At(ro, 0)[0], 0) << "nothing reached the read-only page";
	EXPECT_EQ(sim_.counters().mappings, 0);
	EXPECT_EQ(Stick().refs, 1);
}

TEST_F(UsbbackTest, StatisticsCountTheTraffic)
{
	auto &f = Ready(); // SET_ADDRESS: one urb, answered here
	Stick().in_data.assign(100, 1);
	auto in = f.Alloc(512, false);
	EXPECT_EQ(f.Do(f.Req(20, Pipe(2, kBulk, true, 5, 1), &in, 512)).status, kStatusOk);
	auto out = f.Alloc(300, true);
	EXPECT_EQ(f.Do(f.Req(21, Pipe(2, kBulk, false, 5, 2), &out, 300)).status, kStatusOk);
	EXPECT_EQ(f.Do(f.Req(22, Pipe(2, kBulk, true, 9, 1), &in, 512)).status, kStatusNoDev);
	EXPECT_EQ(f.Stat(0), 4u) << "urbs";
	EXPECT_EQ(f.Stat(2), 1u) << "rejected";
	EXPECT_EQ(f.Stat(4), 1u) << "port events";
	EXPECT_EQ(f.Stat(5), 100u) << "bytes in";
	EXPECT_EQ(f.Stat(6), 300u) << "bytes out";
}

// Every port's device replaced by another before the guest heard of the
// first (the toolstack, or a physical replug, faster than the work): two
// events per port, 62 in one pass.
TEST_F(UsbbackTest, EveryPortReplacedAtOnceSendsEveryEvent)
{
	HcdFront f(sim_, xs_, kGuest, 2, kMaxPorts);
	std::vector<std::unique_ptr<sim::FakeUsbDevice>> first, second;
	f.Probe();
	for (unsigned i = 1; i <= kMaxPorts; i++) {
		std::string id = "5-" + std::to_string(i);
		f.AssignPort(i, id);
		first.push_back(std::make_unique<sim::FakeUsbDevice>(id, kSpeedFull));
		ASSERT_EQ(first.back()->Plug(), 0);
	}
	f.Connect();
	EXPECT_EQ(f.Events().size(), kMaxPorts);
	for (unsigned i = 1; i <= kMaxPorts; i++) {
		first[i - 1]->Unplug(false);
		second.push_back(std::make_unique<sim::FakeUsbDevice>(first[i - 1]->busid));
		ASSERT_EQ(second.back()->Plug(), 0);
	}
	sim_.RunUntilIdle();
	auto ev = f.Events();
	ASSERT_EQ(ev.size(), 2 * kMaxPorts);
	for (unsigned i = 0; i < kMaxPorts; i++) {
		EXPECT_EQ(ev[2 * i].portnum, i + 1);
		EXPECT_EQ(ev[2 * i].speed, kSpeedNone) << "the old device leaves first";
		EXPECT_EQ(ev[2 * i + 1].portnum, i + 1);
		EXPECT_EQ(ev[2 * i + 1].speed, kSpeedHigh);
	}
	for (auto &d : second)
		d->Unplug(false);
	f.Remove();
}

// libxl binds the device while the guest connects: the hotplug must not
// kick a work that does not exist yet, and the guest still hears of it.
TEST_F(UsbbackTest, HotplugWhileTheControllerStarts)
{
	auto &f = Front();
	f.Probe();
	f.AssignPort(2, "3-1.5");
	sim_.on_work_create = [this] { EXPECT_EQ(Stick().Plug(), 0); };
	f.Connect();
	auto ev = f.Events();
	ASSERT_EQ(ev.size(), 1u);
	EXPECT_EQ(ev[0].portnum, 2);
	EXPECT_EQ(ev[0].speed, kSpeedHigh);
}

// The frontend closes while the work sleeps in a synchronous request
// (SET_INTERFACE), with an IN behind it that the device would never answer:
// the disconnect (xenwatch) returns at once, the pass takes nothing more,
// and the controller closes.
TEST_F(UsbbackTest, CloseDuringASynchronousRequestTakesNothingMore)
{
	auto &f = Ready();
	Stick().hold = true; // an IN ends only if usbback ends it
	UrbRequest si = f.Req(10, Pipe(2, kCtrl, false, 5, 0));
	HcdFront::Setup(si, 0x01, 11, 1, 0, 0);
	Stick().on_control = [&] {
		long waits = sim_.counters().waits;
		f.FrontendState(5);
		f.FrontendState(6);
		EXPECT_EQ(sim_.counters().waits, waits) << "xenwatch waited for the work";
		EXPECT_EQ(f.dev().state, 5);
	};
	auto in = f.Alloc(8, false);
	f.urb().Put(si);
	si.id = 12;
	f.urb().Put(si); // another synchronous one: never performed
	f.urb().Put(f.Req(11, Pipe(2, kInt, true, 5, 3), &in, 8));
	f.urb().Push();
	sim_.RunUntilIdle();
	EXPECT_EQ(Stick().set_interface, 1);
	EXPECT_EQ(Stick().urbs.size(), 0u) << "the IN behind it was never submitted";
	EXPECT_EQ(f.dev().state, 6);
	EXPECT_EQ(sim_.counters().rings, 0);
}

// Unlinks take no slot: a guest that floods them (or malformed URBs) makes
// its ring wait like any refusal, so it cannot keep a dom0 CPU busy.
TEST_F(UsbbackTest, UnlinksOfNothingAndRefusalsMakeTheRingWait)
{
	auto &f = Ready();
	for (uint16_t i = 0; i < 8; i++) {
		UrbRequest un = f.Req(200 + i, Pipe(2, kInt, true, 5, 3) | kPipeUnlink);
		un.u.unlink.unlink_id = 999;
		f.urb().Put(un);
	}
	f.urb().Put(f.Req(210, Pipe(0, kCtrl, false, 5, 0))); // port 0: malformed
	f.urb().Push();
	uint64_t t0 = sim_.now_ns();
	sim_.RunNow();
	EXPECT_EQ(f.urb().Take().size(), 9u);
	EXPECT_EQ(f.Stat(2), 1u) << "rejected";
	f.Send(BulkIn(f, 8, 211));
	sim_.RunNow();
	EXPECT_TRUE(f.urb().Take().empty()) << "not looked at before the wait is over";
	sim_.RunUntilIdle();
	EXPECT_EQ(f.urb().Take().size(), 1u);
	EXPECT_GE(sim_.now_ns() - t0, 9 * 1000000u);
}

// A disconnect while the work is inside a submit: the URB it submits is
// ended, not left running for a controller that is going away.
TEST_F(UsbbackTest, AUrbSubmittedDuringADisconnectIsEnded)
{
	auto &f = Ready();
	Stick().hold = true; // it ends only if usbback ends it
	Stick().on_submit = [&] {
		f.FrontendState(5);
		f.FrontendState(6);
	};
	f.Send(BulkIn(f, 512, 120));
	sim_.RunUntilIdle();
	ASSERT_EQ(Stick().urbs.size(), 1u);
	EXPECT_EQ(Stick().unlinks, 1);
	EXPECT_EQ(f.dev().state, 6);
	EXPECT_EQ(sim_.counters().rings, 0);
}

// URBs of different requests complete in any order, each with its own
// error: each request gets its own answer.
TEST_F(UsbbackTest, EachUrbsErrorReachesItsOwnRequest)
{
	auto &f = Ready();
	Stick().hold = true;
	f.Send(BulkIn(f, 512, 130));
	auto out = f.Alloc(512, true);
	f.Send(f.Req(131, Pipe(2, kBulk, false, 5, 2), &out, 512));
	auto in2 = f.Alloc(8, false);
	f.Send(f.Req(132, Pipe(2, kInt, true, 5, 3), &in2, 8));
	EXPECT_TRUE(f.Run().empty());
	auto urbs = Stick().Pending();
	ASSERT_EQ(urbs.size(), 3u);
	Stick().Finish(urbs[2], -71); // EPROTO
	Stick().Finish(urbs[0], -32); // EPIPE
	Stick().Finish(urbs[1], 0);
	std::map<uint16_t, int32_t> got;
	for (auto &r : f.Run())
		got[r.id] = r.status;
	EXPECT_EQ(got.at(130), kStatusStall);
	EXPECT_EQ(got.at(131), kStatusOk);
	EXPECT_EQ(got.at(132), kStatusIoError);
}
