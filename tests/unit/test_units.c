// SPDX-License-Identifier: MIT
/* Unit tests for numbers with units (engine/units.c, include/salvo/units.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <salvo/units.h>

/* Inputs no parser may accept: empty, signs, spaces, strtod's extras, garbage. */
static const char *const junk[] = {
	"", " ", "-1", "+1", " 1", "1 ", "-0", "inf", "INF", "infinity", "nan", "NaN", "0x10",
	"0X1p3", "1e3", "1E3", "1e", "e3", ".", "abc", "1..2", "1.2.3", "k", "1kk", "1\n", "1\t",
	"\xff", "1\xff",
};

static void test_count(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{"0", 0}, {"1", 1}, {"1000", 1000}, {"100k", 100000}, {"100K", 100000},
		{"1.5M", 1500000}, {"1.5m", 1500000}, {"2G", 2000000000ULL}, {"3T", 3000000000000ULL},
		{"0.001k", 1}, {"007", 7}, {"1.", 1}, {"18000000000000000000", 18000000000000000000ULL},
	};
	uint64_t v;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		assert_int_equal(salvo_parse_count(ok[i].s, &v, err, sizeof(err)), 0);
		assert_true(v == ok[i].v);
	}
}

static void test_count_rejects(void **state)
{
	static const char *const bad[] = {
		"1.5", "0.0005k", "1.0001k", "1kB", "1Ki", "1x", "1 k", "1/s",
		"18446744073709551616", "99999999999999999999", "20000000T", "1e30",
	};
	uint64_t v = 77;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		err[0] = 0;
		assert_int_equal(salvo_parse_count(junk[i], &v, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(salvo_parse_count(bad[i], &v, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != 0);
	}
	assert_int_equal(salvo_parse_count(NULL, &v, err, sizeof(err)), -EINVAL);
	/* Output untouched on failure. */
	assert_true(v == 77);
}

/*
 * A count is an exact integer: above 2^53 a double cannot hold every value,
 * so the parser must either give the exact number or refuse it, never a
 * neighbour (a --count of 9007199254740993 must not send ...992).
 */
static void test_count_exact_or_refused(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} big[] = {
		{"9007199254740993", 9007199254740993ULL},
		{"12345678901234567", 12345678901234567ULL},
		{"17999999999999999999", 17999999999999999999ULL},
	};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		uint64_t v = 0;
		int rc = salvo_parse_count(big[i].s, &v, err, sizeof(err));

		if (rc == 0 && v != big[i].v)
			fail_msg("'%s' parsed as %llu", big[i].s, (unsigned long long)v);
		assert_true(rc == 0 || rc == -EINVAL);
	}
}

/*
 * Decimal fractions that name a whole number are whole numbers: "1.005k" is
 * 1005 packets even though 1.005 * 1000 is 1004.9999999999999 in binary
 * floating point.
 */
static void test_decimal_fractions_exact(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} cnt[] = {
		{"1.005k", 1005}, {"1.015M", 1015000}, {"4.35k", 4350}, {"2.675k", 2675},
		{"0.07k", 70}, {"1.000001M", 1000001},
	};
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cnt) / sizeof(cnt[0]); i++) {
		uint64_t v = 0;

		if (salvo_parse_count(cnt[i].s, &v, err, sizeof(err)))
			fail_msg("count '%s' refused: %s", cnt[i].s, err);
		assert_true(v == cnt[i].v);
	}
	{
		uint64_t v = 0;

		if (salvo_parse_size("1.015MB", &v, err, sizeof(err)))
			fail_msg("size '1.015MB' refused: %s", err);
		assert_true(v == 1015000);
	}
}

static void test_size(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{"0", 0}, {"64", 64}, {"1500", 1500}, {"64b", 64}, {"64B", 64},
		{"1k", 1024}, {"1K", 1024}, {"128KiB", 131072}, {"1kiB", 1024}, {"1.5k", 1536},
		{"1kB", 1000}, {"1KB", 1000}, {"1M", 1048576}, {"1MiB", 1048576}, {"1MB", 1000000},
		{"2G", 2147483648ULL}, {"1GiB", 1073741824ULL}, {"3GB", 3000000000ULL},
	};
	static const char *const bad[] = {
		"0.5", "1.3k", "1kb", "1mb", "1m", "1 K", "1KiBs", "1T", "1TiB", "1x",
		"99999999999G", "1e30",
	};
	uint64_t v;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 999;
		assert_int_equal(salvo_parse_size(ok[i].s, &v, err, sizeof(err)), 0);
		assert_true(v == ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(salvo_parse_size(bad[i], &v, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != 0);
	}
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_int_equal(salvo_parse_size(junk[i], &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_parse_size(NULL, &v, err, sizeof(err)), -EINVAL);
}

static void test_rate_pps_vs_bits(void **state)
{
	static const struct {
		const char *s;
		double pps, bps;
	} ok[] = {
		{"1", 1, 0}, {"100k", 1e5, 0}, {"1.5M", 1.5e6, 0}, {"2000pps", 2000, 0},
		{"10kpps", 1e4, 0}, {"10KPPS", 1e4, 0}, {"0.5", 0.5, 0},
		{"800Mbit", 0, 8e8}, {"10Gbit", 0, 1e10}, {"1.5gbps", 0, 1.5e9}, {"64kbit", 0, 64e3},
		{"1Gbit/s", 0, 1e9}, {"100bit", 0, 100}, {"1kbps", 0, 1e3}, {"1Tbit", 0, 1e12},
		/* Lower-case m is mega, as in the other suffixes: there is no milli-rate. */
		{"2mbit", 0, 2e6},
	};
	double pps, bps;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		/* Stale values must be cleared: exactly one of the two is set. */
		pps = bps = -1;
		assert_int_equal(salvo_parse_rate(ok[i].s, &pps, &bps, err, sizeof(err)), 0);
		assert_true(pps == ok[i].pps);
		assert_true(bps == ok[i].bps);
		assert_true((pps > 0) != (bps > 0));
	}
}

static void test_rate_rejects(void **state)
{
	static const char *const bad[] = {
		"0", "0.0", "0pps", "0bit", "0Gbit", "pps", "bit", "1x", "1kx", "1 pps", "1ppsx",
		"1kkbit", "1bits", "1Pbit", "2000T", "1e3pps",
	};
	double pps, bps;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		pps = bps = 5;
		assert_int_equal(salvo_parse_rate(bad[i], &pps, &bps, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != 0);
		assert_true(pps == 0 && bps == 0);
	}
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_int_equal(salvo_parse_rate(junk[i], &pps, &bps, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_parse_rate(NULL, &pps, &bps, err, sizeof(err)), -EINVAL);
}

static void test_duration(void **state)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} ok[] = {
		{"5", 5000000000ULL}, {"5s", 5000000000ULL}, {"0.5", 500000000ULL},
		{"250ms", 250000000ULL}, {"10us", 10000ULL}, {"100ns", 100}, {"1ns", 1},
		{"1m", 60000000000ULL}, {"2m", 120000000000ULL}, {"1.5h", 5400000000000ULL},
		{"1000h", 3600000000000000ULL},
	};
	static const char *const bad[] = {
		"0", "0s", "0.5ns", "0ms", "1001h", "5S", "5 s", "5sec", "1d", "1mss", "ms", "s",
	};
	uint64_t ns;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ns = 0;
		assert_int_equal(salvo_parse_duration(ok[i].s, &ns, err, sizeof(err)), 0);
		assert_true(ns == ok[i].ns);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(salvo_parse_duration(bad[i], &ns, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != 0);
	}
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_int_equal(salvo_parse_duration(junk[i], &ns, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_parse_duration(NULL, &ns, err, sizeof(err)), -EINVAL);
}

/* Error text is truncated to the caller's buffer, never written past it. */
static void test_small_err_buffers(void **state)
{
	char buf[16];
	uint64_t v;
	double a, b;
	const char *longjunk = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

	(void)state;
	for (size_t len = 1; len < 8; len++) {
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(salvo_parse_count(longjunk, &v, buf, len), -EINVAL);
		assert_int_equal(buf[len - 1], 0);
		assert_int_equal(buf[len], 'Z');
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(salvo_parse_size(longjunk, &v, buf, len), -EINVAL);
		assert_int_equal(buf[len], 'Z');
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(salvo_parse_rate(longjunk, &a, &b, buf, len), -EINVAL);
		assert_int_equal(buf[len], 'Z');
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(salvo_parse_rate("0", &a, &b, buf, len), -EINVAL);
		assert_int_equal(buf[len], 'Z');
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(salvo_parse_duration(longjunk, &v, buf, len), -EINVAL);
		assert_int_equal(buf[len], 'Z');
		memset(buf, 'Z', sizeof(buf));
		assert_int_equal(salvo_parse_duration("0", &v, buf, len), -EINVAL);
		assert_int_equal(buf[len], 'Z');
	}
}

static void test_format(void **state)
{
	char buf[32], tiny[4];

	(void)state;
	assert_string_equal(salvo_fmt_si(0, buf, sizeof(buf)), "0");
	assert_string_equal(salvo_fmt_si(999, buf, sizeof(buf)), "999");
	assert_string_equal(salvo_fmt_si(456700, buf, sizeof(buf)), "456.7k");
	assert_string_equal(salvo_fmt_si(1234567, buf, sizeof(buf)), "1.23M");
	assert_string_equal(salvo_fmt_si(2.5e9, buf, sizeof(buf)), "2.50G");
	assert_string_equal(salvo_fmt_bits(9.87e9, buf, sizeof(buf)), "9.87 Gbit/s");
	assert_string_equal(salvo_fmt_bits(800e6, buf, sizeof(buf)), "800.0 Mbit/s");
	assert_string_equal(salvo_fmt_bits(64e3, buf, sizeof(buf)), "64.0 kbit/s");
	assert_string_equal(salvo_fmt_bits(12, buf, sizeof(buf)), "12 bit/s");
	memset(tiny, 'Z', sizeof(tiny));
	assert_string_equal(salvo_fmt_bits(9.87e9, tiny, 3), "9.");
	assert_int_equal(tiny[3], 'Z');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_count_rejects),
		cmocka_unit_test(test_count_exact_or_refused),
		cmocka_unit_test(test_decimal_fractions_exact),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_rate_pps_vs_bits),
		cmocka_unit_test(test_rate_rejects),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_small_err_buffers),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
