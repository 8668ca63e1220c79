// SPDX-License-Identifier: MIT
/*
 * The traffic generator app: fill a burst of descriptors, pace it, hand it
 * to the backend in one submission, reap completions in bulk.  Payloads are
 * written once per buffer (pattern or --message); per packet only the
 * stamp's flow, seq and timestamp are rewritten.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/burst.h>
#include <salvo/run.h>
#include <salvo/stamp.h>
#include <salvo/pacer.h>
#include "apps/gen.h"

#define GEN_MAX_BURST 1024
#define GSO_MAX_SEGS 64

struct gen_flow {
	uint64_t seq;
	uint32_t id;
};

struct gen {
	struct salvo_pkt *v[GEN_MAX_BURST];
	struct gen_flow *flows;
	unsigned int nflows, cur;
	unsigned int burst;		/* packets (segments) per submission */
	unsigned int segs;		/* segments per descriptor (GSO), else 1 */
	uint32_t size;
	bool stamp;
	uint8_t stamp_flags;
	uint32_t session;		/* the run's, in every stamp */
};

static void prefill(struct salvo_pool *pool, const struct salvo_cfg *cfg)
{
	static const char pattern[] = "salvo-payload-";

	for (uint32_t i = 0; i < pool->n; i++) {
		uint8_t *d = pool->pkts[i].data;
		uint32_t len = pool->pkts[i].buf_len;

		if (cfg->message) {
			memcpy(d, cfg->message, SALVO_MIN(len, cfg->message_len));
			continue;
		}
		for (uint32_t j = 0; j < len; j++)
			d[j] = (uint8_t)pattern[j % (sizeof(pattern) - 1)];
	}
}

static int gen_init(struct salvo_worker *w)
{
	const struct salvo_cfg *cfg = w->cfg;
	struct gen *g;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->nflows = salvo_worker_nflows(cfg->flows, w->id, w->port.nworkers);
	if (!g->nflows) {
		free(g);
		return salvo_worker_fail(w, EINVAL, "--flows (%u) must be at least --threads (%u)",
					 cfg->flows, w->port.nworkers);
	}
	g->flows = calloc(g->nflows, sizeof(*g->flows));
	if (!g->flows) {
		free(g);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < g->nflows; i++)
		g->flows[i].id = salvo_worker_flow_id(i, w->id, w->port.nworkers);
	g->size = cfg->message ? cfg->message_len : cfg->size;
	g->stamp = cfg->stamp && !cfg->message && g->size >= SALVO_STAMP_SIZE;
	g->stamp_flags = cfg->stamp_clock == CLOCK_REALTIME ? SALVO_STAMP_F_REALTIME : 0;
	g->session = cfg->session;
	g->segs = 1;
	if (cfg->gso && g->size) {
		g->segs = SALVO_MIN(GSO_MAX_SEGS, 65507 / g->size);
		if (g->segs < 1)
			g->segs = 1;
	}
	g->burst = cfg->burst;
	if (w->pacer)
		g->burst = salvo_pacer_burst(cfg->rate_pps, w->port.nworkers, cfg->burst * g->segs);
	if (w->port.pool->buf_size < g->size * g->segs) {
		uint32_t need = g->size * g->segs;

		free(g->flows);
		free(g);
		return salvo_worker_fail(w, EINVAL, "backend buffers (%u B) are smaller than %u B",
					 w->port.pool->buf_size, need);
	}
	prefill(w->port.pool, cfg);
	w->app_priv = g;
	return 0;
}

/*
 * Size (and stamp) n descriptors for one flow: segs segments each, the last
 * one short when want runs out there (reserve gave ceil(want / segs) at
 * most, so none is empty).  Returns the segments filled.  gen writes every
 * field the backends read (len, gso_size, flags, flow), so its burst takes
 * descriptors from the pool without the pool clearing them
 * (SALVO_BURST_F_FILLS).
 */
static unsigned int fill(struct gen *g, struct gen_flow *f, unsigned int local, unsigned int n,
			 uint64_t want, uint64_t ts)
{
	/* Locals: the descriptor stores may alias *g and *f as far as the compiler knows. */
	struct salvo_pkt **v = g->v;
	const uint32_t size = g->size, segs = g->segs;
	const uint16_t gso = segs > 1 ? (uint16_t)size : 0;
	const uint64_t pkts = SALVO_MIN(want, (uint64_t)n * segs);
	const uint32_t full = size * segs, last = (uint32_t)(pkts - (uint64_t)(n - 1) * segs);
	uint64_t seq = f->seq;

	if (g->stamp) {
		/*
		 * One flow, one departure time a burst: the stamp is encoded
		 * once, copied to every segment from registers (the words are
		 * locals no store can alias), and its seq patched.
		 */
		struct salvo_stamp st = {
			.version = SALVO_STAMP_VERSION,
			.flags = g->stamp_flags,
			.session = g->session,
			.flow = f->id,
			.len = size,
			.ts_ns = ts,
		};
		uint8_t tmpl[SALVO_STAMP_SIZE];
		uint64_t w[SALVO_STAMP_SIZE / 8];

		salvo_stamp_encode(tmpl, &st);
		memcpy(w, tmpl, sizeof(w));
		for (unsigned int i = 0; i < n; i++) {
			struct salvo_pkt *k = v[i];
			uint8_t *d = k->data;

			k->flow = local;
			k->len = full;
			k->gso_size = gso;
			k->flags = 0;
			memcpy(d, w, sizeof(w));
			salvo_stamp_patch(d, seq, ts);
			seq++;
			if (segs == 1)
				continue;
			/* GSO: the descriptor's other segments (the last one may be short). */
			for (uint32_t j = 1, s = i == n - 1 ? last : segs; j < s; j++, seq++) {
				d += size;
				memcpy(d, w, sizeof(w));
				salvo_stamp_patch(d, seq, ts);
			}
		}
	} else {
		for (unsigned int i = 0; i < n; i++) {
			struct salvo_pkt *k = v[i];

			k->flow = local;
			k->len = full;
			k->gso_size = gso;
			k->flags = 0;
		}
	}
	v[n - 1]->len = size * last;
	f->seq += pkts;
	return (unsigned int)pkts;
}

/* A refused tail was never sent: its flow's numbers go out again (docs/stamp.md). */
static void gen_unspend(struct salvo_burst *b, struct salvo_pkt **v, unsigned int n,
			uint64_t pkts)
{
	struct gen *g = b->arg;

	(void)n;
	g->flows[v[0]->flow].seq -= pkts;	/* one flow per burst */
}

static int gen_loop(struct salvo_worker *w)
{
	struct gen *g = w->app_priv;
	clockid_t clk = w->cfg->stamp_clock;
	struct salvo_burst b;

	salvo_burst_init(&b, w, g->v, GEN_MAX_BURST, g->segs, SALVO_BURST_F_FILLS, gen_unspend, g);
	while (!salvo_worker_stopping(w)) {
		unsigned int local;
		uint64_t ts, segs_in;
		int got, rc;

		got = salvo_burst_reserve(&b, g->burst);
		if (got < 0)
			break;	/* quota reached, or stopped during the wait */
		if (!got)
			continue;
		local = g->cur;
		g->cur = (g->cur + 1) % g->nflows;
		ts = clk == CLOCK_MONOTONIC ? b.now : salvo_clock_ns(clk);
		segs_in = fill(g, &g->flows[local], local, (unsigned int)got, b.want, ts);
		/* Every segment is size bytes: fill cut the last descriptor by whole segments. */
		rc = salvo_burst_commit_sized(&b, (unsigned int)got, segs_in, segs_in * g->size);
		if (rc < 0)
			return salvo_burst_fail(&b, rc);
	}
	salvo_worker_tx_drain(w);
	return 0;
}

static void gen_fini(struct salvo_worker *w)
{
	struct gen *g = w->app_priv;

	if (g) {
		free(g->flows);
		free(g);
		w->app_priv = NULL;
	}
}

const struct salvo_app salvo_app_gen = {
	.name = "generator",
	.init = gen_init,
	.loop = gen_loop,
	.fini = gen_fini,
};
