// SPDX-License-Identifier: MIT
/*
 * The ping app (`udp ping`): ping-pong against an echo server.  Each request
 * carries a stamp (the run's session, flow = worker, seq, send time); the
 * reply with the same session, flow and seq closes the round trip (another
 * ping's echoes, sharing the server, never match), recorded in the worker's histogram.
 * One request is outstanding per worker: back to back by default, spaced by
 * the shared pacer with --rate.  A late reply (after its timeout) is counted
 * as received but not as a round trip.  Every request that went out is
 * either answered (a round trip) or lost (cnt.lost), so lost = sent -
 * answered exactly: when the run ends by its count or duration, the request
 * in flight still gets its --timeout; a signal does not wait, and counts it
 * lost.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/run.h>
#include <salvo/stamp.h>

#include "apps/ping.h"
#include <salvo/pacer.h>

#define PING_RX_BURST 32

struct ping {
	struct salvo_pkt *v[PING_RX_BURST];
	uint32_t flow;
	uint64_t seq;
};

static int ping_init(struct salvo_worker *w)
{
	struct ping *g;

	if (w->cfg->size < SALVO_STAMP_SIZE)
		return salvo_worker_fail(w, EINVAL, "ping needs --size of at least %d bytes (the stamp)",
					 SALVO_STAMP_SIZE);
	if (w->port.pool->buf_size < w->cfg->size)
		return salvo_worker_fail(w, EINVAL, "backend buffers (%u B) are smaller than %u B",
					 w->port.pool->buf_size, w->cfg->size);
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->flow = salvo_worker_flow_id(0, w->id, w->port.nworkers);
	w->app_priv = g;
	return 0;
}

/* Wait for the reply to seq until deadline (or a signal); *got when it came. */
static int wait_reply(struct salvo_worker *w, struct ping *g, uint64_t seq, uint64_t sent_ns,
		      uint64_t deadline, bool *got)
{
	struct salvo_port *p = &w->port;

	*got = false;
	while (!*got && !salvo_worker_interrupted(w) && salvo_now_ns() < deadline) {
		uint64_t now, bytes = 0;
		int n = salvo_port_rx(p, g->v, PING_RX_BURST);

		if (n < 0) {
			if (n == -EAGAIN || n == -EINTR || n == -ENOBUFS)
				continue;
			return salvo_worker_fail(w, -n, "receive failed: %s", strerror(-n));
		}
		if (!n) {
			salvo_port_reap(p);
			continue;
		}
		now = salvo_now_ns();
		for (int i = 0; i < n; i++) {
			struct salvo_stamp st;

			bytes += g->v[i]->len;
			if (salvo_stamp_decode(g->v[i]->data, g->v[i]->len, &st)) {
				salvo_cnt_add(&w->cnt.rx_unstamped, 1);
				continue;
			}
			salvo_cnt_add(&w->cnt.rx_stamped, 1);
			if (st.session == w->cfg->session && st.flow == g->flow &&
			    st.seq == (seq & SALVO_STAMP_SEQ_MASK) && !*got) {
				salvo_hist_record(w->lat, now - sent_ns);
				*got = true;
			}
		}
		salvo_port_release(p, g->v, (unsigned int)n);
		salvo_cnt_add(&w->cnt.rx_pkts, (uint64_t)n);
		salvo_cnt_add(&w->cnt.rx_bytes, bytes);
		if (!w->cnt.first_rx_ns)
			salvo_cnt_add(&w->cnt.first_rx_ns, now);
		__atomic_store_n(&w->cnt.last_rx_ns, now, __ATOMIC_RELAXED);
	}
	return 0;
}

static int ping_loop(struct salvo_worker *w)
{
	struct ping *g = w->app_priv;
	struct salvo_port *p = &w->port;
	const struct salvo_cfg *cfg = w->cfg;
	uint64_t done = 0;
	int rc = 0;

	while (!salvo_worker_stopping(w) && (!w->tx_quota || done < w->tx_quota)) {
		struct salvo_stamp st = {
			.version = SALVO_STAMP_VERSION,
			.session = cfg->session,
			.flow = g->flow,
			.len = cfg->size,
			.seq = g->seq,
		};
		struct salvo_pkt *k;
		uint64_t now;
		bool got;
		int n;

		if (w->pacer) {
			uint64_t due = salvo_pacer_claim(w->pacer, 1);

			now = salvo_worker_wait(w, due);
			if (!now)
				break;	/* stopped during the wait: nothing more goes out */
			salvo_hist_record(w->pace_err, now - due);
		}
		if (salvo_pool_get(p->pool, &k, 1) != 1) {
			salvo_port_reap(p);
			if (salvo_pool_get(p->pool, &k, 1) != 1)
				continue;
		}
		memset(k->data + SALVO_STAMP_SIZE, 0x70, cfg->size - SALVO_STAMP_SIZE);
		k->len = cfg->size;
		k->flow = 0;
		now = salvo_now_ns();
		st.ts_ns = now;
		salvo_stamp_encode(k->data, &st);
		n = salvo_port_tx(p, &k, 1);
		salvo_cnt_add(&w->cnt.submissions, 1);
		if (n != 1) {
			salvo_pool_put(p->pool, &k, 1);
			if (n == 0 || n == -EAGAIN || n == -ENOBUFS || n == -ECONNREFUSED ||
			    n == -EINTR) {
				/* Counted as a timeout: the request never left. */
				salvo_cnt_add(&p->stats.tx_errors, 1);
				salvo_cnt_add(&w->cnt.timeouts, 1);
				g->seq++;
				done++;
				salvo_port_reap(p);
				continue;
			}
			return salvo_worker_fail(w, -n, "send failed: %s", strerror(-n));
		}
		salvo_port_flush(p);
		salvo_worker_count_tx(w, 1, cfg->size, now);
		rc = wait_reply(w, g, g->seq, now, now + (uint64_t)cfg->timeout_ms * NSEC_PER_MSEC,
				&got);
		if (rc)
			return rc;
		if (!got) {
			salvo_cnt_add(&w->cnt.lost, 1);
			if (!salvo_worker_interrupted(w))
				salvo_cnt_add(&w->cnt.timeouts, 1);
		}
		g->seq++;
		done++;
		salvo_port_reap(p);
	}
	salvo_worker_tx_drain(w);
	return 0;
}

static void ping_fini(struct salvo_worker *w)
{
	free(w->app_priv);
	w->app_priv = NULL;
}

const struct salvo_app salvo_app_ping = {
	.name = "ping",
	.init = ping_init,
	.loop = ping_loop,
	.fini = ping_fini,
};
