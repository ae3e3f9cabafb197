/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkback2's tracepoints: one event per stage of a request's life, for
 * perf trace, trace-cmd or tracefs (events/blkback2/). Each names the
 * backend's xenstore node and ring, and the request's id as the frontend
 * wrote it, so one request can be followed through all of them.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM blkback2

#if !defined(BLKBACK2_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define BLKBACK2_TRACE_H

#include <linux/tracepoint.h>
#include <linux/version.h>

/* 6.10 dropped __assign_str()'s source argument: __string() names it. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define bb2_assign_str(field, src) __assign_str(field)
#else
#define bb2_assign_str(field, src) __assign_str(field, src)
#endif

DECLARE_EVENT_CLASS(bb2_request,
	TP_PROTO(const char *dev, unsigned int queue, u64 id, unsigned int op, u64 sector,
		 int val),
	TP_ARGS(dev, queue, id, op, sector, val),
	TP_STRUCT__entry(
		__string(dev, dev)
		__field(unsigned int, queue)
		__field(u64, id)
		__field(unsigned int, op)
		__field(u64, sector)
		__field(int, val)
	),
	TP_fast_assign(
		bb2_assign_str(dev, dev);
		__entry->queue = queue;
		__entry->id = id;
		__entry->op = op;
		__entry->sector = sector;
		__entry->val = val;
	),
	TP_printk("%s queue %u id %llu op %u sector %llu segments=%d",
		  __get_str(dev), __entry->queue, (unsigned long long)__entry->id, __entry->op,
		  (unsigned long long)__entry->sector, __entry->val)
);

/* val: segments as the class prints it, or what another stage knows. */
#define BB2_REQUEST_EVENT(name, what)						\
DEFINE_EVENT_PRINT(bb2_request, name,						\
	TP_PROTO(const char *dev, unsigned int queue, u64 id, unsigned int op,	\
		 u64 sector, int val),						\
	TP_ARGS(dev, queue, id, op, sector, val),				\
	TP_printk("%s queue %u id %llu op %u sector %llu " what "=%d",		\
		  __get_str(dev), __entry->queue,				\
		  (unsigned long long)__entry->id, __entry->op,			\
		  (unsigned long long)__entry->sector, __entry->val))

DEFINE_EVENT(bb2_request, bb2_received,
	TP_PROTO(const char *dev, unsigned int queue, u64 id, unsigned int op, u64 sector,
		 int val),
	TP_ARGS(dev, queue, id, op, sector, val));
DEFINE_EVENT(bb2_request, bb2_mapped,
	TP_PROTO(const char *dev, unsigned int queue, u64 id, unsigned int op, u64 sector,
		 int val),
	TP_ARGS(dev, queue, id, op, sector, val));
BB2_REQUEST_EVENT(bb2_submitted, "bios");
BB2_REQUEST_EVENT(bb2_completed, "error");
BB2_REQUEST_EVENT(bb2_answered, "status");

TRACE_EVENT(bb2_rejected,
	TP_PROTO(const char *dev, unsigned int queue, u64 id, unsigned int op, int status,
		 const char *why),
	TP_ARGS(dev, queue, id, op, status, why),
	TP_STRUCT__entry(
		__string(dev, dev)
		__field(unsigned int, queue)
		__field(u64, id)
		__field(unsigned int, op)
		__field(int, status)
		__string(why, why)
	),
	TP_fast_assign(
		bb2_assign_str(dev, dev);
		__entry->queue = queue;
		__entry->id = id;
		__entry->op = op;
		__entry->status = status;
		bb2_assign_str(why, why);
	),
	TP_printk("%s queue %u id %llu op %u status=%d: %s", __get_str(dev), __entry->queue,
		  (unsigned long long)__entry->id, __entry->op, __entry->status, __get_str(why))
);

#endif /* BLKBACK2_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
