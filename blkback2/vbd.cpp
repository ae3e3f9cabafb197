// SPDX-License-Identifier: GPL-2.0-only
//
// Vbd: one virtual block device, its backing device and its rings.
#include "io.h"

namespace blkback2 {

Status Vbd::Configure(uint32_t major, uint32_t minor, bool readonly, bool discard_enabled)
{
	budget_ = xi_budget_get(dev_.otherend().value());
	if (!budget_)
		return Status::Error(err::kNoMem);
	int rc = bb2_backing_open(major, minor, readonly, &backing_);
	if (rc) {
		xi_log(XI_LOG_ERR, "%s: cannot open %u:%u (%d)", dev_.nodename(), major, minor, rc);
		return Status::Error(rc);
	}
	bb2_backing_info(backing_, &info_);
	discard_enabled_ = discard_enabled;
	sectors_.Store(bb2_backing_sectors(backing_));
	xi_log(XI_LOG_INFO, "%s: backed by %u:%u%s, %llu sectors", dev_.nodename(), major, minor,
	       readonly ? " (read-only)" : "", (unsigned long long)sectors_.Load());
	return Status::Ok();
}

// On error, the rings made so far stay: xenbus_lite's disconnect stops them.
Status Vbd::Connect(ktl::Span<Ring::Config> rings, bool persistent, bool cdrom)
{
	info_.cdrom |= cdrom;
	offered_persistent_ = ktl::ReadOnce(bb2_limits.persistent);
	unsigned index = 0;
	for (Ring::Config &c : rings) {
		c.persistent = persistent && offered_persistent_;
		auto r = Ring::Create(this, index++, c);
		if (!r.ok())
			return r.status();
		SpinGuard g(rings_lock_);
		rings_[nrings_++] = r.value();
	}
	connected_.Store(true);
	return Status::Ok();
}

bool Vbd::Disconnect()
{
	Ring *rings[xb::kMaxQueues];
	uint32_t n;

	connected_.Store(false);
	{
		SpinGuard g(rings_lock_);
		n = nrings_;
		ktl::MemCopy(rings, rings_, n * sizeof(Ring *));
		nrings_ = 0;
	}
	// One count per ring still stopping, plus this function's until every
	// ring was told: a ring gone meanwhile cannot end the disconnect early.
	stopping_rings_.Store(n + 1);
	while (n)
		if (!Ring::BeginDestroy(rings[--n]))
			stopping_rings_.FetchSub(1);
	return stopping_rings_.FetchSub(1) == 1;
}

void Vbd::Reclaim()
{
	SpinGuard g(rings_lock_);
	for (uint32_t i = 0; i < nrings_; i++)
		rings_[i]->Squeeze();
}

void Vbd::RingGone()
{
	if (stopping_rings_.FetchSub(1) == 1)
		dev_.Disconnected();
}

Status Vbd::Publish(xb::Writer &w)
{
	uint32_t info = (info_.cdrom ? blkif::kInfoCdrom : 0) |
			(info_.removable ? blkif::kInfoRemovable : 0) |
			(info_.readonly ? blkif::kInfoReadOnly : 0);

	// Optional features: a frontend copes without them.
	(void)w.Printf("feature-flush-cache", "%d", info_.write_cache);
	(void)w.Printf("feature-barrier", "%d", info_.write_cache);
	if (discard_enabled_ && info_.discard && !info_.readonly) {
		(void)w.Printf("discard-granularity", "%u", info_.discard_granularity);
		(void)w.Printf("discard-alignment", "%u", info_.discard_alignment);
		(void)w.Printf("discard-secure", "%d", info_.secure_erase);
		(void)w.Printf("feature-discard", "1");
	} else if (discard_enabled_) {
		(void)w.Printf("feature-discard", "0");
	}
	XI_TRY(w.Printf("feature-persistent", "%u", offered_persistent_));
	XI_TRY(w.Printf("sectors", "%llu", (unsigned long long)bb2_backing_sectors(backing_)));
	XI_TRY(w.Printf("info", "%u", info));
	XI_TRY(w.Printf("sector-size", "%u", info_.logical_block_size));
	(void)w.Printf("physical-sector-size", "%u", info_.physical_block_size);
	return Status::Ok();
}

Vbd::~Vbd()
{
	{
		SpinGuard g(rings_lock_);
		XI_WARN_ON(nrings_ != 0); // xenbus_lite disconnects first
	}
	if (backing_)
		bb2_backing_close(backing_);
	if (budget_)
		xi_budget_put(budget_);
}

// The rings look at each pass, so a resize is seen once the frontend does
// I/O (as with xen-blkback), and an idle vbd costs no timer.
void Vbd::CheckSize()
{
	uint64_t now = bb2_backing_sectors(backing_);
	uint64_t told = sectors_.Load();

	if (now != told && sectors_.CompareExchange(told, now))
		Resized(now);
}

// Tell a connected frontend: it re-reads "sectors" when it sees "state"
// rewritten in the same transaction.
void Vbd::Resized(uint64_t sectors)
{
	xi_log(XI_LOG_INFO, "%s: backing device resized to %llu sectors", dev_.nodename(),
	       (unsigned long long)sectors);
	if (!connected_.Load())
		return;
	Status s = dev_.Announce([&](xb::Writer &w) {
		return w.Printf("sectors", "%llu", (unsigned long long)sectors);
	});
	if (!s.ok())
		xi_log(XI_LOG_WARN, "%s: cannot announce the new size (%d)", dev_.nodename(),
		       s.code());
}

// xen-blkback's log_stats, per vbd: its counters so far, every 10 s while
// a ring is busy.
void Vbd::MaybeLogStats(uint64_t now_ns)
{
	constexpr uint64_t kEvery = 10ull * 1000000000;
	uint64_t due = next_log_ns_.Load();

	if (!ktl::ReadOnce(bb2_limits.log_stats) || now_ns < due ||
	    !next_log_ns_.CompareExchange(due, now_ns + kEvery))
		return;
	xi_log(XI_LOG_INFO,
	       "%s: oo %llu | rd %llu | wr %llu | f %llu | ds %llu | errors %llu | rejected %llu",
	       dev_.nodename(), (unsigned long long)stat(kOoReq), (unsigned long long)stat(kRdReq),
	       (unsigned long long)stat(kWrReq), (unsigned long long)stat(kFReq),
	       (unsigned long long)stat(kDsReq), (unsigned long long)stat(kErrors),
	       (unsigned long long)stat(kRejected));
}

void Vbd::RingBroken()
{
	xi_log_ratelimited(XI_LOG_WARN, "%s: frontend produced a bogus ring index, disconnecting",
			   dev_.nodename());
	dev_.Fatal(Status::Error(err::kProto), "frontend ring index out of range");
}

void Vbd::Withdraw(const char *feature)
{
	xi_log_ratelimited(XI_LOG_WARN, "%s: the backing device does not support %s",
			   dev_.nodename(), feature);
	(void)dev_.Write(feature, "0");
}

} // namespace blkback2
