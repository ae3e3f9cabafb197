// SPDX-License-Identifier: GPL-2.0-only
//
// xenbus_lite: the state machine against a simulated xenstore, with hostile
// frontend values, transactions that must be retried, a frontend flapping
// between states, and a backend removed mid-connect.
#include <xenidc/xenbus_lite.h>
#include <xenidc/xenbus_lite_glue.h>

#include "sim_test.h"
#include "xenstore.h"

using namespace xenidc;
namespace xb = xenidc::xb;

namespace {

struct Ring {
	xb::GrantRefsValue refs;
	uint32_t evtchn;
};

struct TestConfig {
	xb::DevNumValue pdev;
	char mode[4];
	uint32_t protocol;
	uint32_t persistent;
	uint32_t queues;
	Ring rings[xb::kMaxQueues];
};

uint32_t g_max_order = 2;
uint32_t g_max_queues = 4;
const char *const kProtocols[] = {"x86_32-abi", "x86_64-abi", nullptr};

constexpr xb::Key kKeys[] = {
	xb::DevNum("physical-device", xb::Dir::kBackend, XB_AT(TestConfig, pdev)),
	xb::String("mode", xb::Dir::kBackend, XB_AT(TestConfig, mode), 4),
	xb::GrantRefs("ring-ref", xb::Dir::kFrontend, XB_AT(TestConfig, rings[0].refs),
		      "ring-page-order", &g_max_order)
		.PerQueue(),
	xb::U32("event-channel", xb::Dir::kFrontend, XB_AT(TestConfig, rings[0].evtchn), 0, ~0u)
		.PerQueue(),
	xb::Enum("protocol", xb::Dir::kFrontend, XB_AT(TestConfig, protocol), kProtocols)
		.Optional(0),
	xb::Flag("feature-persistent", xb::Dir::kFrontend, XB_AT(TestConfig, persistent)),
};
constexpr const char *kWatch[] = {"physical-device"};

// What the driver saw.
struct Calls {
	int probe = 0, advertise = 0, configure = 0, connect = 0, publish = 0, disconnect = 0,
	    removed = 0, changed = 0;
	TestConfig last{};
	xb::Device *dev = nullptr;
	Status fail_connect = Status::Ok();
	Status fail_configure = Status::Ok();
	bool async = false; // disconnect ends later, in Disconnected()
};
Calls g;

const xb::Driver kDriver = {
	.type = "vbd",
	.keys = kKeys,
	.watch = kWatch,
	.queues_key = "multi-queue-num-queues",
	.max_queues = &g_max_queues,
	.queues_offset = XB_AT(TestConfig, queues),
	.queue_stride = sizeof(Ring),
	.config_size = sizeof(TestConfig),
	.ops = {
		.probe = [](xb::Device &d) -> void * {
			g.probe++;
			g.dev = &d;
			return &g;
		},
		.advertise =
			[](void *, xb::Writer &w) {
				g.advertise++;
				return w.Printf("max-ring-page-order", "%u", g_max_order);
			},
		.configure =
			[](void *, const void *c) {
				g.configure++;
				g.last = *static_cast<const TestConfig *>(c);
				return g.fail_configure;
			},
		.connect =
			[](void *, const void *c) {
				g.connect++;
				g.last = *static_cast<const TestConfig *>(c);
				return g.fail_connect;
			},
		.publish =
			[](void *, xb::Writer &w) {
				g.publish++;
				XI_TRY(w.Printf("sectors", "%u", 2048));
				return w.Printf("info", "%u", 0);
			},
		.disconnect =
			[](void *) {
				g.disconnect++;
				return !g.async;
			},
		.changed = [](void *, const char *) { g.changed++; },
		.remove = [](void *) { g.removed++; },
	},
};

} // namespace

class XenbusLiteTest : public SimTest {
protected:
	void SetUp() override
	{
		SimTest::SetUp();
		g = Calls();
		g_max_order = 2;
		g_max_queues = 4;
		dev_.on_unregister = [this] { Remove(); };
	}
	void TearDown() override
	{
		if (device_)
			Remove();
		EXPECT_EQ(g.connect, g.disconnect) << "every connect was undone";
		SimTest::TearDown();
	}

	void Probe()
	{
		ASSERT_EQ(xbl_probe(&kDriver, dev_.xb(), &device_), 0);
		ASSERT_NE(device_, nullptr);
	}
	void Remove()
	{
		xbl_remove(device_);
		device_ = nullptr;
	}
	void Hotplug(const char *pdev = "fd:3")
	{
		xs_.Write(dev_.Back("physical-device"), pdev);
		xs_.Write(dev_.Back("mode"), "w");
		xbl_backend_changed(device_, dev_.Back("physical-device").c_str());
	}
	void FrontendKeys(unsigned evtchn = 9)
	{
		xs_.Write(dev_.Front("ring-ref"), "100");
		xs_.Write(dev_.Front("event-channel"), std::to_string(evtchn));
		xs_.Write(dev_.Front("protocol"), "x86_64-abi");
		xs_.Write(dev_.Front("feature-persistent"), "1");
	}
	// The frontend's state key, then its watch.
	void Frontend(xb::State s)
	{
		xs_.Write(dev_.Front("state"), std::to_string((int)s));
		xbl_frontend_changed(device_, s);
	}
	std::string Back(const char *k) { return xs_.Get(dev_.Back(k)); }

	sim::Xenstore xs_;
	sim::XbDev dev_{"vbd", kGuest, 51712};
	void *device_ = nullptr;
};

TEST_F(XenbusLiteTest, ProbeAdvertisesThenWaits)
{
	Probe();
	EXPECT_EQ(g.probe, 1);
	EXPECT_EQ(Back("max-ring-page-order"), "2");
	EXPECT_EQ(dev_.state, xb::kInitWait);
	EXPECT_EQ(g.configure, 0) << "physical-device is not written yet";
}

TEST_F(XenbusLiteTest, HotplugKeyConfiguresOnce)
{
	Probe();
	Hotplug("ca:1f");
	EXPECT_EQ(g.configure, 1);
	EXPECT_EQ(g.last.pdev.major, 0xcau);
	EXPECT_EQ(g.last.pdev.minor, 0x1fu);
	EXPECT_STREQ(g.last.mode, "w");
	Hotplug("ca:20"); // a change of device is reported to the driver, not reconfigured
	EXPECT_EQ(g.configure, 1);
	EXPECT_EQ(g.changed, 1);
}

TEST_F(XenbusLiteTest, KeysPresentAtProbeAreUsedAtOnce)
{
	xs_.Write(dev_.Back("physical-device"), "8:10");
	xs_.Write(dev_.Back("mode"), "r");
	Probe();
	EXPECT_EQ(g.configure, 1);
	EXPECT_EQ(dev_.state, xb::kInitWait);
}

TEST_F(XenbusLiteTest, FullConnect)
{
	Probe();
	Hotplug();
	FrontendKeys(33);
	Frontend(xb::kInitialised);
	EXPECT_EQ(g.connect, 1);
	EXPECT_EQ(g.last.queues, 1u);
	EXPECT_EQ(g.last.rings[0].refs.count, 1u);
	EXPECT_EQ(g.last.rings[0].refs.refs[0].value(), 100u);
	EXPECT_EQ(g.last.rings[0].evtchn, 33u);
	EXPECT_EQ(g.last.protocol, 1u);
	EXPECT_EQ(g.last.persistent, 1u);
	EXPECT_EQ(Back("sectors"), "2048");
	EXPECT_EQ(Back("info"), "0");
	EXPECT_EQ(dev_.state, xb::kConnected);
	EXPECT_TRUE(dev_.fatal.empty());
	Frontend(xb::kConnected); // already connected: nothing happens
	EXPECT_EQ(g.connect, 1);
}

TEST_F(XenbusLiteTest, FrontendFirstThenHotplug)
{
	Probe();
	FrontendKeys();
	Frontend(xb::kInitialised);
	EXPECT_EQ(g.connect, 0) << "no backing device yet";
	Hotplug();
	EXPECT_EQ(g.connect, 1);
	EXPECT_EQ(dev_.state, xb::kConnected);
}

TEST_F(XenbusLiteTest, MultiPageAndMultiQueueKeys)
{
	Probe();
	Hotplug();
	xs_.Write(dev_.Front("multi-queue-num-queues"), "2");
	xs_.Write(dev_.Front("ring-page-order"), "2");
	for (int q = 0; q < 2; q++) {
		std::string d = "queue-" + std::to_string(q) + "/";
		for (int i = 0; i < 4; i++)
			xs_.Write(dev_.Front(d + "ring-ref" + std::to_string(i)),
				  std::to_string(100 * q + i));
		xs_.Write(dev_.Front(d + "event-channel"), std::to_string(20 + q));
	}
	Frontend(xb::kInitialised);
	ASSERT_EQ(g.connect, 1);
	EXPECT_EQ(g.last.queues, 2u);
	EXPECT_EQ(g.last.rings[1].refs.count, 4u);
	EXPECT_EQ(g.last.rings[1].refs.refs[3].value(), 103u);
	EXPECT_EQ(g.last.rings[1].evtchn, 21u);
	EXPECT_EQ(g.last.rings[0].refs.refs[0].value(), 0u);
}

// A frontend value that must fail the device: key, value.
struct Hostile {
	const char *key;
	const char *value;
};

class XenbusLiteHostile : public XenbusLiteTest, public ::testing::WithParamInterface<Hostile> {};

TEST_P(XenbusLiteHostile, FailsOnlyThisDeviceWithAMessage)
{
	Probe();
	Hotplug();
	FrontendKeys();
	xs_.Write(dev_.Front(GetParam().key), GetParam().value);
	Frontend(xb::kInitialised);
	EXPECT_EQ(g.connect, 0);
	EXPECT_EQ(dev_.state, xb::kClosing);
	ASSERT_EQ(dev_.fatal.size(), 1u);
	EXPECT_NE(dev_.fatal[0].find("reading frontend key"), std::string::npos) << dev_.fatal[0];
	EXPECT_FALSE(xs_.Get("error/" + dev_.nodename + "/error").empty());
	// A later Closed cleans up; nothing was connected.
	Frontend(xb::kClosed);
	EXPECT_EQ(dev_.state, xb::kClosed);
}

INSTANTIATE_TEST_SUITE_P(
	Values, XenbusLiteHostile,
	::testing::Values(
		Hostile{"ring-page-order", "3"}, Hostile{"ring-page-order", "99999999999"},
		Hostile{"multi-queue-num-queues", "0"}, Hostile{"multi-queue-num-queues", "5"},
		Hostile{"multi-queue-num-queues", "4294967295"}, Hostile{"event-channel", "abc"},
		Hostile{"event-channel", "-1"}, Hostile{"event-channel", " 5"},
		Hostile{"event-channel", "5 "}, Hostile{"event-channel", "4294967296"},
		Hostile{"event-channel", ""}, Hostile{"event-channel", "0x10"},
		Hostile{"ring-ref", "+7"}, Hostile{"protocol", "x86_16-abi"},
		Hostile{"protocol", ""}, Hostile{"feature-persistent", "2"}));

TEST_F(XenbusLiteTest, MissingRequiredKeyNamesIt)
{
	Probe();
	Hotplug();
	xs_.Write(dev_.Front("event-channel"), "5");
	Frontend(xb::kInitialised);
	ASSERT_EQ(dev_.fatal.size(), 1u);
	EXPECT_NE(dev_.fatal[0].find("ring-ref"), std::string::npos);
	EXPECT_EQ(dev_.fatal[0].rfind("2 ", 0), 0u) << "ENOENT: " << dev_.fatal[0];
}

TEST_F(XenbusLiteTest, MissingPagedRingRefFails)
{
	Probe();
	Hotplug();
	FrontendKeys();
	xs_.Write(dev_.Front("ring-page-order"), "1");
	xs_.Write(dev_.Front("ring-ref0"), "5"); // ring-ref1 missing
	Frontend(xb::kInitialised);
	EXPECT_EQ(g.connect, 0);
	EXPECT_EQ(dev_.state, xb::kClosing);
}

TEST_F(XenbusLiteTest, OptionalKeysTakeDefaults)
{
	Probe();
	Hotplug();
	xs_.Write(dev_.Front("ring-ref"), "1");
	xs_.Write(dev_.Front("event-channel"), "2");
	Frontend(xb::kInitialised);
	ASSERT_EQ(g.connect, 1);
	EXPECT_EQ(g.last.protocol, 0u) << "no protocol key: the x86_32 default";
	EXPECT_EQ(g.last.persistent, 0u);
}

class XenbusLiteBadBackend : public XenbusLiteTest,
			     public ::testing::WithParamInterface<const char *> {};

TEST_P(XenbusLiteBadBackend, MalformedPhysicalDeviceFails)
{
	Probe();
	Hotplug(GetParam());
	EXPECT_EQ(g.configure, 0);
	EXPECT_EQ(dev_.state, xb::kClosing);
	EXPECT_EQ(dev_.fatal.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Values, XenbusLiteBadBackend,
			 ::testing::Values("zz:1", "8:1:3", "-1:0", "", ":", "8", "1000:0",
					   "8:100000", "8 :1"));

TEST_F(XenbusLiteTest, TransactionsAreRetriedOnEagain)
{
	Probe();
	Hotplug();
	FrontendKeys();
	xs_.FailTxns(3);
	Frontend(xb::kInitialised);
	EXPECT_EQ(g.publish, 4);
	EXPECT_EQ(xs_.commits(), 1);
	EXPECT_EQ(Back("sectors"), "2048");
	EXPECT_EQ(dev_.state, xb::kConnected);
}

TEST_F(XenbusLiteTest, EndlessEagainFailsTheDevice)
{
	Probe();
	Hotplug();
	FrontendKeys();
	xs_.FailTxns(1000);
	Frontend(xb::kInitialised);
	EXPECT_EQ(dev_.state, xb::kClosing);
	EXPECT_EQ(Back("sectors"), "");
	EXPECT_EQ(g.disconnect, 1) << "the half-made connection was undone";
}

TEST_F(XenbusLiteTest, ConnectFailureIsReportedAndUndone)
{
	Probe();
	Hotplug();
	FrontendKeys();
	g.fail_connect = Status::Error(err::kNoMem);
	Frontend(xb::kInitialised);
	EXPECT_EQ(dev_.state, xb::kClosing);
	ASSERT_EQ(dev_.fatal.size(), 1u);
	EXPECT_EQ(dev_.fatal[0].rfind("12 ", 0), 0u);
	EXPECT_EQ(g.disconnect, 1) << "disconnect undoes what the failed connect did";
}

TEST_F(XenbusLiteTest, FrontendFlappingReconnectsCleanly)
{
	Probe();
	Hotplug();
	FrontendKeys();
	for (int i = 0; i < 5; i++) {
		Frontend(xb::kInitialised);
		Frontend(xb::kConnected);
		EXPECT_EQ(dev_.state, xb::kConnected);
		Frontend(xb::kClosing);
		EXPECT_EQ(dev_.state, xb::kClosing);
		Frontend(xb::kClosed);
		EXPECT_EQ(dev_.state, xb::kClosed);
		Frontend(xb::kInitialising);
		EXPECT_EQ(dev_.state, xb::kInitWait);
	}
	EXPECT_EQ(g.connect, 5);
	EXPECT_EQ(g.disconnect, 5);
	EXPECT_FALSE(dev_.unregistered) << "online=1 keeps the device";
}

TEST_F(XenbusLiteTest, ClosedWithOnlineZeroRemovesTheDevice)
{
	Probe();
	Hotplug();
	FrontendKeys();
	Frontend(xb::kInitialised);
	xs_.Write(dev_.Back("online"), "0");
	Frontend(xb::kClosing);
	Frontend(xb::kClosed);
	EXPECT_TRUE(dev_.unregistered);
	EXPECT_EQ(g.removed, 1);
	EXPECT_EQ(device_, nullptr);
}

TEST_F(XenbusLiteTest, FrontendVanishingRemovesTheDevice)
{
	Probe();
	Hotplug();
	FrontendKeys();
	Frontend(xb::kInitialised);
	Frontend(xb::kUnknown);
	EXPECT_TRUE(dev_.unregistered);
	EXPECT_EQ(g.disconnect, 1);
	EXPECT_EQ(g.removed, 1);
}

TEST_F(XenbusLiteTest, RemovedWhileConnected)
{
	Probe();
	Hotplug();
	FrontendKeys();
	Frontend(xb::kInitialised);
	Remove();
	EXPECT_EQ(g.disconnect, 1);
	EXPECT_EQ(g.removed, 1);
}

TEST_F(XenbusLiteTest, RemovedBeforeTheHotplugScriptRan)
{
	Probe();
	Remove();
	EXPECT_EQ(g.configure, 0);
	EXPECT_EQ(g.removed, 1);
}

TEST_F(XenbusLiteTest, UnexpectedFrontendStatesAreFatal)
{
	for (int s : {(int)xb::kInitWait, (int)xb::kReconfiguring, (int)xb::kReconfigured, 42}) {
		sim::XbDev d("vbd", kGuest, 100 + s);
		void *dev = nullptr;
		ASSERT_EQ(xbl_probe(&kDriver, d.xb(), &dev), 0);
		xbl_frontend_changed(dev, s);
		EXPECT_EQ(d.state, xb::kClosing) << s;
		EXPECT_EQ(d.fatal.size(), 1u);
		xbl_remove(dev);
	}
}

TEST_F(XenbusLiteTest, DriverFatalClosesAndTeardownFollowsTheFrontend)
{
	Probe();
	Hotplug();
	FrontendKeys();
	Frontend(xb::kInitialised);
	g.dev->Fatal(Status::Error(err::kProto), "ring broken");
	g.dev->Fatal(Status::Error(err::kProto), "ring broken"); // reported once
	EXPECT_EQ(dev_.state, xb::kClosing);
	EXPECT_EQ(dev_.fatal.size(), 1u);
	EXPECT_EQ(g.disconnect, 0) << "not from the driver's own context";
	Frontend(xb::kClosed);
	EXPECT_EQ(g.disconnect, 1);
}

TEST_F(XenbusLiteTest, AnnounceRewritesStateInTheSameTransaction)
{
	Probe();
	Hotplug();
	FrontendKeys();
	Frontend(xb::kInitialised);
	int commits = xs_.commits();
	xs_.Write(dev_.Back("state"), "x"); // to see it rewritten
	ASSERT_TRUE(g.dev->Announce([](xb::Writer &w) {
				 return w.Printf("sectors", "%u", 4096);
			 }).ok());
	EXPECT_EQ(xs_.commits(), commits + 1);
	EXPECT_EQ(Back("sectors"), "4096");
	EXPECT_EQ(Back("state"), "4");
}

TEST(XenbusLiteParse, Values)
{
	uint32_t v;
	xb::Key u = xb::U32("k", xb::Dir::kFrontend, 0, 1, 10);
	EXPECT_TRUE(xb::ParseValue(u, "10", &v).ok());
	EXPECT_EQ(v, 10u);
	EXPECT_FALSE(xb::ParseValue(u, "0", &v).ok());
	EXPECT_FALSE(xb::ParseValue(u, "11", &v).ok());
	EXPECT_FALSE(xb::ParseValue(u, "010x", &v).ok());
	uint32_t max = 3;
	xb::Key r = xb::U32Ref("k", xb::Dir::kFrontend, 0, &max);
	EXPECT_TRUE(xb::ParseValue(r, "3", &v).ok());
	max = 2;
	EXPECT_FALSE(xb::ParseValue(r, "3", &v).ok()) << "a run-time bound is read at parse time";
	char s[4];
	xb::Key str = xb::String("k", xb::Dir::kBackend, 0, 4);
	EXPECT_TRUE(xb::ParseValue(str, "abc", s).ok());
	EXPECT_FALSE(xb::ParseValue(str, "abcd", s).ok());
	xb::DevNumValue d;
	xb::Key dn = xb::DevNum("k", xb::Dir::kBackend, 0);
	EXPECT_TRUE(xb::ParseValue(dn, "FD:ab", &d).ok());
	EXPECT_EQ(d.major, 0xfdu);
	EXPECT_EQ(d.minor, 0xabu);
}

// A driver whose teardown waits for the frontend's I/O: the backend stays
// Closing until the driver says it is done, and only then says Closed.
TEST_F(XenbusLiteTest, ClosedOnlyOnceTheDriverDisconnected)
{
	g.async = true;
	Probe();
	Hotplug();
	FrontendKeys();
	Frontend(xb::kInitialised);
	Frontend(xb::kClosing);
	Frontend(xb::kClosed);
	EXPECT_EQ(g.disconnect, 1);
	EXPECT_EQ(dev_.state, xb::kClosing);
	Frontend(xb::kClosed); // again: nothing new starts
	EXPECT_EQ(g.disconnect, 1);
	g.dev->Disconnected();
	EXPECT_EQ(dev_.state, xb::kClosed);
	EXPECT_FALSE(dev_.unregistered) << "online=1";
}

TEST_F(XenbusLiteTest, OnlineZeroRemovesOnceTheDriverDisconnected)
{
	g.async = true;
	Probe();
	Hotplug();
	FrontendKeys();
	Frontend(xb::kInitialised);
	xs_.Write(dev_.Back("online"), "0");
	Frontend(xb::kClosed);
	EXPECT_FALSE(dev_.unregistered);
	g.dev->Disconnected();
	EXPECT_TRUE(dev_.unregistered);
	EXPECT_EQ(g.removed, 1);
	EXPECT_EQ(device_, nullptr);
}

// Removed (the toolstack deleted the directory, or rmmod) while the driver
// tears down: remove returns at once, the device stays until it is done.
TEST_F(XenbusLiteTest, RemovedWhileTheDriverDisconnects)
{
	g.async = true;
	Probe();
	Hotplug();
	FrontendKeys();
	Frontend(xb::kInitialised);
	EXPECT_FALSE(xbl_remove(device_));
	device_ = nullptr;
	EXPECT_EQ(g.disconnect, 1);
	EXPECT_EQ(g.removed, 0) << "the driver still holds the frontend's pages";
	EXPECT_FALSE(dev_.released);
	g.dev->Disconnected();
	EXPECT_EQ(g.removed, 1);
	EXPECT_TRUE(dev_.released);
}

// A frontend that reconnects during the teardown waits for its end: the
// connection never doubles.
TEST_F(XenbusLiteTest, AReconnectWaitsForTheTeardown)
{
	g.async = true;
	Probe();
	Hotplug();
	FrontendKeys();
	Frontend(xb::kInitialised);
	Frontend(xb::kClosed);
	Frontend(xb::kInitialising);
	EXPECT_EQ(dev_.state, xb::kClosing);
	g.dev->Disconnected();
	EXPECT_EQ(dev_.state, xb::kInitWait) << "Closed, then the reconnect it asked for";
	Frontend(xb::kClosed); // never connected: nothing to wait for
	EXPECT_EQ(dev_.state, xb::kClosed);
	Frontend(xb::kInitialising);
	EXPECT_EQ(dev_.state, xb::kInitWait);
	Frontend(xb::kInitialised);
	EXPECT_EQ(g.connect, 2);
	Frontend(xb::kClosed);
	EXPECT_EQ(dev_.state, xb::kClosing);
	Frontend(xb::kInitialised); // a hostile frontend skips ahead
	EXPECT_EQ(g.connect, 2) << "not while the last connection is torn down";
	g.dev->Disconnected();
	EXPECT_EQ(g.connect, 3);
	EXPECT_EQ(dev_.state, xb::kConnected);
	g.async = false;
}
