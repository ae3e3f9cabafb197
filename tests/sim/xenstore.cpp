// SPDX-License-Identifier: GPL-2.0-only
//
// The simulated xenstore; see xenstore.h.
#include "xenstore.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sim {

namespace {
Xenstore *g_xs = nullptr;
}

Xenstore::Xenstore() : prev_(g_xs)
{
	g_xs = this;
}
Xenstore::~Xenstore()
{
	g_xs = prev_;
}

Xenstore &Xenstore::Get()
{
	if (!g_xs)
		abort();
	return *g_xs;
}

bool Xenstore::Read(const std::string &path, std::string *v) const
{
	auto it = kv_.find(path);
	if (it == kv_.end())
		return false;
	*v = it->second;
	return true;
}

std::string Xenstore::Get(const std::string &path) const
{
	std::string v;
	return Read(path, &v) ? v : std::string();
}

void Xenstore::Remove(const std::string &path)
{
	for (auto it = kv_.begin(); it != kv_.end();)
		if (it->first == path || it->first.rfind(path + "/", 0) == 0)
			it = kv_.erase(it);
		else
			++it;
}

XbDev::XbDev(const std::string &type, xi_domid_t dom, unsigned devid)
    : xendev{dom},
      nodename("backend/" + type + "/" + std::to_string(dom) + "/" + std::to_string(devid)),
      otherend("/local/domain/" + std::to_string(dom) + "/device/" + type + "/" +
	       std::to_string(devid))
{
	Xenstore &xs = Xenstore::Get();
	xs.Write(Back("frontend"), otherend);
	xs.Write(Back("frontend-id"), std::to_string(dom));
	xs.Write(Back("online"), "1");
	xs.Write(Back("state"), "1");
	xs.Write(Front("backend"), nodename);
	xs.Write(Front("state"), "1");
}

} // namespace sim

using sim::XbDev;
using sim::Xenstore;

static XbDev *D(xi_xbdev *d)
{
	return reinterpret_cast<XbDev *>(d);
}

extern "C" {

int xi_xs_read(struct xi_xbdev *dev, bool frontend, const char *key, char *buf, size_t len)
{
	std::string v;
	Xenstore::Get().reads_++;
	if (!Xenstore::Get().Read((frontend ? D(dev)->otherend : D(dev)->nodename) + "/" + key, &v))
		return -2; // -ENOENT
	if (v.size() >= len)
		return -7; // -E2BIG
	memcpy(buf, v.c_str(), v.size() + 1);
	return 0;
}

int xi_xs_write(struct xi_xbdev *dev, xi_xs_txn txn, const char *key, const char *value)
{
	Xenstore &xs = Xenstore::Get();
	std::string path = D(dev)->nodename + "/" + key;
	if (txn == XI_XS_NO_TXN)
		xs.Write(path, value);
	else if (xs.txns_.count(txn))
		xs.txns_[txn].push_back({path, value});
	else
		return -22;
	return 0;
}

int xi_xs_txn_start(xi_xs_txn *txn)
{
	Xenstore &xs = Xenstore::Get();
	*txn = xs.next_txn_++;
	xs.txns_[*txn];
	return 0;
}

int xi_xs_txn_end(xi_xs_txn txn, bool abort)
{
	Xenstore &xs = Xenstore::Get();
	auto it = xs.txns_.find(txn);
	if (it == xs.txns_.end())
		return -22;
	auto writes = std::move(it->second);
	xs.txns_.erase(it);
	if (abort)
		return 0;
	if (xs.eagain_ > 0) {
		xs.eagain_--;
		return -11; // -EAGAIN
	}
	for (auto &w : writes)
		xs.Write(w.first, w.second);
	xs.commits_++;
	return 0;
}

int xi_xs_switch_state(struct xi_xbdev *dev, int state)
{
	D(dev)->state = state;
	Xenstore::Get().Write(D(dev)->nodename + "/state", std::to_string(state));
	return 0;
}

void xi_xs_fatal(struct xi_xbdev *dev, int err, const char *msg)
{
	D(dev)->fatal.push_back(std::to_string(-err) + " " + msg);
	Xenstore::Get().Write("error/" + D(dev)->nodename + "/error",
			      std::to_string(-err) + " " + msg);
	xi_xs_switch_state(dev, 5);
}

bool xi_xs_online(struct xi_xbdev *dev)
{
	return Xenstore::Get().Get(D(dev)->nodename + "/online") == "1";
}

void xi_xs_unregister(struct xi_xbdev *dev)
{
	D(dev)->unregistered = true;
	if (D(dev)->on_unregister)
		D(dev)->on_unregister();
}

void xi_xs_released(struct xi_xbdev *dev)
{
	D(dev)->released = true;
}

int xi_xs_frontend_state(struct xi_xbdev *dev)
{
	std::string v;
	return Xenstore::Get().Read(D(dev)->Front("state"), &v) ? atoi(v.c_str()) : 0;
}

struct xi_xendev *xi_xs_xendev(struct xi_xbdev *dev)
{
	return reinterpret_cast<xi_xendev *>(&D(dev)->xendev);
}

xi_domid_t xi_xs_otherend_id(struct xi_xbdev *dev)
{
	return D(dev)->xendev.otherend;
}

const char *xi_xs_nodename(struct xi_xbdev *dev)
{
	return D(dev)->nodename.c_str();
}

} // extern "C"
