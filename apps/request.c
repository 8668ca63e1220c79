// SPDX-License-Identifier: MIT
/*
 * Request/reply: send cfg->message, wait up to cfg->timeout_ms for the
 * answer, repeat cfg->count times (default once).  The client side of the
 * seed's UDP server (`udp send --message X --expect-reply`).
 */
#include <errno.h>
#include <string.h>

#include <salvo/run.h>
#include "apps/request.h"

static int request_loop(struct salvo_worker *w)
{
	const struct salvo_sink_hooks *h = salvo_run_app(w->run)->arg;
	struct salvo_port *p = &w->port;
	uint64_t todo = w->tx_quota ? w->tx_quota : 1;

	for (uint64_t i = 0; i < todo && !salvo_worker_stopping(w); i++) {
		struct salvo_pkt *k, *v[8];
		uint64_t deadline;
		bool answered = false;
		int n;

		if (salvo_pool_get(p->pool, &k, 1) != 1)
			return salvo_worker_fail(w, ENOBUFS, "no free buffer");
		memcpy(k->data, w->cfg->message, w->cfg->message_len);
		k->len = w->cfg->message_len;
		k->flow = 0;
		n = salvo_port_tx(p, &k, 1);
		if (n != 1) {
			salvo_pool_put(p->pool, &k, 1);
			return salvo_worker_fail(w, n < 0 ? -n : EIO, "send failed: %s",
						 strerror(n < 0 ? -n : EIO));
		}
		salvo_port_flush(p);
		salvo_cnt_add(&w->cnt.submissions, 1);
		salvo_worker_count_tx(w, 1, w->cfg->message_len, salvo_now_ns());
		deadline = salvo_now_ns() + (uint64_t)w->cfg->timeout_ms * NSEC_PER_MSEC;
		while (!answered && !salvo_worker_stopping(w) && salvo_now_ns() < deadline) {
			uint64_t refused = p->stats.tx_refused;

			salvo_port_reap(p);
			n = salvo_port_rx(p, v, 8);
			if (n < 0 && n != -EAGAIN && n != -EINTR)
				return salvo_worker_fail(w, -n, "receive failed: %s", strerror(-n));
			if (p->stats.tx_refused != refused)
				return salvo_worker_fail(w, ECONNREFUSED,
							 "no reply: connection refused (nobody listening)");
			for (int j = 0; j < n; j++) {
				uint64_t now = salvo_now_ns();

				if (h && h->on_packet)
					h->on_packet(v[j], h->arg);
				salvo_cnt_add(&w->cnt.rx_pkts, 1);
				salvo_cnt_add(&w->cnt.rx_bytes, v[j]->len);
				salvo_cnt_add(&w->cnt.rx_unstamped, 1);
				if (!w->cnt.first_rx_ns)
					salvo_cnt_add(&w->cnt.first_rx_ns, now);
				__atomic_store_n(&w->cnt.last_rx_ns, now, __ATOMIC_RELAXED);
				answered = true;
			}
			if (n > 0)
				salvo_port_release(p, v, (unsigned int)n);
		}
		if (!answered && !salvo_worker_stopping(w)) {
			salvo_cnt_add(&w->cnt.timeouts, 1);
			return salvo_worker_fail(w, ETIMEDOUT, "no reply within %u ms",
						 w->cfg->timeout_ms);
		}
	}
	return 0;
}

const struct salvo_app salvo_app_request = {
	.name = "request",
	.loop = request_loop,
};
