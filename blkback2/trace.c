// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkback2's tracepoints (trace.h), created here and called from the C++
 * I/O path through bb2_trace(): a disabled tracepoint costs that call.
 */
#include "backing.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

void bb2_trace(enum bb2_stage stage, const char *dev, unsigned int queue, u64 id,
	       unsigned int op, u64 sector, int val)
{
	switch (stage) {
	case BB2_RECEIVED:
		trace_bb2_received(dev, queue, id, op, sector, val);
		break;
	case BB2_MAPPED:
		trace_bb2_mapped(dev, queue, id, op, sector, val);
		break;
	case BB2_SUBMITTED:
		trace_bb2_submitted(dev, queue, id, op, sector, val);
		break;
	case BB2_COMPLETED:
		trace_bb2_completed(dev, queue, id, op, sector, val);
		break;
	case BB2_ANSWERED:
		trace_bb2_answered(dev, queue, id, op, sector, val);
		break;
	}
}

void bb2_trace_rejected(const char *dev, unsigned int queue, u64 id, unsigned int op,
			int status, const char *why)
{
	trace_bb2_rejected(dev, queue, id, op, status, why);
}
