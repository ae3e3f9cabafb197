// SPDX-License-Identifier: GPL-2.0-only
//
// GrantCopy: bytes between a local buffer and a frontend's buffer elements,
// by grant copy (no mapping). The local buffer may be anything the backend
// allocated (it may cross pages; each copy op names one local page).
//
//   XI_TRY(GrantCopy(SgRbr{dom, elems}, buf, n, /*to_remote=*/false));
#ifndef XENIDC_GRANT_COPY_H
#define XENIDC_GRANT_COPY_H

#include <xenidc/rbr.h>
#include <xenidc/status.h>

namespace xenidc {

// Copies `bytes` of the elements (taken in order as one byte stream) from
// byte `offset` on, from or to `local` at the same offset: local mirrors
// the remote layout. -EFAULT if any grant was refused (the frontend's
// fault).
Status GrantCopy(const SgRbr &remote, void *local, size_t bytes, bool to_remote, size_t offset = 0)
	XI_EXPORT(xi_grant_copy_sg);

} // namespace xenidc

#endif // XENIDC_GRANT_COPY_H
