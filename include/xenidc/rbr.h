// SPDX-License-Identifier: GPL-2.0-only
//
// Buffer references.
//
// Rbr (remote buffer reference): part of one page in the frontend's memory,
// named by the frontend's grant. SgRbr: an ordered list of them, e.g. the
// segments of a blkif request. The caller owns the storage.
//
// Lbr (local buffer reference): the same bytes as the backend sees them after
// RbrMapperPool::Map(): either a scatter-gather list of mapped pages (zero
// copy) or one contiguous staging buffer.
#ifndef XENIDC_RBR_H
#define XENIDC_RBR_H

#include <xenidc/ktl.h>
#include <xenidc/strong.h>

namespace xenidc {

struct Rbr {
	GrantRef gref;
	uint16_t offset = 0; // within the granted page
	uint16_t length = 0; // offset + length <= XI_PAGE_SIZE

	bool Valid() const { return length > 0 && offset + (uint32_t)length <= XI_PAGE_SIZE; }
};

// A scatter-gather remote buffer: one domain's grants, in order.
struct SgRbr {
	DomId dom;
	ktl::Span<const Rbr> elems;

	size_t Bytes() const
	{
		size_t n = 0;
		for (const Rbr &r : elems)
			n += r.length;
		return n;
	}
};

// Which way the data goes; decides read-only mapping and staging direction.
enum class Direction : uint8_t {
	kToDevice,   // the frontend's data is read (block write, USB OUT)
	kFromDevice, // the frontend's buffer is written (block read, USB IN)
};

struct SgElement {
	xi_page *page = nullptr;
	uint32_t offset = 0;
	uint32_t length = 0;
};

class Lbr {
public:
	constexpr Lbr() = default;
	static Lbr Sg(ktl::Span<const SgElement> sg) { return Lbr(sg, nullptr, 0); }
	static Lbr Contiguous(void *buf, size_t len)
	{
		return Lbr(ktl::Span<const SgElement>(), buf, len);
	}

	bool is_sg() const { return buffer_ == nullptr; }
	ktl::Span<const SgElement> sg() const { return sg_; }
	void *buffer() const { return buffer_; }
	size_t length() const { return length_; }

private:
	Lbr(ktl::Span<const SgElement> sg, void *buf, size_t len)
	    : sg_(sg), buffer_(buf), length_(len)
	{}

	ktl::Span<const SgElement> sg_;
	void *buffer_ = nullptr;
	size_t length_ = 0;
};

} // namespace xenidc

#endif // XENIDC_RBR_H
