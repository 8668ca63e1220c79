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

#include <salvo/pktgen.h>
#include <salvo/run.h>

#define RAWGEN_MAX_BURST 1024

struct rawgen {
	struct salvo_pkt *v[RAWGEN_MAX_BURST];
	struct salvo_pktgen *g;
	unsigned int burst;
	bool timed;
	uint64_t sent;
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

/* Capture timing: wait for the next frame's time in the capture. */
static uint64_t timed_wait(struct salvo_worker *w, struct rawgen *r)
{
	uint64_t due = salvo_run_start_ns(w->run) + salvo_pktgen_next_due(r->g), now;

	now = salvo_worker_wait(w, due);
	if (now)
		salvo_hist_record(w->pace_err, now - due);
	return now;
}

static int rawgen_loop(struct salvo_worker *w)
{
	struct rawgen *r = w->app_priv;
	struct salvo_port *p = &w->port;
	const struct salvo_cfg *cfg = w->cfg;
	clockid_t clk = cfg->l2->stamp_clock;

	while (!salvo_worker_stopping(w)) {
		uint64_t want = r->burst, now, ts, bytes = 0;
		unsigned int got;
		int n, sent;

		if (w->tx_quota) {
			if (r->sent >= w->tx_quota)
				break;
			want = SALVO_MIN(want, w->tx_quota - r->sent);
		}
		if (r->timed) {
			/* One frame per submission at its capture time: exact, if not the fastest. */
			want = 1;
			now = timed_wait(w, r);
			if (!now)
				break;	/* stopped during the wait: nothing more goes out */
		} else if (w->pacer) {
			uint64_t due = salvo_pacer_claim(w->pacer, (unsigned int)want);

			now = salvo_worker_wait(w, due);
			if (!now)
				break;	/* stopped during the wait: nothing more goes out */
			salvo_hist_record(w->pace_err, now - due);
		} else {
			now = salvo_now_ns();
		}
		got = salvo_pool_get(p->pool, r->v, (unsigned int)want);
		if (got < want) {
			/* Slots still with the kernel: reap, and go with what we have. */
			salvo_port_reap(p);
			got += salvo_pool_get(p->pool, r->v + got, (unsigned int)want - got);
			if (!got) {
				salvo_port_flush(p);
				continue;
			}
		}
		ts = clk == CLOCK_MONOTONIC ? now : salvo_clock_ns(clk);
		n = salvo_pktgen_fill(r->g, r->v, got, ts);
		if (n < 0) {
			salvo_pool_put(p->pool, r->v, got);
			return salvo_worker_fail(w, -n, "frame larger than the backend's buffer");
		}
		if ((unsigned int)n < got)
			salvo_pool_put(p->pool, r->v + n, got - (unsigned int)n);
		sent = salvo_port_tx(p, r->v, (unsigned int)n);
		salvo_cnt_add(&w->cnt.submissions, 1);
		if (sent < 0) {
			/* The frames' sequence numbers are spent: a receiver counts them lost. */
			salvo_pool_put(p->pool, r->v, (unsigned int)n);
			salvo_cnt_add(&p->stats.tx_errors, 1);
			if (sent == -ENETDOWN || sent == -ENXIO || sent == -ENODEV)
				return salvo_worker_fail(w, -sent, "%s went down (%s): stopped sending",
							 w->cfg->iface, strerror(-sent));
			if (sent != -EAGAIN && sent != -ENOBUFS && sent != -EINTR)
				return salvo_worker_fail(w, -sent, "send failed: %s", strerror(-sent));
			continue;
		}
		if (sent < n)
			salvo_pool_put(p->pool, r->v + sent, (unsigned int)(n - sent));
		for (int i = 0; i < sent; i++)
			bytes += r->v[i]->len;
		r->sent += (unsigned int)sent;
		salvo_worker_count_tx(w, (uint64_t)sent, bytes, now);
		salvo_port_reap(p);
	}
	salvo_worker_tx_drain(w);
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
