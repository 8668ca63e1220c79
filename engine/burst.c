// SPDX-License-Identifier: MIT
/*
 * The burst step's cold paths: set-up, a submission the backend did not
 * take whole, and the message for a fatal error.  The hot path is inline
 * in include/salvo/burst.h.
 */
#include <string.h>

#include <salvo/burst.h>

void salvo_burst_init(struct salvo_burst *b, struct salvo_worker *w, struct salvo_pkt **v,
		      unsigned int max, unsigned int segs, unsigned int flags,
		      salvo_burst_unspend_fn unspend, void *arg)
{
	bool stream = flags & SALVO_BURST_F_STREAM;

	memset(b, 0, sizeof(*b));
	b->w = w;
	b->p = &w->port;
	/* Streams: packet slots do not pace bytes, and their quota is in bytes (burst.h). */
	b->pacer = stream ? NULL : w->pacer;
	b->quota = stream ? 0 : w->tx_quota;
	b->v = v;
	b->max = max;
	b->segs = segs ? segs : 1;
	b->flags = flags;
	b->unspend = unspend;
	b->arg = arg;
}

int salvo__burst_refused(struct salvo_burst *b, unsigned int n, uint64_t pkts, uint64_t bytes,
			 int sent)
{
	struct salvo_port *p = b->p;
	unsigned int ok = sent > 0 ? (unsigned int)sent : 0;

	if (ok > n)
		ok = n;	/* a backend bug; never count more than was offered */
	if (ok < n) {
		/*
		 * Only the last descriptor can hold fewer than segs packets, and
		 * it is among the refused: the accepted ones are full.
		 */
		uint64_t okpkts = (uint64_t)ok * b->segs;

		/* Refused descriptors are still ours to read; accepted ones may be back in the pool. */
		for (unsigned int i = ok; i < n; i++)
			bytes -= b->v[i]->len;
		if (b->unspend)
			b->unspend(b, b->v + ok, n - ok, pkts - okpkts);
		salvo_pool_put(p->pool, b->v + ok, n - ok);
		pkts = okpkts;
	}
	if (ok)
		salvo__burst_count(b, pkts, bytes);
	if (sent >= 0) {
		salvo_port_reap(p);
		return (int)ok;
	}
	if (b->flags & SALVO_BURST_F_STREAM)
		return sent;	/* a connection went away: its event says which */
	salvo_cnt_add(&p->stats.tx_errors, 1);
	return salvo_burst_retryable(sent) ? 0 : sent;
}

int salvo_burst_fail(struct salvo_burst *b, int err)
{
	struct salvo_worker *w = b->w;

	if ((err == -ENETDOWN || err == -ENXIO || err == -ENODEV) && w->cfg->iface)
		return salvo_worker_fail(w, -err, "%s went down (%s): stopped sending",
					 w->cfg->iface, strerror(-err));
	return salvo_worker_fail(w, -err, "send failed: %s", strerror(-err));
}
