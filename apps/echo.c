// SPDX-License-Identifier: MIT
/*
 * The echo app (`udp echo`): every datagram that arrives goes back to its
 * sender, the same bytes or a fixed reply (the seed's socketserver
 * UDPServer answers "Got your message!").  Replies are copied into tx
 * buffers so the receive buffers go back to the backend at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/run.h>

#include "apps/echo.h"

#define ECHO_MAX_BURST 256

struct echo {
	struct salvo_pkt *rx[ECHO_MAX_BURST];
	struct salvo_pkt *tx[ECHO_MAX_BURST];
	const struct salvo_echo_arg *a;
	unsigned int burst;
};

static int echo_init(struct salvo_worker *w)
{
	struct echo *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	e->a = salvo_run_app(w->run)->arg;
	e->burst = SALVO_MIN(w->cfg->burst, ECHO_MAX_BURST);
	if (e->a && e->a->reply_len > w->port.pool->buf_size) {
		uint32_t len = e->a->reply_len;

		free(e);
		return salvo_worker_fail(w, EMSGSIZE, "reply of %u bytes exceeds a buffer", len);
	}
	w->app_priv = e;
	return 0;
}

/* Get n tx buffers, reaping completions while the backend still holds them. */
static unsigned int get_tx(struct salvo_worker *w, struct salvo_pkt **v, unsigned int n)
{
	struct salvo_port *p = &w->port;
	unsigned int got = salvo_pool_get(p->pool, v, n);

	if (got < n) {
		salvo_port_reap(p);
		got += salvo_pool_get(p->pool, v + got, n - got);
	}
	return got;
}

/*
 * Send the n replies in e->tx.  A reply the kernel refuses (a source it
 * cannot answer: port 0, a broadcast address, an unbound unix socket) is
 * counted in tx_errors and dropped; the replies after it still go.  Only a
 * full backend (EAGAIN, ENOBUFS) drops the rest of the burst, counted too.
 * Nothing here ends the server: one peer's datagram must not silence it.
 */
static void send_replies(struct salvo_worker *w, struct echo *e, unsigned int n, uint64_t now)
{
	struct salvo_port *p = &w->port;
	unsigned int off = 0;

	while (off < n) {
		uint64_t bytes = 0;
		int sent = salvo_port_tx(p, e->tx + off, n - off);

		salvo_cnt_add(&w->cnt.submissions, 1);
		if (sent > 0) {
			for (unsigned int i = off; i < off + (unsigned int)sent; i++)
				bytes += e->tx[i]->len;
			salvo_worker_count_tx(w, (uint64_t)sent, bytes, now);
			off += (unsigned int)sent;
			continue;
		}
		if (sent == 0 || sent == -EAGAIN || sent == -ENOBUFS || sent == -EINTR)
			break;
		/* The first of them failed on its own: drop it, go on with the others. */
		salvo_pool_put(p->pool, e->tx + off, 1);
		salvo_cnt_add(&p->stats.tx_errors, 1);
		off++;
	}
	if (off < n) {
		salvo_pool_put(p->pool, e->tx + off, n - off);
		salvo_cnt_add(&p->stats.tx_errors, n - off);
	}
}

static int echo_loop(struct salvo_worker *w)
{
	struct echo *e = w->app_priv;
	struct salvo_port *p = &w->port;
	const struct salvo_echo_arg *a = e->a;

	while (!salvo_worker_stopping(w)) {
		uint64_t bytes = 0, now;
		unsigned int ntx, i;
		int n;

		n = salvo_port_rx(p, e->rx, e->burst);
		if (n < 0) {
			if (n == -EAGAIN || n == -EINTR || n == -ENOBUFS)
				continue;
			return salvo_worker_fail(w, -n, "receive failed: %s", strerror(-n));
		}
		if (n == 0) {
			salvo_port_reap(p);
			continue;
		}
		now = salvo_now_ns();
		ntx = get_tx(w, e->tx, (unsigned int)n);
		for (i = 0; i < (unsigned int)n; i++) {
			const struct salvo_pkt *k = e->rx[i];

			bytes += k->len;
			if (a && a->on_packet)
				a->on_packet(k, a->arg);
			if (i >= ntx)
				continue;	/* no buffer: this one goes unanswered */
			if (a && a->reply) {
				memcpy(e->tx[i]->data, a->reply, a->reply_len);
				e->tx[i]->len = a->reply_len;
			} else {
				uint32_t len = SALVO_MIN(k->len, e->tx[i]->buf_len);

				memcpy(e->tx[i]->data, k->data, len);
				e->tx[i]->len = len;
			}
			e->tx[i]->peer = k->peer;
			e->tx[i]->flags = SALVO_PKT_F_PEER;
			e->tx[i]->flow = k->flow;
		}
		salvo_port_release(p, e->rx, (unsigned int)n);
		salvo_cnt_add(&w->cnt.rx_pkts, (uint64_t)n);
		salvo_cnt_add(&w->cnt.rx_bytes, bytes);
		salvo_cnt_add(&w->cnt.rx_unstamped, (uint64_t)n);
		if (!w->cnt.first_rx_ns)
			salvo_cnt_add(&w->cnt.first_rx_ns, now);
		__atomic_store_n(&w->cnt.last_rx_ns, now, __ATOMIC_RELAXED);
		if (ntx)
			send_replies(w, e, ntx, now);
		salvo_port_reap(p);
		if (salvo_worker_rx_goal(w, (uint64_t)n))
			break;
	}
	salvo_worker_tx_drain(w);
	return 0;
}

static void echo_fini(struct salvo_worker *w)
{
	free(w->app_priv);
	w->app_priv = NULL;
}

const struct salvo_app salvo_app_echo = {
	.name = "echo",
	.init = echo_init,
	.loop = echo_loop,
	.fini = echo_fini,
	.responder = true,
};
