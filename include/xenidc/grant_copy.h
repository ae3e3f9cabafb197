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

// Copies the first `bytes` of the elements (in order) from or to `local`.
// -EFAULT if any grant was refused (the frontend's fault).
Status GrantCopy(const SgRbr &remote, void *local, size_t bytes, bool to_remote)
	XI_EXPORT(xi_grant_copy_sg);

} // namespace xenidc

#endif // XENIDC_GRANT_COPY_H
