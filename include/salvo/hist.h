/* SPDX-License-Identifier: MIT */
/*
 * An HDR-style latency histogram: log-linear buckets, 2048 per power of two
 * (3 significant digits: a value is reported high by less than 1/2048 of
 * itself), fixed memory (~480 KiB, allocated in create), values in
 * ns from 0 to SALVO_HIST_MAX (larger values are clamped and counted in
 * 'clamped').  Mergeable: workers record into their own, the report merges.
 * Not thread-safe: one writer per histogram.  record() is O(1), branch-free
 * but for a conditional move, and never allocates.
 */
#ifndef SALVO_HIST_H
#define SALVO_HIST_H

#include <stdint.h>

#define SALVO_HIST_SUB_BITS 11	/* 2048 sub-buckets: 3 significant digits */
#define SALVO_HIST_MAX_BITS 40	/* ~1100 s in ns */
#define SALVO_HIST_MAX ((1ULL << SALVO_HIST_MAX_BITS) - 1)

struct salvo_hist;

int salvo_hist_create(struct salvo_hist **out);
void salvo_hist_destroy(struct salvo_hist *h);
void salvo_hist_reset(struct salvo_hist *h);
/* v in ns; a negative time difference cast to u64 lands in 'clamped'. */
void salvo_hist_record(struct salvo_hist *h, uint64_t v);
/* dst += src */
void salvo_hist_merge(struct salvo_hist *dst, const struct salvo_hist *src);
uint64_t salvo_hist_count(const struct salvo_hist *h);
/* Samples above SALVO_HIST_MAX, recorded as SALVO_HIST_MAX. */
uint64_t salvo_hist_clamped(const struct salvo_hist *h);
/* Exact (clamped) extremes; 0 when empty.  The mean is of the clamped values. */
uint64_t salvo_hist_min(const struct salvo_hist *h);
uint64_t salvo_hist_max(const struct salvo_hist *h);
double salvo_hist_mean(const struct salvo_hist *h);
/*
 * Value at percentile p (0 < p <= 100): the smallest recorded value v (to
 * the histogram's precision: the upper edge of v's bucket, never above max)
 * such that at least p% of the samples are <= v, i.e. the sample of rank
 * ceil(p/100 * count).  p >= 100 gives max, p <= 0 gives min, 0 when empty.
 * Walks the buckets: for reports, not for the hot path.
 */
uint64_t salvo_hist_percentile(const struct salvo_hist *h, double p);

#endif
