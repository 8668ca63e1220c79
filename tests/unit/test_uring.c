// SPDX-License-Identifier: MIT
/*
 * io_uring backend: ring set-up flag fallback and the capability check,
 * against a scripted kernel (salvo__uring_sys), plus one real loopback
 * datagram round through the ops when this machine has io_uring.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <salvo/backend.h>
#include <salvo/cfg.h>
#include <salvo/doctor.h>

#include "backends/uring_internal.h"
#include "udp_pair.h"

/* The scripted kernel. */
static unsigned int refuse_flags;	/* setup with any of these: EINVAL */
static int setup_err;			/* every setup fails with this when non-zero */
static unsigned int calls, last_flags;
static int missing_op = -1;		/* probe says this op is absent */
static int bufring_err;
static int refuse_multishot = -1;	/* this op is not kept armed as multishot */

static int fake_init(unsigned int entries, struct io_uring *ring, struct io_uring_params *prm)
{
	(void)entries;
	calls++;
	last_flags = prm->flags;
	if (setup_err)
		return setup_err;
	if (prm->flags & refuse_flags)
		return -EINVAL;
	memset(ring, 0, sizeof(*ring));
	return 0;
}

static void fake_exit(struct io_uring *ring)
{
	(void)ring;
}

static struct io_uring_probe *fake_probe(struct io_uring *ring)
{
	struct io_uring_probe *p;

	(void)ring;
	p = calloc(1, sizeof(*p) + 256 * sizeof(struct io_uring_probe_op));
	if (!p)
		return NULL;
	p->last_op = IORING_OP_LAST - 1;
	for (int i = 0; i < IORING_OP_LAST; i++)
		p->ops[i].flags = i == missing_op ? 0 : IO_URING_OP_SUPPORTED;
	return p;
}

static int fake_bufring(struct io_uring *ring, struct io_uring_buf_reg *reg, unsigned int flags)
{
	(void)ring;
	(void)reg;
	(void)flags;
	return bufring_err;
}

static int fake_unbufring(struct io_uring *ring, int bgid)
{
	(void)ring;
	(void)bgid;
	return 0;
}

static int fake_multishot(struct io_uring *ring, int op)
{
	(void)ring;
	return op == refuse_multishot ? -EINVAL : 0;
}

static char disabled_file[64];

static struct salvo__uring_sys sys = {
	.disabled_path = disabled_file,
	.queue_init = fake_init,
	.queue_exit = fake_exit,
	.get_probe = fake_probe,
	.register_buf_ring = fake_bufring,
	.unregister_buf_ring = fake_unbufring,
	.multishot = fake_multishot,
};

static void write_disabled(const char *v)
{
	FILE *f = fopen(disabled_file, "w");

	assert_non_null(f);
	fputs(v, f);
	fclose(f);
}

static int reset(void **state)
{
	(void)state;
	refuse_flags = 0;
	setup_err = 0;
	calls = 0;
	last_flags = 0;
	missing_op = -1;
	bufring_err = 0;
	refuse_multishot = -1;
	snprintf(disabled_file, sizeof(disabled_file), "/tmp/salvo-uring-test-%d", (int)getpid());
	write_disabled("0\n");
	return 0;
}

static int cleanup(void **state)
{
	(void)state;
	unlink(disabled_file);
	return 0;
}

static void cfg_udp(struct salvo_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->proto = SALVO_PROTO_UDP;
}

static void test_setup_best_flags(void **state)
{
	struct io_uring r;
	unsigned int fl;

	(void)state;
	assert_int_equal(salvo__uring_setup(&sys, &r, 64, 256, &fl), 0);
	assert_int_equal(calls, 1);
	assert_true(fl & IORING_SETUP_SINGLE_ISSUER);
	assert_true(fl & IORING_SETUP_DEFER_TASKRUN);
	assert_true(fl & IORING_SETUP_CQSIZE);
}

static void test_setup_drops_defer_taskrun(void **state)
{
	struct io_uring r;
	unsigned int fl;

	(void)state;
	refuse_flags = IORING_SETUP_DEFER_TASKRUN;
	assert_int_equal(salvo__uring_setup(&sys, &r, 64, 256, &fl), 0);
	assert_int_equal(calls, 2);
	assert_true(fl & IORING_SETUP_SINGLE_ISSUER);
	assert_false(fl & IORING_SETUP_DEFER_TASKRUN);
	assert_true(fl & IORING_SETUP_COOP_TASKRUN);
}

static void test_setup_old_kernel_plain(void **state)
{
	struct io_uring r;
	unsigned int fl;

	(void)state;
	/* A 5.10-ish kernel: none of the newer flags. */
	refuse_flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		       IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL;
	assert_int_equal(salvo__uring_setup(&sys, &r, 64, 256, &fl), 0);
	assert_int_equal(calls, 4);
	assert_int_equal(fl, IORING_SETUP_CQSIZE);
}

static void test_setup_eperm_stops(void **state)
{
	struct io_uring r;
	unsigned int fl;

	(void)state;
	setup_err = -EPERM;
	assert_int_equal(salvo__uring_setup(&sys, &r, 64, 256, &fl), -EPERM);
	assert_int_equal(calls, 1);	/* no point retrying a refusal */
}

static void test_check_ok(void **state)
{
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	cfg_udp(&c);
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), 0);
}

static void test_check_disabled_sysctl(void **state)
{
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	cfg_udp(&c);
	write_disabled("2\n");
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "io_uring_disabled=2"));
	assert_int_equal(calls, 0);	/* said without trying */
}

static void test_check_seccomp(void **state)
{
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	cfg_udp(&c);
	setup_err = -EPERM;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "io_uring_setup failed: Operation not permitted"));
	assert_non_null(strstr(why, "seccomp"));
	assert_null(strchr(why, '\n'));
}

static void test_check_restricted_sysctl(void **state)
{
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	cfg_udp(&c);
	write_disabled("1\n");
	setup_err = -EPERM;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "io_uring_disabled=1"));
}

static void test_check_missing_zc_only_for_zerocopy(void **state)
{
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	cfg_udp(&c);
	missing_op = IORING_OP_SENDMSG_ZC;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), 0);
	c.zerocopy = true;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), -EOPNOTSUPP);
	assert_non_null(strstr(why, "IORING_OP_SENDMSG_ZC"));
}

static void test_check_missing_accept_for_tcp(void **state)
{
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	cfg_udp(&c);
	missing_op = IORING_OP_ACCEPT;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), 0);
	c.proto = SALVO_PROTO_TCP;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), -EOPNOTSUPP);
	assert_non_null(strstr(why, "IORING_OP_ACCEPT"));
}

/* The uring paths have no single-shot fallback: a refused multishot flavour stops its path. */
static void test_check_multishot_recvmsg_for_udp(void **state)
{
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	cfg_udp(&c);
	refuse_multishot = IORING_OP_RECVMSG;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), -EOPNOTSUPP);
	assert_non_null(strstr(why, "multishot RECVMSG"));
	assert_non_null(strstr(why, "datagrams"));
	c.proto = SALVO_PROTO_TCP;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), 0);
}

static void test_check_multishot_accept_recv_for_tcp(void **state)
{
	static const int ops[] = { IORING_OP_ACCEPT, IORING_OP_RECV };
	static const char *const names[] = { "multishot ACCEPT", "multishot RECV" };
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	for (unsigned int i = 0; i < 2; i++) {
		refuse_multishot = ops[i];
		cfg_udp(&c);
		assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), 0);
		c.proto = SALVO_PROTO_TCP;
		assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), -EOPNOTSUPP);
		assert_non_null(strstr(why, names[i]));
		assert_non_null(strstr(why, "streams"));
	}
}

/* Datagrams no longer need SEND_ZC (it stood in for multishot RECVMSG). */
static void test_check_udp_without_send_zc(void **state)
{
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	cfg_udp(&c);
	missing_op = IORING_OP_SEND_ZC;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), 0);
}

static const struct salvo_doctor_check *find_check(const struct salvo_doctor_check *v,
						   unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

/*
 * The doctor lines for a path carry the probe's reason for it word for
 * word, whichever feature the scripted kernel refuses.
 */
static void test_doctor_agrees_with_probe(void **state)
{
	static const struct {
		int missing_op, refuse_ms, bufring_err;
	} kernels[] = {
		{ -1, -1, 0 },
		{ -1, IORING_OP_RECVMSG, 0 },
		{ -1, IORING_OP_ACCEPT, 0 },
		{ -1, IORING_OP_RECV, 0 },
		{ IORING_OP_SHUTDOWN, -1, 0 },
		{ IORING_OP_SENDMSG, -1, 0 },
		{ -1, -1, -EINVAL },
	};
	static const struct {
		int proto;
		const char *check, *path;
	} paths[] = {
		{ SALVO_PROTO_UDP, "io_uring.datagrams", "datagrams" },
		{ SALVO_PROTO_TCP, "io_uring.streams", "streams" },
	};

	(void)state;
	for (unsigned int k = 0; k < SALVO_ARRAY_SIZE(kernels); k++) {
		struct salvo_doctor_check v[SALVO_DOCTOR_MAX];
		struct salvo_doctor_report r = { .v = v, .max = SALVO_DOCTOR_MAX };

		missing_op = kernels[k].missing_op;
		refuse_multishot = kernels[k].refuse_ms;
		bufring_err = kernels[k].bufring_err;
		salvo__uring_doctor(&sys, &r);
		for (unsigned int i = 0; i < SALVO_ARRAY_SIZE(paths); i++) {
			const struct salvo_doctor_check *d = find_check(v, r.n, paths[i].check);
			struct salvo_cfg c;
			char why[256] = "", want[300];
			int rc;

			cfg_udp(&c);
			c.proto = paths[i].proto;
			rc = salvo__uring_check(&sys, &c, why, sizeof(why));
			assert_non_null(d);
			if (rc) {
				snprintf(want, sizeof(want), "%s unavailable: %s", paths[i].path, why);
				assert_int_equal(d->status, SALVO_DOCTOR_FAIL);
				assert_string_equal(d->detail, want);
			} else {
				assert_int_equal(d->status, SALVO_DOCTOR_OK);
			}
		}
	}
	/* The feature line itself says which path it stops. */
	{
		struct salvo_doctor_check v[SALVO_DOCTOR_MAX];
		struct salvo_doctor_report r = { .v = v, .max = SALVO_DOCTOR_MAX };
		const struct salvo_doctor_check *d;

		missing_op = -1;
		bufring_err = 0;
		refuse_multishot = IORING_OP_RECVMSG;
		salvo__uring_doctor(&sys, &r);
		d = find_check(v, r.n, "io_uring.recvmsg_multishot");
		assert_non_null(d);
		assert_int_equal(d->status, SALVO_DOCTOR_FAIL);
		assert_non_null(strstr(d->detail, "no datagrams on uring"));
		assert_non_null(d->fix[0] ? d->fix : NULL);
	}
}

static void test_check_no_buf_ring(void **state)
{
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	cfg_udp(&c);
	bufring_err = -EINVAL;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), -EOPNOTSUPP);
	assert_non_null(strstr(why, "provided buffer rings"));
}

static void test_check_l2_refused(void **state)
{
	struct salvo_cfg c;
	char why[256] = "";

	(void)state;
	cfg_udp(&c);
	c.proto = SALVO_PROTO_L2;
	assert_int_equal(salvo__uring_check(&sys, &c, why, sizeof(why)), -EOPNOTSUPP);
}

static void test_flags_str(void **state)
{
	char b[96];

	(void)state;
	assert_string_equal(salvo__uring_flags_str(0, b, sizeof(b)), "plain");
	assert_string_equal(salvo__uring_flags_str(IORING_SETUP_SINGLE_ISSUER |
							   IORING_SETUP_DEFER_TASKRUN,
						   b, sizeof(b)),
			    "single_issuer,defer_taskrun");
}

/* The real thing: 64 datagrams through two uring ports on loopback. */
static void test_real_loopback(void **state)
{
	const struct salvo_backend_ops *ops = salvo_backend_find("uring");
	struct salvo_port tx, rx;
	struct salvo_cfg ct, cr;
	struct salvo_pkt *v[64];
	unsigned int got = 0, i;
	uint64_t end;

	(void)state;
	open_udp_pair(ops, &cr, &ct, &rx, &tx);
	/* Arm the receiver before anything is sent. */
	rx.rx_timeout_ms = 0;
	assert_int_equal(salvo_port_rx(&rx, v, 64), 0);
	assert_int_equal(salvo_pool_get(tx.pool, v, 64), 64);
	for (i = 0; i < 64; i++) {
		memset(v[i]->data, (int)i, 64);
		v[i]->len = 64;
		v[i]->flow = 0;
	}
	assert_int_equal(salvo_port_tx(&tx, v, 64), 64);
	assert_int_equal(tx.ops->drain(&tx, 2000), 0);
	assert_int_equal(tx.pool->nfree, tx.pool->n);	/* every buffer back */
	rx.rx_timeout_ms = 100;
	end = salvo_now_ns() + 3 * NSEC_PER_SEC;
	while (got < 64 && salvo_now_ns() < end) {
		int n = salvo_port_rx(&rx, v, 64);

		assert_true(n >= 0);
		for (int j = 0; j < n; j++) {
			assert_int_equal(v[j]->len, 64);
			assert_int_equal(v[j]->data[0], (uint8_t)(got + (unsigned int)j));
		}
		salvo_port_release(&rx, v, (unsigned int)n);
		got += (unsigned int)n;
	}
	assert_int_equal(got, 64);
	assert_int_equal(rx.stats.rx_nobufs, 0);
	salvo_port_close(&tx);
	salvo_port_close(&rx);
}

/*
 * Skip mode writes only address, length and user_data into an SQ slot
 * once every slot holds its template (uring_dgram.c, tx_skip).  An SQE
 * written by other code in between (here a NOP straight from liburing,
 * as a receive re-arm or a probe would) must not leave its opcode for a
 * later send to inherit: every datagram of the rounds after it arrives,
 * in order, with its own payload.  The witness is a second uring port
 * reading the datagrams.
 */
static void test_skip_slot_reuse(void **state)
{
	const struct salvo_backend_ops *ops = salvo_backend_find("uring");
	struct salvo_port tx, rx;
	struct salvo_cfg ct, cr;
	struct salvo_pkt *v[64];
	struct uring_port *up;
	struct io_uring_sqe *sqe;
	unsigned int sent = 0, got = 0, round;

	(void)state;
	open_udp_pair(ops, &cr, &ct, &rx, &tx);
	up = tx.priv;
	if (!up->skip)
		skip();	/* a kernel without IORING_FEAT_CQE_SKIP (5.17): no template slots */
	rx.rx_timeout_ms = 0;
	assert_int_equal(salvo_port_rx(&rx, v, 64), 0);
	/* Two rings' worth of sends, with a foreign SQE after the first. */
	for (round = 0; round < 2 * 2 * SQ_ENTRIES / 64; round++) {
		if (round == 2 * SQ_ENTRIES / 64) {
			sqe = io_uring_get_sqe(&up->ring);
			assert_non_null(sqe);
			io_uring_prep_nop(sqe);
			io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
			assert_int_equal(io_uring_submit(&up->ring), 1);
		}
		send_numbered(&tx, sent, 64, 64);
		sent += 64;
		got = recv_numbered(&rx, got, sent, 64, 64);
		assert_int_equal(got, sent);
	}
	assert_int_equal(tx.ops->drain(&tx, 2000), 0);
	assert_int_equal(tx.pool->nfree, tx.pool->n);
	assert_int_equal(tx.stats.tx_errors, 0);
	salvo_port_close(&tx);
	salvo_port_close(&rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_setup_best_flags, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_setup_drops_defer_taskrun, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_setup_old_kernel_plain, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_setup_eperm_stops, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_ok, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_disabled_sysctl, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_seccomp, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_restricted_sysctl, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_missing_zc_only_for_zerocopy, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_missing_accept_for_tcp, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_multishot_recvmsg_for_udp, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_multishot_accept_recv_for_tcp, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_udp_without_send_zc, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_doctor_agrees_with_probe, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_no_buf_ring, reset, cleanup),
		cmocka_unit_test_setup_teardown(test_check_l2_refused, reset, cleanup),
		cmocka_unit_test(test_flags_str),
		cmocka_unit_test(test_real_loopback),
		cmocka_unit_test(test_skip_slot_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
