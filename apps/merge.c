// SPDX-License-Identifier: MIT
/*
 * salvo merge: many processes' records into one report (apps/merge.h).
 *
 * Every record is validated as it is read (types, ranges, a histogram that
 * agrees with its own count, min and max) and folded at once: summaries
 * into the total and their host's and labels' groups, interval records
 * kept with their absolute start until salvo_merge_finish() lays them on
 * one timeline.  Histograms stay sparse (the buckets records carry), so
 * memory follows the input, not 2^16 buckets per group and interval.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <salvo/hist.h>

#include "merge.h"

/* An interval record, until the timeline is known. */
struct item {
	uint64_t start, dur;
	uint64_t step;		/* its step on the timeline (salvo_merge_finish) */
	struct salvo_merge_sum s;
};

struct salvo_merge {
	uint64_t bin_ns;
	uint64_t records;
	struct salvo_merge_sum total;
	struct salvo_merge_group *groups;
	unsigned int ngroups;
	struct item *items;
	size_t nitems, capitems;
	struct salvo_merge_bin *bins;
	size_t nbins;
};

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

int salvo_merge_create(struct salvo_merge **out, uint64_t bin_ns)
{
	struct salvo_merge *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->bin_ns = bin_ns;
	*out = m;
	return 0;
}

static void sum_free(struct salvo_merge_sum *s)
{
	free(s->lat.v);
	s->lat.v = NULL;
}

void salvo_merge_destroy(struct salvo_merge *m)
{
	if (!m)
		return;
	sum_free(&m->total);
	for (unsigned int i = 0; i < m->ngroups; i++) {
		sum_free(&m->groups[i].s);
		free(m->groups[i].key);
		free(m->groups[i].value);
	}
	for (size_t i = 0; i < m->nitems; i++)
		sum_free(&m->items[i].s);
	for (size_t i = 0; i < m->nbins; i++)
		sum_free(&m->bins[i].s);
	free(m->groups);
	free(m->items);
	free(m->bins);
	free(m);
}

/* *a += b; false when it would wrap. */
static bool add(uint64_t *a, uint64_t b)
{
	return !__builtin_add_overflow(*a, b, a);
}

/* Where index k is in h's buckets, or h->n when it is not there. */
static size_t find(const struct salvo_merge_hist *h, uint32_t k)
{
	size_t lo = 0, hi = h->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->v[mid].index < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->n && h->v[lo].index == k ? lo : h->n;
}

static void extremes_add(struct salvo_merge_hist *dst, const struct salvo_merge_hist *src)
{
	if (!dst->count || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->clamped += src->clamped;	/* <= count: cannot wrap either */
	dst->sum += src->sum;
}

/*
 * dst += src, bucket by bucket (both ascending).  When dst already has
 * every bucket of src (the usual case once a total has seen a few records)
 * the counts are added in place, O(src log dst); else the two lists merge.
 */
static int hist_add(struct salvo_merge_hist *dst, const struct salvo_merge_hist *src)
{
	struct salvo_merge_bucket *v;
	size_t i = 0, j = 0, n = 0, at[64];
	bool all = src->n <= 64;

	if (!src->count)
		return 0;
	if (dst->count + src->count < dst->count)
		return -EOVERFLOW;
	for (size_t k = 0; all && k < src->n; k++) {
		at[k] = find(dst, src->v[k].index);
		all = at[k] < dst->n && dst->v[at[k]].count + src->v[k].count >= dst->v[at[k]].count;
	}
	if (all) {
		for (size_t k = 0; k < src->n; k++)
			dst->v[at[k]].count += src->v[k].count;
		extremes_add(dst, src);
		return 0;
	}
	v = malloc((dst->n + src->n) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (i < dst->n || j < src->n) {
		if (j == src->n || (i < dst->n && dst->v[i].index < src->v[j].index)) {
			v[n++] = dst->v[i++];
		} else if (i == dst->n || src->v[j].index < dst->v[i].index) {
			v[n++] = src->v[j++];
		} else {
			v[n] = dst->v[i++];
			if (!add(&v[n].count, src->v[j++].count)) {
				free(v);
				return -EOVERFLOW;
			}
			n++;
		}
	}
	free(dst->v);
	dst->v = v;
	dst->n = dst->cap = n;
	extremes_add(dst, src);
	return 0;
}

static int sum_add(struct salvo_merge_sum *d, const struct salvo_merge_sum *s)
{
	if (!add(&d->records, s->records) || !add(&d->tx_packets, s->tx_packets) ||
	    !add(&d->tx_bytes, s->tx_bytes) || !add(&d->tx_errors, s->tx_errors) ||
	    !add(&d->rx_packets, s->rx_packets) || !add(&d->rx_bytes, s->rx_bytes) ||
	    !add(&d->lost, s->lost) || !add(&d->reordered, s->reordered) ||
	    !add(&d->duplicates, s->duplicates) || !add(&d->unstamped, s->unstamped) ||
	    !add(&d->lat_without_hist, s->lat_without_hist) || !add(&d->unsynced, s->unsynced))
		return -EOVERFLOW;
	d->has_tx |= s->has_tx;
	d->has_rx |= s->has_rx;
	if (s->start_unix_ns && (!d->start_unix_ns || s->start_unix_ns < d->start_unix_ns))
		d->start_unix_ns = s->start_unix_ns;
	if (s->end_unix_ns > d->end_unix_ns)
		d->end_unix_ns = s->end_unix_ns;
	return hist_add(&d->lat, &s->lat);
}

/* An integer member >= 0: 0 and *v, -ENOENT when absent (and not required), or -EINVAL. */
static int get_u64(const json_t *o, const char *key, uint64_t *v, bool required, char *err,
		   size_t errlen)
{
	const json_t *j = json_object_get(o, key);

	*v = 0;
	if (!j)
		return required ? fail(err, errlen, -EINVAL, "no \"%s\"", key) : -ENOENT;
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return fail(err, errlen, -EINVAL, "\"%s\" is not an integer >= 0", key);
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

#define U64(o, key, dst, req)                                                                      \
	do {                                                                                       \
		int r_ = get_u64((o), (key), (dst), (req), err, errlen);                           \
		if (r_ && r_ != -ENOENT)                                                           \
			return r_;                                                                 \
	} while (0)

/*
 * latency_ns.hist: the encoding of cli/report.c (docs/json.md), checked
 * against the count, min, max and clamped beside it, so that a merged
 * histogram is one salvo_hist_set_exact() accepts.
 */
static int hist_parse(const json_t *l, struct salvo_merge_hist *h, char *err, size_t errlen)
{
	const json_t *j = json_object_get(l, "hist"), *counts, *mean, *e;
	uint64_t bits, maxbits, total = 0, top = 0;
	size_t nb = salvo_hist_nbuckets(), i;
	double mv;

	U64(l, "count", &h->count, true);
	U64(l, "min", &h->min, true);
	U64(l, "max", &h->max, true);
	U64(l, "clamped", &h->clamped, false);
	mean = json_object_get(l, "mean");
	if (!json_is_number(mean) || !isfinite(mv = json_number_value(mean)) || mv < 0 ||
	    mv > (double)SALVO_HIST_MAX)
		return fail(err, errlen, -EINVAL, "latency_ns: \"mean\" is not a number in the histogram's range");
	if (!json_is_object(j))
		return fail(err, errlen, -EINVAL, "latency_ns: \"hist\" is not an object");
	if (!json_is_string(json_object_get(j, "unit")) ||
	    strcmp(json_string_value(json_object_get(j, "unit")), "ns"))
		return fail(err, errlen, -EINVAL, "latency_ns.hist: \"unit\" is not \"ns\"");
	U64(j, "sub_bucket_bits", &bits, true);
	U64(j, "max_bits", &maxbits, true);
	if (bits != SALVO_HIST_SUB_BITS || maxbits != SALVO_HIST_MAX_BITS)
		return fail(err, errlen, -EINVAL, "latency_ns.hist: buckets of %llu/%llu bits, this salvo's are %d/%d",
			    (unsigned long long)bits, (unsigned long long)maxbits, SALVO_HIST_SUB_BITS,
			    SALVO_HIST_MAX_BITS);
	counts = json_object_get(j, "counts");
	if (!json_is_array(counts))
		return fail(err, errlen, -EINVAL, "latency_ns.hist: \"counts\" is not an array");
	h->n = json_array_size(counts);
	if (h->n > nb)
		return fail(err, errlen, -EINVAL, "latency_ns.hist: more buckets than there are");
	h->v = h->n ? malloc(h->n * sizeof(*h->v)) : NULL;
	if (h->n && !h->v)
		return fail(err, errlen, -ENOMEM, "out of memory");
	h->cap = h->n;
	json_array_foreach(counts, i, e) {
		const json_t *a = json_array_get(e, 0), *b = json_array_get(e, 1);

		if (!json_is_array(e) || json_array_size(e) != 2 || !json_is_integer(a) ||
		    !json_is_integer(b) || json_integer_value(a) < 0 ||
		    (uint64_t)json_integer_value(a) >= nb || json_integer_value(b) <= 0)
			return fail(err, errlen, -EINVAL, "latency_ns.hist: counts[%zu] is not [index < %zu, count > 0]",
				    i, nb);
		h->v[i].index = (uint32_t)json_integer_value(a);
		h->v[i].count = (uint64_t)json_integer_value(b);
		if (i && h->v[i].index <= h->v[i - 1].index)
			return fail(err, errlen, -EINVAL, "latency_ns.hist: indices not ascending at counts[%zu]", i);
		if (!add(&total, h->v[i].count))
			return fail(err, errlen, -EOVERFLOW, "latency_ns.hist: the counts overflow");
	}
	if (total != h->count)
		return fail(err, errlen, -EINVAL, "latency_ns.hist: the buckets hold %llu samples, \"count\" says %llu",
			    (unsigned long long)total, (unsigned long long)h->count);
	if (!h->n)
		return h->min || h->max || h->clamped ?
			fail(err, errlen, -EINVAL, "latency_ns: min, max or clamped without samples") : 0;
	if (h->v[h->n - 1].index == nb - 1)
		top = h->v[h->n - 1].count;
	if (h->min > h->max || h->max > SALVO_HIST_MAX ||
	    h->min < salvo_hist_bucket_lo(h->v[0].index) || h->min > salvo_hist_bucket_hi(h->v[0].index) ||
	    h->max < salvo_hist_bucket_lo(h->v[h->n - 1].index) ||
	    h->max > salvo_hist_bucket_hi(h->v[h->n - 1].index) || h->clamped > top ||
	    (h->clamped && h->max != SALVO_HIST_MAX))
		return fail(err, errlen, -EINVAL, "latency_ns: min, max or clamped do not fit the histogram's buckets");
	h->sum = mv * (double)h->count;
	return 0;
}

/* A record's own counters, host, labels and times into s. */
static int record_parse(const json_t *o, struct salvo_merge_sum *s, uint64_t *dur_ns, char *err,
			size_t errlen)
{
	const json_t *tx = json_object_get(o, "tx"), *rx = json_object_get(o, "rx");
	const json_t *lat = json_object_get(o, "latency_ns"), *clk = json_object_get(o, "clock");
	const json_t *d = json_object_get(o, "duration_s");
	double dv;
	int rc;

	s->records = 1;
	if (!json_is_number(d) || !isfinite(dv = json_number_value(d)) || dv < 0 || dv > 1e9)
		return fail(err, errlen, -EINVAL, "\"duration_s\" is not a number of seconds");
	*dur_ns = (uint64_t)(dv * 1e9 + 0.5);
	U64(o, "start_unix_ns", &s->start_unix_ns, false);
	if (s->start_unix_ns)
		s->end_unix_ns = s->start_unix_ns + *dur_ns;	/* < 2^63 + 10^18: no wrap */
	if (tx) {
		if (!json_is_object(tx))
			return fail(err, errlen, -EINVAL, "\"tx\" is not an object");
		s->has_tx = true;
		U64(tx, "packets", &s->tx_packets, true);
		U64(tx, "bytes", &s->tx_bytes, true);
		U64(tx, "errors", &s->tx_errors, false);
	}
	if (rx) {
		if (!json_is_object(rx))
			return fail(err, errlen, -EINVAL, "\"rx\" is not an object");
		s->has_rx = true;
		U64(rx, "packets", &s->rx_packets, true);
		U64(rx, "bytes", &s->rx_bytes, true);
		U64(rx, "lost", &s->lost, false);
		U64(rx, "reordered", &s->reordered, false);
		U64(rx, "duplicates", &s->duplicates, false);
		U64(rx, "unstamped", &s->unstamped, false);
	}
	if (lat) {
		if (!json_is_object(lat))
			return fail(err, errlen, -EINVAL, "\"latency_ns\" is not an object");
		if (json_object_get(lat, "hist")) {
			rc = hist_parse(lat, &s->lat, err, errlen);
			if (rc)
				return rc;
		} else {
			s->lat_without_hist = 1;
		}
	}
	if (clk && (!json_is_object(clk) || !json_is_boolean(json_object_get(clk, "synchronized"))))
		return fail(err, errlen, -EINVAL, "\"clock\" has no \"synchronized\" true or false");
	if (clk && !json_is_true(json_object_get(clk, "synchronized")))
		s->unsynced = 1;
	return 0;
}

static int group_add(struct salvo_merge *m, bool label, const char *key, const char *value,
		     const struct salvo_merge_sum *s, char *err, size_t errlen)
{
	struct salvo_merge_group *g = NULL, *v;

	for (unsigned int i = 0; i < m->ngroups && !g; i++)
		if (m->groups[i].label == label && !strcmp(m->groups[i].key, key) &&
		    !strcmp(m->groups[i].value, value))
			g = &m->groups[i];
	if (!g) {
		if (m->ngroups == SALVO_MERGE_MAX_GROUPS)
			return fail(err, errlen, -E2BIG, "more than %d distinct hosts and labels",
				    SALVO_MERGE_MAX_GROUPS);
		v = realloc(m->groups, (m->ngroups + 1) * sizeof(*v));
		if (!v)
			return fail(err, errlen, -ENOMEM, "out of memory");
		m->groups = v;
		g = &m->groups[m->ngroups];
		memset(g, 0, sizeof(*g));
		g->label = label;
		g->key = strdup(key);
		g->value = strdup(value);
		m->ngroups++;
		if (!g->key || !g->value)
			return fail(err, errlen, -ENOMEM, "out of memory");
	}
	if (sum_add(&g->s, s))
		return fail(err, errlen, -EOVERFLOW, "a counter of %s %s overflows", key, value);
	return 0;
}

/* A summary: into the total, its host's group and each of its labels'. */
static int summary_add(struct salvo_merge *m, const json_t *o, const struct salvo_merge_sum *s,
		       char *err, size_t errlen)
{
	const json_t *host = json_object_get(o, "host"), *labels = json_object_get(o, "labels"), *v;
	const char *k;
	int rc;

	if (host && !json_is_string(host))
		return fail(err, errlen, -EINVAL, "\"host\" is not a string");
	if (labels && !json_is_object(labels))
		return fail(err, errlen, -EINVAL, "\"labels\" is not an object");
	json_object_foreach((json_t *)labels, k, v)
		if (!json_is_string(v))
			return fail(err, errlen, -EINVAL, "label \"%.64s\" is not a string", k);
	if (sum_add(&m->total, s))
		return fail(err, errlen, -EOVERFLOW, "a total counter overflows");
	rc = group_add(m, false, "host", host ? json_string_value(host) : "unknown", s, err, errlen);
	json_object_foreach((json_t *)labels, k, v)
		if (!rc)
			rc = group_add(m, true, k, json_string_value(v), s, err, errlen);
	return rc;
}

static int item_add(struct salvo_merge *m, struct salvo_merge_sum *s, uint64_t dur, char *err,
		    size_t errlen)
{
	if (!s->start_unix_ns)
		return fail(err, errlen, -EINVAL, "an interval record without \"start_unix_ns\" (from an older salvo?) cannot be placed in time");
	if (m->nitems == m->capitems) {
		size_t cap = m->capitems ? m->capitems * 2 : 64;
		struct item *v = realloc(m->items, cap * sizeof(*v));

		if (!v)
			return fail(err, errlen, -ENOMEM, "out of memory");
		m->items = v;
		m->capitems = cap;
	}
	m->items[m->nitems].start = s->start_unix_ns;
	m->items[m->nitems].dur = dur;
	m->items[m->nitems++].s = *s;
	s->lat.v = NULL;	/* the item owns it now */
	return 0;
}

static int value_add(struct salvo_merge *m, const json_t *o, int depth, char *err, size_t errlen);

/* One record (summary or interval) and what it holds (a --json summary's intervals). */
static int record_add(struct salvo_merge *m, const json_t *o, const char *type, char *err,
		      size_t errlen)
{
	struct salvo_merge_sum s = {0};
	const json_t *iv = json_object_get(o, "intervals"), *e;
	uint64_t dur = 0;
	size_t i;
	int rc;

	if (++m->records > SALVO_MERGE_MAX_RECORDS)
		return fail(err, errlen, -E2BIG, "more than %d records", SALVO_MERGE_MAX_RECORDS);
	rc = record_parse(o, &s, &dur, err, errlen);
	if (!rc)
		rc = strcmp(type, "interval") ? summary_add(m, o, &s, err, errlen)
					      : item_add(m, &s, dur, err, errlen);
	sum_free(&s);
	if (rc || !iv)
		return rc;
	if (!json_is_array(iv) || strcmp(type, "summary"))
		return fail(err, errlen, -EINVAL, "\"intervals\" is not an array in a summary");
	json_array_foreach(iv, i, e) {
		const json_t *t = json_object_get(e, "type");

		if (!json_is_object(e) || !json_is_string(t) || strcmp(json_string_value(t), "interval"))
			return fail(err, errlen, -EINVAL, "intervals[%zu] is not an interval record", i);
		rc = record_add(m, e, "interval", err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

/* A top-level value: a record, or a profile document of stream reports. */
static int value_add(struct salvo_merge *m, const json_t *o, int depth, char *err, size_t errlen)
{
	const json_t *t = json_object_get(o, "type"), *streams, *e;
	const char *type;
	size_t i;
	int rc;

	if (!json_is_object(o) || !json_is_string(t))
		return fail(err, errlen, -EINVAL, "not a salvo JSON record (no \"type\")");
	type = json_string_value(t);
	if (!strcmp(type, "summary") || !strcmp(type, "interval"))
		return record_add(m, o, type, err, errlen);
	if (strcmp(type, "profile") || depth)
		return fail(err, errlen, -EINVAL, "a record of type \"%.32s\", not summary, interval or profile", type);
	streams = json_object_get(o, "streams");
	if (!json_is_array(streams))
		return fail(err, errlen, -EINVAL, "a profile without \"streams\"");
	json_array_foreach(streams, i, e) {
		const json_t *r = json_object_get(e, "report");

		if (!json_is_object(r))
			return fail(err, errlen, -EINVAL, "streams[%zu] has no \"report\"", i);
		rc = value_add(m, r, depth + 1, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

int salvo_merge_add(struct salvo_merge *m, const char *text, size_t len, char *err, size_t errlen)
{
	size_t off = 0, line = 1;
	uint64_t values = 0;

	for (;;) {
		json_error_t jerr;
		json_t *o;
		int rc;

		while (off < len && (text[off] == ' ' || text[off] == '\t' || text[off] == '\r' ||
				     text[off] == '\n'))
			line += text[off++] == '\n';
		if (off == len)
			break;
		/* One value at a time: a pretty document and NDJSON lines alike. */
		o = json_loadb(text + off, len - off, JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &jerr);
		if (!o)
			return fail(err, errlen, -EINVAL, "line %zu: %s", line + (size_t)(jerr.line > 0 ? jerr.line - 1 : 0),
				    jerr.text);
		rc = value_add(m, o, 0, err, errlen);
		if (rc) {
			char why[256];

			snprintf(why, sizeof(why), "%s", err);
			json_decref(o);
			return fail(err, errlen, rc, "line %zu: %s", line, why);
		}
		json_decref(o);
		values++;
		for (size_t k = 0; k < (size_t)jerr.position && off + k < len; k++)
			line += text[off + k] == '\n';
		off += (size_t)jerr.position;
	}
	if (!values)
		return fail(err, errlen, -EINVAL, "no JSON record in it");
	return 0;
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return x->step < y->step ? -1 : x->step > y->step;
}

static int u64_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/*
 * The step the processes used (-i): the commonest interval length, to the
 * ms (the last interval of each run is partial, and may run a little long
 * too); on a tie the longer.  0 only when out of memory.
 */
static uint64_t common_step(const struct salvo_merge *m)
{
	uint64_t *d = malloc(m->nitems * sizeof(*d)), best = 0;
	size_t bestn = 0;

	if (!d)
		return 0;
	for (size_t i = 0; i < m->nitems; i++)
		d[i] = (m->items[i].dur + 500000) / 1000000 * 1000000;
	qsort(d, m->nitems, sizeof(*d), u64_cmp);
	for (size_t i = 0, j; i < m->nitems; i = j) {
		for (j = i; j < m->nitems && d[j] == d[i]; j++)
			;
		if (j - i >= bestn) {
			bestn = j - i;
			best = d[i];
		}
	}
	free(d);
	return best ? best : 1000000;
}

int salvo_merge_finish(struct salvo_merge *m)
{
	uint64_t t0 = UINT64_MAX, bin = m->bin_ns;

	if (!m->nitems)
		return 0;
	for (size_t i = 0; i < m->nitems; i++)
		t0 = m->items[i].start < t0 ? m->items[i].start : t0;
	if (!bin) {
		bin = common_step(m);
		if (!bin)
			return -ENOMEM;
		m->bin_ns = bin;
	}
	/* Each interval goes to the step its middle falls in; sorted by step, equal steps are adjacent. */
	for (size_t i = 0; i < m->nitems; i++)
		m->items[i].step = (m->items[i].start - t0 + m->items[i].dur / 2) / bin;
	qsort(m->items, m->nitems, sizeof(*m->items), item_cmp);
	m->bins = calloc(m->nitems, sizeof(*m->bins));
	if (!m->bins)
		return -ENOMEM;
	for (size_t i = 0; i < m->nitems; i++) {
		const struct item *it = &m->items[i];
		int rc;

		if (!i || it->step != m->items[i - 1].step)
			m->bins[m->nbins++].start_unix_ns = t0 + it->step * bin;
		rc = sum_add(&m->bins[m->nbins - 1].s, &it->s);
		if (rc)
			return rc;
	}
	return 0;
}

const struct salvo_merge_sum *salvo_merge_total(const struct salvo_merge *m)
{
	return &m->total;
}

unsigned int salvo_merge_groups(const struct salvo_merge *m, const struct salvo_merge_group **v)
{
	*v = m->groups;
	return m->ngroups;
}

size_t salvo_merge_bins(const struct salvo_merge *m, const struct salvo_merge_bin **v, uint64_t *bin_ns)
{
	*v = m->bins;
	*bin_ns = m->bin_ns;
	return m->nbins;
}

unsigned int salvo_merge_hosts(const struct salvo_merge *m)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < m->ngroups; i++)
		n += !m->groups[i].label;
	return n;
}

bool salvo_merge_latency_valid(const struct salvo_merge *m)
{
	return salvo_merge_hosts(m) <= 1 || !m->total.unsynced;
}

int salvo_merge_hist_build(const struct salvo_merge_hist *s, struct salvo_hist *dst)
{
	int rc;

	salvo_hist_reset(dst);
	for (size_t i = 0; i < s->n; i++) {
		rc = salvo_hist_bucket_add(dst, s->v[i].index, s->v[i].count);
		if (rc)
			return rc;
	}
	return salvo_hist_set_exact(dst, s->min, s->max, s->count ? s->sum / (double)s->count : 0,
				    s->clamped);
}
