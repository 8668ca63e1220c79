/* SPDX-License-Identifier: MIT */
/*
 * `salvo merge` (apps/merge.c): fold the JSON and NDJSON records of many
 * salvo processes into one report.  Summaries give the totals, the per-host
 * and per-label breakdown; interval records give a timeline on absolute
 * time.  Counters are summed and latency histograms added bucket by
 * bucket, so merged percentiles are those of all samples together (to the
 * histogram's precision), never an average of percentiles.  Decoding
 * validates every field into plain structs: cli/ prints them.
 */
#ifndef SALVO_APPS_MERGE_H
#define SALVO_APPS_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct salvo_hist;

/* Input bounds: beyond them a file is refused, not half read. */
#define SALVO_MERGE_MAX_GROUPS 1024	/* distinct hosts plus distinct labels */
#define SALVO_MERGE_MAX_RECORDS 1000000

/* A histogram as records carry it: the non-empty buckets, by index. */
struct salvo_merge_bucket {
	uint32_t index;
	uint64_t count;
};

struct salvo_merge_hist {
	struct salvo_merge_bucket *v;	/* ascending index */
	size_t n, cap;
	uint64_t count, min, max, clamped;
	double sum;			/* of the samples (mean * count per record) */
};

/* What records of one kind add up to. */
struct salvo_merge_sum {
	uint64_t records;
	bool has_tx, has_rx;
	uint64_t tx_packets, tx_bytes, tx_errors;
	uint64_t rx_packets, rx_bytes, lost, reordered, duplicates, unstamped;
	uint64_t start_unix_ns, end_unix_ns;	/* earliest start, latest end; 0: none */
	struct salvo_merge_hist lat;
	/* Records with latency but without its histogram (an older salvo): not in lat. */
	uint64_t lat_without_hist;
	uint64_t unsynced;		/* records whose host clock was not synchronised */
};

struct salvo_merge_group {
	bool label;			/* false: a host; true: a label */
	char *key, *value;		/* host: key "host", value its name */
	struct salvo_merge_sum s;
};

struct salvo_merge_bin {
	uint64_t start_unix_ns;		/* t0 + index * bin_ns */
	struct salvo_merge_sum s;
};

struct salvo_merge;

/* bin_ns: the timeline's step, 0 to take the longest interval record's (to the ms). */
int salvo_merge_create(struct salvo_merge **out, uint64_t bin_ns);
void salvo_merge_destroy(struct salvo_merge *m);
/*
 * Add one input: a JSON document (a command's --json, a profile's), or
 * NDJSON (--json-stream), in text[0..len).  0, or -EINVAL (bad input) /
 * -E2BIG (beyond the bounds) / -EOVERFLOW (a counter would wrap) /
 * -ENOMEM with "line N: why" in err.  After an error part of the input
 * may be folded in: m is then only fit for salvo_merge_destroy().
 */
int salvo_merge_add(struct salvo_merge *m, const char *text, size_t len, char *err, size_t errlen);
/* After the last input: build the timeline.  0 or -ENOMEM. */
int salvo_merge_finish(struct salvo_merge *m);

const struct salvo_merge_sum *salvo_merge_total(const struct salvo_merge *m);
unsigned int salvo_merge_groups(const struct salvo_merge *m, const struct salvo_merge_group **v);
size_t salvo_merge_bins(const struct salvo_merge *m, const struct salvo_merge_bin **v, uint64_t *bin_ns);
/* Distinct hosts among the summaries. */
unsigned int salvo_merge_hosts(const struct salvo_merge *m);
/*
 * One-way latency compares two hosts' clocks: valid when every record
 * came from one host (one clock), or every host said synchronised.
 */
bool salvo_merge_latency_valid(const struct salvo_merge *m);
/*
 * The sparse histogram as a full one (reset first), for percentiles with
 * salvo_hist_percentile().  0, or -EINVAL when it cannot be one.
 */
int salvo_merge_hist_build(const struct salvo_merge_hist *s, struct salvo_hist *dst);

#endif
