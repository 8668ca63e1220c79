// SPDX-License-Identifier: MIT
/*
 * Per-flow loss / reorder / duplicate accounting (see flowstat.h and
 * docs/stamp.md for the rules).
 *
 * Flows live in a dense array (first-seen order) allocated once at create;
 * an open-addressing, linear-probing index of 2^k slots (load <= 1/2) maps a
 * flow id to its entry.  The common case - one flow per worker, or bursts
 * of one flow - hits the last-flow cache and never touches the index.
 *
 * The window is a ring bitmap (RFC 6479 style): sequence s is bit
 * (s mod SALVO_FLOW_WINDOW), valid for s in (highest - WINDOW, highest].
 * Moving highest up by d clears only the d positions that leave the window,
 * so an in-order packet costs one bit clear and one bit set, not a shift of
 * the whole 1024-bit map.
 *
 * Totals are kept up to date on every update, so reading them is O(1).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/common.h>
#include <salvo/flowstat.h>

#define WIN_BITS SALVO_FLOW_WINDOW
#define WIN_MASK ((uint64_t)WIN_BITS - 1)
#define WIN_WORDS (WIN_BITS / 64)
#define MAX_FLOWS_LIMIT (1U << 24)

_Static_assert((WIN_BITS & (WIN_BITS - 1)) == 0 && WIN_BITS >= 64, "window: power of two >= 64");

struct flow {
	uint64_t first, highest;
	uint64_t received, unique, reordered;
	uint64_t lat_sum, lat_n, lat_max;	/* one-way latency samples of this flow */
	uint64_t win[WIN_WORDS];
	uint64_t key;	/* session << 32 | flow */
};

struct slot {
	uint64_t key;
	uint32_t idx;	/* index into flows + 1; 0: empty */
};

struct salvo_flowtab {
	/* Last-flow cache; NULL when invalid.  Entries never move once made. */
	struct flow *last;
	uint64_t last_key;
	uint32_t nflows, max_flows;
	unsigned int hash_shift;	/* 64 - log2(slots) */
	uint32_t slot_mask;
	struct slot *slots;
	struct flow *flows;
	struct salvo_flow_totals tot;	/* tot.flows == nflows */
	uint64_t overflow;
};

/* Wrap-around comparison: is a before b? */
static inline bool seq_before(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b) < 0;
}

static inline uint64_t flow_expected(const struct flow *f)
{
	return f->highest - f->first + 1;
}

static inline uint64_t flow_lost(const struct flow *f)
{
	uint64_t e = flow_expected(f);

	return e > f->unique ? e - f->unique : 0;
}

static inline bool win_test(const uint64_t *win, uint64_t seq)
{
	uint64_t pos = seq & WIN_MASK;

	return (win[pos >> 6] >> (pos & 63)) & 1;
}

static inline void win_set(uint64_t *win, uint64_t seq)
{
	uint64_t pos = seq & WIN_MASK;

	win[pos >> 6] |= 1ULL << (pos & 63);
}

/* Clear n (< WIN_BITS) ring positions starting at the one of seq 'from'. */
static void win_clear(uint64_t *win, uint64_t from, uint64_t n)
{
	uint64_t pos = from & WIN_MASK;

	while (n) {
		unsigned int bit = pos & 63;
		uint64_t k = 64 - bit, mask;

		if (k > n)
			k = n;
		mask = (k == 64 ? ~0ULL : ((1ULL << k) - 1)) << bit;
		win[pos >> 6] &= ~mask;
		pos = (pos + k) & WIN_MASK;
		n -= k;
	}
}

static inline uint64_t flow_key(uint32_t session, uint32_t flow)
{
	return (uint64_t)session << 32 | flow;
}

static inline uint32_t slot_of(const struct salvo_flowtab *t, uint64_t id)
{
	/*
	 * Fibonacci hashing over the whole key: sequential flow ids of one
	 * session, and random sessions, spread over the whole index.
	 */
	return (uint32_t)((id * 0x9e3779b97f4a7c15ULL) >> t->hash_shift);
}

static struct flow *find(const struct salvo_flowtab *t, uint64_t id)
{
	for (uint32_t i = slot_of(t, id);; i = (i + 1) & t->slot_mask) {
		const struct slot *s = &t->slots[i];

		if (!s->idx)
			return NULL;
		if (s->key == id)
			return &t->flows[s->idx - 1];
	}
}

/* Add an entry for id (known absent); NULL when the table is full. */
static struct flow *insert(struct salvo_flowtab *t, uint64_t id)
{
	uint32_t i;
	struct flow *f;

	if (t->nflows >= t->max_flows)
		return NULL;
	for (i = slot_of(t, id); t->slots[i].idx; i = (i + 1) & t->slot_mask)
		;
	f = &t->flows[t->nflows++];
	t->slots[i].key = id;
	t->slots[i].idx = t->nflows;
	f->key = id;
	return f;
}

int salvo_flowtab_create(struct salvo_flowtab **out, uint32_t max_flows)
{
	struct salvo_flowtab *t;
	unsigned int bits = 4;

	if (!max_flows || max_flows > MAX_FLOWS_LIMIT)
		return -EINVAL;
	while ((1U << bits) < 2 * max_flows)
		bits++;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->max_flows = max_flows;
	t->hash_shift = 64 - bits;
	t->slot_mask = (1U << bits) - 1;
	/* calloc: untouched capacity costs address space, not memory. */
	t->slots = calloc((size_t)1 << bits, sizeof(*t->slots));
	if (!t->slots)
		goto err_slots;
	t->flows = calloc(max_flows, sizeof(*t->flows));
	if (!t->flows)
		goto err_flows;
	*out = t;
	return 0;

err_flows:
	free(t->slots);
err_slots:
	free(t);
	return -ENOMEM;
}

void salvo_flowtab_destroy(struct salvo_flowtab *t)
{
	if (!t)
		return;
	free(t->flows);
	free(t->slots);
	free(t);
}

void salvo_flowtab_reset(struct salvo_flowtab *t)
{
	memset(t->slots, 0, ((size_t)t->slot_mask + 1) * sizeof(*t->slots));
	t->nflows = 0;
	t->last = NULL;
	memset(&t->tot, 0, sizeof(t->tot));
	t->overflow = 0;
}

static void flow_start(struct salvo_flowtab *t, struct flow *f, uint64_t seq)
{
	f->first = f->highest = seq;
	f->received = f->unique = 1;
	f->reordered = 0;
	f->lat_sum = f->lat_n = f->lat_max = 0;
	memset(f->win, 0, sizeof(f->win));
	win_set(f->win, seq);
	t->tot.flows++;
	t->tot.received++;
	t->tot.unique++;
	t->tot.expected++;
}

static void flow_account(struct salvo_flowtab *t, struct flow *f, uint64_t seq)
{
	int64_t d = (int64_t)(seq - f->highest);
	uint64_t lost0;

	if (salvo_likely(d == 1)) {
		/*
		 * The next in order, nearly every packet: the one position that
		 * leaves the window is seq's own (clear, then set = set), and
		 * expected and unique both grow by one, so loss stays as it is.
		 */
		win_set(f->win, seq);
		f->highest = seq;
		f->received++;
		f->unique++;
		t->tot.received++;
		t->tot.unique++;
		t->tot.expected++;
		return;
	}
	lost0 = flow_lost(f);
	f->received++;
	t->tot.received++;
	if (salvo_likely(d > 0)) {
		/* New highest: the d-1 skipped sequences are missing (for now). */
		if ((uint64_t)d >= WIN_BITS)
			memset(f->win, 0, sizeof(f->win));
		else
			win_clear(f->win, f->highest + 1, (uint64_t)d);
		win_set(f->win, seq);
		f->highest = seq;
		t->tot.expected += (uint64_t)d;
	} else {
		uint64_t back = -(uint64_t)d;

		if (back < WIN_BITS) {
			if (win_test(f->win, seq)) {
				t->tot.duplicates++;
				return;	/* unique, expected, lost unchanged */
			}
			win_set(f->win, seq);
		}
		/* Late (reordered) arrival; beyond the window it is not dup-checked. */
		f->reordered++;
		t->tot.reordered++;
		if (seq_before(seq, f->first)) {
			/* Sent before the first one we saw: the flow started earlier. */
			t->tot.expected += f->first - seq;
			f->first = seq;
		}
	}
	f->unique++;
	t->tot.unique++;
	/* Unsigned wrap makes this a signed adjustment of the running sum. */
	t->tot.lost += flow_lost(f) - lost0;
}

static inline void flow_latency(struct flow *f, uint64_t ns)
{
	f->lat_sum += ns;
	f->lat_n++;
	if (ns > f->lat_max)
		f->lat_max = ns;
}

void salvo_flowtab_record(struct salvo_flowtab *t, uint32_t session, uint32_t flow, uint64_t seq,
			  uint64_t lat_ns)
{
	struct flow *f = t->last;
	uint64_t key = flow_key(session, flow);

	if (salvo_unlikely(!f || t->last_key != key)) {
		f = find(t, key);
		if (!f) {
			f = insert(t, key);
			if (!f) {
				t->overflow++;
				/* No entry: a latency sample must not land on the previous flow. */
				t->last = NULL;
				return;
			}
			flow_start(t, f, seq);
			t->last = f;
			t->last_key = key;
			goto latency;
		}
		t->last = f;
		t->last_key = key;
	}
	flow_account(t, f, seq);
latency:
	if (lat_ns != SALVO_FLOW_NO_LATENCY)
		flow_latency(f, lat_ns);
}

void salvo_flowtab_update(struct salvo_flowtab *t, uint32_t session, uint32_t flow, uint64_t seq)
{
	salvo_flowtab_record(t, session, flow, seq, SALVO_FLOW_NO_LATENCY);
}

void salvo_flowtab_latency(struct salvo_flowtab *t, uint64_t ns)
{
	if (t->last)
		flow_latency(t->last, ns);
}

void salvo_flowtab_totals(const struct salvo_flowtab *t, struct salvo_flow_totals *out)
{
	*out = t->tot;
}

uint64_t salvo_flowtab_overflow(const struct salvo_flowtab *t)
{
	return t->overflow;
}

uint32_t salvo_flowtab_count(const struct salvo_flowtab *t)
{
	return t->nflows;
}

static void fill_info(const struct flow *f, struct salvo_flow_info *out)
{
	out->session = (uint32_t)(f->key >> 32);
	out->flow = (uint32_t)f->key;
	out->first = f->first;
	out->highest = f->highest;
	out->received = f->received;
	out->unique = f->unique;
	out->expected = flow_expected(f);
	out->lost = flow_lost(f);
	out->reordered = f->reordered;
	out->duplicates = f->received - f->unique;
}

int salvo_flowtab_flow(const struct salvo_flowtab *t, uint32_t i, struct salvo_flow_info *out)
{
	if (i >= t->nflows)
		return -ENOENT;
	fill_info(&t->flows[i], out);
	return 0;
}

int salvo_flowtab_find(const struct salvo_flowtab *t, uint32_t session, uint32_t flow,
		       struct salvo_flow_info *out)
{
	const struct flow *f = find(t, flow_key(session, flow));

	if (!f)
		return -ENOENT;
	fill_info(f, out);
	return 0;
}

/*
 * a += b for one flow seen by two tables.  The merged window sits below the
 * later highest; each of its sequences is marked if either window marks it.
 * A sequence marked in both windows was received by both: one copy is a
 * duplicate.  Below the overlap nothing is known, so receptions there count
 * as unique in each table (loss may then read low, never negative).
 */
static void flow_merge(struct flow *a, const struct flow *b)
{
	uint64_t top = seq_before(a->highest, b->highest) ? b->highest : a->highest;
	uint64_t win[WIN_WORDS] = { 0 }, both = 0;

	for (uint64_t i = 0; i < WIN_BITS; i++) {
		uint64_t s = top - i;
		bool in_a = a->highest - s < WIN_BITS && win_test(a->win, s);
		bool in_b = b->highest - s < WIN_BITS && win_test(b->win, s);

		both += in_a && in_b;
		if (in_a || in_b)
			win_set(win, s);
	}
	memcpy(a->win, win, sizeof(win));
	if (seq_before(b->first, a->first))
		a->first = b->first;
	a->highest = top;
	a->received += b->received;
	a->unique += b->unique - both;
	a->reordered += b->reordered;
	a->lat_sum += b->lat_sum;
	a->lat_n += b->lat_n;
	if (b->lat_max > a->lat_max)
		a->lat_max = b->lat_max;
}

int salvo_flowtab_merge(struct salvo_flowtab *dst, const struct salvo_flowtab *src)
{
	if (dst == src)
		return -EINVAL;
	for (uint32_t i = 0; i < src->nflows; i++) {
		const struct flow *b = &src->flows[i];
		struct flow *a = find(dst, b->key);

		if (a) {
			flow_merge(a, b);
			continue;
		}
		a = insert(dst, b->key);
		if (!a) {
			dst->overflow += b->received;
			continue;
		}
		*a = *b;
	}
	dst->overflow += src->overflow;

	/* Not a hot path: recount rather than patch every merged flow's share. */
	memset(&dst->tot, 0, sizeof(dst->tot));
	for (uint32_t i = 0; i < dst->nflows; i++) {
		const struct flow *f = &dst->flows[i];

		dst->tot.flows++;
		dst->tot.received += f->received;
		dst->tot.unique += f->unique;
		dst->tot.expected += flow_expected(f);
		dst->tot.lost += flow_lost(f);
		dst->tot.reordered += f->reordered;
		dst->tot.duplicates += f->received - f->unique;
	}
	return 0;
}

int salvo_flowtab_sessions(const struct salvo_flowtab *t, struct salvo_session_totals *out,
			   uint32_t max)
{
	/* Session -> row + 1 (0: empty; UINT32_MAX: seen, no row left). */
	struct sslot {
		uint32_t session, row;
	} *idx;
	uint32_t mask = 15, rows = 0;
	int n = 0;

	while (mask + 1 < 2 * t->nflows)
		mask = mask * 2 + 1;
	idx = calloc((size_t)mask + 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nflows; i++) {
		const struct flow *f = &t->flows[i];
		uint32_t sess = (uint32_t)(f->key >> 32), j;
		struct salvo_session_totals *r;

		for (j = (uint32_t)((sess * 0x9e3779b97f4a7c15ULL) >> 32) & mask;
		     idx[j].row && idx[j].session != sess; j = (j + 1) & mask)
			;
		if (!idx[j].row) {
			idx[j].session = sess;
			idx[j].row = UINT32_MAX;
			n++;
			if (rows < max) {
				memset(&out[rows], 0, sizeof(out[rows]));
				out[rows].session = sess;
				idx[j].row = ++rows;
			}
		}
		if (idx[j].row == UINT32_MAX)
			continue;
		r = &out[idx[j].row - 1];
		r->flows++;
		r->received += f->received;
		r->unique += f->unique;
		r->expected += flow_expected(f);
		r->lost += flow_lost(f);
		r->reordered += f->reordered;
		r->duplicates += f->received - f->unique;
		r->lat_sum += f->lat_sum;
		r->lat_n += f->lat_n;
		if (f->lat_max > r->lat_max)
			r->lat_max = f->lat_max;
	}
	free(idx);
	return n;
}
