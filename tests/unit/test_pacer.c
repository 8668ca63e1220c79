// SPDX-License-Identifier: MIT
/*
 * Unit tests for the shared pacer (engine/pacer.c): the arithmetic of the
 * departure timeline, not how fast this machine is.  The claiming threads
 * make this a tsan test too (tests/run.sh runs it under TSan).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <salvo/common.h>
#include <salvo/run.h>
#include <salvo/pacer.h>

/* Far enough ahead that no claim is ever late (the stall rule never fires). */
#define FUTURE (salvo_now_ns() + 3600 * NSEC_PER_SEC)

static void test_create_rejects(void **state)
{
	struct salvo_pacer *p = NULL;

	(void)state;
	assert_int_equal(salvo_pacer_create(&p, 0), -EINVAL);
	assert_int_equal(salvo_pacer_create(&p, -5), -EINVAL);
	assert_int_equal(salvo_pacer_create(&p, NAN), -EINVAL);
	assert_null(p);
	salvo_pacer_destroy(NULL);
}

/* Claim i of n departures returns start + i / rate: an absolute timeline. */
static void test_timeline(void **state)
{
	static const double rates[] = {1, 3, 1000, 7777, 1e6, 14.88e6, 1e9};

	(void)state;
	for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		struct salvo_pacer *p;
		uint64_t start = FUTURE, i = 0, prev = 0;
		unsigned int n = 1;

		assert_int_equal(salvo_pacer_create(&p, rates[r]), 0);
		salvo_pacer_start(p, start);
		for (int k = 0; k < 2000; k++) {
			uint64_t due = salvo_pacer_claim(p, n);
			long double want = (long double)start + (long double)i * 1e9L / rates[r];

			/* Within a nanosecond of the exact value (double rounding only). */
			if (fabsl((long double)due - want) > 1.0L)
				fail_msg("rate %g claim %llu: due %llu, want %.1Lf", rates[r],
					 (unsigned long long)i, (unsigned long long)due, want);
			assert_true(due >= prev);
			prev = due;
			i += n;
			n = n % 64 + 1;	/* burst sizes 1..64 */
		}
		salvo_pacer_destroy(p);
	}
}

/* Integral intervals are exact, far into a long run. */
static void test_timeline_exact(void **state)
{
	struct salvo_pacer *p;
	uint64_t start = FUTURE;

	(void)state;
	assert_int_equal(salvo_pacer_create(&p, 1e6), 0);	/* 1000 ns apart */
	salvo_pacer_start(p, start);
	assert_true(salvo_pacer_claim(p, 10) == start);
	assert_true(salvo_pacer_claim(p, 32) == start + 10 * 1000);
	assert_true(salvo_pacer_claim(p, 1) == start + 42 * 1000);
	assert_true(salvo_pacer_claim(p, 0) == start + 43 * 1000);
	assert_true(salvo_pacer_claim(p, 1) == start + 43 * 1000);
	salvo_pacer_destroy(p);
}

struct claimer {
	struct salvo_pacer *p;
	unsigned int burst, claims;
	uint64_t *due;
};

static void *claim_thread(void *arg)
{
	struct claimer *c = arg;

	for (unsigned int i = 0; i < c->claims; i++)
		c->due[i] = salvo_pacer_claim(c->p, c->burst);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Several workers claim at once: together they get exactly the slots
 * 0, b, 2b, ... of one timeline, none twice, none skipped.
 */
static void test_concurrent_claims(void **state)
{
	enum { THREADS = 4, CLAIMS = 5000, BURST = 16 };
	struct salvo_pacer *p;
	struct claimer c[THREADS];
	pthread_t t[THREADS];
	uint64_t *all = calloc(THREADS * CLAIMS, sizeof(*all));
	uint64_t start = FUTURE;

	(void)state;
	assert_non_null(all);
	assert_int_equal(salvo_pacer_create(&p, 2e6), 0);	/* 500 ns apart */
	salvo_pacer_start(p, start);
	for (int i = 0; i < THREADS; i++) {
		c[i] = (struct claimer){p, BURST, CLAIMS, all + (size_t)i * CLAIMS};
		assert_int_equal(pthread_create(&t[i], NULL, claim_thread, &c[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	qsort(all, THREADS * CLAIMS, sizeof(*all), cmp_u64);
	for (uint64_t k = 0; k < THREADS * CLAIMS; k++)
		if (all[k] != start + k * BURST * 500)
			fail_msg("slot %llu: due %llu, want %llu", (unsigned long long)k,
				 (unsigned long long)all[k],
				 (unsigned long long)(start + k * BURST * 500));
	salvo_pacer_destroy(p);
	free(all);
}

/*
 * A stall (the timeline is far in the past) moves the timeline instead of
 * repaying the lag: the late claim is due "now", and the following ones
 * follow it at the normal interval.
 */
static void test_stall_shift(void **state)
{
	struct salvo_pacer *p;
	uint64_t t0, t1, due1, due2, due3;

	(void)state;
	assert_int_equal(salvo_pacer_create(&p, 1), 0);	/* 1 s apart: no second stall */
	t0 = salvo_now_ns();
	salvo_pacer_start(p, t0 - 10 * NSEC_PER_SEC);
	due1 = salvo_pacer_claim(p, 1);
	t1 = salvo_now_ns();
	/* "now" as the pacer saw it, not ten seconds ago. */
	assert_true(due1 >= t0 && due1 <= t1);
	due2 = salvo_pacer_claim(p, 2);
	assert_true(due2 == due1 + NSEC_PER_SEC);
	due3 = salvo_pacer_claim(p, 1);
	assert_true(due3 == due1 + 3 * NSEC_PER_SEC);
	salvo_pacer_destroy(p);
}

/*
 * A lag under the threshold (50 ms) is repaid, not shifted: the timeline
 * stays absolute.  If this thread itself was descheduled past the threshold
 * before claiming, the attempt proves nothing and is repeated.
 */
static void test_small_lag_kept(void **state)
{
	(void)state;
	for (int attempt = 0; attempt < 20; attempt++) {
		struct salvo_pacer *p;
		uint64_t start, first, after;

		assert_int_equal(salvo_pacer_create(&p, 1e3), 0);
		start = salvo_now_ns() - 5 * NSEC_PER_MSEC;	/* 5 ms late already */
		salvo_pacer_start(p, start);
		first = salvo_pacer_claim(p, 1);
		after = salvo_now_ns();
		if (after - start >= 50 * NSEC_PER_MSEC) {
			salvo_pacer_destroy(p);
			continue;
		}
		assert_true(first == start);
		/* Slot 1000 is a second after start: on the original timeline. */
		assert_true(salvo_pacer_claim(p, 999) == start + 1000000);
		assert_true(salvo_pacer_claim(p, 1) == start + 1000 * 1000000ULL);
		salvo_pacer_destroy(p);
		return;
	}
	skip();
}

/* Witness: the clock read after the wait returns, not the value the wait reports. */
static void test_wait_never_early(void **state)
{
	int stop = 0;

	(void)state;
	for (int i = 0; i < 20; i++) {
		uint64_t due = salvo_now_ns() + (uint64_t)(i % 5) * 300 * NSEC_PER_USEC;
		uint64_t got = salvo_pacer_wait(due, i & 1 ? &stop : NULL);
		uint64_t after = salvo_now_ns();

		assert_true(after >= due);
		assert_true(got >= due && got <= after);
	}
	/* A due time in the past returns at once with the current time. */
	{
		uint64_t before = salvo_now_ns();
		uint64_t got = salvo_pacer_wait(1, &stop);

		assert_true(got >= before && got <= salvo_now_ns());
	}
}

struct stopper {
	int *stop;
	uint64_t delay_ns;
};

static void *stop_later(void *arg)
{
	struct stopper *s = arg;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)s->delay_ns};

	nanosleep(&ts, NULL);
	__atomic_store_n(s->stop, 1, __ATOMIC_RELAXED);
	salvo_pacer_wake(s->stop);
	return NULL;
}

/* A stop ends a long wait at once: a departure an hour away does not hold the worker. */
static void test_wait_stops(void **state)
{
	int stop = 0;
	struct stopper s = {.stop = &stop, .delay_ns = 50 * NSEC_PER_MSEC};
	pthread_t t;
	uint64_t t0 = salvo_now_ns(), t1;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, stop_later, &s), 0);
	assert_true(salvo_pacer_wait(t0 + 3600 * NSEC_PER_SEC, &stop) == 0);
	t1 = salvo_now_ns();
	pthread_join(t, NULL);
	assert_true(t1 - t0 >= 50 * NSEC_PER_MSEC);
	/* Generous for a loaded machine; without the wake it would be an hour. */
	assert_true(t1 - t0 < 5 * NSEC_PER_SEC);
	/* Already stopped: returns 0 without waiting. */
	t0 = salvo_now_ns();
	assert_true(salvo_pacer_wait(t0 + 3600 * NSEC_PER_SEC, &stop) == 0);
	assert_true(salvo_now_ns() - t0 < 5 * NSEC_PER_SEC);
}

static void test_burst(void **state)
{
	(void)state;
	assert_int_equal(salvo_pacer_burst(1e6, 1, 1024), 50);	/* a burst per 50 us */
	assert_int_equal(salvo_pacer_burst(1e6, 2, 1024), 25);
	assert_int_equal(salvo_pacer_burst(1e6, 1, 32), 32);
	assert_int_equal(salvo_pacer_burst(100, 1, 32), 1);
	assert_int_equal(salvo_pacer_burst(1e9, 4, 64), 64);
	assert_int_equal(salvo_pacer_burst(1e6, 0, 1024), 50);	/* 0 workers taken as 1 */
	for (double pps = 1; pps < 1e10; pps *= 3.7)
		for (unsigned int w = 1; w <= 8; w++) {
			unsigned int b = salvo_pacer_burst(pps, w, 256);

			assert_true(b >= 1 && b <= 256);
			/* Never more than ~50 us of one worker's share at once. */
			assert_true(b == 1 || (double)b <= pps / w * 50e-6);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_rejects),
		cmocka_unit_test(test_timeline),
		cmocka_unit_test(test_timeline_exact),
		cmocka_unit_test(test_concurrent_claims),
		cmocka_unit_test(test_stall_shift),
		cmocka_unit_test(test_small_lag_kept),
		cmocka_unit_test(test_wait_never_early),
		cmocka_unit_test(test_wait_stops),
		cmocka_unit_test(test_burst),
	};

	return cmocka_run_group_tests_name("pacer", tests, NULL, NULL);
}
