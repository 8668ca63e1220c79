// SPDX-License-Identifier: MIT
/*
 * The raw-frame generator app: gen.c's loop (pace a burst, fill, one
 * submission, reap in bulk) with frames written by a salvo_pktgen straight
 * into the port's buffers, which for af_packet are the tx ring's slots.
 * Replaying a capture with --pcap-timing paces by the capture's clock
 * instead of the run's pacer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/burst.h>
#include <salvo/pacer.h>
#include <salvo/run.h>

#include "frames/pktgen.h"
#include "frames/rawgen.h"

#define RAWGEN_MAX_BURST 1024

struct rawgen {
	struct salvo_pkt *v[RAWGEN_MAX_BURST];
	struct salvo_pktgen *g;
	unsigned int burst;
	bool timed;
};

static int rawgen_init(struct salvo_worker *w)
{
	const struct salvo_cfg *cfg = w->cfg;
	struct rawgen *r;
	char err[256] = "";
	uint32_t have;
	int rc;

	if (!cfg->l2)
		return salvo_worker_fail(w, EINVAL, "raw generator without a frame description");
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	rc = salvo_pktgen_create(&r->g, cfg->l2, w->id, w->port.nworkers, err, sizeof(err));
	if (rc) {
		free(r);
		return salvo_worker_fail(w, rc, "%s", err[0] ? err : strerror(-rc));
	}
	salvo_pktgen_set_session(r->g, cfg->session);
	have = w->port.pool->pkts[0].buf_len;
	if (salvo_pktgen_max_frame(r->g) > have) {
		uint32_t need = salvo_pktgen_max_frame(r->g);

		salvo_pktgen_destroy(r->g);
		free(r);
		return salvo_worker_fail(w, EMSGSIZE, "frames of %u bytes do not fit the "
					 "backend's %u-byte buffers", need, have);
	}
	r->timed = salvo_pktgen_next_due(r->g) != UINT64_MAX;
	r->burst = SALVO_MIN(cfg->burst, RAWGEN_MAX_BURST);
	if (w->pacer && !r->timed)
		r->burst = salvo_pacer_burst(cfg->rate_pps, w->port.nworkers, r->burst);
	w->app_priv = r;
	return 0;
}

/* Refused frames were never sent: the generator gives their numbers out again. */
static void rawgen_unspend(struct salvo_burst *b, struct salvo_pkt **v, unsigned int n,
			   uint64_t pkts)
{
	struct rawgen *r = b->arg;

	(void)pkts;
	salvo_pktgen_unspend(r->g, v, n);
}

static int rawgen_loop(struct salvo_worker *w)
{
	struct rawgen *r = w->app_priv;
	clockid_t clk = w->cfg->l2->stamp_clock;
	struct salvo_burst b;
	int drc;

	salvo_burst_init(&b, w, r->v, RAWGEN_MAX_BURST, 1, 0, rawgen_unspend, r);
	while (!salvo_worker_stopping(w)) {
		uint64_t ts;
		int got, n, rc;

		if (r->timed) {
			/* One frame per submission at its capture time: exact, if not the fastest. */
			got = salvo_burst_reserve_at(&b, 1, salvo_run_start_ns(w->run) +
							    salvo_pktgen_next_due(r->g));
		} else {
			got = salvo_burst_reserve(&b, r->burst);
		}
		if (got < 0)
			break;	/* quota reached, or stopped during the wait */
		if (!got)
			continue;
		ts = clk == CLOCK_MONOTONIC ? b.now : salvo_clock_ns(clk);
		n = salvo_pktgen_fill(r->g, r->v, (unsigned int)got, ts);
		if (n < 0) {
			salvo_pool_put(w->port.pool, r->v, (unsigned int)got);
			return salvo_worker_fail(w, -n, "frame larger than the backend's buffer");
		}
		if (n < got)
			salvo_pool_put(w->port.pool, r->v + n, (unsigned int)(got - n));
		rc = salvo_burst_commit(&b, (unsigned int)n, (unsigned int)n);
		if (rc < 0)
			return salvo_burst_fail(&b, rc);
	}
	drc = salvo_worker_tx_drain(w);
	if (drc < 0)	/* frames that never left are a failure, not a short run */
		return salvo_worker_fail(w, -drc, "%s", w->port.err[0] ? w->port.err : strerror(-drc));
	return 0;
}

static void rawgen_fini(struct salvo_worker *w)
{
	struct rawgen *r = w->app_priv;

	if (r) {
		salvo_pktgen_destroy(r->g);
		free(r);
		w->app_priv = NULL;
	}
}

const struct salvo_app salvo_app_rawgen = {
	.name = "raw generator",
	.init = rawgen_init,
	.loop = rawgen_loop,
	.fini = rawgen_fini,
};
