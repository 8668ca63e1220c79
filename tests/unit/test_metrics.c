// SPDX-License-Identifier: MIT
/*
 * --metrics (cli/metrics.c): the exposition text, parsed back line by line
 * against the figures and samples that went in, and the endpoint itself
 * over a plain socket (status codes, a taken port, a silent client).
 * The endpoint's thread and the updates share one mutex: tests/run.sh runs
 * this under tsan too, and it must be TSan-clean.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../cli/metrics.c"

/* --- a parser of the text format, as far as the tests need it --------------- */

#define MAXS 256

struct sample {
	char name[96];
	char labels[512];	/* between { and }, as written */
	double value;
};

struct parsed {
	char types[32][2][96];	/* family name, type */
	int ntypes;
	struct sample s[MAXS];
	int n;
};

static const char *type_of(const struct parsed *p, const char *family)
{
	for (int i = 0; i < p->ntypes; i++)
		if (!strcmp(p->types[i][0], family))
			return p->types[i][1];
	return NULL;
}

/* Every line is a HELP, a TYPE, or NAME{LABELS} VALUE of a family typed before it. */
static void parse(const char *text, struct parsed *p)
{
	const char *line = text;

	memset(p, 0, sizeof(*p));
	while (*line) {
		const char *end = strchr(line, '\n');
		char buf[1024];

		assert_non_null(end);	/* every line ends with \n, the last one too */
		assert_true((size_t)(end - line) < sizeof(buf));
		memcpy(buf, line, (size_t)(end - line));
		buf[end - line] = 0;
		line = end + 1;
		if (!strncmp(buf, "# HELP ", 7))
			continue;
		if (!strncmp(buf, "# TYPE ", 7)) {
			assert_true(p->ntypes < 32);
			assert_int_equal(sscanf(buf + 7, "%95s %95s", p->types[p->ntypes][0],
						p->types[p->ntypes][1]), 2);
			assert_null(type_of(p, p->types[p->ntypes][0]));	/* one TYPE per family */
			p->ntypes++;
			continue;
		}
		assert_true(buf[0] != '#');
		assert_true(p->n < MAXS);
		{
			struct sample *s = &p->s[p->n++];
			char *brace = strchr(buf, '{'), *close = strrchr(buf, '}'), *sp;
			char fam[96];
			size_t fl;

			assert_non_null(brace);
			assert_non_null(close);
			snprintf(s->name, sizeof(s->name), "%.*s", (int)(brace - buf), buf);
			snprintf(s->labels, sizeof(s->labels), "%.*s", (int)(close - brace - 1), brace + 1);
			sp = close + 1;
			assert_true(*sp == ' ');
			s->value = strtod(sp + 1, NULL);
			/* Its family was typed before it: the name itself, or a histogram's base. */
			snprintf(fam, sizeof(fam), "%s", s->name);
			if (!type_of(p, fam)) {
				fl = strlen(fam);
				if (fl > 7 && !strcmp(fam + fl - 7, "_bucket"))
					fam[fl - 7] = 0;
				else if (fl > 4 && !strcmp(fam + fl - 4, "_sum"))
					fam[fl - 4] = 0;
				else if (fl > 6 && !strcmp(fam + fl - 6, "_count"))
					fam[fl - 6] = 0;
				assert_non_null(type_of(p, fam));
				assert_string_equal(type_of(p, fam), "histogram");
			}
		}
	}
}

static const struct sample *find(const struct parsed *p, const char *name, const char *le)
{
	char want[64];

	snprintf(want, sizeof(want), "le=\"%s\"", le ? le : "");
	for (int i = 0; i < p->n; i++)
		if (!strcmp(p->s[i].name, name) && (!le || strstr(p->s[i].labels, want)))
			return &p->s[i];
	return NULL;
}

/* --- the text --------------------------------------------------------------- */

static const char *const kv[] = {"site.name=lab \"2\" \\ west", "host=other"};
static const struct salvo_metrics_labels lab = {.host = "h1", .run_id = "r-1", .kv = kv, .nkv = 2};

/* Counters are the report's fields; TYPE lines say what each family is. */
static void test_counters_and_types(void **state)
{
	struct salvo_report rep = {.has_tx = true, .has_rx = true};
	struct salvo_metrics_series s = {.rep = &rep, .rx_pps = 1500.5};
	struct parsed p;
	char *text;
	size_t len;

	(void)state;
	rep.tx.packets = 11;
	rep.tx.bytes = 704;
	rep.rx.packets = 12345678901ULL;
	rep.rx.bytes = 99;
	rep.lost = 7;
	rep.reordered = 3;
	rep.duplicates = 2;
	rep.tx_errors = 5;
	assert_int_equal(salvo_metrics_format(&text, &len, &lab, &s, 1), 0);
	assert_int_equal(strlen(text), len);
	parse(text, &p);
	assert_string_equal(type_of(&p, "salvo_rx_packets_total"), "counter");
	assert_string_equal(type_of(&p, "salvo_tx_packets_total"), "counter");
	assert_string_equal(type_of(&p, "salvo_lost_packets"), "gauge");
	assert_string_equal(type_of(&p, "salvo_rx_packets_per_second"), "gauge");
	assert_null(type_of(&p, "salvo_latency_seconds"));	/* no histogram given */
	assert_true(find(&p, "salvo_rx_packets_total", NULL)->value == 12345678901.0);
	assert_true(find(&p, "salvo_tx_packets_total", NULL)->value == 11);
	assert_true(find(&p, "salvo_tx_bytes_total", NULL)->value == 704);
	assert_true(find(&p, "salvo_lost_packets", NULL)->value == 7);
	assert_true(find(&p, "salvo_reordered_packets_total", NULL)->value == 3);
	assert_true(find(&p, "salvo_duplicate_packets_total", NULL)->value == 2);
	assert_true(find(&p, "salvo_tx_errors_total", NULL)->value == 5);
	assert_true(find(&p, "salvo_rx_packets_per_second", NULL)->value == 1500.5);
	/* Labels: escaped value, '.' in a key made '_', a key that would shadow "host" prefixed. */
	assert_string_equal(find(&p, "salvo_rx_packets_total", NULL)->labels,
			    "host=\"h1\",run_id=\"r-1\",site_name=\"lab \\\"2\\\" \\\\ west\",label_host=\"other\"");
	free(text);

	/* A receiver alone has no tx families at all. */
	rep.has_tx = false;
	assert_int_equal(salvo_metrics_format(&text, &len, &lab, &s, 1), 0);
	parse(text, &p);
	assert_null(type_of(&p, "salvo_tx_packets_total"));
	assert_null(find(&p, "salvo_tx_packets_total", NULL));
	free(text);
}

/*
 * The histogram: cumulative buckets, each equal to the samples at or below
 * its bound counted from the values themselves (none lies within 1/2048 of
 * a bound, where the HDR precision could place it either side); +Inf and
 * _count are every sample; _sum their total.
 */
static void test_histogram(void **state)
{
	struct salvo_report rep = {.has_rx = true};
	struct salvo_hist *h;
	struct salvo_metrics_series s = {.rep = &rep, .stream = "a"};
	static uint64_t v[5000];
	struct parsed p;
	double sum = 0, prev = -1;
	char *text, le[32];
	size_t len;
	unsigned int seed = 7;

	(void)state;
	assert_int_equal(salvo_hist_create(&h), 0);
	for (size_t i = 0; i < SALVO_ARRAY_SIZE(v); i++) {
		bool near;

		do {
			/* log-uniform from 100 ns to ~20 s */
			v[i] = (uint64_t)(100.0 * pow(10, 8.3 * rand_r(&seed) / (double)RAND_MAX));
			near = false;
			for (int b = 0; b < SALVO_METRICS_NBOUNDS; b++)
				near |= v[i] > salvo_metrics_bounds_ns[b] &&
					v[i] <= salvo_metrics_bounds_ns[b] + salvo_metrics_bounds_ns[b] / 1024;
		} while (near);
		salvo_hist_record(h, v[i]);
		sum += (double)v[i];
	}
	s.lat = h;
	assert_int_equal(salvo_metrics_format(&text, &len, &lab, &s, 1), 0);
	parse(text, &p);
	assert_string_equal(type_of(&p, "salvo_latency_seconds"), "histogram");
	for (int b = 0; b < SALVO_METRICS_NBOUNDS; b++) {
		const struct sample *x;
		uint64_t want = 0;

		snprintf(le, sizeof(le), "%.9g", (double)salvo_metrics_bounds_ns[b] / 1e9);
		x = find(&p, "salvo_latency_seconds_bucket", le);
		assert_non_null(x);
		assert_non_null(strstr(x->labels, "stream=\"a\""));
		for (size_t i = 0; i < SALVO_ARRAY_SIZE(v); i++)
			want += v[i] <= salvo_metrics_bounds_ns[b];
		assert_true(x->value == (double)want);
		assert_true(x->value >= prev);	/* cumulative */
		prev = x->value;
	}
	assert_true(find(&p, "salvo_latency_seconds_bucket", "+Inf")->value == SALVO_ARRAY_SIZE(v));
	assert_true(find(&p, "salvo_latency_seconds_count", NULL)->value == SALVO_ARRAY_SIZE(v));
	assert_true(prev < SALVO_ARRAY_SIZE(v));	/* some samples are above 10 s: +Inf has them */
	assert_true(fabs(find(&p, "salvo_latency_seconds_sum", NULL)->value - sum / 1e9) <= sum / 1e9 * 1e-6);
	free(text);
	salvo_hist_destroy(h);
}

/* --- the endpoint ------------------------------------------------------------ */

/* One HTTP/1.0 request; the status code, the body in body (NUL-terminated). */
static int http(const struct salvo_addr *a, const char *req, char *body, size_t blen)
{
	int fd = socket(a->sa.sa_family, SOCK_STREAM, 0), code = -1;
	static char buf[1 << 17];
	size_t got = 0;
	ssize_t r;
	char *b;

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, &a->sa, a->len), 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (got < sizeof(buf) - 1 && (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = 0;
	close(fd);
	sscanf(buf, "HTTP/1.%*d %d", &code);
	b = strstr(buf, "\r\n\r\n");
	snprintf(body, blen, "%s", b ? b + 4 : "");
	return code;
}

static void test_endpoint(void **state)
{
	struct salvo_metrics *m, *m2;
	struct salvo_addr a, bound, b2;
	struct salvo_report snap = {.has_rx = true};
	struct salvo_hist *h;
	static char body[1 << 17];
	struct parsed p;
	char err[256];

	(void)state;
	assert_int_equal(salvo_metrics_parse("0", &a, err, sizeof(err)), 0);
	assert_int_equal(salvo_metrics_start(&m, &a, &lab, NULL, 1, &bound, err, sizeof(err)), 0);
	assert_true(salvo_addr_port(&bound) != 0);
	assert_true(salvo_addr_is_loopback(&bound));

	/* Two snapshots: the counters are the last one's, the latency both together. */
	assert_int_equal(salvo_hist_create(&h), 0);
	salvo_hist_record(h, 1500);
	snap.rx.packets = 10;
	snap.hist = h;
	salvo_metrics_update(m, 0, &snap, 1 * NSEC_PER_SEC);
	snap.rx.packets = 2010;
	snap.rx.bytes = 1000;
	salvo_metrics_update(m, 0, &snap, 3 * NSEC_PER_SEC);	/* a 2 s window: 1000 pps */

	assert_int_equal(http(&bound, "GET /metrics HTTP/1.0\r\n\r\n", body, sizeof(body)), 200);
	parse(body, &p);
	assert_true(find(&p, "salvo_rx_packets_total", NULL)->value == 2010);
	assert_true(find(&p, "salvo_rx_packets_per_second", NULL)->value == 1000);
	assert_true(find(&p, "salvo_rx_bits_per_second", NULL)->value == 4000);
	assert_true(find(&p, "salvo_latency_seconds_count", NULL)->value == 2);
	assert_true(find(&p, "salvo_latency_seconds_bucket", "2e-06")->value == 2);
	assert_true(find(&p, "salvo_latency_seconds_bucket", "1e-06")->value == 0);

	assert_int_equal(http(&bound, "GET /other HTTP/1.0\r\n\r\n", body, sizeof(body)), 404);
	assert_int_equal(http(&bound, "GET /metricsx HTTP/1.0\r\n\r\n", body, sizeof(body)), 404);
	assert_int_equal(http(&bound, "POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc", body,
			      sizeof(body)), 405);
	assert_int_equal(http(&bound, "DELETE /metrics HTTP/1.0\r\n\r\n", body, sizeof(body)), 405);

	/* The same port again: taken, and said so. */
	assert_int_equal(salvo_metrics_start(&m2, &bound, &lab, NULL, 1, &b2, err, sizeof(err)),
			 -EADDRINUSE);
	assert_non_null(strstr(err, "in use"));

	/* A client that connects and never sends does not hold the stop back. */
	{
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct timespec t0, t1;

		assert_int_equal(connect(fd, &bound.sa, bound.len), 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		salvo_metrics_stop(m);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true(t1.tv_sec - t0.tv_sec < 2);
		close(fd);
	}
	/* Stopped: the port is free again (the listening socket was closed). */
	assert_int_equal(salvo_metrics_start(&m2, &bound, &lab, NULL, 1, &b2, err, sizeof(err)), 0);
	salvo_metrics_stop(m2);
	salvo_hist_destroy(h);
}

/*
 * A profile's streams: the names array is the caller's local (cli/runner.c
 * builds it on its stack), so the endpoint must keep the names, not the
 * array: clobbered after the start, the labels still say "a" and "b".
 */
static void test_stream_names(void **state)
{
	struct salvo_metrics *m;
	struct salvo_addr a, bound;
	struct salvo_report snap = {.has_tx = true};
	const char **names = calloc(2, sizeof(*names));
	static char body[1 << 17];
	struct parsed p;
	char err[256];
	int seen = 0;

	(void)state;
	assert_non_null(names);
	names[0] = "a";
	names[1] = "b";
	assert_int_equal(salvo_metrics_parse("0", &a, err, sizeof(err)), 0);
	assert_int_equal(salvo_metrics_start(&m, &a, &lab, names, 2, &bound, err, sizeof(err)), 0);
	names[0] = names[1] = NULL;
	free(names);
	snap.tx.packets = 5;
	salvo_metrics_update(m, 0, &snap, NSEC_PER_SEC);
	snap.tx.packets = 7;
	salvo_metrics_update(m, 1, &snap, NSEC_PER_SEC);
	assert_int_equal(http(&bound, "GET /metrics HTTP/1.0\r\n\r\n", body, sizeof(body)), 200);
	parse(body, &p);
	for (int i = 0; i < p.n; i++) {
		if (strcmp(p.s[i].name, "salvo_tx_packets_total"))
			continue;
		if (strstr(p.s[i].labels, ",stream=\"a\"") && p.s[i].value == 5)
			seen |= 1;
		if (strstr(p.s[i].labels, ",stream=\"b\"") && p.s[i].value == 7)
			seen |= 2;
	}
	assert_int_equal(seen, 3);
	salvo_metrics_stop(m);
}

static void test_parse(void **state)
{
	struct salvo_addr a;
	char err[256], text[SALVO_ADDR_STRLEN];

	(void)state;
	assert_int_equal(salvo_metrics_parse("9100", &a, err, sizeof(err)), 0);
	assert_string_equal(salvo_addr_str(&a, text, sizeof(text)), "127.0.0.1:9100");
	assert_int_equal(salvo_metrics_parse("[::1]:9100", &a, err, sizeof(err)), 0);
	assert_string_equal(salvo_addr_str(&a, text, sizeof(text)), "[::1]:9100");
	assert_int_equal(salvo_metrics_parse("unix:/tmp/x", &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_metrics_parse("127.0.0.1:70000", &a, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_and_types),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_endpoint),
		cmocka_unit_test(test_stream_names),
		cmocka_unit_test(test_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
