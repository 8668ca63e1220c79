// SPDX-License-Identifier: MIT
/* Unit tests for per-flow loss/reorder/duplicate accounting (engine/flowstat.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <salvo/flowstat.h>

#define W SALVO_FLOW_WINDOW

static struct salvo_flowtab *tab_new(uint32_t max_flows)
{
	struct salvo_flowtab *t = NULL;

	assert_int_equal(salvo_flowtab_create(&t, max_flows), 0);
	assert_non_null(t);
	return t;
}

struct want {
	uint64_t flows, received, unique, expected, lost, reordered, duplicates;
};

#define check_totals(t, ...) check_totals_((t), (struct want){ __VA_ARGS__ }, __LINE__)

static void check_totals_(const struct salvo_flowtab *t, struct want w, int line)
{
	struct salvo_flow_totals g;

	salvo_flowtab_totals(t, &g);
	if (g.flows != w.flows || g.received != w.received || g.unique != w.unique ||
	    g.expected != w.expected || g.lost != w.lost || g.reordered != w.reordered ||
	    g.duplicates != w.duplicates)
		fail_msg("line %d: got flows %llu rx %llu uniq %llu exp %llu lost %llu reord %llu dup %llu, "
			 "want %llu %llu %llu %llu %llu %llu %llu", line,
			 (unsigned long long)g.flows, (unsigned long long)g.received,
			 (unsigned long long)g.unique, (unsigned long long)g.expected,
			 (unsigned long long)g.lost, (unsigned long long)g.reordered,
			 (unsigned long long)g.duplicates, (unsigned long long)w.flows,
			 (unsigned long long)w.received, (unsigned long long)w.unique,
			 (unsigned long long)w.expected, (unsigned long long)w.lost,
			 (unsigned long long)w.reordered, (unsigned long long)w.duplicates);
}

static void feed(struct salvo_flowtab *t, uint32_t flow, const uint64_t *seq, size_t n)
{
	for (size_t i = 0; i < n; i++)
		salvo_flowtab_update(t, 0, flow, seq[i]);
}

#define FEED(t, flow, ...)                                                          \
	do {                                                                        \
		const uint64_t s_[] = { __VA_ARGS__ };                              \
		feed((t), (flow), s_, sizeof(s_) / sizeof(s_[0]));                  \
	} while (0)

static void test_create_errors(void **state)
{
	(void)state;
	struct salvo_flowtab *t = NULL;

	assert_int_equal(salvo_flowtab_create(&t, 0), -EINVAL);
	assert_int_equal(salvo_flowtab_create(&t, (1U << 24) + 1), -EINVAL);
	assert_null(t);
	t = tab_new(1);
	check_totals(t, 0);
	assert_int_equal(salvo_flowtab_overflow(t), 0);
	assert_int_equal(salvo_flowtab_count(t), 0);
	salvo_flowtab_destroy(t);
	salvo_flowtab_destroy(NULL);
}

static void test_in_order(void **state)
{
	(void)state;
	struct salvo_flowtab *t = tab_new(4);
	struct salvo_flow_info fi;

	for (uint64_t s = 0; s < 10000; s++)
		salvo_flowtab_update(t, 0, 7, s);
	check_totals(t, .flows = 1, .received = 10000, .unique = 10000, .expected = 10000);
	assert_int_equal(salvo_flowtab_find(t, 0, 7, &fi), 0);
	assert_int_equal(fi.flow, 7);
	assert_int_equal(fi.first, 0);
	assert_int_equal(fi.highest, 9999);
	assert_int_equal(salvo_flowtab_find(t, 0, 8, &fi), -ENOENT);
	assert_int_equal(salvo_flowtab_flow(t, 0, &fi), 0);
	assert_int_equal(fi.flow, 7);
	assert_int_equal(salvo_flowtab_flow(t, 1, &fi), -ENOENT);
	/* A flow need not start at 0: loss is counted from the first one seen. */
	for (uint64_t s = 1000000; s < 1000100; s++)
		salvo_flowtab_update(t, 0, 9, s);
	check_totals(t, .flows = 2, .received = 10100, .unique = 10100, .expected = 10100);
	salvo_flowtab_destroy(t);
}

static void test_loss(void **state)
{
	(void)state;
	struct salvo_flowtab *t = tab_new(4);
	uint64_t n = 0;

	/* Every 10th lost. */
	for (uint64_t s = 0; s < 1000; s++)
		if (s % 10 != 3) {
			salvo_flowtab_update(t, 0, 1, s);
			n++;
		}
	check_totals(t, .flows = 1, .received = n, .unique = n, .expected = 1000, .lost = 100);
	/* A gap wider than the window: 5000 lost at once. */
	salvo_flowtab_update(t, 0, 1, 6000);
	check_totals(t, .flows = 1, .received = n + 1, .unique = n + 1, .expected = 6001,
		     .lost = 5100);
	/* Loss at the tail is invisible: expected ends at the highest seen. */
	salvo_flowtab_destroy(t);
}

static void test_reorder(void **state)
{
	(void)state;
	struct salvo_flowtab *t = tab_new(4);

	FEED(t, 1, 0, 1, 3, 2, 4);
	check_totals(t, .flows = 1, .received = 5, .unique = 5, .expected = 5, .reordered = 1);
	/* A late packet lowers the loss count again. */
	FEED(t, 1, 9);
	check_totals(t, .flows = 1, .received = 6, .unique = 6, .expected = 10, .lost = 4,
		     .reordered = 1);
	FEED(t, 1, 6, 5);
	check_totals(t, .flows = 1, .received = 8, .unique = 8, .expected = 10, .lost = 2,
		     .reordered = 3);
	/* The oldest sequence still in the window is checked... */
	for (uint64_t s = 10; s < 2000; s++)
		if (s != 2000 - W)
			salvo_flowtab_update(t, 0, 1, s);
	check_totals(t, .flows = 1, .received = 1997, .unique = 1997, .expected = 2000,
		     .lost = 3, .reordered = 3);
	FEED(t, 1, 2000 - W);
	check_totals(t, .flows = 1, .received = 1998, .unique = 1998, .expected = 2000,
		     .lost = 2, .reordered = 4);
	FEED(t, 1, 2000 - W);	/* ...for duplication too */
	check_totals(t, .flows = 1, .received = 1999, .unique = 1998, .expected = 2000,
		     .lost = 2, .reordered = 4, .duplicates = 1);
	salvo_flowtab_destroy(t);
}

static void test_duplicates(void **state)
{
	(void)state;
	struct salvo_flowtab *t = tab_new(4);

	FEED(t, 1, 0, 1, 1, 2, 2, 2);
	check_totals(t, .flows = 1, .received = 6, .unique = 3, .expected = 3, .duplicates = 3);
	/* Duplicate of a reordered packet: reordered once, then duplicate. */
	FEED(t, 1, 4, 3, 3);
	check_totals(t, .flows = 1, .received = 9, .unique = 5, .expected = 5, .reordered = 1,
		     .duplicates = 4);
	/* Duplicate of the very first packet, still in the window. */
	FEED(t, 1, 0);
	check_totals(t, .flows = 1, .received = 10, .unique = 5, .expected = 5, .reordered = 1,
		     .duplicates = 5);
	/* Duplicates do not hide loss. */
	FEED(t, 1, 7, 7);
	check_totals(t, .flows = 1, .received = 12, .unique = 6, .expected = 8, .lost = 2,
		     .reordered = 1, .duplicates = 6);
	salvo_flowtab_destroy(t);
}

static void test_wrap(void **state)
{
	(void)state;
	struct salvo_flowtab *t = tab_new(4);
	struct salvo_flow_info fi;
	const uint64_t start = UINT64_MAX - 5;

	for (uint64_t i = 0; i < 12; i++)	/* UINT64_MAX-5 .. 5 */
		salvo_flowtab_update(t, 0, 1, start + i);
	check_totals(t, .flows = 1, .received = 12, .unique = 12, .expected = 12);
	assert_int_equal(salvo_flowtab_find(t, 0, 1, &fi), 0);
	assert_true(fi.first == start);
	assert_true(fi.highest == 5);

	/* Loss, reordering and duplicates across the wrap. */
	salvo_flowtab_reset(t);
	FEED(t, 2, UINT64_MAX - 3, UINT64_MAX - 2, 0, 2, UINT64_MAX, UINT64_MAX, 1, 3);
	/* missing: UINT64_MAX-1; late: UINT64_MAX and 1; dup: UINT64_MAX */
	check_totals(t, .flows = 1, .received = 8, .unique = 7, .expected = 8, .lost = 1,
		     .reordered = 2, .duplicates = 1);
	/* Late packet from before the first, across the wrap. */
	FEED(t, 2, UINT64_MAX - 4);
	check_totals(t, .flows = 1, .received = 9, .unique = 8, .expected = 9, .lost = 1,
		     .reordered = 3, .duplicates = 1);
	assert_int_equal(salvo_flowtab_find(t, 0, 2, &fi), 0);
	assert_true(fi.first == UINT64_MAX - 4);
	assert_true(fi.highest == 3);

	/* A jump of more than 2^63 reads as a very old packet, not a new highest. */
	salvo_flowtab_reset(t);
	FEED(t, 3, 100, 101, 100 + (1ULL << 63) + 1);
	assert_int_equal(salvo_flowtab_find(t, 0, 3, &fi), 0);
	assert_true(fi.highest == 101);
	assert_int_equal(fi.reordered, 1);
	salvo_flowtab_destroy(t);
}

static void test_very_old(void **state)
{
	(void)state;
	struct salvo_flowtab *t = tab_new(4);
	struct salvo_flow_info fi;

	for (uint64_t s = 0; s < 5000; s++)
		if (s != 10 && s != 20)
			salvo_flowtab_update(t, 0, 1, s);
	check_totals(t, .flows = 1, .received = 4998, .unique = 4998, .expected = 5000,
		     .lost = 2, .reordered = 0);
	/* 4990 behind: out of the window, reordered and counted. */
	FEED(t, 1, 10);
	check_totals(t, .flows = 1, .received = 4999, .unique = 4999, .expected = 5000,
		     .lost = 1, .reordered = 1);
	/* Its duplicate cannot be told apart: reordered again... */
	FEED(t, 1, 10);
	check_totals(t, .flows = 1, .received = 5000, .unique = 5000, .expected = 5000,
		     .lost = 0, .reordered = 2);
	/* ...and loss never goes negative: unique > expected clamps at 0. */
	FEED(t, 1, 11);
	check_totals(t, .flows = 1, .received = 5001, .unique = 5001, .expected = 5000,
		     .lost = 0, .reordered = 3);
	/* Still clamped after the window moves on with a new gap of one. */
	FEED(t, 1, 5001);
	check_totals(t, .flows = 1, .received = 5002, .unique = 5002, .expected = 5002,
		     .lost = 0, .reordered = 3);
	assert_int_equal(salvo_flowtab_find(t, 0, 1, &fi), 0);
	assert_int_equal(fi.lost, 0);

	/* Before the first seen, inside the window: first moves back, dup-checked. */
	salvo_flowtab_reset(t);
	check_totals(t, 0);
	for (uint64_t s = 100; s < 200; s++)
		salvo_flowtab_update(t, 0, 1, s);
	FEED(t, 1, 50);
	check_totals(t, .flows = 1, .received = 101, .unique = 101, .expected = 150, .lost = 49,
		     .reordered = 1);
	FEED(t, 1, 50);
	check_totals(t, .flows = 1, .received = 102, .unique = 101, .expected = 150, .lost = 49,
		     .reordered = 1, .duplicates = 1);
	FEED(t, 1, 60);
	check_totals(t, .flows = 1, .received = 103, .unique = 102, .expected = 150, .lost = 48,
		     .reordered = 2, .duplicates = 1);
	/* Before the first seen, outside the window. */
	for (uint64_t s = 200; s < 3000; s++)
		salvo_flowtab_update(t, 0, 1, s);
	FEED(t, 1, 0);
	check_totals(t, .flows = 1, .received = 2904, .unique = 2903, .expected = 3000,
		     .lost = 97, .reordered = 3, .duplicates = 1);
	assert_int_equal(salvo_flowtab_find(t, 0, 1, &fi), 0);
	assert_int_equal(fi.first, 0);
	salvo_flowtab_destroy(t);
}

static uint32_t flow_id(uint32_t i)
{
	return i * 2654435761U;	/* spread, and includes 0 for i = 0 */
}

static void test_many_flows(void **state)
{
	(void)state;
	const uint32_t nf = 20000, per = 5;
	struct salvo_flowtab *t = tab_new(nf);
	struct salvo_flow_info fi;

	/* Round robin: the last-flow cache misses on every packet. */
	for (uint64_t s = 0; s < per; s++)
		for (uint32_t i = 0; i < nf; i++)
			if (!(i % 7 == 3 && s == 2))	/* some loss in some flows */
				salvo_flowtab_update(t, 0, flow_id(i), s);
	/* Sequential ids too, in a second round. */
	uint64_t lost = (nf + 3) / 7;
	uint64_t rx = (uint64_t)nf * per - lost;

	check_totals(t, .flows = nf, .received = rx, .unique = rx, .expected = (uint64_t)nf * per,
		     .lost = lost);
	assert_int_equal(salvo_flowtab_count(t), nf);
	for (uint32_t i = 0; i < nf; i++) {
		assert_int_equal(salvo_flowtab_find(t, 0, flow_id(i), &fi), 0);
		assert_int_equal(fi.flow, flow_id(i));
		assert_int_equal(fi.highest, per - 1);
		assert_int_equal(fi.lost, i % 7 == 3);
		assert_int_equal(salvo_flowtab_flow(t, i, &fi), 0);
		assert_int_equal(fi.flow, flow_id(i));	/* first-seen order */
	}
	assert_int_equal(salvo_flowtab_overflow(t), 0);
	salvo_flowtab_destroy(t);
}

static void test_overflow(void **state)
{
	(void)state;
	struct salvo_flowtab *t = tab_new(4);
	struct salvo_flow_info fi;

	for (uint64_t s = 0; s < 3; s++)
		for (uint32_t f = 0; f < 6; f++)
			salvo_flowtab_update(t, 0, f, s);
	check_totals(t, .flows = 4, .received = 12, .unique = 12, .expected = 12);
	assert_int_equal(salvo_flowtab_overflow(t), 6);
	assert_int_equal(salvo_flowtab_find(t, 0, 4, &fi), -ENOENT);
	assert_int_equal(salvo_flowtab_find(t, 0, 3, &fi), 0);
	/* Known flows keep being accounted. */
	salvo_flowtab_update(t, 0, 2, 5);
	check_totals(t, .flows = 4, .received = 13, .unique = 13, .expected = 15, .lost = 2);

	salvo_flowtab_reset(t);
	check_totals(t, 0);
	assert_int_equal(salvo_flowtab_overflow(t), 0);
	assert_int_equal(salvo_flowtab_count(t), 0);
	assert_int_equal(salvo_flowtab_find(t, 0, 2, &fi), -ENOENT);
	for (uint32_t f = 10; f < 14; f++)
		salvo_flowtab_update(t, 0, f, 100);
	salvo_flowtab_update(t, 0, 14, 100);
	check_totals(t, .flows = 4, .received = 4, .unique = 4, .expected = 4);
	assert_int_equal(salvo_flowtab_overflow(t), 1);
	salvo_flowtab_destroy(t);
}

static void test_merge(void **state)
{
	(void)state;
	struct salvo_flowtab *a = tab_new(8), *b = tab_new(8), *small = tab_new(1);

	assert_int_equal(salvo_flowtab_merge(a, a), -EINVAL);

	/* Disjoint flows: a plain union. */
	FEED(a, 1, 0, 1, 3);
	FEED(b, 2, 10, 12, 11, 11);
	assert_int_equal(salvo_flowtab_merge(a, b), 0);
	check_totals(a, .flows = 2, .received = 7, .unique = 6, .expected = 7, .lost = 1,
		     .reordered = 1, .duplicates = 1);

	/* One flow split across two workers, even/odd: nothing lost after all. */
	salvo_flowtab_reset(a);
	salvo_flowtab_reset(b);
	for (uint64_t s = 0; s < 2000; s++)
		salvo_flowtab_update(s & 1 ? b : a, 0, 5, s);
	check_totals(a, .flows = 1, .received = 1000, .unique = 1000, .expected = 1999,
		     .lost = 999);
	assert_int_equal(salvo_flowtab_merge(a, b), 0);
	check_totals(a, .flows = 1, .received = 2000, .unique = 2000, .expected = 2000);

	/* Overlap inside both windows: the common part is duplicate. */
	salvo_flowtab_reset(a);
	salvo_flowtab_reset(b);
	for (uint64_t s = 0; s < 1000; s++)
		salvo_flowtab_update(a, 0, 5, s);
	for (uint64_t s = 500; s < 1500; s++)
		salvo_flowtab_update(b, 0, 5, s);
	assert_int_equal(salvo_flowtab_merge(a, b), 0);
	check_totals(a, .flows = 1, .received = 2000, .unique = 1500, .expected = 1500,
		     .duplicates = 500);
	/*
	 * The merged window is live: 1499 is a duplicate, 1500 new, the oldest
	 * one in the window below 1500 (seen by a) a duplicate, 400 old.
	 */
	FEED(a, 5, 1499, 1500, 1500 - W + 1, 400);
	check_totals(a, .flows = 1, .received = 2004, .unique = 1502, .expected = 1501,
		     .lost = 0, .reordered = 1, .duplicates = 502);

	/* Overlap wider than the window: only the window's part is caught. */
	salvo_flowtab_reset(a);
	salvo_flowtab_reset(b);
	for (uint64_t s = 0; s < 5000; s++) {
		salvo_flowtab_update(a, 0, 5, s);
		salvo_flowtab_update(b, 0, 5, s);
	}
	assert_int_equal(salvo_flowtab_merge(a, b), 0);
	check_totals(a, .flows = 1, .received = 10000, .unique = 10000 - W, .expected = 5000,
		     .lost = 0, .duplicates = W);

	/* Gap between the two windows: the hole is lost, first and highest span both. */
	salvo_flowtab_reset(a);
	salvo_flowtab_reset(b);
	FEED(a, 5, 3000, 3001, 3003);
	FEED(b, 5, 100, 101, 102);
	assert_int_equal(salvo_flowtab_merge(a, b), 0);
	check_totals(a, .flows = 1, .received = 6, .unique = 6, .expected = 2904,
		     .lost = 2898, .reordered = 0);
	FEED(a, 5, 3002, 99);
	check_totals(a, .flows = 1, .received = 8, .unique = 8, .expected = 2905,
		     .lost = 2897, .reordered = 2);

	/* No room in dst: src's packets go to overflow, with src's own overflow. */
	salvo_flowtab_reset(b);
	FEED(small, 1, 0, 1);
	FEED(small, 2, 0);		/* overflow 1 */
	FEED(b, 3, 0, 1, 2);
	FEED(b, 1, 2);
	assert_int_equal(salvo_flowtab_merge(small, b), 0);
	check_totals(small, .flows = 1, .received = 3, .unique = 3, .expected = 3);
	assert_int_equal(salvo_flowtab_overflow(small), 4);
	assert_int_equal(salvo_flowtab_merge(b, small), 0);
	assert_int_equal(salvo_flowtab_overflow(b), 4);

	salvo_flowtab_destroy(a);
	salvo_flowtab_destroy(b);
	salvo_flowtab_destroy(small);
}

/* ---- random streams against a naive model -------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)	/* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool chance(unsigned int per_mille)
{
	return rnd() % 1000 < per_mille;
}

struct ev {
	uint64_t key;	/* arrival order */
	uint32_t flow;
	uint64_t seq;
};

static int cmp_ev(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/*
 * The model: one flag per sequence ever sent, no window tricks, so it
 * checks the ring bitmap and the incremental totals independently.
 */
struct model {
	uint64_t base;
	bool started;
	int64_t first, highest;
	uint64_t received, unique, reordered, dups;
	uint8_t *seen;
};

static void model_update(struct model *m, uint64_t seq)
{
	int64_t r = (int64_t)(seq - m->base);	/* small, >= 0 in these streams */

	m->received++;
	if (!m->started) {
		m->started = true;
		m->first = m->highest = r;
		m->seen[r] = 1;
		m->unique++;
		return;
	}
	if (r > m->highest) {
		m->highest = r;
		m->seen[r] = 1;
		m->unique++;
		return;
	}
	if (m->highest - r < W && m->seen[r]) {
		m->dups++;
		return;
	}
	m->seen[r] = 1;
	m->unique++;
	m->reordered++;
	if (r < m->first)
		m->first = r;
}

static void run_random(uint64_t seed, unsigned int nflows, uint64_t per_flow, const uint64_t *bases)
{
	size_t cap = nflows * per_flow * 3, n = 0;
	struct ev *ev = malloc(cap * sizeof(*ev));
	struct model *m = calloc(nflows, sizeof(*m));
	struct salvo_flowtab *t = tab_new(nflows);
	struct want w = { 0 };
	struct salvo_flow_info fi;

	assert_non_null(ev);
	assert_non_null(m);
	rng_state = seed;
	for (unsigned int f = 0; f < nflows; f++) {
		m[f].base = bases[f];
		m[f].seen = calloc(per_flow, 1);
		assert_non_null(m[f].seen);
		for (uint64_t i = 0; i < per_flow; i++) {
			/* Arrival key: send slot * 16 plus a per-flow jitter. */
			uint64_t key = i * 16 * nflows + rnd() % (16 * nflows);
			uint64_t seq = bases[f] + i;

			if (chance(20))		/* lost */
				continue;
			if (chance(30))		/* late, inside the window */
				key += (1 + rnd() % 200) * 16 * nflows;
			else if (chance(3))	/* late, beyond the window */
				key += (W + 1 + rnd() % 3000) * 16 * nflows;
			ev[n++] = (struct ev){ key, flow_id(f + 1), seq };
			if (chance(15))		/* duplicated soon after */
				ev[n++] = (struct ev){ key + rnd() % (100 * 16 * nflows), flow_id(f + 1), seq };
			if (chance(2))		/* duplicated much later */
				ev[n++] = (struct ev){ key + (W + rnd() % 3000) * 16 * nflows, flow_id(f + 1), seq };
		}
	}
	qsort(ev, n, sizeof(*ev), cmp_ev);
	for (size_t i = 0; i < n; i++) {
		unsigned int f = 0;

		while (flow_id(f + 1) != ev[i].flow)
			f++;
		salvo_flowtab_update(t, 0, ev[i].flow, ev[i].seq);
		model_update(&m[f], ev[i].seq);
		/* Totals are checked along the way, not only at the end. */
		if (i % 9973 == 0) {
			struct salvo_flow_totals g;
			uint64_t rx = 0;

			salvo_flowtab_totals(t, &g);
			for (unsigned int k = 0; k < nflows; k++)
				rx += m[k].received;
			assert_int_equal(g.received, rx);
		}
	}

	for (unsigned int f = 0; f < nflows; f++) {
		uint64_t exp = (uint64_t)(m[f].highest - m[f].first + 1);
		uint64_t lost = exp > m[f].unique ? exp - m[f].unique : 0;

		assert_int_equal(salvo_flowtab_find(t, 0, flow_id(f + 1), &fi), 0);
		assert_true(fi.first == m[f].base + (uint64_t)m[f].first);
		assert_true(fi.highest == m[f].base + (uint64_t)m[f].highest);
		assert_int_equal(fi.received, m[f].received);
		assert_int_equal(fi.unique, m[f].unique);
		assert_int_equal(fi.duplicates, m[f].dups);
		assert_int_equal(fi.reordered, m[f].reordered);
		assert_int_equal(fi.expected, exp);
		assert_int_equal(fi.lost, lost);
		/* The streams must exercise every rule. */
		assert_true(m[f].dups > 0 && m[f].reordered > 0 && lost > 0);
		w.flows++;
		w.received += m[f].received;
		w.unique += m[f].unique;
		w.expected += exp;
		w.lost += lost;
		w.reordered += m[f].reordered;
		w.duplicates += m[f].dups;
		free(m[f].seen);
	}
	assert_true(w.received >= 100000);
	check_totals_(t, w, __LINE__);
	assert_int_equal(salvo_flowtab_overflow(t), 0);
	salvo_flowtab_destroy(t);
	free(m);
	free(ev);
}

static void test_random_vs_model(void **state)
{
	(void)state;
	const uint64_t b1[] = { 0 };
	const uint64_t b3[] = { 0, UINT64_MAX - 20000, 1ULL << 40 };

	run_random(11, 1, 110000, b1);
	run_random(12, 3, 40000, b3);	/* interleaved flows, one wraps */
}

/*
 * Two senders' flow 0 are two flows: the same (flow, seq) stream from two
 * sessions is neither duplicated nor reordered, and each session sums its
 * own flows.  Interleaved packet by packet, so the last-flow cache misses
 * on every update.
 */
/*
 * One stamped packet and its latency sample (or none): with *state NULL
 * through update + latency, else through the receive path's single call,
 * salvo_flowtab_record; both must leave the same figures.
 */
static void feed_lat(void **state, struct salvo_flowtab *t, uint32_t sess, uint32_t flow, uint64_t seq,
		 uint64_t lat)
{
	if (*state) {
		salvo_flowtab_record(t, sess, flow, seq, lat);
		return;
	}
	salvo_flowtab_update(t, sess, flow, seq);
	if (lat != SALVO_FLOW_NO_LATENCY)
		salvo_flowtab_latency(t, lat);
}

static int use_record(void **state)
{
	static int on = 1;

	*state = &on;
	return 0;
}

static void test_sessions(void **state)
{
	struct salvo_flowtab *t;
	struct salvo_flow_totals tot;
	struct salvo_flow_info fi;
	struct salvo_session_totals rows[2];
	const uint32_t sa = 0x11111111, sb = 0xdeadbeef;

	assert_int_equal(salvo_flowtab_create(&t, 16), 0);
	for (uint64_t s = 0; s < 3000; s++) {
		feed_lat(state, t, sa, 0, s, 100 + s % 3);	/* a: 100, 101, 102 ... */
		feed_lat(state, t, sb, 0, s, 5000);
		if (s % 2 == 0)
			feed_lat(state, t, sb, 1, s / 2, s == 2000 ? 9000 : 7000);
	}
	/* One loss in session a's flow 0, one duplicate in session b's flow 1. */
	feed_lat(state, t, sa, 0, 3001, SALVO_FLOW_NO_LATENCY);
	feed_lat(state, t, sb, 1, 1400, SALVO_FLOW_NO_LATENCY);
	salvo_flowtab_totals(t, &tot);
	assert_int_equal(tot.flows, 3);
	assert_int_equal(tot.received, 3000 + 3000 + 1500 + 2);
	assert_int_equal(tot.duplicates, 1);
	assert_int_equal(tot.reordered, 0);
	assert_int_equal(tot.lost, 1);
	assert_int_equal(salvo_flowtab_find(t, sa, 0, &fi), 0);
	assert_int_equal(fi.session, sa);
	assert_int_equal(fi.received, 3001);
	assert_int_equal(salvo_flowtab_find(t, sa, 1, &fi), -ENOENT);
	assert_int_equal(salvo_flowtab_find(t, 0, 0, &fi), -ENOENT);

	assert_int_equal(salvo_flowtab_sessions(t, rows, 2), 2);
	assert_int_equal(rows[0].session, sa);
	assert_int_equal(rows[0].flows, 1);
	assert_int_equal(rows[0].received, 3001);
	assert_int_equal(rows[0].lost, 1);
	assert_int_equal(rows[0].duplicates, 0);
	assert_int_equal(rows[0].lat_n, 3000);
	assert_int_equal(rows[0].lat_sum, 3000 * 101);
	assert_int_equal(rows[0].lat_max, 102);
	assert_int_equal(rows[1].session, sb);
	assert_int_equal(rows[1].flows, 2);
	assert_int_equal(rows[1].received, 4501);
	assert_int_equal(rows[1].duplicates, 1);
	assert_int_equal(rows[1].lost, 0);
	assert_int_equal(rows[1].lat_n, 4500);
	assert_int_equal(rows[1].lat_sum, 3000 * 5000 + 1499 * 7000 + 9000);
	assert_int_equal(rows[1].lat_max, 9000);
	/* Fewer rows than sessions: the count is still all of them. */
	assert_int_equal(salvo_flowtab_sessions(t, rows, 1), 2);
	assert_int_equal(rows[0].session, sa);
	assert_int_equal(salvo_flowtab_sessions(t, rows, 0), 2);
	salvo_flowtab_destroy(t);
}

/* A hostile sender drawing a new session per packet fills the table, no more. */
static void test_session_flood(void **state)
{
	struct salvo_flowtab *t;
	struct salvo_session_totals rows[4];

	assert_int_equal(salvo_flowtab_create(&t, 64), 0);
	for (uint32_t s = 1; s <= 1000; s++) {
		feed_lat(state, t, s * 2654435761U, 0, 0, s);
	}
	assert_int_equal(salvo_flowtab_count(t), 64);
	assert_int_equal(salvo_flowtab_overflow(t), 1000 - 64);
	assert_int_equal(salvo_flowtab_sessions(t, rows, 4), 64);
	/* Samples of packets without an entry went nowhere (not to the last flow). */
	assert_int_equal(rows[3].lat_n, 1);
	assert_int_equal(rows[3].lat_max, 4);
	salvo_flowtab_destroy(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_errors),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_wrap),
		cmocka_unit_test(test_very_old),
		cmocka_unit_test(test_many_flows),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_random_vs_model),
		cmocka_unit_test(test_sessions),
		cmocka_unit_test(test_session_flood),
		cmocka_unit_test_setup(test_sessions, use_record),
		cmocka_unit_test_setup(test_session_flood, use_record),
	};

	return cmocka_run_group_tests_name("flowstat", tests, NULL, NULL);
}
