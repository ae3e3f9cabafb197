// SPDX-License-Identifier: GPL-2.0-only
//
// The simulated block device; see fake_disk.h.
#include "fake_disk.h"

#include <cstring>

namespace sim {

namespace {
std::vector<FakeDisk *> g_disks;
} // namespace

bool FakeDisk::tracing;
std::vector<Trace> FakeDisk::traces;

FakeDisk::FakeDisk(uint32_t major, uint32_t minor, uint64_t sectors)
    : sectors(sectors), data(sectors * 512), major(major), minor(minor)
{
	g_disks.push_back(this);
}

FakeDisk::~FakeDisk()
{
	std::erase(g_disks, this);
}

FakeDisk *FakeDisk::Find(uint32_t major, uint32_t minor)
{
	for (FakeDisk *d : g_disks)
		if (d->major == major && d->minor == minor)
			return d;
	return nullptr;
}

void FakeDisk::Complete(size_t index)
{
	auto fn = std::move(held.at(index));
	held[index] = nullptr;
	if (!fn)
		Sim::Get().on_warning("a held bio completed twice");
	else
		fn();
}

void FakeDisk::Resize(uint64_t new_sectors)
{
	sectors = new_sectors;
	data.resize(new_sectors * 512);
}

} // namespace sim

using sim::FakeDisk;

struct bb2_backing {
	FakeDisk *disk;
};

extern "C" {

int bb2_backing_open(uint32_t major, uint32_t minor, bool readonly, struct bb2_backing **out)
{
	FakeDisk *d = FakeDisk::Find(major, minor);
	if (!d)
		return -6; // -ENXIO
	if (d->open)
		sim::Sim::Get().on_warning("fake disk opened twice");
	d->open = true;
	d->opens++;
	d->opened_readonly = readonly;
	*out = new bb2_backing{d};
	return 0;
}

void bb2_backing_close(struct bb2_backing *b)
{
	b->disk->open = false;
	delete b;
}

void bb2_backing_info(struct bb2_backing *b, struct bb2_info *info)
{
	*info = b->disk->info;
	info->readonly |= b->disk->opened_readonly;
}

uint64_t bb2_backing_sectors(struct bb2_backing *b)
{
	return b->disk->sectors;
}

void bb2_submit(struct bb2_backing *b, enum bb2_op op, unsigned int flags, uint64_t sector,
		uint64_t nr_sectors, const struct bb2_vec *v, unsigned int n, void *cookie)
{
	FakeDisk *d = b->disk;
	std::vector<bb2_vec> vecs(v, v + n);
	uint64_t bytes = 0;
	for (auto &x : vecs)
		bytes += x.len;
	if (op == BB2_DISCARD || op == BB2_SECURE_ERASE)
		bytes = nr_sectors * 512;
	sim::Bio bio{op, flags, sector, bytes, n};
	size_t index = d->bios.size();
	d->bios.push_back(bio);
	if (n > d->max_vecs)
		sim::Sim::Get().on_warning("bio with more vecs than the device allows");

	auto complete = [d, bio, vecs, index, cookie]() {
		int err = d->inject ? d->inject(bio, index) : 0;
		if (!err && bio.sector * 512 + bio.bytes > d->data.size())
			err = -5; // beyond the end: the block layer says EIO
		if (!err) {
			uint64_t pos = bio.sector * 512;
			if (bio.op == BB2_DISCARD || bio.op == BB2_SECURE_ERASE)
				memset(d->data.data() + pos, 0, bio.bytes);
			for (auto &x : vecs) {
				auto *p = static_cast<uint8_t *>(xi_page_address(x.page)) +
					  x.offset;
				if (bio.op == BB2_READ)
					memcpy(p, d->data.data() + pos, x.len);
				else
					memcpy(d->data.data() + pos, p, x.len);
				pos += x.len;
			}
		}
		bb2_io_done(cookie, err);
	};
	if (d->hold)
		d->held.push_back(complete);
	else if (d->complete_inline)
		complete();
	else
		sim::Sim::Get().Defer(complete);
}

unsigned int bb2_max_bio_vecs(struct bb2_backing *b)
{
	return b->disk->max_vecs;
}

void bb2_plugged(void (*fn)(void *arg), void *arg)
{
	fn(arg);
}

void bb2_trace(enum bb2_stage stage, const char *dev, unsigned int queue, uint64_t id,
	       unsigned int op, uint64_t sector, int val)
{
	if (sim::FakeDisk::tracing)
		sim::FakeDisk::traces.push_back({(int)stage, id, op, val, ""});
}

void bb2_trace_rejected(const char *dev, unsigned int queue, uint64_t id, unsigned int op,
			int status, const char *why)
{
	if (sim::FakeDisk::tracing)
		sim::FakeDisk::traces.push_back({sim::Trace::kRejected, id, op, status, why});
}

} // extern "C"
