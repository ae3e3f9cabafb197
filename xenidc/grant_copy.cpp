// SPDX-License-Identifier: GPL-2.0-only
//
// GrantCopy: see include/xenidc/grant_copy.h.
#include <xenidc/grant_copy.h>

namespace xenidc {

namespace {
constexpr uint32_t kBatch = 16; // copy ops per hypercall; 384 bytes of stack

Status Flush(xi_copy_op *ops, uint32_t n)
{
	if (!n)
		return Status::Ok();
	if (xi_grant_copy(ops, n) != 0)
		return Status::Error(err::kFault);
	for (uint32_t i = 0; i < n; i++)
		if (ops[i].status != XI_GNTST_OKAY)
			return Status::Error(err::kFault);
	return Status::Ok();
}
} // namespace

Status GrantCopy(const SgRbr &remote, void *local, size_t bytes, bool to_remote, size_t offset)
{
	xi_copy_op ops[kBatch];
	uint32_t n = 0;
	size_t pos = 0, end = offset + bytes; // in the elements' byte stream

	for (size_t i = 0; i < remote.elems.size() && pos < end; pos += remote.elems[i++].length) {
		const Rbr &r = remote.elems[i];
		if (!r.Valid())
			return Status::Error(err::kInval);
		size_t hi = ktl::Min(pos + r.length, end);
		for (size_t at = ktl::Max(pos, offset); at < hi;) {
			auto *p = static_cast<uint8_t *>(local) + at;
			size_t room = XI_PAGE_SIZE - ((uintptr_t)p & (XI_PAGE_SIZE - 1));
			size_t chunk = ktl::Min(hi - at, room);
			xi_copy_op &op = ops[n++];
			op = {remote.dom.value(), (uint8_t)to_remote, 1, r.gref.value(), 0, 0, p};
			op.offset = (uint16_t)(r.offset + at - pos);
			op.len = (uint16_t)chunk;
			if (n == kBatch) {
				XI_TRY(Flush(ops, n));
				n = 0;
			}
			at += chunk;
		}
	}
	return Flush(ops, n);
}

} // namespace xenidc
