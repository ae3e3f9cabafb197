// SPDX-License-Identifier: GPL-2.0-only
//
// usbback's controller: ports, the conn ring, and the lifecycle. The urb
// request path is in urb.cpp.
#include "vusb.h"

unsigned long ub_probes_read; // under Registry::lock

namespace usbback {

namespace {
// Controllers, for matching a host device's bus id to a port: the list is
// changed under both locks, read under either. lock serialises attaching
// devices against controllers coming and going; busids guards what a probe
// looks up without sleeping (each Port::busid too), never across a sleep.
struct Registry {
	Mutex lock{XI_LOCK_CLASS("usbback::Registry::lock")};
	SpinLock busids{XI_LOCK_CLASS("usbback::Registry::busids")};
	Vusb *head = nullptr;
};
// Made by ub_init(): the kernel runs no constructors of globals.
alignas(Registry) uint8_t g_registry[sizeof(Registry)];

Registry &R()
{
	return *reinterpret_cast<Registry *>(g_registry);
}
} // namespace

Vusb::Vusb(xb::Device &dev) : dev_(dev)
{
	for (unsigned i = kUrbRingSize; i-- > 0;) {
		Request *r = &slots_[i];
		r->vusb = this;
		r->x.iso = r->iso;
		r->x.cookie = r;
		r->mapping.Init(ktl::Span<SgElement>(r->sg), ktl::Span<MappedElem>(r->elems));
		PutSlot(r);
	}
	MutexGuard g(R().lock);
	SpinGuard b(R().busids);
	next_ = R().head;
	R().head = this;
}

// xenbus_lite disconnected it first: nothing runs.
Vusb::~Vusb()
{
	{
		MutexGuard g(R().lock);
		SpinGuard b(R().busids);
		Vusb **p = &R().head;
		while (*p != this)
			p = &(*p)->next_;
		*p = next_;
	}
	for (unsigned i = 1; i <= num_ports_; i++)
		if (ports_[i].dev)
			ub_dev_put(ports_[i].dev);
	RbrMapperPool::Destroy(pool_);
}

Status Vusb::Configure(const VusbConfig &cfg)
{
	// One staging buffer per slot: a request never waits for one.
	auto pool = RbrMapperPool::Create({.max_elems = usbif::kMaxSegments,
					   .sg_capable = false,
					   .staging_buffers = kUrbRingSize,
					   .staging_bytes = kMaxTransfer});
	if (!pool.ok())
		return pool.status();
	pool_ = pool.value();
	{
		MutexGuard g(lock_);
		num_ports_ = cfg.num_ports;
		usb_ver_ = cfg.usb_ver;
	}
	ReadPorts();
	return Status::Ok();
}

// The bus ids the toolstack put in port/<n>, read outside every lock.
void Vusb::ReadPorts()
{
	for (unsigned i = 1; i <= num_ports_; i++) {
		char key[16], id[sizeof(Port::busid)];
		xi_snprintf(key, sizeof(key), "port/%u", i);
		if (!dev_.Read(key, id, sizeof(id)).ok())
			id[0] = 0;
		SpinGuard b(R().busids);
		ktl::MemCopy(ports_[i].busid, id, sizeof(id));
	}
}

Status Vusb::Connect(const VusbConfig &c)
{
	xi_xendev *x = dev_.xendev();

	XI_TRY(urb_.Map(x, ktl::Span<const GrantRef>(c.urb_ring.refs, 1)));
	Status s = conn_.Map(x, ktl::Span<const GrantRef>(c.conn_ring.refs, 1));
	if (s.ok())
		s = Start(x, c.evtchn, "usbback", &Vusb::Pass);
	if (!s.ok()) {
		UnmapRings();
		return s;
	}
	{
		// Only now: a hotplug that sees connected_ kicks the work, which
		// must exist. Then tell the guest about every device on a port.
		MutexGuard g(lock_);
		connected_ = true;
		for (unsigned i = 1; i <= num_ports_; i++)
			ports_[i].speed = ports_[i].gone = 0;
	}
	events().Kick();
	return Status::Ok();
}

bool Vusb::Disconnect()
{
	// Once every request taken was answered (grants released), the work
	// gone.
	auto stopped = [](BackendDevice *self) {
		auto *v = static_cast<Vusb *>(self);
		v->UnmapRings();
		v->dev_.Disconnected();
	};
	if (!BeginStop(stopped)) {
		UnmapRings();
		return true;
	}
	{
		MutexGuard g(lock_);
		connected_ = false;
	}
	// Every URB in flight is asked to end. Intake has stopped: what is
	// submitted from now on is ended by MapAndSubmit() itself.
	SpinGuard g(urb_lock_);
	for (Request &r : slots_)
		if (r.urb)
			ub_urb_unlink(r.urb);
	return false;
}

void Vusb::Pass(BackendDevice *self)
{
	auto *v = static_cast<Vusb *>(self);
	unsigned n = 0;

	v->FinishCompleted();
	if (v->stopping())
		return;
	v->BeginPass();
	v->SendPortEvents();
	Outcome o = v->urb_.Consume(
		kUrbRingSize, [v](const usbif::UrbRequest &q) { return v->Handle(q); }, &n);
	if (o == Outcome::kBroken)
		xb::RingBroken(v->dev_, "urb");
	v->EndPass(o, n);
}

// One conn response per port event the guest has not heard yet, as long as
// it left us credits (conn requests); a credit with nothing to say is kept.
// A device that replaced another is announced after the port was seen
// empty: the guest re-enumerates only then.
void Vusb::SendPortEvents()
{
	unsigned n;
	auto next = [&](const usbif::ConnRequest &credit) {
		lock_.AssertHeld(); // taken around Consume(), below
		for (uint8_t i = 1; i <= num_ports_; i++) {
			Port &p = ports_[i];
			p.gone = p.gone && p.speed;
			uint8_t speed = p.dev && !p.gone ? (uint8_t)ub_speed(p.dev) : 0;
			if (speed == p.speed)
				continue;
			p.speed = speed;
			p.gone = false;
			Respond(conn_, {credit.id, i, speed});
			stats_[kPortEvents].Add();
			return true;
		}
		return false;
	};
	Outcome o = Outcome::kIdle;
	{
		MutexGuard g(lock_);
		if (connected_)
			o = conn_.Consume(2 * usbif::kMaxPorts, next, &n);
	}
	if (o == Outcome::kBroken)
		xb::RingBroken(dev_, "conn"); // writes xenstore: no lock held
}

Vusb *Vusb::Find(const char *busid, unsigned *port)
{
	SpinGuard b(R().busids);
	for (Vusb *v = R().head; v; v = v->next_)
		for (*port = 1; *port <= v->num_ports_; ++*port)
			if (!__builtin_strcmp(v->ports_[*port].busid, busid))
				return v;
	return nullptr;
}

// Under the registry lock, which every writer of ports_[].dev holds.
int Vusb::AttachPort(unsigned port, ub_dev *d)
{
	unsigned speed = ub_speed(d);
	Port &p = ports_[port];

	if (p.dev)
		return p.dev == d ? 0 : -err::kBusy;
	if (speed == 0 || (speed == usbif::kSpeedHigh && usb_ver_ < 2)) {
		xi_log(XI_LOG_WARN, "%s: port %u: the device's speed cannot be passed on",
		       dev_.nodename(), port);
		return -err::kNoDev;
	}
	// The guest starts from a known state, as qusb's do: before it can
	// hear of the device.
	if (int rc = ub_reset(d)) {
		xi_log(XI_LOG_WARN, "%s: port %u: reset failed (%d)", dev_.nodename(), port, rc);
		return rc;
	}
	ub_dev_get(d);
	MutexGuard g(lock_);
	{
		SpinGuard u(urb_lock_);
		p.dev = d;
	}
	if (connected_)
		events().Kick();
	xi_log(XI_LOG_INFO, "%s: port %u: device attached", dev_.nodename(), port);
	return 0;
}

// Under the registry lock: d off its port; its URBs pinned for killing.
// Returns the port, 0 if d is on none of ours.
unsigned Vusb::ReleasePort(ub_dev *d, bool unplugged, ub_pin **pins, unsigned *npins)
{
	unsigned port = 0;
	{
		MutexGuard g(lock_);
		for (unsigned i = 1; i <= num_ports_ && !port; i++)
			if (ports_[i].dev == d)
				port = i;
		if (!port)
			return 0;
		ports_[port].gone = true;
		ports_[port].addr = 0;
		SpinGuard u(urb_lock_);
		ports_[port].dev = nullptr;
		for (Request &r : slots_)
			if (r.urb && r.port == port)
				pins[(*npins)++] = ub_urb_pin(r.urb);
		if (connected_)
			events().Kick();
	}
	if (unplugged) {
		// The device is gone for good: so is the toolstack's assignment.
		char key[16];
		xi_snprintf(key, sizeof(key), "port/%u", port);
		(void)dev_.Write(key, "%s", "");
		SpinGuard b(R().busids);
		ports_[port].busid[0] = 0;
	}
	xi_log(XI_LOG_INFO, "%s: port %u: device %s", dev_.nodename(), port,
	       unplugged ? "unplugged" : "released");
	return port;
}

} // namespace usbback

using namespace usbback;

extern "C" void ub_init(void)
{
	new (g_registry) Registry();
}

extern "C" bool ub_assigned(const char *busid)
{
	unsigned port;
	return Vusb::Find(busid, &port);
}

extern "C" int ub_attach(const char *busid, struct ub_dev *d, bool asked)
{
	MutexGuard g(R().lock);
	unsigned port;
	Vusb *v = Vusb::Find(busid, &port);

	if (!v && asked) {
		// The toolstack binds right after it writes port/<n>: the
		// watch may not have run yet.
		ub_probes_read++;
		for (v = R().head; v; v = v->next_)
			v->ReadPorts();
		v = Vusb::Find(busid, &port);
	}
	return v ? v->AttachPort(port, d) : -err::kNoDev;
}

// The device leaves usbback: no URB is submitted for it from now on, and
// those in flight are killed once every lock is dropped.
extern "C" void ub_detach(struct ub_dev *d, bool unplugged)
{
	ub_pin *pins[kUrbRingSize];
	unsigned npins = 0, port = 0;
	{
		MutexGuard g(R().lock);
		for (Vusb *v = R().head; v && !port; v = v->next_)
			port = v->ReleasePort(d, unplugged, pins, &npins);
	}
	// The work answers the guest for each.
	for (unsigned k = 0; k < npins; k++)
		ub_pin_kill(pins[k]);
	if (port)
		ub_dev_put(d);
}
