/* SPDX-License-Identifier: MIT */
/* Unit tests of a datagram backend: a receiver and a sender on loopback, through the ops. */
#ifndef SALVO_TEST_UDP_PAIR_H
#define SALVO_TEST_UDP_PAIR_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <salvo/backend.h>
#include <salvo/cfg.h>

/*
 * A receiver of ops on a random loopback port and a connected sender to
 * it.  The backend is part of what the suite runs on
 * (docs/dependencies.md): a probe that fails is a failure, not a skip, and
 * so is a receiver that cannot bind any of a few random ports.
 */
static void open_udp_pair(const struct salvo_backend_ops *ops, struct salvo_cfg *cr, struct salvo_cfg *ct,
			  struct salvo_port *rx, struct salvo_port *tx)
{
	char why[256];
	unsigned int port, tries;
	int rc = -1;

	assert_non_null(ops);
	salvo_cfg_init(cr);
	cr->proto = SALVO_PROTO_UDP;
	cr->dir = SALVO_DIR_RX;
	cr->listen = true;
	cr->size = 64;
	if (ops->probe(cr, why, sizeof(why)))
		fail_msg("%s probe: %s", ops->name, why);
	assert_int_equal(salvo_addr_parse_bind("127.0.0.1:0", NULL, true, &cr->local, why, sizeof(why)), 0);
	srandom((unsigned int)getpid() ^ (unsigned int)salvo_now_ns());
	for (tries = 0; tries < 20 && rc; tries++) {
		port = 20000 + (unsigned int)random() % 40000;
		salvo_addr_set_port(&cr->local, port);
		rc = salvo_port_open(rx, ops, cr, 0, 1);
	}
	if (rc)
		fail_msg("receiver: %s", rx->err);
	*ct = *cr;
	ct->dir = SALVO_DIR_TX;
	ct->listen = false;
	ct->connect = true;
	ct->flows = 1;
	ct->remote = cr->local;
	assert_int_equal(salvo_port_open(tx, ops, ct, 0, 1), 0);
}

/* Send count datagrams numbered from first (16 bits at the front), each len bytes long. */
static void send_numbered(struct salvo_port *tx, unsigned int first, unsigned int count, uint32_t len)
{
	struct salvo_pkt *v[64];

	while (count) {
		unsigned int n = count < 64 ? count : 64, i;

		assert_int_equal(salvo_pool_get(tx->pool, v, n), n);
		for (i = 0; i < n; i++) {
			uint16_t seq = (uint16_t)(first + i);

			memset(v[i]->data, 0xa5, len);
			memcpy(v[i]->data, &seq, sizeof(seq));
			v[i]->len = len;
			v[i]->flow = 0;
		}
		assert_int_equal(salvo_port_tx(tx, v, n), (int)n);
		first += n;
		count -= n;
	}
}

/*
 * Receive until got reaches want (3 s at most), asking for ask datagrams a
 * call; each must be the next number, len bytes, its payload intact.
 * Returns got.
 */
static unsigned int recv_numbered(struct salvo_port *rx, unsigned int got, unsigned int want,
				  unsigned int ask, uint32_t len)
{
	struct salvo_pkt *v[256];
	uint64_t end = salvo_now_ns() + 3 * NSEC_PER_SEC;

	rx->rx_timeout_ms = 100;
	while (got < want && salvo_now_ns() < end) {
		int n = salvo_port_rx(rx, v, ask);

		assert_true(n >= 0);
		assert_true((unsigned int)n <= ask);
		for (int j = 0; j < n; j++) {
			uint16_t seq;

			memcpy(&seq, v[j]->data, sizeof(seq));
			assert_int_equal(v[j]->len, len);
			assert_int_equal(seq, (uint16_t)(got + (unsigned int)j));
			assert_int_equal(v[j]->data[len - 1], 0xa5);
			assert_int_equal(v[j]->peer.sa.sa_family, AF_INET);
		}
		salvo_port_release(rx, v, (unsigned int)n);
		got += (unsigned int)n;
	}
	return got;
}

#endif
