// SPDX-License-Identifier: GPL-2.0-only
//
// A simulated xenstore and xenbus backend device: the host implementation of
// include/xenidc/xenbus_io.h, for xenbus_lite and driver tests.
#ifndef XENIDC_TESTS_XENSTORE_H
#define XENIDC_TESTS_XENSTORE_H

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <xenidc/xenbus_io.h>

#include "sim.h"

namespace sim {

class Xenstore {
public:
	Xenstore();
	~Xenstore();
	static Xenstore &Get();

	void Write(const std::string &path, const std::string &v) { kv_[path] = v; }
	bool Read(const std::string &path, std::string *v) const;
	std::string Get(const std::string &path) const;
	bool Exists(const std::string &path) const { return kv_.count(path) != 0; }
	void Remove(const std::string &path); // and its children

	// The next n transaction ends fail with -EAGAIN (their writes dropped).
	void FailTxns(int n) { eagain_ = n; }
	int commits() const { return commits_; }

	// Used by the xenbus_io implementation.
	std::map<std::string, std::string> &kv() { return kv_; }
	int eagain_ = 0;
	int commits_ = 0;
	int reads_ = 0; // xi_xs_read calls
	std::map<uint32_t, std::vector<std::pair<std::string, std::string>>> txns_;
	uint32_t next_txn_ = 1;

private:
	std::map<std::string, std::string> kv_;
	Xenstore *prev_;
};

// A backend device as the xenbus core would create it. Cast to xi_xbdev.
struct XbDev {
	XenDev xendev;	      // first: xi_xs_xendev() returns it
	std::string nodename; // backend/<type>/<domid>/<devid>
	std::string otherend; // /local/domain/<domid>/device/<type>/<devid>
	int state = 1;
	bool unregistered = false;
	bool released = false;		// a deferred removal completed (xi_xs_released)
	std::vector<std::string> fatal; // messages given to xi_xs_fatal
	std::function<void()> on_unregister;

	XbDev(const std::string &type, xi_domid_t dom, unsigned devid);
	xi_xbdev *xb() { return reinterpret_cast<xi_xbdev *>(this); }
	std::string Back(const std::string &key) const { return nodename + "/" + key; }
	std::string Front(const std::string &key) const { return otherend + "/" + key; }
};

} // namespace sim

#endif
