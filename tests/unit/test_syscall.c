// SPDX-License-Identifier: MIT
/*
 * syscall backend, datagrams on loopback through the ops: the receive
 * batch keeps its slots armed between calls (syscall.c, sys_rx), so calls
 * that take fewer datagrams than they offer, calls of different sizes and
 * a caller holding nothing back must still hand out every datagram once,
 * in order, whole, and leave every buffer to the pool.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <salvo/backend.h>
#include <salvo/cfg.h>

#include "udp_pair.h"

/*
 * Calls offered 256 (the pool: 64) that take 10, then calls of 64 and of 8 over a
 * backlog, then 256 again: every datagram once and in order, and the
 * pool whole at the end but for one armed batch.
 */
static void test_rx_partial_batches(void **state)
{
	const struct salvo_backend_ops *ops = salvo_backend_find("syscall");
	struct salvo_port tx, rx;
	struct salvo_cfg ct, cr;
	unsigned int got = 0, sent = 0;

	(void)state;
	open_udp_pair(ops, &cr, &ct, &rx, &tx);
	for (int round = 0; round < 3; round++) {
		send_numbered(&tx, sent, 10, 64);
		sent += 10;
		got = recv_numbered(&rx, got, sent, 256, 64);
		assert_int_equal(got, sent);
	}
	send_numbered(&tx, sent, 200, 64);
	sent += 200;
	got = recv_numbered(&rx, got, got + 64, 64, 64);
	got = recv_numbered(&rx, got, got + 8, 8, 64);
	got = recv_numbered(&rx, got, sent, 256, 64);
	assert_int_equal(got, sent);
	/* Shorter datagrams into the same armed slots: lengths follow each datagram. */
	send_numbered(&tx, sent, 50, 40);
	sent += 50;
	got = recv_numbered(&rx, got, sent, 32, 40);
	assert_int_equal(got, sent);
	assert_true(rx.pool->nfree + 256 >= rx.pool->n);	/* one batch armed at most */
	assert_int_equal(rx.stats.rx_nobufs, 0);
	salvo_port_close(&tx);
	salvo_port_close(&rx);
}

/* A caller that holds what it got: the next call takes from the pool's rest, then reports it empty. */
static void test_rx_pool_exhausted(void **state)
{
	const struct salvo_backend_ops *ops = salvo_backend_find("syscall");
	struct salvo_port tx, rx;
	struct salvo_cfg ct, cr;
	struct salvo_pkt *held[1024];
	unsigned int nheld = 0, total;
	uint64_t end;

	(void)state;
	open_udp_pair(ops, &cr, &ct, &rx, &tx);
	total = rx.pool->n;
	send_numbered(&tx, 0, total + 64 < 1024 ? total + 64 : 1024, 64);
	rx.rx_timeout_ms = 100;
	end = salvo_now_ns() + 3 * NSEC_PER_SEC;
	while (salvo_now_ns() < end) {
		int n = salvo_port_rx(&rx, held + nheld, 64);

		if (n == -ENOBUFS)
			break;
		assert_true(n >= 0);
		for (int j = 0; j < n; j++) {
			uint16_t seq;

			memcpy(&seq, held[nheld + (unsigned int)j]->data, sizeof(seq));
			assert_int_equal(seq, (uint16_t)(nheld + (unsigned int)j));
		}
		nheld += (unsigned int)n;
	}
	/* Every buffer was handed out once: no datagram in two of them. */
	assert_int_equal(nheld, total);
	salvo_port_release(&rx, held, nheld);
	assert_int_equal(rx.pool->nfree, total);
	/* Released, the receiver goes on where it stopped. */
	assert_int_equal(recv_numbered(&rx, nheld, nheld + 64, 64, 64), nheld + 64);
	salvo_port_close(&tx);
	salvo_port_close(&rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rx_partial_batches),
		cmocka_unit_test(test_rx_pool_exhausted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
