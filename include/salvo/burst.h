/* SPDX-License-Identifier: MIT */
/*
 * One burst step for every sender (the generator, the raw-frame generator,
 * the stream client): reserve, fill, commit.
 *
 *	salvo_burst_init(&b, w, v, max, segs, flags, unspend, arg);
 *	for (;;) {
 *		n = salvo_burst_reserve(&b, burst);	// quota, pace, descriptors
 *		if (n < 0) break;			// quota reached, or stopped
 *		if (!n) continue;			// every buffer in flight
 *		fill v[0..n) with at most b.want packets, stamps timed b.now;
 *		rc = salvo_burst_commit(&b, n, pkts);	// tx, classify, count
 *		if (rc < 0) return salvo_burst_fail(&b, rc);
 *	}
 *
 * reserve: take the caller's share of the quota, wait for the pacer's slot
 * (or a given departure time), get descriptors from the pool, and when the
 * pool runs short reap completions and try once more (flush when none came
 * back, so a ring that waits for a kick gets it).
 *
 * commit: one tx_burst for v[0..n), one submission counted, the accepted
 * packets and bytes counted once, completions reaped.  What the backend
 * did not take goes back to the pool after the caller's unspend hook has
 * taken back its sequence numbers.
 *
 * Sequence numbers (docs/stamp.md): a packet the backend did not accept
 * was never sent, so its sequence number is not spent.  On a refused
 * submission (-errno) or a partial one (fewer than n accepted), commit
 * calls unspend(b, v + accepted, n - accepted, pkts) with the refused
 * descriptors, still filled, and the number of packets (segments) they
 * held; the sender rewinds its counters so the next burst reuses those
 * numbers.  A receiver therefore sees no gap for a refusal.  Packets the
 * backend accepted and whose completion failed later (asynchronous
 * backends, port.stats.tx_failed) were handed over: their numbers stay
 * spent, and the report takes them off the sent count.
 *
 * Errors: one list of retryable ones (salvo_burst_retryable), the rest are
 * fatal.  Retryable: EAGAIN/EWOULDBLOCK (ring, socket buffer or queue
 * full), ENOBUFS (device or qdisc queue full, af_packet's kick), EINTR (a
 * signal during the send), ECONNREFUSED (a connected UDP socket reports the
 * ICMP port-unreachable of an earlier datagram on this send, which the
 * kernel then does not send; the backend counts it in tx_refused).  A
 * refused submission counts one port.stats.tx_errors.  salvo_burst_fail
 * names the interface for ENETDOWN/ENXIO/ENODEV (a link that went down).
 *
 * Hot path: reserve and commit are inline; the per-packet work in them is
 * one pass that sums lengths.  The unspend hook is an indirect call only
 * on a refusal, never per packet.
 *
 * Streams (SALVO_BURST_F_STREAM): the tx and counting parts fit as they
 * are; three parts do not.  (1) Descriptors: a stream's buffers queue
 * behind the socket buffer, so a short pool is its normal state; reserve
 * reaps only when none is left (a reap per burst could cost an
 * io_uring_enter when nothing completed; commit reaps after every
 * submission anyway).  (2) Pacing: the pacer hands out packet slots and a
 * stream sends bytes, so the stream client never paces and its quota is in
 * bytes, kept by the client (init leaves pacer and quota unset).  (3)
 * Error classification: a stream's tx fails because one connection went
 * away (ENOTCONN, EPIPE, ECONNRESET...), which the backend reports as that
 * connection's CONN_ERROR/CONN_CLOSE event, not as a run failure and not
 * as a tx error; commit returns the -errno without counting tx_errors and
 * the client reads its events.
 */
#ifndef SALVO_BURST_H
#define SALVO_BURST_H

#include <errno.h>
#include <stdint.h>

#include <salvo/backend.h>
#include <salvo/hist.h>
#include <salvo/pacer.h>
#include <salvo/pkt.h>
#include <salvo/run.h>

enum {
	/* Stream sender: refusals are connection events (see above). */
	SALVO_BURST_F_STREAM = 1 << 0,
	/*
	 * The sender writes len, flags and gso_size of every descriptor it
	 * fills: reserve takes them from the pool without clearing them
	 * (salvo_pool_take), a store or three per packet less.
	 */
	SALVO_BURST_F_FILLS = 1 << 1,
};

struct salvo_burst;

/*
 * Take back the sequence numbers of n refused descriptors v[0..n), which
 * carried pkts packets (segments) between them; called before they go
 * back to the pool.  NULL: the sender numbers nothing.
 */
typedef void (*salvo_burst_unspend_fn)(struct salvo_burst *b, struct salvo_pkt **v,
				       unsigned int n, uint64_t pkts);

struct salvo_burst {
	struct salvo_worker *w;
	struct salvo_port *p;
	struct salvo_pacer *pacer;	/* w->pacer; NULL: no pacing (streams) */
	struct salvo_pkt **v;		/* the caller's array of max descriptors */
	unsigned int max;
	unsigned int segs;		/* packets per full descriptor (UDP GSO), else 1 */
	unsigned int flags;		/* SALVO_BURST_F_* */
	uint64_t quota;			/* packets: w->tx_quota; 0: unbounded (streams) */
	uint64_t pkts, bytes;		/* accepted so far */
	/* Set by reserve for the burst being filled. */
	uint64_t want;			/* packets it may carry (burst, cut to the quota) */
	uint64_t now;			/* departure time (monotonic ns) */
	salvo_burst_unspend_fn unspend;
	void *arg;			/* the sender's, for unspend */
};

/* v: max descriptors; segs: packets per full descriptor; flags: SALVO_BURST_F_*. */
void salvo_burst_init(struct salvo_burst *b, struct salvo_worker *w, struct salvo_pkt **v,
		      unsigned int max, unsigned int segs, unsigned int flags,
		      salvo_burst_unspend_fn unspend, void *arg);

/* The one list of errors after which the sender tries the next burst. */
static inline bool salvo_burst_retryable(int err)
{
	return err == -EAGAIN || err == -EWOULDBLOCK || err == -ENOBUFS || err == -EINTR ||
	       err == -ECONNREFUSED;
}

/* Set w->err for a fatal commit error and return it (-errno). */
int salvo_burst_fail(struct salvo_burst *b, int err);

/* Cold path of salvo_burst_commit (engine/burst.c): bytes are v[0..n)'s. */
int salvo__burst_refused(struct salvo_burst *b, unsigned int n, uint64_t pkts, uint64_t bytes,
			 int sent);

/* Count accepted packets once per burst: the sender's total and the worker's counters. */
static inline void salvo__burst_count(struct salvo_burst *b, uint64_t pkts, uint64_t bytes)
{
	b->pkts += pkts;
	b->bytes += bytes;
	salvo_worker_count_tx(b->w, pkts, bytes, b->now);
}

#define SALVO_BURST_DONE (-ECANCELED)

/*
 * Reserve descriptors for up to want packets leaving at due_ns (0: at the
 * pacer's slot, or now without one).  Returns how many descriptors are in
 * b->v (at most ceil(b->want / segs)), 0 when every buffer is still in
 * flight (try again), or SALVO_BURST_DONE when the quota is reached or the
 * run stopped during the wait (send nothing more).
 */
static inline int salvo_burst_reserve_at(struct salvo_burst *b, uint64_t want, uint64_t due_ns)
{
	struct salvo_worker *w = b->w;
	struct salvo_port *p = b->p;
	unsigned int ndesc, got;
	uint64_t now;

	if (b->quota) {
		if (b->pkts >= b->quota)
			return SALVO_BURST_DONE;
		want = SALVO_MIN(want, b->quota - b->pkts);
	}
	if (!due_ns && b->pacer)
		due_ns = salvo_pacer_claim(b->pacer, (unsigned int)want);
	if (due_ns) {
		now = salvo_worker_wait(w, due_ns);
		if (!now)
			return SALVO_BURST_DONE;	/* stopped during the wait */
		salvo_hist_record(w->pace_err, now - due_ns);
	} else {
		now = salvo_now_ns();
	}
	b->want = want;
	b->now = now;
	ndesc = b->segs == 1 ? (unsigned int)want : (unsigned int)((want + b->segs - 1) / b->segs);
	if (ndesc > b->max)
		ndesc = b->max;
	if (b->flags & SALVO_BURST_F_FILLS)
		got = salvo_pool_take(p->pool, b->v, ndesc);
	else
		got = salvo_pool_get(p->pool, b->v, ndesc);
	if (got < ndesc && (!got || !(b->flags & SALVO_BURST_F_STREAM))) {
		/*
		 * Buffers still in flight: reap, and go with what we have.  A
		 * stream's buffers wait behind the socket buffer, so a short
		 * pool is its normal state: it reaps only when none is left
		 * (commit reaps after every submission anyway).
		 */
		salvo_port_reap(p);
		got += salvo_pool_get(p->pool, b->v + got, ndesc - got);
		if (!got)
			salvo_port_flush(p);	/* a ring that waits for a kick gets it */
	}
	return (int)got;
}

static inline int salvo_burst_reserve(struct salvo_burst *b, uint64_t want)
{
	return salvo_burst_reserve_at(b, want, 0);
}

/*
 * Submit v[0..n), filled with pkts packets (segments) of bytes bytes in
 * all (the sum of their len).  Returns how many descriptors the backend
 * accepted (the rest went back to the pool, their sequence numbers
 * unspent), 0 after a retryable refusal, or -errno after a fatal one
 * (streams: any refusal, see above).
 */
static inline int salvo_burst_commit_sized(struct salvo_burst *b, unsigned int n, uint64_t pkts,
					   uint64_t bytes)
{
	struct salvo_port *p = b->p;
	int sent;

	sent = salvo_port_tx(p, b->v, n);
	salvo_cnt_add(&b->w->cnt.submissions, 1);
	if (salvo_unlikely(sent != (int)n))
		return salvo__burst_refused(b, n, pkts, bytes, sent);
	salvo__burst_count(b, pkts, bytes);
	salvo_port_reap(p);
	return sent;
}

/* The same, for a sender that does not keep the byte count: v[0..n)'s len summed. */
static inline int salvo_burst_commit(struct salvo_burst *b, unsigned int n, uint64_t pkts)
{
	uint64_t bytes = 0;

	/* Before tx: a synchronous backend hands accepted buffers back to the pool. */
	for (unsigned int i = 0; i < n; i++)
		bytes += b->v[i]->len;
	return salvo_burst_commit_sized(b, n, pkts, bytes);
}

#endif
