// SPDX-License-Identifier: GPL-2.0-only
//
// RequestStore: a ring's request slots and indirect arrays, made as they are
// needed and charged to the guest's budget. See io.h.
#include "io.h"

namespace blkback2 {

namespace {

constexpr size_t AlignUp(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

} // namespace

Status RequestStore::Init(Ring *ring, uint32_t entries, uint32_t max_segs, xi_budget *budget)
{
	ring_ = ring;
	budget_ = budget;
	entries_ = ktl::Min(entries, kMaxChunks * kSlotChunk);
	max_segs_ = max_segs;
	return Status::Ok();
}

void RequestStore::Release()
{
	while (nchunks_) {
		xi_free(chunks_[--nchunks_]);
		Uncharge(kSlotChunk * sizeof(Request));
	}
	Trim();
	XI_WARN_ON(narrays_ != 0);
}

bool RequestStore::Charge(size_t bytes)
{
	uint64_t cap = (uint64_t)ktl::ReadOnce(bb2_limits.max_guest_mib) << 20;
	return !budget_ || xi_budget_charge(budget_, bytes, cap);
}

void RequestStore::Uncharge(size_t bytes)
{
	if (budget_)
		xi_budget_uncharge(budget_, bytes);
}

Request *RequestStore::MoreSlots()
{
	if (nchunks_ * kSlotChunk >= entries_ || !Charge(kSlotChunk * sizeof(Request)))
		return nullptr;
	auto *chunk = ktl::AllocArray<Request>(kSlotChunk);
	if (!chunk) {
		Uncharge(kSlotChunk * sizeof(Request));
		return nullptr;
	}
	chunks_[nchunks_++] = chunk;
	for (uint32_t i = 0; i < kSlotChunk; i++) {
		chunk[i].ring = ring_;
		chunk[i].next = i + 1 < kSlotChunk ? &chunk[i + 1] : nullptr;
	}
	return chunk;
}

// One allocation: the header, then each array, aligned.
size_t RequestStore::ArraysBytes() const
{
	size_t n = AlignUp(sizeof(IndirectArrays), 8);
	n += AlignUp(max_segs_ * sizeof(Rbr), 8);
	n += AlignUp(max_segs_ * sizeof(SgElement), 8);
	n += AlignUp(max_segs_ * sizeof(MappedElem), 8);
	return n + max_segs_ * sizeof(blkif::Segment);
}

bool RequestStore::Arrange(Request *q, bool indirect)
{
	IndirectArrays *a = nullptr;

	if (indirect && !(a = free_arrays_)) {
		size_t bytes = ArraysBytes();
		if (!Charge(bytes))
			return false;
		auto *mem = static_cast<uint8_t *>(xi_zalloc(bytes));
		if (!mem) {
			Uncharge(bytes);
			return false;
		}
		a = reinterpret_cast<IndirectArrays *>(mem);
		size_t at = AlignUp(sizeof(IndirectArrays), 8);
		a->seg = reinterpret_cast<Rbr *>(mem + at);
		at += AlignUp(max_segs_ * sizeof(Rbr), 8);
		a->sg = reinterpret_cast<SgElement *>(mem + at);
		at += AlignUp(max_segs_ * sizeof(SgElement), 8);
		a->elems = reinterpret_cast<MappedElem *>(mem + at);
		at += AlignUp(max_segs_ * sizeof(MappedElem), 8);
		a->desc = reinterpret_cast<blkif::Segment *>(mem + at);
		narrays_++;
	} else if (indirect) {
		free_arrays_ = a->next;
	}
	q->arrays = a;
	q->seg = a ? a->seg : q->seg_in;
	q->desc = a ? a->desc : nullptr;
	uint32_t n = a ? max_segs_ : blkif::kMaxSegments;
	q->mapping.Init(ktl::Span<SgElement>(a ? a->sg : q->sg_in, n),
			ktl::Span<MappedElem>(a ? a->elems : q->elems_in, n));
	return true;
}

void RequestStore::Return(Request *q)
{
	if (IndirectArrays *a = q->arrays) {
		a->next = free_arrays_;
		free_arrays_ = a;
		q->arrays = nullptr;
	}
}

void RequestStore::Trim()
{
	while (free_arrays_) {
		IndirectArrays *a = free_arrays_;
		free_arrays_ = a->next;
		xi_free(a);
		Uncharge(ArraysBytes());
		narrays_--;
	}
}

} // namespace blkback2
