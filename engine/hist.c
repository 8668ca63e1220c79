// SPDX-License-Identifier: MIT
/*
 * Log-linear latency histogram (HdrHistogram's bucketing, simplified).
 *
 * With S = SALVO_HIST_SUB_BITS, values below 2^(S+1) get a bucket each
 * (exact).  Above, every power of two [2^k, 2^(k+1)) is cut into 2^S equal
 * sub-buckets of width 2^(k-S), so a bucket's width is at most 1/2^S of any
 * value in it: reporting the upper edge is off by less than 1/2048.
 *
 * Index of v: let m be the top bit of (v | 2^S), shift = m - S; then
 * index = shift * 2^S + (v >> shift).  For v < 2^(S+1) m == S, shift == 0
 * and index == v; above, (v >> shift) lies in [2^S, 2^(S+1)) so consecutive
 * octaves take consecutive runs of 2^S buckets.  No branch but the clamp,
 * which compiles to a cmov.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/hist.h>

#define SUB_COUNT (1ULL << SALVO_HIST_SUB_BITS)
/*
 * shift 0 takes indices [0, 2^(S+1)); each shift up to the top octave's
 * (MAX_BITS-1-S) adds 2^S more: (MAX_BITS - S + 1) * 2^S in all.
 */
#define NBUCKETS ((size_t)(SALVO_HIST_MAX_BITS - SALVO_HIST_SUB_BITS + 1) * SUB_COUNT)
_Static_assert(SALVO_HIST_MAX_BITS > SALVO_HIST_SUB_BITS + 1, "histogram range");

struct salvo_hist {
	uint64_t count;
	uint64_t min, max;
	uint64_t clamped;
	unsigned __int128 sum;	/* 2^40 ns values: a u64 sum could wrap */
	uint64_t buckets[NBUCKETS];
};

static inline size_t bucket_of(uint64_t v)
{
	unsigned int shift = 63 - __builtin_clzll(v | SUB_COUNT) - SALVO_HIST_SUB_BITS;

	return ((size_t)shift << SALVO_HIST_SUB_BITS) + (size_t)(v >> shift);
}

/* Highest value that lands in bucket i. */
static uint64_t bucket_hi(size_t i)
{
	unsigned int shift;

	if (i < 2 * SUB_COUNT)
		return i;
	shift = (unsigned int)(i >> SALVO_HIST_SUB_BITS) - 1;
	return ((uint64_t)(i - ((size_t)shift << SALVO_HIST_SUB_BITS)) << shift) +
	       ((1ULL << shift) - 1);
}

int salvo_hist_create(struct salvo_hist **out)
{
	struct salvo_hist *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->min = UINT64_MAX;
	*out = h;
	return 0;
}

void salvo_hist_destroy(struct salvo_hist *h)
{
	free(h);
}

void salvo_hist_reset(struct salvo_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void salvo_hist_record(struct salvo_hist *h, uint64_t v)
{
	uint64_t over = v > SALVO_HIST_MAX;

	v = over ? SALVO_HIST_MAX : v;
	h->clamped += over;
	h->count++;
	h->sum += v;
	h->min = v < h->min ? v : h->min;
	h->max = v > h->max ? v : h->max;
	h->buckets[bucket_of(v)]++;
}

void salvo_hist_merge(struct salvo_hist *dst, const struct salvo_hist *src)
{
	if (!src->count)
		return;
	for (size_t i = 0; i < NBUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum += src->sum;
	dst->clamped += src->clamped;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t salvo_hist_count(const struct salvo_hist *h)
{
	return h->count;
}

uint64_t salvo_hist_clamped(const struct salvo_hist *h)
{
	return h->clamped;
}

uint64_t salvo_hist_min(const struct salvo_hist *h)
{
	return h->count ? h->min : 0;
}

uint64_t salvo_hist_max(const struct salvo_hist *h)
{
	return h->max;
}

double salvo_hist_mean(const struct salvo_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

/*
 * The rank (1-based) of the sample at percentile p: ceil(p/100 * count).
 * p/100*count is computed in doubles; a product that misses an integer
 * by rounding noise (99.9% of 100000 = 99900.00000000001) is snapped to it
 * so that the rank does not move up by one.
 */
static uint64_t rank_of(double p, uint64_t count)
{
	double r = p / 100.0 * (double)count;	/* 0 < r < count here */
	uint64_t n = (uint64_t)(r + 0.5), rank;
	double dn = (double)n;

	if (__builtin_fabs(r - dn) <= 1e-9 * (dn > 1.0 ? dn : 1.0))
		rank = n;
	else
		rank = (uint64_t)r + ((double)(uint64_t)r < r);	/* ceil, without libm */
	if (rank < 1)
		rank = 1;
	if (rank > count)
		rank = count;
	return rank;
}

uint64_t salvo_hist_percentile(const struct salvo_hist *h, double p)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (!(p > 0.0))	/* also NaN */
		return h->min;
	if (p >= 100.0)
		return h->max;
	rank = rank_of(p, h->count);
	for (size_t i = bucket_of(h->min); i < NBUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t v = bucket_hi(i);

			return v < h->max ? v : h->max;
		}
	}
	return h->max;	/* not reached: the buckets sum to count */
}

size_t salvo_hist_nbuckets(void)
{
	return NBUCKETS;
}

uint64_t salvo_hist_bucket_lo(size_t i)
{
	unsigned int shift;

	if (i < 2 * SUB_COUNT)
		return i;
	shift = (unsigned int)(i >> SALVO_HIST_SUB_BITS) - 1;
	return (uint64_t)(i - ((size_t)shift << SALVO_HIST_SUB_BITS)) << shift;
}

uint64_t salvo_hist_bucket_hi(size_t i)
{
	return bucket_hi(i);
}

uint64_t salvo_hist_bucket_next(const struct salvo_hist *h, size_t *i)
{
	for (size_t k = *i; k < NBUCKETS; k++) {
		if (h->buckets[k]) {
			*i = k;
			return h->buckets[k];
		}
	}
	*i = NBUCKETS;
	return 0;
}

int salvo_hist_bucket_add(struct salvo_hist *h, size_t i, uint64_t n)
{
	uint64_t lo, hi;

	if (i >= NBUCKETS)
		return -ERANGE;
	if (!n)
		return 0;
	if (h->count + n < h->count || h->buckets[i] + n < h->buckets[i])
		return -EOVERFLOW;
	lo = salvo_hist_bucket_lo(i);
	hi = bucket_hi(i);
	if (hi > SALVO_HIST_MAX)	/* the top bucket ends at the clamp */
		hi = SALVO_HIST_MAX;
	h->buckets[i] += n;
	h->count += n;
	h->sum += (unsigned __int128)lo * n;
	if (lo < h->min)
		h->min = lo;
	if (hi > h->max)
		h->max = hi;
	return 0;
}

int salvo_hist_set_exact(struct salvo_hist *h, uint64_t min, uint64_t max, double mean,
			 uint64_t clamped)
{
	size_t first = 0, last;
	uint64_t top;

	if (!h->count)
		return min || max || clamped || mean != 0.0 ? -EINVAL : 0;
	if (!salvo_hist_bucket_next(h, &first) || min > max || max > SALVO_HIST_MAX)
		return -EINVAL;
	last = bucket_of(h->max);	/* bucket_add left max at the last bucket's top */
	top = h->buckets[bucket_of(SALVO_HIST_MAX)];
	if (bucket_of(min) != first || bucket_of(max) != last || !h->buckets[last])
		return -EINVAL;
	if (mean != mean || mean < 0 || mean > (double)SALVO_HIST_MAX)	/* NaN, or no mean at all */
		return -EINVAL;
	/* The encoder printed the mean to 10 digits: it may sit a rounding outside [min, max]. */
	mean = mean < (double)min ? (double)min : mean > (double)max ? (double)max : mean;
	if (clamped > top || (clamped && max != SALVO_HIST_MAX))
		return -EINVAL;
	h->min = min;
	h->max = max;
	h->clamped = clamped;
	h->sum = (unsigned __int128)(mean * (double)h->count);
	return 0;
}
