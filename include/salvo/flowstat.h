/* SPDX-License-Identifier: MIT */
/*
 * Per-flow receive accounting from stamps: loss, reordering, duplicates.
 * A flow is a (session, flow id) pair: every sending run draws its own
 * session, so two senders' flow 0 are two flows.
 *
 * Per flow it keeps the highest sequence seen and a 1024-sequence window
 * bitmap below it.  A sequence below the highest that is not yet marked is a
 * reordered (late) arrival; one already marked is a duplicate; one older
 * than the window is counted as reordered and cannot be checked for
 * duplication (documented in docs/stamp.md).  A late packet from before the
 * flow's first seen sequence is reordered too, and moves 'first' back (the
 * flow started earlier than we saw: expected grows by the distance).
 * Lost = (highest - first + 1) - unique received, so a late packet lowers
 * the loss count again.  Sequences compare with 64-bit wrap-around (signed
 * difference), so a flow may run through 2^64 -> 0.
 *
 * One writer per table (a worker); tables merge for the report.  Memory is
 * allocated once in create; update never allocates, is O(1) (a last-flow
 * cache, then a hash probe), and keeps the totals current so that reading
 * them after every burst is a copy.
 */
#ifndef SALVO_FLOWSTAT_H
#define SALVO_FLOWSTAT_H

#include <stdint.h>

#define SALVO_FLOW_WINDOW 1024

struct salvo_flowtab;

struct salvo_flow_totals {
	uint64_t flows;
	uint64_t received;    /* stamped packets seen, duplicates included */
	uint64_t unique;      /* received - duplicates */
	uint64_t expected;    /* sum over flows of highest - first + 1 */
	uint64_t lost;        /* expected - unique, never negative per flow */
	uint64_t reordered;
	uint64_t duplicates;
};

/* One sending run's flows summed (salvo_flowtab_sessions). */
struct salvo_session_totals {
	uint32_t session;
	uint64_t flows, received, unique, expected, lost, reordered, duplicates;
	uint64_t lat_sum, lat_n, lat_max;	/* latency samples: sum, count, largest (ns) */
};

/* Per-flow view, for reports and tests. */
struct salvo_flow_info {
	uint32_t session, flow;
	uint64_t first, highest;	/* lowest and highest sequence (wrap-aware) */
	uint64_t received, unique, expected, lost, reordered, duplicates;
};

/*
 * max_flows (1 .. 2^24) bounds memory: packets of further new flows are not
 * accounted but counted in 'overflow'.  -EINVAL, -ENOMEM.
 */
int salvo_flowtab_create(struct salvo_flowtab **out, uint32_t max_flows);
void salvo_flowtab_destroy(struct salvo_flowtab *t);
void salvo_flowtab_reset(struct salvo_flowtab *t);
/* Account one stamped packet of flow (session, flow). */
void salvo_flowtab_update(struct salvo_flowtab *t, uint32_t session, uint32_t flow, uint64_t seq);
/*
 * A latency sample (ns) of the packet just given to salvo_flowtab_update,
 * for the per-session mean and maximum; dropped when that packet's flow
 * had no room in the table.
 */
void salvo_flowtab_latency(struct salvo_flowtab *t, uint64_t ns);
/*
 * The receive path's one call per stamped packet: update, then (unless
 * lat_ns is SALVO_FLOW_NO_LATENCY) the latency sample, without a second
 * call and a second look-up of the flow.
 */
#define SALVO_FLOW_NO_LATENCY UINT64_MAX
void salvo_flowtab_record(struct salvo_flowtab *t, uint32_t session, uint32_t flow, uint64_t seq,
			  uint64_t lat_ns);
void salvo_flowtab_totals(const struct salvo_flowtab *t, struct salvo_flow_totals *out);
uint64_t salvo_flowtab_overflow(const struct salvo_flowtab *t);
/* Flows in the table; the i-th (0-based, first-seen order); -ENOENT past the end. */
uint32_t salvo_flowtab_count(const struct salvo_flowtab *t);
int salvo_flowtab_flow(const struct salvo_flowtab *t, uint32_t i, struct salvo_flow_info *out);
/* The flow (session, flow), or -ENOENT. */
int salvo_flowtab_find(const struct salvo_flowtab *t, uint32_t session, uint32_t flow,
		       struct salvo_flow_info *out);
/*
 * The flows summed per session, in first-seen order: fills out[0 .. max)
 * and returns the number of distinct sessions, which may exceed max (the
 * rest are in the totals only); -ENOMEM.  Not for the hot path.
 */
int salvo_flowtab_sessions(const struct salvo_flowtab *t, struct salvo_session_totals *out,
			   uint32_t max);
/*
 * dst += src, flow by flow.  A flow present in both (it was split across
 * workers) merges its windows exactly where they overlap: first is the
 * earlier, highest the later, counts add up, and a sequence marked in both
 * windows counts once more as a duplicate (one fewer unique).  Below the
 * overlap both receptions count as unique, so loss can read low (never
 * negative); reordering is the sum of each table's.  Flows that do not fit
 * in dst add their received packets to dst's overflow, as does src's
 * overflow.  Returns 0, or -EINVAL for dst == src.  Not for the hot path.
 */
int salvo_flowtab_merge(struct salvo_flowtab *dst, const struct salvo_flowtab *src);

#endif
