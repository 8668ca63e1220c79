// SPDX-License-Identifier: MIT
/*
 * Unit tests for report formatting (cli/report.c): the JSON field names and
 * values of docs/json.md, and salvo_escape().  cli/ is not in the library
 * the unit tests link, so report.c is compiled in.
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

static struct salvo_report full_report(void)
{
	struct salvo_report r;

	memset(&r, 0, sizeof(r));
	r.command = "udp send";
	r.backend = "null";
	r.duration_s = 1.5;
	r.threads = 2;
	r.has_tx = true;
	r.tx = (struct salvo_report_dir){1000, 64000, 666.5, 341248, 1.25};
	r.tx_errors = 3;
	r.tx_refused = 2;
	r.submissions = 40;
	r.has_rx = true;
	r.rx = (struct salvo_report_dir){990, 63360, 660, 337920, 1.5};
	r.lost = 10;
	r.reordered = 4;
	r.duplicates = 1;
	r.unstamped = 5;
	r.flows = 2;
	r.flow_overflow = 7;
	r.tx_session = 0xabcdef01;
	/* Three sessions, two listed: the third is in the totals only. */
	r.sessions = 3;
	r.nsession_rows = 2;
	r.session[0] = (struct salvo_report_session){0x8bd901a9, 1, 600, 10, 4, 1, 590, 2500, 1500.5};
	r.session[1] = (struct salvo_report_session){0, 1, 380, 0, 0, 0};
	r.has_latency = true;
	r.latency = (struct salvo_report_latency){.count = 990, .min = 100, .p50 = 200, .p90 = 300,
						  .p99 = 400, .p999 = 500, .p9999 = 600, .max = 700,
						  .mean = 210.5, .clamped = 3};
	r.has_pacing = true;
	r.target_pps = 1000;
	r.pacing_err_mean_ns = 1234.5;
	r.pacing_err_p99_ns = 5000;
	return r;
}

static void assert_keys(json_t *obj, const char *const *keys, size_t n)
{
	assert_true(json_is_object(obj));
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(obj, keys[i]))
			fail_msg("missing key '%s'", keys[i]);
	if (json_object_size(obj) != n)
		fail_msg("%zu keys, docs/json.md lists %zu", json_object_size(obj), n);
}

static json_int_t geti(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v))
		fail_msg("'%s' is not an integer", k);
	return json_integer_value(v);
}

static double getn(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_number(v))
		fail_msg("'%s' is not a number", k);
	return json_number_value(v);
}

static void test_summary_fields(void **state)
{
	static const char *const top[] = {"schema", "type", "command", "backend", "threads",
					  "duration_s", "interrupted", "tx", "rx", "latency_ns",
					  "pacing"};
	static const char *const tx_keys[] = {"packets", "bytes", "pps", "bits_per_second",
					      "active_s", "errors", "refused", "submissions", "session"};
	static const char *const rx_keys[] = {"packets", "bytes", "pps", "bits_per_second",
					      "active_s", "lost", "reordered", "duplicates",
					      "unstamped", "flows", "flow_overflow", "session_count",
					      "sessions"};
	static const char *const sess_keys[] = {"session", "flows", "packets", "lost", "reordered",
						"duplicates"};
	static const char *const lat_keys[] = {"count", "clamped", "min", "mean", "p50", "p90",
					       "p99", "p999", "p9999", "max"};
	static const char *const pace_keys[] = {"target_pps", "achieved_pps", "error_mean_ns",
						"error_p99_ns"};
	struct salvo_report r = full_report();
	json_t *j = salvo_report_json(&r, NULL), *tx, *rx, *lat, *pace, *ss;

	(void)state;
	assert_keys(j, top, SALVO_ARRAY_SIZE(top));
	assert_int_equal(geti(j, "schema"), 1);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "summary");
	assert_string_equal(json_string_value(json_object_get(j, "command")), "udp send");
	assert_string_equal(json_string_value(json_object_get(j, "backend")), "null");
	assert_int_equal(geti(j, "threads"), 2);
	assert_true(getn(j, "duration_s") == 1.5);
	assert_true(json_is_false(json_object_get(j, "interrupted")));

	tx = json_object_get(j, "tx");
	assert_keys(tx, tx_keys, SALVO_ARRAY_SIZE(tx_keys));
	assert_int_equal(geti(tx, "packets"), 1000);
	assert_int_equal(geti(tx, "bytes"), 64000);
	assert_true(getn(tx, "pps") == 666.5);
	assert_true(getn(tx, "bits_per_second") == 341248);
	assert_true(getn(tx, "active_s") == 1.25);
	assert_int_equal(geti(tx, "errors"), 3);
	assert_int_equal(geti(tx, "refused"), 2);
	assert_int_equal(geti(tx, "submissions"), 40);
	assert_int_equal(geti(tx, "session"), 0xabcdef01);

	rx = json_object_get(j, "rx");
	assert_keys(rx, rx_keys, SALVO_ARRAY_SIZE(rx_keys));
	assert_int_equal(geti(rx, "packets"), 990);
	assert_int_equal(geti(rx, "bytes"), 63360);
	assert_int_equal(geti(rx, "lost"), 10);
	assert_int_equal(geti(rx, "reordered"), 4);
	assert_int_equal(geti(rx, "duplicates"), 1);
	assert_int_equal(geti(rx, "unstamped"), 5);
	assert_int_equal(geti(rx, "flows"), 2);
	assert_int_equal(geti(rx, "flow_overflow"), 7);
	assert_int_equal(geti(rx, "session_count"), 3);
	ss = json_object_get(rx, "sessions");
	assert_true(json_is_array(ss));
	assert_int_equal(json_array_size(ss), 2);
	assert_keys(json_array_get(ss, 1), sess_keys, SALVO_ARRAY_SIZE(sess_keys));
	assert_int_equal(json_object_size(json_array_get(ss, 0)), SALVO_ARRAY_SIZE(sess_keys) + 1);
	lat = json_object_get(json_array_get(ss, 0), "latency_ns");
	assert_int_equal(json_object_size(lat), 3);
	assert_int_equal(geti(lat, "count"), 590);
	assert_true(getn(lat, "mean") == 1500.5);
	assert_int_equal(geti(lat, "max"), 2500);
	assert_int_equal(geti(json_array_get(ss, 0), "session"), 0x8bd901a9);
	assert_int_equal(geti(json_array_get(ss, 0), "packets"), 600);
	assert_int_equal(geti(json_array_get(ss, 0), "lost"), 10);
	assert_int_equal(geti(json_array_get(ss, 0), "reordered"), 4);
	assert_int_equal(geti(json_array_get(ss, 0), "duplicates"), 1);
	assert_int_equal(geti(json_array_get(ss, 1), "session"), 0);
	assert_int_equal(geti(json_array_get(ss, 1), "packets"), 380);

	lat = json_object_get(j, "latency_ns");
	assert_keys(lat, lat_keys, SALVO_ARRAY_SIZE(lat_keys));
	assert_int_equal(geti(lat, "count"), 990);
	assert_int_equal(geti(lat, "min"), 100);
	assert_true(getn(lat, "mean") == 210.5);
	assert_int_equal(geti(lat, "p50"), 200);
	assert_int_equal(geti(lat, "p90"), 300);
	assert_int_equal(geti(lat, "p99"), 400);
	assert_int_equal(geti(lat, "p999"), 500);
	assert_int_equal(geti(lat, "p9999"), 600);
	assert_int_equal(geti(lat, "max"), 700);
	assert_int_equal(geti(lat, "clamped"), 3);

	pace = json_object_get(j, "pacing");
	assert_keys(pace, pace_keys, SALVO_ARRAY_SIZE(pace_keys));
	assert_true(getn(pace, "target_pps") == 1000);
	assert_true(getn(pace, "achieved_pps") == 666.5);
	assert_true(getn(pace, "error_mean_ns") == 1234.5);
	assert_int_equal(geti(pace, "error_p99_ns"), 5000);
	json_decref(j);
}

/* Sections appear only where they apply; intervals carry start_s, not interrupted/pacing. */
static void test_sections(void **state)
{
	struct salvo_report r = full_report();
	json_t *j;

	(void)state;
	r.has_tx = false;
	r.has_latency = false;
	r.has_pacing = false;
	r.interrupted = true;
	snprintf(r.error, sizeof(r.error), "send failed: boom");
	j = salvo_report_json(&r, NULL);
	assert_null(json_object_get(j, "tx"));
	assert_null(json_object_get(j, "latency_ns"));
	assert_null(json_object_get(j, "pacing"));
	assert_null(json_object_get(j, "start_s"));
	assert_non_null(json_object_get(j, "rx"));
	assert_true(json_is_true(json_object_get(j, "interrupted")));
	assert_string_equal(json_string_value(json_object_get(j, "error")), "send failed: boom");
	json_decref(j);

	r = full_report();
	r.interval = true;
	r.t_start_s = 3;
	j = salvo_report_json(&r, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "interval");
	assert_true(getn(j, "start_s") == 3);
	assert_null(json_object_get(j, "interrupted"));
	assert_null(json_object_get(j, "pacing"));
	assert_null(json_object_get(j, "error"));
	/* An interval carries its own rows per session, as the summary does; the sender's id is the summary's. */
	assert_true(json_is_array(json_object_get(json_object_get(j, "rx"), "sessions")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "rx"), "sessions")),
			 r.nsession_rows);
	assert_non_null(json_object_get(json_object_get(j, "rx"), "session_count"));
	assert_null(json_object_get(json_object_get(j, "tx"), "session"));
	json_decref(j);

	/* NULL names become empty strings, never a crash or a missing key. */
	memset(&r, 0, sizeof(r));
	j = salvo_report_json(&r, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "command")), "");
	assert_string_equal(json_string_value(json_object_get(j, "backend")), "");
	json_decref(j);
}

static void extra_json(json_t *root, const struct salvo_report *rep, void *arg)
{
	json_object_set_new(root, "extra", json_integer((json_int_t)rep->threads + *(int *)arg));
}

static void test_extra_and_print(void **state)
{
	struct salvo_report r = full_report();
	int add = 40;
	struct salvo_cli_extra x = {.json = extra_json, .arg = &add};
	json_t *j = salvo_report_json(&r, &x), *back;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_error_t e;

	(void)state;
	assert_int_equal(geti(j, "extra"), 42);
	/* The printed document parses back to the same object, one line when compact. */
	salvo_json_print(f, j, false);
	fclose(f);
	assert_ptr_equal(strchr(text, '\n'), text + len - 1);
	back = json_loads(text, 0, &e);
	assert_non_null(back);
	assert_true(json_equal(back, j));
	json_decref(back);
	json_decref(j);
	free(text);
}

/* Bytes from the network print as one line of text. */
static void test_escape(void **state)
{
	static const uint8_t in[] = {'a', '\\', 'b', '\n', '\t', '\r', 0x01, 0x7f, 0x80, 0xff, 0, 'z', '"'};
	char out[128];

	(void)state;
	assert_string_equal(salvo_escape(in, sizeof(in), out, sizeof(out)),
			    "a\\\\b\\n\\t\\r\\x01\\x7f\\x80\\xff\\x00z\"");
	assert_string_equal(salvo_escape((const uint8_t *)"plain text", 10, out, sizeof(out)),
			    "plain text");
	assert_string_equal(salvo_escape(in, 0, out, sizeof(out)), "");
}

/* Whatever the input and buffer size: NUL-terminated inside the buffer, nothing written past it. */
static void test_escape_never_overflows(void **state)
{
	uint8_t in[64];
	char buf[300];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 37 + 5);
	for (size_t outlen = 1; outlen < 260; outlen++) {
		for (size_t n = 0; n <= sizeof(in); n += 7) {
			memset(buf, 'Z', sizeof(buf));
			salvo_escape(in, n, buf, outlen);
			if (strnlen(buf, outlen) >= outlen)
				fail_msg("outlen %zu n %zu: not terminated inside", outlen, n);
			for (size_t k = outlen; k < sizeof(buf); k++)
				if (buf[k] != 'Z')
					fail_msg("outlen %zu n %zu: wrote byte %zu", outlen, n, k);
		}
	}
}

/* A zero-sized buffer gets nothing written, not even the terminator. */
static void test_escape_zero_len(void **state)
{
	char buf[2] = {'Z', 'Z'};

	(void)state;
	salvo_escape((const uint8_t *)"abc", 3, buf, 0);
	assert_int_equal(buf[0], 'Z');
}

/*
 * The documented worst case (4 output bytes per input byte, + NUL) holds the
 * whole escaped text: `udp send --expect-reply` sizes its buffer so, and a
 * short reply must not print truncated (a 1-byte reply printed as "").
 */
static void test_escape_exact_fit(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} cases[] = {
		{"a", 1, "a"}, {"ab", 2, "ab"}, {"\xff", 1, "\\xff"}, {"\xff\xfe", 2, "\\xff\\xfe"},
		{"\n", 1, "\\n"}, {"hello", 5, "hello"}, {"\x01\x02\x03", 3, "\\x01\\x02\\x03"},
	};

	(void)state;
	for (size_t i = 0; i < SALVO_ARRAY_SIZE(cases); i++) {
		size_t outlen = cases[i].n * 4 + 1;
		char *out = malloc(outlen);

		salvo_escape((const uint8_t *)cases[i].in, cases[i].n, out, outlen);
		if (strcmp(out, cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, out, cases[i].want);
		free(out);
	}
}

static void test_text_report(void **state)
{
	struct salvo_report r = full_report();
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	snprintf(r.error, sizeof(r.error), "worker failed");
	salvo_report_text(f, &r, NULL);
	fclose(f);
	assert_non_null(strstr(text, "salvo udp send: null backend, 2 threads"));
	assert_non_null(strstr(text, "tx: 1000 packets, 64000 bytes"));
	assert_non_null(strstr(text, "rx: 990 packets"));
	assert_non_null(strstr(text, "lost 10 (1.006%)"));	/* 10 of 990-5-1+10 = 994 expected */
	assert_non_null(strstr(text, "one-way latency: p50 200 ns"));
	assert_non_null(strstr(text, "flow table full: 7 stamped packets"));
	assert_non_null(strstr(text, "one-way latency: 3 of 990 samples above"));
	assert_non_null(strstr(text, "error: worker failed"));
	assert_non_null(strstr(text, "\n  sessions 3:\n"
				     "    session 8bd901a9: 600 packets, flows 1, lost 10, reordered 4, duplicates 1, latency mean 1.5 us, max 2.5 us\n"
				     "    session 00000000: 380 packets, flows 1, lost 0, reordered 0, duplicates 0 (version-1 stamps)\n"
				     "    1 more sessions, in the totals only\n"));
	free(text);
}

/* The "kernel" section: the keys docs/json.md lists for each counter family, summary only. */
static void test_kernel_section(void **state)
{
	static const char *const all[] = {"rcvbuf_drops", "ring_drops", "ring_freezes",
					  "xdp_rx_dropped", "xdp_rx_ring_full",
					  "xdp_rx_fill_ring_empty_descs", "xdp_rx_invalid_descs",
					  "xdp_tx_invalid_descs", "xdp_tx_ring_empty_descs",
					  "tcp_retrans"};
	static const char *const ring[] = {"ring_drops", "ring_freezes"};
	struct salvo_report r = full_report();
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	json_t *j, *k;

	(void)state;
	/* No counters read: no section, no line. */
	j = salvo_report_json(&r, NULL);
	assert_null(json_object_get(j, "kernel"));
	json_decref(j);

	r.kernel = (struct salvo_kstats){
		.have = SALVO_KSTAT_RCVBUF | SALVO_KSTAT_RING | SALVO_KSTAT_XDP | SALVO_KSTAT_TCP,
		.rcvbuf_drops = 11, .ring_drops = 12, .ring_freezes = 13, .xdp_rx_dropped = 14,
		.xdp_rx_invalid_descs = 15, .xdp_tx_invalid_descs = 16, .xdp_rx_ring_full = 17,
		.xdp_rx_fill_ring_empty_descs = 18, .xdp_tx_ring_empty_descs = 19, .tcp_retrans = 20};
	j = salvo_report_json(&r, NULL);
	k = json_object_get(j, "kernel");
	assert_keys(k, all, SALVO_ARRAY_SIZE(all));
	for (size_t i = 0; i < SALVO_ARRAY_SIZE(all); i++)
		assert_true(geti(k, all[i]) >= 11 && geti(k, all[i]) <= 20);
	assert_int_equal(geti(k, "rcvbuf_drops"), 11);
	assert_int_equal(geti(k, "xdp_rx_ring_full"), 17);
	assert_int_equal(geti(k, "tcp_retrans"), 20);
	json_decref(j);

	/* Only what the backend read; never in interval objects. */
	r.kernel.have = SALVO_KSTAT_RING;
	j = salvo_report_json(&r, NULL);
	assert_keys(json_object_get(j, "kernel"), ring, SALVO_ARRAY_SIZE(ring));
	json_decref(j);
	r.interval = true;
	j = salvo_report_json(&r, NULL);
	assert_null(json_object_get(j, "kernel"));
	json_decref(j);
	r.interval = false;

	r.kernel.have = SALVO_KSTAT_RING | SALVO_KSTAT_TCP;
	f = open_memstream(&text, &len);
	salvo_report_text(f, &r, NULL);
	fclose(f);
	assert_non_null(strstr(text, "\n  kernel: ring drops 12, ring freezes 13; tcp retransmits 20\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summary_fields),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_extra_and_print),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_never_overflows),
		cmocka_unit_test(test_escape_zero_len),
		cmocka_unit_test(test_escape_exact_fit),
		cmocka_unit_test(test_text_report),
		cmocka_unit_test(test_kernel_section),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
