// SPDX-License-Identifier: MIT
/*
 * Unit tests for the control-channel messages (apps/ctl.c): every type
 * survives encode -> decode, the framing refuses lengths out of range, and
 * hostile bodies are refused with a reason rather than half-accepted.  The
 * I/O helpers are tried over a socketpair: a short read times out, a close
 * is reported, an oversize length is refused unread.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <salvo/common.h>
#include <salvo/report.h>

#include "apps/ctl.h"

static void roundtrip(const struct salvo_ctl_msg *in, struct salvo_ctl_msg *out)
{
	uint8_t buf[4096];
	char err[256];
	int n = salvo_ctl_encode(in, buf, sizeof(buf));

	assert_true(n > 4);
	assert_int_equal(salvo_ctl_frame_len(buf), n - 4);
	assert_int_equal(salvo_ctl_decode(buf + 4, (size_t)n - 4, out, err, sizeof(err)), 0);
	assert_int_equal(out->type, in->type);
}

static void test_roundtrip_all(void **state)
{
	struct salvo_ctl_msg in, out;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.type = SALVO_CTL_HELLO;
	in.version = 1;
	strcpy(in.token, "s3cret");
	roundtrip(&in, &out);
	assert_int_equal(out.version, 1);
	assert_string_equal(out.token, "s3cret");

	memset(&in, 0, sizeof(in));
	in.type = SALVO_CTL_PROPOSE;
	in.tcp = true;
	in.reverse = true;
	in.size = 1400;
	in.count = 123456789012ULL;
	in.bytes = 7;
	in.duration_ms = 2500;
	in.rate_pps = 100000.5;
	in.flows = 3;
	in.streams = 4;
	in.rcvbuf = 65536;
	in.port = 40000;
	strcpy(in.backend, "syscall");
	roundtrip(&in, &out);
	assert_true(out.tcp && out.reverse);
	assert_int_equal(out.size, 1400);
	assert_int_equal(out.count, 123456789012ULL);
	assert_int_equal(out.bytes, 7);
	assert_int_equal(out.duration_ms, 2500);
	assert_true(out.rate_pps == 100000.5);
	assert_int_equal(out.flows, 3);
	assert_int_equal(out.streams, 4);
	assert_int_equal(out.rcvbuf, 65536);
	assert_int_equal(out.port, 40000);
	assert_string_equal(out.backend, "syscall");
	assert_false(out.bidir);

	/* Version 2's bidir proposal; a forward one's body has no "bidir" at all (version 1 reads it as before). */
	in.reverse = false;
	in.bidir = true;
	roundtrip(&in, &out);
	assert_true(out.bidir && !out.reverse);
	assert_int_equal(out.port, 40000);
	{
		uint8_t b[4096];
		int n;

		in.bidir = false;
		n = salvo_ctl_encode(&in, b, sizeof(b));
		assert_true(n > 4);
		assert_null(memmem(b, (size_t)n, "bidir", 5));
	}

	memset(&in, 0, sizeof(in));
	in.type = SALVO_CTL_RESULTS;
	in.has_tx = true;
	in.tx.packets = (1ULL << 62) + 5;
	in.tx.bytes = 99;
	in.tx.active_s = 1.5;
	roundtrip(&in, &out);
	assert_true(out.has_tx && !out.has_rx);
	assert_int_equal(out.tx.packets, (1ULL << 62) + 5);
	assert_int_equal(out.tx.bytes, 99);
	assert_false(out.tx.has_latency);

	/* A receiver's latency (rfc2544 over serve reads it): every percentile back as sent. */
	in.has_tx = false;
	in.has_rx = true;
	in.rx.packets = 10;
	in.rx.has_latency = true;
	in.rx.latency = (struct salvo_report_latency){.count = 10, .min = 1, .p50 = 2, .p90 = 3, .p99 = 4,
						      .p999 = 5, .p9999 = 6, .max = 7, .clamped = 1, .mean = 2.5};
	roundtrip(&in, &out);
	assert_true(out.has_rx && out.rx.has_latency);
	assert_memory_equal(&out.rx.latency, &in.rx.latency, sizeof(in.rx.latency));

	memset(&in, 0, sizeof(in));
	in.type = SALVO_CTL_ACCEPT;
	in.port = 5;
	roundtrip(&in, &out);
	assert_int_equal(out.port, 5);

	memset(&in, 0, sizeof(in));
	in.type = SALVO_CTL_ERROR;
	strcpy(in.error, "no");
	roundtrip(&in, &out);
	assert_string_equal(out.error, "no");

	for (int t = SALVO_CTL_START; t <= SALVO_CTL_BYE; t += SALVO_CTL_BYE - SALVO_CTL_START) {
		memset(&in, 0, sizeof(in));
		in.type = (enum salvo_ctl_type)t;
		roundtrip(&in, &out);
	}
}

static void test_frame_len(void **state)
{
	uint8_t zero[4] = {0, 0, 0, 0}, max[4] = {0, 1, 0, 0}, over[4] = {0, 1, 0, 1},
		huge[4] = {0xff, 0xff, 0xff, 0xff};

	(void)state;
	assert_int_equal(salvo_ctl_frame_len(zero), -EMSGSIZE);
	assert_int_equal(salvo_ctl_frame_len(max), SALVO_CTL_MAX_MSG);
	assert_int_equal(salvo_ctl_frame_len(over), -EMSGSIZE);
	assert_int_equal(salvo_ctl_frame_len(huge), -EMSGSIZE);
}

static int decode_str(const char *s, struct salvo_ctl_msg *m)
{
	char err[256];

	err[0] = 0;
	int rc = salvo_ctl_decode((const uint8_t *)s, strlen(s), m, err, sizeof(err));

	if (rc)
		assert_true(err[0] != 0);	/* every refusal says why */
	return rc;
}

static void test_rejects(void **state)
{
	struct salvo_ctl_msg m;
	static const char *const bad[] = {
		"",
		"not json",
		"[1,2]",
		"{}",
		"{\"type\":\"nope\"}",
		"{\"type\":7}",
		"{\"type\":\"hello\"}",
		"{\"type\":\"hello\",\"version\":-1}",
		"{\"type\":\"hello\",\"version\":1,\"token\":5}",
		"{\"type\":\"hello\",\"version\":1,\"token\":\"a\\u0001b\"}",
		"{\"type\":\"hello\",\"version\":1,\"type\":\"bye\"}",
		"{\"type\":\"propose\"}",
		"{\"type\":\"propose\",\"proto\":\"sctp\",\"count\":1}",
		"{\"type\":\"propose\",\"proto\":\"udp\"}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"size\":65508}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"size\":0}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"flows\":0}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"rate_pps\":-1}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"rate_pps\":\"fast\"}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"reverse\":1}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"reverse\":true}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"port\":70000}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"bidir\":true}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"bidir\":1,\"port\":9}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"bidir\":true,\"reverse\":true,\"port\":9}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"duration_ms\":99999999999}",
		"{\"type\":\"propose\",\"proto\":\"udp\",\"count\":1,\"backend\":\"0123456789012345678901234567890123\"}",
		"{\"type\":\"accept\"}",
		"{\"type\":\"accept\",\"port\":0}",
		"{\"type\":\"results\"}",
		"{\"type\":\"results\",\"tx\":[]}",
		"{\"type\":\"results\",\"tx\":{\"packets\":1.5}}",
		"{\"type\":\"results\",\"rx\":{\"latency_ns\":[]}}",
		"{\"type\":\"results\",\"rx\":{\"latency_ns\":{\"min\":1,\"max\":2}}}",
		"{\"type\":\"results\",\"rx\":{\"latency_ns\":{\"count\":1,\"min\":5,\"p50\":4,\"p90\":4,"
		"\"p99\":4,\"p999\":4,\"p9999\":4,\"max\":4}}}",
		"{\"type\":\"error\",\"error\":{}}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (decode_str(bad[i], &m) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	/* Unknown fields are ignored (a newer peer's additions); defaults fill the rest. */
	assert_int_equal(decode_str("{\"type\":\"propose\",\"proto\":\"udp\",\"count\":3,\"new\":1}", &m), 0);
	assert_int_equal(m.size, 64);
	assert_int_equal(m.flows, 1);
	assert_int_equal(m.count, 3);
	assert_false(m.reverse);
}

static void test_io(void **state)
{
	int sv[2];
	struct salvo_ctl_msg in = {.type = SALVO_CTL_HELLO, .version = 1}, out;
	uint8_t partial[6] = {0, 0, 0, 20, '{', '"'}, over[4] = {0, 2, 0, 0};
	char err[256];
	uint64_t t0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(salvo_ctl_send(sv[0], &in, 1000), 0);
	assert_int_equal(salvo_ctl_recv(sv[1], &out, 1000, err, sizeof(err)), 0);
	assert_int_equal(out.type, SALVO_CTL_HELLO);
	/* Nothing sent: the wait ends at the timeout, not later. */
	t0 = salvo_now_ns();
	assert_int_equal(salvo_ctl_recv(sv[1], &out, 100, err, sizeof(err)), -ETIMEDOUT);
	assert_true(salvo_now_ns() - t0 < 2 * NSEC_PER_SEC);
	/* Half a message: timeout too. */
	assert_int_equal(write(sv[0], partial, sizeof(partial)), (ssize_t)sizeof(partial));
	assert_int_equal(salvo_ctl_recv(sv[1], &out, 100, err, sizeof(err)), -ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], over, sizeof(over)), (ssize_t)sizeof(over));
	assert_int_equal(salvo_ctl_recv(sv[1], &out, 1000, err, sizeof(err)), -EMSGSIZE);
	close(sv[0]);
	assert_int_equal(salvo_ctl_recv(sv[1], &out, 1000, err, sizeof(err)), -ECONNRESET);
	close(sv[1]);
}

/*
 * A receiver's errors are the drops the kernel counted for its sockets
 * (kernel.rcvbuf_drops, read at close) plus those the backend saw itself:
 * a datagram backend that no longer asks for a drop count per datagram
 * must still report them to the peer.
 */
static void test_counts_rx_errors(void **state)
{
	struct salvo_report rep;
	struct salvo_ctl_counts c;

	(void)state;
	memset(&rep, 0, sizeof(rep));
	rep.rx.packets = 90;
	rep.lost = 10;
	rep.rx_dropped = 2;
	rep.kernel.rcvbuf_drops = 7;
	salvo_ctl_counts_from_report(&c, &rep, false);
	assert_int_equal(c.errors, 2);	/* no kernel witness: its field is not a count */
	rep.kernel.have = SALVO_KSTAT_RCVBUF;
	salvo_ctl_counts_from_report(&c, &rep, false);
	assert_int_equal(c.packets, 90);
	assert_int_equal(c.lost, 10);
	assert_int_equal(c.errors, 9);
	rep.tx_errors = 5;
	salvo_ctl_counts_from_report(&c, &rep, true);
	assert_int_equal(c.errors, 5);	/* a sender's are its failed submissions */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_frame_len),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_counts_rx_errors),
	};

	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
