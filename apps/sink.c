// SPDX-License-Identifier: MIT
/*
 * The counting receiver app: receive bursts, split GRO super-packets into
 * their segments, read each segment's stamp (per-flow loss, reordering,
 * duplicates; one-way latency), hand packets back in bulk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/run.h>
#include <salvo/stamp.h>
#include "apps/sink.h"

#define SINK_MAX_BURST 1024

struct sink {
	struct salvo_pkt *v[SINK_MAX_BURST];
	const struct salvo_sink_hooks *hooks;
	unsigned int burst;
};

static int sink_init(struct salvo_worker *w)
{
	struct sink *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->hooks = salvo_run_app(w->run)->arg;
	s->burst = SALVO_MIN(w->cfg->burst, SINK_MAX_BURST);
	w->app_priv = s;
	return 0;
}

/* Account one segment; returns true when it carried a stamp. */
static inline bool segment(struct salvo_worker *w, const uint8_t *d, uint32_t len,
			   uint64_t now_mono, uint64_t *now_real)
{
	struct salvo_stamp st;
	uint64_t now, lat = SALVO_FLOW_NO_LATENCY;

	if (salvo_stamp_read(d, len, &st))
		return false;
	if (st.flags & SALVO_STAMP_F_REALTIME) {
		if (!*now_real)
			*now_real = salvo_clock_ns(CLOCK_REALTIME);
		now = *now_real;
	} else {
		now = now_mono;
	}
	/* A stamp from the future (clocks apart, hostile sender) is not a latency. */
	if (st.ts_ns && st.ts_ns <= now) {
		lat = now - st.ts_ns;
		salvo_hist_record(w->lat, lat);
	}
	salvo_flowtab_record(w->flows, st.session, st.flow, st.seq, lat);
	return true;
}

static int sink_loop(struct salvo_worker *w)
{
	struct sink *s = w->app_priv;
	struct salvo_port *p = &w->port;
	const struct salvo_sink_hooks *h = s->hooks;
	/*
	 * The hooks, read once: loaded through h per packet, the compiler read
	 * them again after every counter store (it cannot tell they do not alias).
	 */
	void (*on_packet)(const struct salvo_pkt *, void *) = h ? h->on_packet : NULL;
	int (*locate)(const uint8_t *, uint32_t) = h ? h->locate : NULL;
	void *arg = h ? h->arg : NULL;
	bool hooked = on_packet || locate;
	struct salvo_flow_totals t;

	while (!salvo_worker_stopping(w)) {
		uint64_t pkts = 0, bytes = 0, stamped = 0, now, now_real = 0, budget;
		int n;

		/* Between bursts: the previous one is fully counted and its samples recorded. */
		salvo_worker_interval(w);
		n = salvo_port_rx(p, s->v, s->burst);
		if (n < 0) {
			if (n == -EAGAIN || n == -EINTR || n == -ENOBUFS)
				continue;
			return salvo_worker_fail(w, -n, "receive failed: %s", strerror(-n));
		}
		if (n == 0)
			continue;
		now = salvo_now_ns();
		/* With --count, claim what this burst may count, so the run stops exactly at N. */
		budget = UINT64_MAX;
		if (w->cfg->count) {
			uint64_t segs = 0;

			for (int i = 0; i < n; i++) {
				const struct salvo_pkt *k = s->v[i];

				if (k->flags & (SALVO_PKT_F_CONN_OPEN | SALVO_PKT_F_CONN_CLOSE |
						SALVO_PKT_F_CONN_ERROR))
					continue;
				segs += locate || !k->gso_size || !k->len ? 1 :
					(k->len + k->gso_size - 1) / k->gso_size;
			}
			budget = salvo_worker_rx_claim(w, segs);
		}
		for (int i = 0; i < n && pkts < budget; i++) {
			const struct salvo_pkt *k = s->v[i];
			uint32_t off = 0, seg, len = k->len;
			const uint8_t *d = k->data;

			if (k->flags & (SALVO_PKT_F_CONN_OPEN | SALVO_PKT_F_CONN_CLOSE |
					SALVO_PKT_F_CONN_ERROR)) {
				if (k->flags & SALVO_PKT_F_CONN_OPEN)
					salvo_cnt_add(&w->cnt.conns, 1);
				continue;
			}
			if (salvo_unlikely(hooked)) {
				if (on_packet)
					on_packet(k, arg);
				if (locate) {
					int o = locate(d, len);

					bytes += len;
					pkts++;
					if (o >= 0 && (uint32_t)o <= len &&
					    segment(w, d + o, len - (uint32_t)o, now, &now_real))
						stamped++;
					continue;
				}
			}
			/* No GRO: one datagram, one segment (an empty one too). */
			if (salvo_likely(!k->gso_size)) {
				if (segment(w, d, len, now, &now_real))
					stamped++;
				pkts++;
				bytes += len;
				continue;
			}
			seg = k->gso_size;
			do {
				uint32_t sl = SALVO_MIN(seg, len - off);

				if (segment(w, d + off, sl, now, &now_real))
					stamped++;
				pkts++;
				bytes += sl;
				off += sl;
			} while (off < len && pkts < budget);
		}
		salvo_port_release(p, s->v, (unsigned int)n);
		if (!pkts)
			continue;
		salvo_cnt_add(&w->cnt.rx_pkts, pkts);
		salvo_cnt_add(&w->cnt.rx_bytes, bytes);
		salvo_cnt_add(&w->cnt.rx_stamped, stamped);
		salvo_cnt_add(&w->cnt.rx_unstamped, pkts - stamped);
		if (!w->cnt.first_rx_ns)
			salvo_cnt_add(&w->cnt.first_rx_ns, now);
		__atomic_store_n(&w->cnt.last_rx_ns, now, __ATOMIC_RELAXED);
		if (stamped) {
			salvo_flowtab_totals(w->flows, &t);
			__atomic_store_n(&w->cnt.lost, t.lost, __ATOMIC_RELAXED);
			__atomic_store_n(&w->cnt.reordered, t.reordered, __ATOMIC_RELAXED);
			__atomic_store_n(&w->cnt.duplicates, t.duplicates, __ATOMIC_RELAXED);
			__atomic_store_n(&w->cnt.flows, t.flows, __ATOMIC_RELAXED);
		}
	}
	return 0;
}

static void sink_fini(struct salvo_worker *w)
{
	free(w->app_priv);
	w->app_priv = NULL;
}

const struct salvo_app salvo_app_sink = {
	.name = "receiver",
	.init = sink_init,
	.loop = sink_loop,
	.fini = sink_fini,
	.intervals = true,
};
