// SPDX-License-Identifier: MIT
/*
 * Unit tests for salvo merge (apps/merge.c) with the records cli/report.c
 * writes (compiled in, as test_report does).  The witness for merged
 * histograms is one histogram that recorded every sample, and the sorted
 * samples themselves; for counters, the sums the test keeps.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cli/report.c"
#include "../../cli/version.c"
#include "apps/merge.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Spread over many octaves: 1 ns to ~2^41 (some above the clamp). */
static uint64_t sample(void)
{
	unsigned int bits = (unsigned int)(next() % 42);

	return next() & ((1ULL << bits) - 1);
}

static int u64cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

static void fill_latency_of(struct salvo_report *r, const struct salvo_hist *h)
{
	r->has_latency = salvo_hist_count(h) > 0;
	r->hist = h;
	r->latency.count = salvo_hist_count(h);
	r->latency.min = salvo_hist_min(h);
	r->latency.max = salvo_hist_max(h);
	r->latency.mean = salvo_hist_mean(h);
	r->latency.clamped = salvo_hist_clamped(h);
}

/* One record as the report writes it, as text, with its host set. */
static char *record_text(const struct salvo_report *r, const char *host)
{
	json_t *j = salvo_report_json(r, NULL);
	char *s;

	json_object_set_new(j, "host", json_string(host));
	s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
	json_decref(j);
	return s;
}

#define NPROC 5
#define NSAMP 4000

static void test_hist_merge_equals_all_samples(void **state)
{
	struct salvo_hist *part[NPROC], *all, *got;
	struct salvo_merge *m;
	uint64_t *v = malloc(NPROC * NSAMP * sizeof(*v)), n = 0;
	const double ps[] = {1, 10, 25, 50, 75, 90, 99, 99.9, 99.99};
	char err[256];

	(void)state;
	assert_non_null(v);
	assert_int_equal(salvo_hist_create(&all), 0);
	assert_int_equal(salvo_hist_create(&got), 0);
	assert_int_equal(salvo_merge_create(&m, 0), 0);
	for (int p = 0; p < NPROC; p++) {
		struct salvo_report r = {.command = "udp recv", .backend = "null", .duration_s = 1};
		char *text;

		assert_int_equal(salvo_hist_create(&part[p]), 0);
		/* Uneven sizes, one process with none. */
		for (int i = 0; i < (p == 3 ? 0 : NSAMP / (p + 1)); i++) {
			uint64_t s = sample();

			salvo_hist_record(part[p], s);
			salvo_hist_record(all, s);
			v[n++] = s > SALVO_HIST_MAX ? SALVO_HIST_MAX : s;
		}
		fill_latency_of(&r, part[p]);
		r.has_rx = true;
		text = record_text(&r, "h");
		assert_int_equal(salvo_merge_add(m, text, strlen(text), err, sizeof(err)), 0);
		free(text);
	}
	assert_int_equal(salvo_merge_finish(m), 0);
	assert_int_equal(salvo_merge_hist_build(&salvo_merge_total(m)->lat, got), 0);

	/* Bucket for bucket, the histogram of every sample. */
	assert_int_equal(salvo_hist_count(got), salvo_hist_count(all));
	for (size_t i = 0, j = 0;; i++, j++) {
		uint64_t a = salvo_hist_bucket_next(all, &i), b = salvo_hist_bucket_next(got, &j);

		assert_int_equal(i, j);
		assert_int_equal(a, b);
		if (!a)
			break;
	}
	assert_int_equal(salvo_hist_min(got), salvo_hist_min(all));
	assert_int_equal(salvo_hist_max(got), salvo_hist_max(all));
	assert_int_equal(salvo_hist_clamped(got), salvo_hist_clamped(all));
	assert_true(salvo_hist_clamped(all) > 0);	/* the clamp path was taken */
	assert_true(fabs(salvo_hist_mean(got) - salvo_hist_mean(all)) <= 1e-6 * salvo_hist_mean(all));

	/* Percentiles: the all-sample histogram's exactly, the sorted samples' to 1/2048. */
	qsort(v, n, sizeof(*v), u64cmp);
	for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		uint64_t rank = (uint64_t)ceil(ps[k] / 100.0 * (double)n), exact = v[rank - 1];
		uint64_t q = salvo_hist_percentile(got, ps[k]);

		assert_int_equal(q, salvo_hist_percentile(all, ps[k]));
		assert_true(q >= exact);
		assert_true((double)(q - exact) <= (double)exact / 2048.0);
	}
	for (int p = 0; p < NPROC; p++)
		salvo_hist_destroy(part[p]);
	salvo_hist_destroy(all);
	salvo_hist_destroy(got);
	salvo_merge_destroy(m);
	free(v);
}

/*
 * engine/hist.c's decoding: buckets added by index and the exact extremes
 * give back the histogram that was recorded; extremes that cannot belong
 * to the buckets are refused and leave it unchanged.
 */
static void test_hist_decode(void **state)
{
	struct salvo_hist *a, *b;
	uint64_t n;

	(void)state;
	assert_int_equal(salvo_hist_create(&a), 0);
	assert_int_equal(salvo_hist_create(&b), 0);
	/* min 5000 starts its bucket ([5000, 5001]): 4999 lies in the one below. */
	salvo_hist_record(a, 5000);
	for (int i = 0; i < 1000; i++)
		salvo_hist_record(a, 5001 + sample());
	assert_int_equal(salvo_hist_bucket_lo(5000 / 2 + 2048), 5000);
	for (size_t i = 0; (n = salvo_hist_bucket_next(a, &i)); i++) {
		assert_true(salvo_hist_bucket_lo(i) <= salvo_hist_bucket_hi(i));
		assert_int_equal(salvo_hist_bucket_add(b, i, n), 0);
	}
	/* min one below its bucket, max one above the clamp: refused, b unchanged. */
	assert_int_equal(salvo_hist_set_exact(b, salvo_hist_min(a) - 1, salvo_hist_max(a),
					      salvo_hist_mean(a), salvo_hist_clamped(a)), -EINVAL);
	assert_int_equal(salvo_hist_set_exact(b, salvo_hist_min(a), SALVO_HIST_MAX + 1,
					      salvo_hist_mean(a), salvo_hist_clamped(a)), -EINVAL);
	assert_int_equal(salvo_hist_set_exact(b, salvo_hist_min(a), salvo_hist_max(a), NAN,
					      salvo_hist_clamped(a)), -EINVAL);
	assert_int_equal(salvo_hist_set_exact(b, salvo_hist_min(a), salvo_hist_max(a),
					      salvo_hist_mean(a), salvo_hist_count(a) + 1), -EINVAL);
	assert_int_equal(salvo_hist_set_exact(b, salvo_hist_min(a), salvo_hist_max(a),
					      salvo_hist_mean(a), salvo_hist_clamped(a)), 0);
	assert_int_equal(salvo_hist_count(b), salvo_hist_count(a));
	assert_int_equal(salvo_hist_min(b), salvo_hist_min(a));
	assert_int_equal(salvo_hist_max(b), salvo_hist_max(a));
	assert_int_equal(salvo_hist_clamped(b), salvo_hist_clamped(a));
	for (double p = 0.5; p < 100; p += 2.5)
		assert_int_equal(salvo_hist_percentile(b, p), salvo_hist_percentile(a, p));
	assert_int_equal(salvo_hist_bucket_add(b, salvo_hist_nbuckets(), 1), -ERANGE);
	assert_int_equal(salvo_hist_bucket_add(b, 0, UINT64_MAX), -EOVERFLOW);
	salvo_hist_destroy(a);
	salvo_hist_destroy(b);
}

/*
 * The same record twice: the second adds in place (every bucket already
 * there), and every bucket holds twice the count.
 */
static void test_hist_add_in_place(void **state)
{
	struct salvo_report r = {.command = "udp recv", .backend = "null", .duration_s = 1};
	struct salvo_hist *a, *got;
	struct salvo_merge *m;
	char err[256], *text;
	uint64_t n;

	(void)state;
	assert_int_equal(salvo_hist_create(&a), 0);
	assert_int_equal(salvo_hist_create(&got), 0);
	for (int i = 0; i < 30; i++)
		salvo_hist_record(a, sample());
	fill_latency_of(&r, a);
	text = record_text(&r, "h");
	assert_int_equal(salvo_merge_create(&m, 0), 0);
	assert_int_equal(salvo_merge_add(m, text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(salvo_merge_add(m, text, strlen(text), err, sizeof(err)), 0);
	assert_int_equal(salvo_merge_hist_build(&salvo_merge_total(m)->lat, got), 0);
	assert_int_equal(salvo_hist_count(got), 60);
	for (size_t i = 0, j = 0; (n = salvo_hist_bucket_next(a, &i)); i++, j++) {
		assert_int_equal(salvo_hist_bucket_next(got, &j), 2 * n);
		assert_int_equal(i, j);
	}
	free(text);
	salvo_merge_destroy(m);
	salvo_hist_destroy(a);
	salvo_hist_destroy(got);
}

/* Counters sum, per host and per label; intervals of two processes share steps. */
static void test_counters_groups_timeline(void **state)
{
	struct salvo_merge *m;
	const struct salvo_merge_group *g;
	const struct salvo_merge_bin *b;
	uint64_t tx = 0, rx = 0, lost = 0, hosta_tx = 0, step;
	const uint64_t t0 = 1796000000000000000ULL;
	char err[256];
	struct salvo_cli_fleet f = {.run_id = "r1"};
	unsigned int ng;

	(void)state;
	assert_int_equal(salvo_merge_create(&m, 0), 0);
	for (int p = 0; p < 4; p++) {
		struct salvo_report r = {.command = "udp send", .backend = "null", .duration_s = 2.5,
					 .start_unix_ns = t0 + (uint64_t)p * 1000000};
		char *text, *line;
		size_t len = 0;
		FILE *fs = open_memstream(&text, &len);

		f.labels.n = 1;
		f.labels.v[0] = p % 2 ? "role=a" : "role=b";
		salvo_cli_fleet_identity(&f, 0);
		r.has_tx = r.has_rx = true;
		r.tx.packets = next() % 100000;
		r.tx.bytes = r.tx.packets * 64;
		r.rx.packets = next() % 100000;
		r.lost = next() % 100;
		tx += r.tx.packets;
		rx += r.rx.packets;
		lost += r.lost;
		if (p < 2)
			hosta_tx += r.tx.packets;
		/* NDJSON: two full intervals of 1 s and a short last one, then the summary. */
		for (int i = 0; i < 3; i++) {
			struct salvo_report iv = r;

			iv.interval = true;
			iv.t_start_s = i;
			iv.duration_s = i < 2 ? 1.0 : 0.5;
			iv.tx.packets = 10;
			line = record_text(&iv, p < 2 ? "a" : "b");
			fprintf(fs, "%s\n", line);
			free(line);
		}
		line = record_text(&r, p < 2 ? "a" : "b");
		fprintf(fs, "%s\n", line);
		free(line);
		fclose(fs);
		assert_int_equal(salvo_merge_add(m, text, len, err, sizeof(err)), 0);
		free(text);
	}
	assert_int_equal(salvo_merge_finish(m), 0);
	assert_int_equal(salvo_merge_total(m)->records, 4);
	assert_int_equal(salvo_merge_total(m)->tx_packets, tx);
	assert_int_equal(salvo_merge_total(m)->rx_packets, rx);
	assert_int_equal(salvo_merge_total(m)->lost, lost);
	assert_int_equal(salvo_merge_hosts(m), 2);
	ng = salvo_merge_groups(m, &g);
	assert_int_equal(ng, 4);	/* host a, label role=b, role=a, host b */
	for (unsigned int i = 0; i < ng; i++) {
		if (!g[i].label && !strcmp(g[i].value, "a"))
			assert_int_equal(g[i].s.tx_packets, hosta_tx);
		if (g[i].label)
			assert_int_equal(g[i].s.records, 2);
	}
	/* Starts 1 ms apart fall in the same steps: 3 steps of 1 s, 4 records each. */
	assert_int_equal(salvo_merge_bins(m, &b, &step), 3);
	assert_int_equal(step, NSEC_PER_SEC);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(b[i].s.records, 4);
		assert_int_equal(b[i].s.tx_packets, 40);
		assert_int_equal(b[i].start_unix_ns, t0 + (uint64_t)i * NSEC_PER_SEC);
	}
	salvo_merge_destroy(m);
}

/* Histograms that cannot be what salvo wrote are refused, with why. */
static void test_bad_hist_refused(void **state)
{
	static const char *const bad[] = {
		/* the buckets hold 3, count says 4 */
		"{\"type\":\"summary\",\"duration_s\":1,\"latency_ns\":{\"count\":4,\"min\":5,\"max\":9,\"mean\":7,\"hist\":{\"unit\":\"ns\",\"sub_bucket_bits\":11,\"max_bits\":40,\"counts\":[[5,1],[9,2]]}}}",
		/* indices not ascending */
		"{\"type\":\"summary\",\"duration_s\":1,\"latency_ns\":{\"count\":3,\"min\":5,\"max\":9,\"mean\":7,\"hist\":{\"unit\":\"ns\",\"sub_bucket_bits\":11,\"max_bits\":40,\"counts\":[[9,1],[5,2]]}}}",
		/* min outside the first bucket */
		"{\"type\":\"summary\",\"duration_s\":1,\"latency_ns\":{\"count\":3,\"min\":4,\"max\":9,\"mean\":7,\"hist\":{\"unit\":\"ns\",\"sub_bucket_bits\":11,\"max_bits\":40,\"counts\":[[5,1],[9,2]]}}}",
		/* another bucketing */
		"{\"type\":\"summary\",\"duration_s\":1,\"latency_ns\":{\"count\":3,\"min\":5,\"max\":9,\"mean\":7,\"hist\":{\"unit\":\"ns\",\"sub_bucket_bits\":7,\"max_bits\":40,\"counts\":[[5,1],[9,2]]}}}",
		/* an index past the last bucket */
		"{\"type\":\"summary\",\"duration_s\":1,\"latency_ns\":{\"count\":1,\"min\":5,\"max\":5,\"mean\":5,\"hist\":{\"unit\":\"ns\",\"sub_bucket_bits\":11,\"max_bits\":40,\"counts\":[[99999999,1]]}}}",
		/* a negative counter */
		"{\"type\":\"summary\",\"duration_s\":1,\"tx\":{\"packets\":-1,\"bytes\":0}}",
		/* an interval that cannot be placed in time */
		"{\"type\":\"interval\",\"duration_s\":1,\"tx\":{\"packets\":1,\"bytes\":0}}",
		"{\"type\":\"summary\"",
		"[]",
		"",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct salvo_merge *m;

		assert_int_equal(salvo_merge_create(&m, 0), 0);
		err[0] = 0;
		if (salvo_merge_add(m, bad[i], strlen(bad[i]), err, sizeof(err)) != -EINVAL)
			fail_msg("input %zu accepted: %s", i, bad[i]);
		assert_true(err[0] != 0);
		salvo_merge_destroy(m);
	}
}

/* Two counters that together pass 2^64 are refused, not wrapped. */
static void test_counter_overflow_refused(void **state)
{
	const char *r = "{\"type\":\"summary\",\"duration_s\":1,\"tx\":{\"packets\":9223372036854775807,\"bytes\":0}}\n";
	struct salvo_merge *m;
	char err[256];

	(void)state;
	assert_int_equal(salvo_merge_create(&m, 0), 0);
	assert_int_equal(salvo_merge_add(m, r, strlen(r), err, sizeof(err)), 0);
	assert_int_equal(salvo_merge_add(m, r, strlen(r), err, sizeof(err)), 0);
	assert_int_equal(salvo_merge_add(m, r, strlen(r), err, sizeof(err)), -EOVERFLOW);
	salvo_merge_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hist_decode),
		cmocka_unit_test(test_hist_merge_equals_all_samples),
		cmocka_unit_test(test_hist_add_in_place),
		cmocka_unit_test(test_counters_groups_timeline),
		cmocka_unit_test(test_bad_hist_refused),
		cmocka_unit_test(test_counter_overflow_refused),
	};

	return cmocka_run_group_tests_name("merge", tests, NULL, NULL);
}
