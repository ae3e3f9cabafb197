// SPDX-License-Identifier: GPL-2.0-only
//
// usbback's controller: ports, the conn ring, and the lifecycle. The urb
// request path is in urb.cpp.
#include "vusb.h"

namespace usbback {

namespace {
// Controllers, for matching a host device's bus id to a port: the list is
// changed under ub_registry_lock() and ub_busid_lock(), read under either.
Vusb *g_vusbs = nullptr;

struct RegistryGuard {
	RegistryGuard() { ub_registry_lock(); }
	~RegistryGuard() { ub_registry_unlock(); }
};
struct BusidGuard {
	BusidGuard() { ub_busid_lock(); }
	~BusidGuard() { ub_busid_unlock(); }
};

bool StrEq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}
} // namespace

Vusb::Vusb(xb::Device &dev) : dev_(dev)
{
	for (unsigned i = kUrbRingSize; i-- > 0;) {
		Request *r = &slots_[i];
		r->vusb = this;
		r->mapping.Init(ktl::Span<SgElement>(r->sg), ktl::Span<MappedElem>(r->elems));
		PutSlot(r);
	}
	RegistryGuard g;
	BusidGuard b;
	next_ = g_vusbs;
	g_vusbs = this;
}

// xenbus_lite disconnected it first: nothing runs.
Vusb::~Vusb()
{
	{
		RegistryGuard g;
		BusidGuard b;
		for (Vusb **p = &g_vusbs; *p; p = &(*p)->next_)
			if (*p == this) {
				*p = next_;
				break;
			}
	}
	for (unsigned i = 1; i <= num_ports_; i++)
		if (ports_[i].dev)
			ub_dev_put(ports_[i].dev);
	RbrMapperPool::Destroy(pool_);
}

Status Vusb::Configure(uint32_t num_ports, uint32_t usb_ver)
{
	RbrMapperPool::Config c;
	// Zero copy for bulk transfers (one frame per segment of every slot),
	// staging for the rest (one buffer per slot).
	c.frames = kUrbRingSize * usbif::kMaxSegments;
	c.max_elems = usbif::kMaxSegments;
	c.staging_buffers = kUrbRingSize;
	c.staging_bytes = kMaxTransfer;
	auto pool = RbrMapperPool::Create(c);
	if (!pool.ok())
		return pool.status();
	pool_ = pool.value();
	{
		MutexGuard g(lock_);
		num_ports_ = num_ports;
		usb_ver_ = usb_ver;
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
		BusidGuard b;
		ktl::MemCopy(ports_[i].busid, id, sizeof(id));
	}
}

Status Vusb::Connect(GrantRef urb_ring, GrantRef conn_ring, uint32_t evtchn)
{
	xi_xendev *x = dev_.xendev();

	XI_TRY(urb_.Map(x, ktl::Span<const GrantRef>(&urb_ring, 1)));
	Status s = conn_.Map(x, ktl::Span<const GrantRef>(&conn_ring, 1));
	if (s.ok())
		s = Start(x, evtchn, "usbback", &Vusb::Pass);
	if (!s.ok()) {
		urb_.Unmap();
		conn_.Unmap();
		return s;
	}
	{
		// Only now: a hotplug that sees connected_ kicks the work, which
		// must exist. Then tell the guest about every device on a port.
		MutexGuard g(lock_);
		connected_ = true;
		for (unsigned i = 1; i <= num_ports_; i++) {
			ports_[i].speed = 0;
			ports_[i].notify = ports_[i].dev != nullptr;
		}
	}
	events().Kick();
	return Status::Ok();
}

bool Vusb::Disconnect()
{
	if (!BeginStop(&Vusb::Stopped)) {
		urb_.Unmap();
		conn_.Unmap();
		return true;
	}
	{
		MutexGuard g(lock_);
		connected_ = false;
	}
	UnlinkAll();
	return false;
}

// Every request taken was answered (grants released), the work is gone.
void Vusb::Stopped(BackendDevice *self)
{
	auto *v = static_cast<Vusb *>(self);

	v->urb_.Unmap();
	v->conn_.Unmap();
	v->dev_.Disconnected();
}

// Asks the host to end every URB in flight. Intake has stopped: Submit()
// ends what it submits from now on itself.
void Vusb::UnlinkAll()
{
	SpinGuard g(urb_lock_);
	for (Request &r : slots_)
		if (r.urb && !r.done.Load() && r.lead == &r) // a batch's once
			ub_urb_unlink(r.urb);
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
	v->merge_ = __atomic_load_n(&ub_merge_bulk, __ATOMIC_RELAXED);
	v->zero_copy_ = __atomic_load_n(&ub_zero_copy, __ATOMIC_RELAXED);
	Outcome o = v->urb_.Consume(
		kUrbRingSize, [v](const usbif::UrbRequest &q) { return v->Handle(q); }, &n);
	v->SubmitBatch();
	if (o == Outcome::kBroken) {
		xi_log_ratelimited(XI_LOG_WARN, "%s: frontend produced a bogus ring index",
				   v->dev_.nodename());
		v->dev_.Fatal(Status::Error(err::kProto), "frontend ring index out of range");
	}
	v->EndPass(o, n);
}

// One conn response per port whose state the guest has not heard yet, as
// long as the guest left us credits (conn requests).
void Vusb::SendPortEvents()
{
	// Up to two per port: a device replaced by another is first unplugged.
	usbif::ConnResponse ev[2 * usbif::kMaxPorts];
	unsigned nev = 0;
	{
		MutexGuard g(lock_);
		if (!connected_)
			return;
		for (unsigned i = 1; i <= num_ports_; i++) {
			if (!ports_[i].notify)
				continue;
			uint8_t speed = ports_[i].dev ? (uint8_t)ub_speed(ports_[i].dev) : 0;
			ports_[i].notify = false;
			if (speed == ports_[i].speed)
				continue;
			// A different device may have replaced the old one: the
			// guest re-enumerates only after it saw the port empty.
			if (ports_[i].speed && speed)
				ev[nev++] = {0, (uint8_t)i, usbif::kSpeedNone};
			ev[nev++] = {0, (uint8_t)i, speed};
			ports_[i].speed = speed;
		}
	}
	unsigned sent = 0, n;
	Outcome o = conn_.Consume(
		nev,
		[&](const usbif::ConnRequest &credit) {
			if (sent == nev)
				return false; // keep the credit
			ev[sent].id = credit.id;
			if (conn_.Respond(ev[sent]))
				events().Notify();
			stats_[kPortEvents].Add();
			sent++;
			return true;
		},
		&n);
	if (o == Outcome::kBroken) {
		xi_log_ratelimited(XI_LOG_WARN, "%s: frontend produced a bogus conn ring index",
				   dev_.nodename());
		dev_.Fatal(Status::Error(err::kProto), "frontend conn ring index out of range");
		return;
	}
	if (sent < nev) {
		// No credit left: the guest gets these when it gives some back.
		MutexGuard g(lock_);
		for (unsigned k = sent; k < nev; k++) {
			ports_[ev[k].portnum].notify = true;
			ports_[ev[k].portnum].speed = 0;
		}
	}
}

bool Vusb::Assigned(const char *busid)
{
	BusidGuard b;
	for (Vusb *v = g_vusbs; v; v = v->next_)
		for (unsigned i = 1; i <= v->num_ports_; i++)
			if (StrEq(v->ports_[i].busid, busid))
				return true;
	return false;
}

// The port that has busid, 0 if none. Under the registry lock.
unsigned Vusb::FindPort(const char *busid)
{
	BusidGuard b;
	for (unsigned i = 1; i <= num_ports_; i++)
		if (StrEq(ports_[i].busid, busid))
			return i;
	return 0;
}

int Vusb::Attach(const char *busid, ub_dev *d, bool asked)
{
	RegistryGuard r;
	for (int look = 0; look < 2; look++) {
		for (Vusb *v = g_vusbs; v; v = v->next_)
			if (unsigned port = v->FindPort(busid))
				return v->AttachPort(port, d);
		if (!asked)
			break;
		// The toolstack binds right after it writes port/<n>: the
		// watch may not have run yet.
		for (Vusb *v = g_vusbs; v; v = v->next_)
			v->ReadPorts();
	}
	return -err::kNoDev;
}

int Vusb::AttachPort(unsigned port, ub_dev *d)
{
	unsigned speed = ub_speed(d);
	MutexGuard g(lock_);
	Port &p = ports_[port];

	if (p.dev)
		return p.dev == d ? 0 : -err::kBusy;
	if (speed == 0 || (speed == usbif::kSpeedHigh && usb_ver_ < 2)) {
		xi_log(XI_LOG_WARN, "%s: port %u: the device's speed cannot be passed on",
		       dev_.nodename(), port);
		return -err::kNoDev;
	}
	ub_dev_get(d);
	{
		SpinGuard u(urb_lock_);
		p.dev = d;
	}
	p.notify = true;
	if (connected_)
		events().Kick();
	xi_log(XI_LOG_INFO, "%s: port %u: device attached", dev_.nodename(), port);
	return 0;
}

// The device leaves usbback: no URB is submitted for it from now on, and
// those in flight are killed once every lock is dropped.
void Vusb::Detach(ub_dev *d, bool unplugged)
{
	ub_pin *pins[kUrbRingSize];
	unsigned npins = 0, port = 0;
	{
		RegistryGuard r;
		for (Vusb *v = g_vusbs; v && !port; v = v->next_)
			port = v->ReleasePort(d, unplugged, pins, &npins);
	}
	// The work answers the guest for each.
	for (unsigned k = 0; k < npins; k++)
		ub_pin_kill(pins[k]);
	if (port)
		ub_dev_put(d);
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
		for (uint8_t &a : addr_)
			if (a == port)
				a = 0;
		ports_[port].notify = true;
		SpinGuard u(urb_lock_);
		ports_[port].dev = nullptr;
		for (Request &r : slots_)
			if (r.urb && !r.done.Load() && r.port == port && r.lead == &r)
				pins[(*npins)++] = ub_urb_pin(r.urb);
		if (connected_)
			events().Kick();
	}
	if (unplugged) {
		// The device is gone for good: so is the toolstack's assignment.
		char key[16];
		xi_snprintf(key, sizeof(key), "port/%u", port);
		(void)dev_.Write(key, "%s", "");
		BusidGuard b;
		ports_[port].busid[0] = 0;
	}
	xi_log(XI_LOG_INFO, "%s: port %u: device %s", dev_.nodename(), port,
	       unplugged ? "unplugged" : "released");
	return port;
}

} // namespace usbback

extern "C" bool ub_assigned(const char *busid)
{
	return usbback::Vusb::Assigned(busid);
}

extern "C" int ub_attach(const char *busid, struct ub_dev *d, bool asked)
{
	return usbback::Vusb::Attach(busid, d, asked);
}

extern "C" void ub_detach(struct ub_dev *d, bool unplugged)
{
	usbback::Vusb::Detach(d, unplugged);
}
