// SPDX-License-Identifier: MIT
/*
 * Unit tests for address parsing and formatting (engine/addr.c).  Only
 * numeric forms and "localhost" are used: nothing here may ask a resolver.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <salvo/addr.h>

static void test_ipv4(void **state)
{
	struct salvo_addr a;
	char err[256], buf[SALVO_ADDR_STRLEN];

	(void)state;
	assert_int_equal(salvo_addr_parse("127.0.0.1:9000", &a, err, sizeof(err)), 0);
	assert_int_equal(a.sa.sa_family, AF_INET);
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohl(a.in4.sin_addr.s_addr), 0x7f000001);
	assert_int_equal(salvo_addr_port(&a), 9000);
	assert_true(salvo_addr_is_loopback(&a));
	assert_false(salvo_addr_is_unix(&a));
	assert_string_equal(salvo_addr_host(&a, buf, sizeof(buf)), "127.0.0.1");
	assert_int_equal(salvo_addr_parse("10.1.2.3:1", &a, err, sizeof(err)), 0);
	assert_false(salvo_addr_is_loopback(&a));
	assert_int_equal(salvo_addr_parse("127.200.3.4:65535", &a, err, sizeof(err)), 0);
	assert_true(salvo_addr_is_loopback(&a));
	assert_int_equal(salvo_addr_port(&a), 65535);
}

static void test_ipv6(void **state)
{
	struct salvo_addr a;
	char err[256], buf[SALVO_ADDR_STRLEN];
	static const uint8_t lo6[16] = {[15] = 1};

	(void)state;
	assert_int_equal(salvo_addr_parse("[::1]:9000", &a, err, sizeof(err)), 0);
	assert_int_equal(a.sa.sa_family, AF_INET6);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
	assert_memory_equal(&a.in6.sin6_addr, lo6, 16);
	assert_int_equal(salvo_addr_port(&a), 9000);
	assert_true(salvo_addr_is_loopback(&a));
	assert_string_equal(salvo_addr_host(&a, buf, sizeof(buf)), "::1");
	assert_int_equal(salvo_addr_parse("[fd00::2:3]:7", &a, err, sizeof(err)), 0);
	assert_false(salvo_addr_is_loopback(&a));
	assert_int_equal(salvo_addr_parse("[::ffff:1.2.3.4]:7", &a, err, sizeof(err)), 0);
	assert_int_equal(a.sa.sa_family, AF_INET6);
}

static void test_localhost(void **state)
{
	struct salvo_addr a;
	char err[256];

	(void)state;
	assert_int_equal(salvo_addr_parse("localhost:5", &a, err, sizeof(err)), 0);
	assert_int_equal(a.sa.sa_family, AF_INET);
	assert_int_equal(ntohl(a.in4.sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(salvo_addr_port(&a), 5);
	assert_int_equal(salvo_addr_parse_bind("localhost:0", NULL, true, &a, err, sizeof(err)), 0);
	assert_int_equal(salvo_addr_port(&a), 0);
}

static void test_unix(void **state)
{
	struct salvo_addr a;
	char err[256], buf[SALVO_ADDR_STRLEN], path[200];
	size_t max = sizeof(a.un.sun_path) - 1;

	(void)state;
	assert_int_equal(salvo_addr_parse("unix:/tmp/salvo.sock", &a, err, sizeof(err)), 0);
	assert_int_equal(a.sa.sa_family, AF_UNIX);
	assert_int_equal(a.len, offsetof(struct sockaddr_un, sun_path) + strlen("/tmp/salvo.sock") + 1);
	assert_string_equal(a.un.sun_path, "/tmp/salvo.sock");
	assert_true(salvo_addr_is_unix(&a));
	assert_true(salvo_addr_is_loopback(&a));
	assert_int_equal(salvo_addr_port(&a), 0);
	salvo_addr_set_port(&a, 80);	/* no port on unix: a no-op */
	assert_string_equal(a.un.sun_path, "/tmp/salvo.sock");
	assert_string_equal(salvo_addr_host(&a, buf, sizeof(buf)), "/tmp/salvo.sock");
	assert_int_equal(salvo_addr_parse_bind("unix:rel/path", NULL, false, &a, err, sizeof(err)), 0);
	assert_string_equal(a.un.sun_path, "rel/path");

	/* Longest path that fits (with its NUL), then one byte more. */
	memset(path, 0, sizeof(path));
	memcpy(path, "unix:/", 6);
	memset(path + 6, 'p', max - 1);
	assert_int_equal(strlen(path + 5), max);
	assert_int_equal(salvo_addr_parse(path, &a, err, sizeof(err)), 0);
	assert_int_equal(strlen(a.un.sun_path), max);
	assert_string_equal(salvo_addr_str(&a, buf, sizeof(buf)), path);
	path[strlen(path)] = 'p';
	err[0] = 0;
	assert_int_equal(salvo_addr_parse(path, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer"));
	assert_int_equal(salvo_addr_parse_bind(path, NULL, true, &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_addr_parse("unix:", &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_addr_parse_bind("unix:", NULL, true, &a, err, sizeof(err)), -EINVAL);
}

static void test_bind_forms(void **state)
{
	struct salvo_addr a;
	char err[256], buf[SALVO_ADDR_STRLEN];

	(void)state;
	/* A bare port binds to the default host, 127.0.0.1 unless given. */
	assert_int_equal(salvo_addr_parse_bind("9000", NULL, false, &a, err, sizeof(err)), 0);
	assert_string_equal(salvo_addr_str(&a, buf, sizeof(buf)), "127.0.0.1:9000");
	assert_int_equal(salvo_addr_parse_bind("9000", "0.0.0.0", false, &a, err, sizeof(err)), 0);
	assert_string_equal(salvo_addr_str(&a, buf, sizeof(buf)), "0.0.0.0:9000");
	assert_int_equal(salvo_addr_parse_bind("9000", "::", false, &a, err, sizeof(err)), 0);
	assert_string_equal(salvo_addr_str(&a, buf, sizeof(buf)), "[::]:9000");
	assert_int_equal(salvo_addr_parse_bind(":9001", NULL, false, &a, err, sizeof(err)), 0);
	assert_string_equal(salvo_addr_str(&a, buf, sizeof(buf)), "127.0.0.1:9001");
	assert_int_equal(salvo_addr_parse_bind("0.0.0.0:9", NULL, false, &a, err, sizeof(err)), 0);
	assert_string_equal(salvo_addr_str(&a, buf, sizeof(buf)), "0.0.0.0:9");
	assert_int_equal(salvo_addr_parse_bind("[::1]:9", NULL, false, &a, err, sizeof(err)), 0);
	assert_string_equal(salvo_addr_str(&a, buf, sizeof(buf)), "[::1]:9");

	/* Port 0 only where asked for. */
	assert_int_equal(salvo_addr_parse_bind("0", NULL, false, &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_addr_parse_bind("0", NULL, true, &a, err, sizeof(err)), 0);
	assert_int_equal(salvo_addr_port(&a), 0);
	assert_int_equal(salvo_addr_parse_bind("[::]:0", NULL, true, &a, err, sizeof(err)), 0);
	assert_int_equal(a.sa.sa_family, AF_INET6);
	assert_int_equal(salvo_addr_parse_bind("65536", NULL, true, &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_addr_parse_bind("", NULL, true, &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_addr_parse_bind(NULL, NULL, true, &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_addr_parse_bind("x", NULL, true, &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_addr_parse_bind("1.2.3.4:", NULL, true, &a, err, sizeof(err)), -EINVAL);
	assert_int_equal(salvo_addr_parse_bind("-1", NULL, true, &a, err, sizeof(err)), -EINVAL);
}

static void test_rejects(void **state)
{
	static const char *const bad[] = {
		"", "127.0.0.1", "9000", ":9000", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
		"127.0.0.1:99999999999999999999", "127.0.0.1:-1", "127.0.0.1:+1", "127.0.0.1:abc",
		"127.0.0.1:80x", "127.0.0.1:0x50", "127.0.0.1:1.5",
		"::1:9000", "::1", "[::1]", "[::1]:", "[::1]9000", "[::1", "::1]:80", "[]:80",
		"[127.0.0.1]:80x", "[::1]:0", "[::1]:65536", "[zz::1]:80", "1.2.3.4.5:80",
		"1.2.3:80", "127.1:80", "0x7f000001:80", "256.0.0.1:80", "[fe80::1%lo]:80",
		"a:b:c", "unix:",
	};
	struct salvo_addr a;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		err[0] = 0;
		rc = salvo_addr_parse(bad[i], &a, err, sizeof(err));
		if (rc != -EINVAL)
			fail_msg("'%s' was accepted (rc %d)", bad[i], rc);
		assert_true(err[0] != 0);
	}
	assert_int_equal(salvo_addr_parse(NULL, &a, err, sizeof(err)), -EINVAL);
}

/* strtoul() skips leading blanks: a port must be digits only. */
static void test_port_digits_only(void **state)
{
	static const char *const bad[] = {"127.0.0.1: 80", "127.0.0.1:\t80", "[::1]: 80"};
	struct salvo_addr a;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (salvo_addr_parse(bad[i], &a, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
	if (salvo_addr_parse_bind(" 80", NULL, false, &a, err, sizeof(err)) != -EINVAL)
		fail_msg("bind ' 80' was accepted");
}

static void test_roundtrip(void **state)
{
	static const char *const forms[] = {
		"127.0.0.1:9000", "10.0.0.255:1", "[::1]:9000", "[fd00::1:2]:65535",
		"[::ffff:1.2.3.4]:7", "unix:/tmp/x", "unix:relative",
	};
	struct salvo_addr a, b;
	char err[256], buf[SALVO_ADDR_STRLEN], buf2[SALVO_ADDR_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		assert_int_equal(salvo_addr_parse(forms[i], &a, err, sizeof(err)), 0);
		assert_string_equal(salvo_addr_str(&a, buf, sizeof(buf)), forms[i]);
		/* Parse the printed form again: the same address. */
		assert_int_equal(salvo_addr_parse(buf, &b, err, sizeof(err)), 0);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(&a.ss, &b.ss, a.len);
		assert_string_equal(salvo_addr_str(&b, buf2, sizeof(buf2)), buf);
	}
}

static void test_set_port_and_from_sa(void **state)
{
	struct salvo_addr a, b;
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sockaddr_storage big;
	char err[256], buf[SALVO_ADDR_STRLEN];

	(void)state;
	assert_int_equal(salvo_addr_parse("[::1]:1", &a, err, sizeof(err)), 0);
	salvo_addr_set_port(&a, 4242);
	assert_string_equal(salvo_addr_str(&a, buf, sizeof(buf)), "[::1]:4242");
	assert_int_equal(salvo_addr_parse("1.2.3.4:1", &a, err, sizeof(err)), 0);
	salvo_addr_set_port(&a, 65535);
	assert_string_equal(salvo_addr_str(&a, buf, sizeof(buf)), "1.2.3.4:65535");

	salvo_addr_from_sa(&b, &a.sa, a.len);
	assert_string_equal(salvo_addr_str(&b, buf, sizeof(buf)), "1.2.3.4:65535");
	/* An unnamed unix peer (recvmsg gives just the family) prints "unix:". */
	salvo_addr_from_sa(&b, (struct sockaddr *)&un, sizeof(sa_family_t));
	assert_string_equal(salvo_addr_str(&b, buf, sizeof(buf)), "unix:");
	/* Abstract sockets start with a NUL: no printable path. */
	memcpy(un.sun_path, "\0abstract", 9);
	salvo_addr_from_sa(&b, (struct sockaddr *)&un, offsetof(struct sockaddr_un, sun_path) + 9);
	assert_string_equal(salvo_addr_str(&b, buf, sizeof(buf)), "unix:");
	/* A full sun_path without a NUL prints at most sun_path's bytes. */
	memset(un.sun_path, 'q', sizeof(un.sun_path));
	salvo_addr_from_sa(&b, (struct sockaddr *)&un, sizeof(un));
	assert_int_equal(strlen(salvo_addr_host(&b, buf, sizeof(buf))), sizeof(un.sun_path));
	/*
	 * The per-datagram fast copies: into a slot that held a longer unix
	 * path, an IPv4 then an IPv6 peer read back whole, and IPv4's bytes
	 * up to sockaddr_in6's size are zero (no stale path bytes there).
	 */
	salvo_addr_from_sa(&b, (struct sockaddr *)&un, sizeof(un));
	assert_int_equal(salvo_addr_parse("10.9.8.7:5353", &a, err, sizeof(err)), 0);
	salvo_addr_from_sa(&b, &a.sa, sizeof(struct sockaddr_in));
	assert_int_equal(b.len, sizeof(struct sockaddr_in));
	assert_memory_equal(&b.in4, &a.in4, sizeof(struct sockaddr_in));
	assert_string_equal(salvo_addr_str(&b, buf, sizeof(buf)), "10.9.8.7:5353");
	for (size_t i = sizeof(struct sockaddr_in); i < sizeof(struct sockaddr_in6); i++)
		assert_int_equal(((const unsigned char *)&b.ss)[i], 0);
	assert_int_equal(salvo_addr_parse("[fe80::1:2]:7", &a, err, sizeof(err)), 0);
	a.in6.sin6_scope_id = 3;
	salvo_addr_from_sa(&b, &a.sa, sizeof(struct sockaddr_in6));
	assert_int_equal(b.len, sizeof(struct sockaddr_in6));
	assert_memory_equal(&b.in6, &a.in6, sizeof(struct sockaddr_in6));
	assert_int_equal(salvo_addr_port(&b), 7);
	/* A length beyond sockaddr_storage is clamped, not copied. */
	memset(&big, 0, sizeof(big));
	big.ss_family = AF_INET;
	salvo_addr_from_sa(&b, (struct sockaddr *)&big, sizeof(big));
	assert_int_equal(b.len, sizeof(big));
	/* Unknown family. */
	memset(&b, 0, sizeof(b));
	b.sa.sa_family = AF_PACKET;
	assert_string_equal(salvo_addr_str(&b, buf, sizeof(buf)), "?");
	assert_int_equal(salvo_addr_port(&b), 0);
	assert_false(salvo_addr_is_loopback(&b));
}

/* Formatting truncates to the caller's buffer and never writes past it. */
static void test_small_buffers(void **state)
{
	struct salvo_addr a;
	char err[256], buf[64];

	(void)state;
	assert_int_equal(salvo_addr_parse("[fd00:1:2:3:4:5:6:7]:65535", &a, err, sizeof(err)), 0);
	for (size_t len = 1; len < 40; len++) {
		memset(buf, 'Z', sizeof(buf));
		salvo_addr_str(&a, buf, len);
		assert_true(strlen(buf) < len);
		assert_int_equal(buf[len], 'Z');
	}
	for (size_t len = 1; len < 8; len++) {
		memset(err, 'Z', sizeof(err));
		assert_int_equal(salvo_addr_parse("[::1]:99999", &a, err, len), -EINVAL);
		assert_int_equal(err[len], 'Z');
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_localhost),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_bind_forms),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_port_digits_only),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_set_port_and_from_sa),
		cmocka_unit_test(test_small_buffers),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
