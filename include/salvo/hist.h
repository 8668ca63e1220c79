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

#include <stddef.h>
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

/*
 * The buckets themselves, so that a report can carry the histogram (the
 * "hist" object of docs/json.md) and `salvo merge` can add histograms of
 * several processes exactly.  Bucket i holds the values
 * salvo_hist_bucket_lo(i)..salvo_hist_bucket_hi(i); indices run from 0 to
 * salvo_hist_nbuckets() - 1 and depend only on SALVO_HIST_SUB_BITS and
 * SALVO_HIST_MAX_BITS.  For reports, not for the record path.
 */
size_t salvo_hist_nbuckets(void);
uint64_t salvo_hist_bucket_lo(size_t i);
uint64_t salvo_hist_bucket_hi(size_t i);
/*
 * The first non-empty bucket at or after *i: returns its count with its
 * index in *i, or 0 (and *i == nbuckets) when there is none.
 */
uint64_t salvo_hist_bucket_next(const struct salvo_hist *h, size_t *i);
/*
 * Decoding: add n samples to bucket i, as if recorded at the bucket's low
 * edge (min, max and the sum follow the edges until salvo_hist_set_exact).
 * -ERANGE for an index out of range, -EOVERFLOW if the count would wrap.
 */
int salvo_hist_bucket_add(struct salvo_hist *h, size_t i, uint64_t n);
/*
 * Decoding, after the buckets: the exact min, max, mean and clamped count
 * the encoder had.  -EINVAL, and h unchanged, when they cannot belong to
 * these buckets (min not in the first non-empty bucket, max not in the
 * last, a mean that is no number or beyond the range, more clamped than
 * samples at the top).  A mean a rounding outside [min, max] is pulled in.
 */
int salvo_hist_set_exact(struct salvo_hist *h, uint64_t min, uint64_t max, double mean,
			 uint64_t clamped);

#endif
