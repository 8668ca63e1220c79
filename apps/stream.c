// SPDX-License-Identifier: MIT
/*
 * The stream app (`tcp send`, `tcp sink`), over any backend with
 * SALVO_CAP_TCP.  Connections show up as SALVO_PKT_F_CONN_* events in
 * rx_burst; data goes to pkt->conn.
 *
 * Client: wait until this worker's connections (ids 0..n-1) are open, then
 * either send cfg->message once on each and close (the seed's TCP sender),
 * or keep every connection's queue fed with cfg->size messages until the
 * duration or this worker's share of cfg->bytes; close them at the end.
 * Server: count bytes per connection and in total; stop after max_conns
 * connections closed.  Closed connections are kept for the report.
 *
 * Stamps: a generated message of cfg->size bytes starts with a salvo stamp
 * (flow = the connection's run-wide id, seq per connection, len = the
 * message's length), so the sink can cut the byte stream back into
 * messages and account loss, reordering and latency as for datagrams.  A
 * connection whose stream does not start with a stamp (the seed's sender,
 * --message, --no-stamp) is counted as unstamped, chunk by chunk.
 * cfg->discard (tcp sink --discard): the backend drops the bytes unread;
 * only lengths are counted, no stamps, so no loss and no latency.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <salvo/burst.h>
#include <salvo/run.h>
#include <salvo/stamp.h>

#include "apps/stream.h"

#define STREAM_MAX_BURST 256

struct sconn {
	struct salvo_conn_rec rec;
	bool open;
	bool closed;
	/* client: next sequence number on this connection */
	uint64_t seq;
	/* server: stream framing */
	bool unframed;		/* the stream carries no stamps */
	uint8_t hdr_have;	/* bytes of the next stamp collected so far */
	uint32_t msg_left;	/* bytes of the current message still to skip */
	uint8_t hdr[SALVO_STAMP_SIZE];
};

struct stream {
	struct salvo_pkt *v[STREAM_MAX_BURST];
	struct salvo_stream_arg *a;
	struct sconn *c;
	unsigned int nc, capc;
	unsigned int nlocal;	/* client: this worker's connections */
	unsigned int nopen, nfailed, rr;
	unsigned int burst;
	uint64_t quota, sent;
	bool stamp;		/* client: stamp every message */
	bool discard;		/* server, cfg->discard: rx packets have a length, no data */
	uint8_t stamp_flags;
};

void salvo_stream_arg_init(struct salvo_stream_arg *a)
{
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
}

void salvo_stream_arg_fini(struct salvo_stream_arg *a)
{
	free(a->recs);
	a->recs = NULL;
	pthread_mutex_destroy(&a->lock);
}

static void cpu_mark(struct salvo_cpu_mark *m)
{
	struct rusage ru;

	m->ns = salvo_now_ns();
	if (getrusage(RUSAGE_SELF, &ru))
		return;	/* cannot fail with RUSAGE_SELF and a valid pointer */
	m->user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	m->sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* The run's first connection is open: the data phase starts (apps/stream.h). */
static void phase_start(struct salvo_stream_arg *a)
{
	pthread_mutex_lock(&a->lock);
	if (!a->phase_started) {
		cpu_mark(&a->phase_start);
		a->phase_end = a->phase_start;
		a->phase_started = true;
	}
	pthread_mutex_unlock(&a->lock);
}

static struct sconn *conn_get(struct stream *s, uint32_t id)
{
	if (id >= s->capc) {
		unsigned int cap = SALVO_MAX(s->capc * 2, id + 16);
		struct sconn *c = realloc(s->c, cap * sizeof(*c));

		if (!c)
			return NULL;
		memset(c + s->capc, 0, (cap - s->capc) * sizeof(*c));
		s->c = c;
		s->capc = cap;
	}
	if (id >= s->nc)
		s->nc = id + 1;
	return &s->c[id];
}

/* A connection ended: keep its record for the report; true when the run's goal is met. */
static bool conn_done(struct salvo_worker *w, struct stream *s, struct sconn *c, int err)
{
	struct salvo_stream_arg *a = s->a;
	bool goal = false;

	if (c->closed)
		return false;
	c->closed = true;
	if (c->hdr_have && !c->unframed) {
		/* The stream ended inside what could have been a stamp. */
		salvo_cnt_add(&w->cnt.rx_pkts, 1);
		salvo_cnt_add(&w->cnt.rx_unstamped, 1);
		c->hdr_have = 0;
	}
	if (c->open)
		s->nopen--;
	c->open = false;
	c->rec.close_ns = salvo_now_ns();
	c->rec.err = err;
	if (a->on_close)
		a->on_close(&c->rec, a->arg);
	pthread_mutex_lock(&a->lock);
	if (a->nrecs == a->caprecs) {
		unsigned int cap = a->caprecs ? a->caprecs * 2 : 64;
		struct salvo_conn_rec *r = realloc(a->recs, cap * sizeof(*r));

		if (r) {
			a->recs = r;
			a->caprecs = cap;
		}
	}
	if (a->nrecs < a->caprecs)
		a->recs[a->nrecs++] = c->rec;
	a->closed++;
	/* Every done connection moves the end: the last one closes the phase. */
	if (a->phase_started)
		cpu_mark(&a->phase_end);
	goal = a->max_conns && a->closed >= a->max_conns;
	pthread_mutex_unlock(&a->lock);
	return goal;
}

static int stream_init(struct salvo_worker *w)
{
	struct stream *s = calloc(1, sizeof(*s));
	const struct salvo_cfg *cfg = w->cfg;

	if (!s)
		return -ENOMEM;
	s->a = salvo_run_app(w->run)->arg;
	if (!s->a) {
		free(s);
		return salvo_worker_fail(w, EINVAL, "stream app without its argument");
	}
	s->burst = SALVO_MIN(cfg->burst, STREAM_MAX_BURST);
	s->stamp = cfg->stamp && !cfg->message && !cfg->splice;
	s->discard = cfg->discard;
	s->stamp_flags = cfg->stamp_clock == CLOCK_REALTIME ? SALVO_STAMP_F_REALTIME : 0;
	if (!s->a->server) {
		unsigned int n = w->port.nworkers;
		uint32_t len = cfg->message ? cfg->message_len : cfg->size;

		s->nlocal = cfg->streams / n + (w->id < cfg->streams % n);
		if (cfg->bytes)
			s->quota = cfg->bytes / n + (w->id < cfg->bytes % n);
		if (w->port.pool->buf_size < len) {
			free(s);
			return salvo_worker_fail(w, EINVAL, "backend buffers (%u B) are smaller than %u B",
						 w->port.pool->buf_size, len);
		}
		/*
		 * Payload written once per buffer: a pattern, or the message.
		 * The pattern is made once and copied: byte by byte into every
		 * buffer it was most of a short run's CPU time (the report's cpu_s).
		 */
		const uint8_t *src = cfg->message;

		if (!src) {
			uint8_t *d = w->port.pool->pkts[0].data;

			for (uint32_t j = 0; j < len; j++)
				d[j] = (uint8_t)("salvo-stream-"[j % 13]);
			src = d;
		}
		for (uint32_t i = 0; i < w->port.pool->n; i++)
			if (w->port.pool->pkts[i].data != src)
				memcpy(w->port.pool->pkts[i].data, src, len);
	}
	w->app_priv = s;
	return 0;
}

struct rx_tally {
	uint64_t msgs, stamped, unstamped, now, now_real;
};

/* Account one stamp read off a stream. */
static void account_stamp(struct salvo_worker *w, const struct salvo_stamp *st, struct rx_tally *t)
{
	uint64_t now = t->now;

	salvo_flowtab_update(w->flows, st->session, st->flow, st->seq);
	if (st->flags & SALVO_STAMP_F_REALTIME) {
		if (!t->now_real)
			t->now_real = salvo_clock_ns(CLOCK_REALTIME);
		now = t->now_real;
	}
	if (st->ts_ns && st->ts_ns <= now) {
		salvo_hist_record(w->lat, now - st->ts_ns);
		salvo_flowtab_latency(w->flows, now - st->ts_ns);
	}
	t->stamped++;
	t->msgs++;
}

/*
 * Cut a connection's bytes into messages: at each message boundary collect
 * the 32-byte stamp (it may straddle reads), then skip len - 32 bytes.
 */
static void frame_stream(struct salvo_worker *w, struct sconn *c, const uint8_t *d, uint32_t len,
			 struct rx_tally *t)
{
	uint32_t off = 0;

	if (c->unframed) {
		t->unstamped++;
		return;
	}
	while (off < len) {
		if (c->msg_left) {
			uint32_t skip = SALVO_MIN(c->msg_left, len - off);

			c->msg_left -= skip;
			off += skip;
			continue;
		}
		uint32_t take = SALVO_MIN((uint32_t)(SALVO_STAMP_SIZE - c->hdr_have), len - off);
		struct salvo_stamp st;

		memcpy(c->hdr + c->hdr_have, d + off, take);
		c->hdr_have = (uint8_t)(c->hdr_have + take);
		off += take;
		if (c->hdr_have < SALVO_STAMP_SIZE) {
			/* Tell a foreign stream as soon as its first bytes differ from the magic. */
			static const uint8_t magic[4] = {0x53, 0x56, 0x4c, 0x4f};

			if (memcmp(c->hdr, magic, SALVO_MIN((uint32_t)c->hdr_have, 4u))) {
				c->unframed = true;
				c->hdr_have = 0;
				t->unstamped++;
			}
			break;
		}
		c->hdr_have = 0;
		if (salvo_stamp_decode(c->hdr, SALVO_STAMP_SIZE, &st) || st.len < SALVO_STAMP_SIZE) {
			/* Not (or no longer) a salvo stream: count the rest by chunks. */
			c->unframed = true;
			t->unstamped++;
			return;
		}
		account_stamp(w, &st, t);
		c->msg_left = st.len - SALVO_STAMP_SIZE;
	}
}

/* Account one batch from rx_burst; returns true when the run's goal is met. */
static bool handle_rx(struct salvo_worker *w, struct stream *s, unsigned int n)
{
	struct salvo_stream_arg *a = s->a;
	uint64_t bytes = 0, pkts = 0, now = salvo_now_ns();
	struct rx_tally t = {.now = now};
	bool goal = false;

	for (unsigned int i = 0; i < n; i++) {
		const struct salvo_pkt *k = s->v[i];
		struct sconn *c = conn_get(s, k->conn);

		if (!c)
			continue;
		if (k->flags & SALVO_PKT_F_CONN_OPEN) {
			memset(c, 0, sizeof(*c));
			c->open = true;
			c->rec.peer = k->peer;
			c->rec.worker = w->id;
			c->rec.conn = k->conn;
			c->rec.open_ns = now;
			s->nopen++;
			salvo_cnt_add(&w->cnt.conns, 1);
			phase_start(a);
			if (a->on_open)
				a->on_open(&c->rec, a->arg);
		} else if (k->flags & (SALVO_PKT_F_CONN_CLOSE | SALVO_PKT_F_CONN_ERROR)) {
			if (!c->open && !c->closed && (k->flags & SALVO_PKT_F_CONN_ERROR)) {
				/* A connect that failed: never open. */
				c->rec.peer = k->peer;
				c->rec.worker = w->id;
				c->rec.conn = k->conn;
				c->rec.open_ns = now;
				s->nfailed++;
			}
			goal |= conn_done(w, s, c, k->flags & SALVO_PKT_F_CONN_ERROR ? k->err : 0);
		} else {
			c->rec.bytes += k->len;
			bytes += k->len;
			pkts++;
			if (s->discard)
				continue;	/* the kernel dropped the bytes: nothing to read */
			frame_stream(w, c, k->data, k->len, &t);
			if (a->on_data)
				a->on_data(&c->rec, k, a->arg);
		}
	}
	salvo_port_release(&w->port, s->v, n);
	if (pkts) {
		struct salvo_flow_totals ft;

		/*
		 * Packets are messages where the stream is stamped, else chunks
		 * read; discarding, the receives that dropped bytes.
		 */
		salvo_cnt_add(&w->cnt.rx_pkts, s->discard ? pkts : t.msgs + t.unstamped);
		salvo_cnt_add(&w->cnt.rx_bytes, bytes);
		salvo_cnt_add(&w->cnt.rx_stamped, t.stamped);
		salvo_cnt_add(&w->cnt.rx_unstamped, t.unstamped);
		if (t.stamped) {
			salvo_flowtab_totals(w->flows, &ft);
			__atomic_store_n(&w->cnt.lost, ft.lost, __ATOMIC_RELAXED);
			__atomic_store_n(&w->cnt.reordered, ft.reordered, __ATOMIC_RELAXED);
			__atomic_store_n(&w->cnt.duplicates, ft.duplicates, __ATOMIC_RELAXED);
			__atomic_store_n(&w->cnt.flows, ft.flows, __ATOMIC_RELAXED);
		}
		if (!w->cnt.first_rx_ns)
			salvo_cnt_add(&w->cnt.first_rx_ns, now);
		__atomic_store_n(&w->cnt.last_rx_ns, now, __ATOMIC_RELAXED);
	}
	return goal;
}

static int poll_rx(struct salvo_worker *w, struct stream *s, unsigned int timeout_ms, bool *goal)
{
	struct salvo_port *p = &w->port;
	unsigned int saved = p->rx_timeout_ms;
	int n;

	p->rx_timeout_ms = timeout_ms;
	n = salvo_port_rx(p, s->v, s->burst);
	p->rx_timeout_ms = saved;
	if (n < 0) {
		if (n == -EAGAIN || n == -EINTR || n == -ENOBUFS)
			return 0;
		return salvo_worker_fail(w, -n, "receive failed: %s", strerror(-n));
	}
	if (n && handle_rx(w, s, (unsigned int)n) && goal)
		*goal = true;
	return 0;
}

static int server_loop(struct salvo_worker *w, struct stream *s)
{
	bool goal = false;
	int rc;

	while (!salvo_worker_stopping(w) && !goal) {
		rc = poll_rx(w, s, w->port.rx_timeout_ms, &goal);
		if (rc)
			return rc;
		salvo_port_reap(&w->port);
	}
	if (goal)
		salvo_worker_stop_run(w);
	return 0;
}

/* Next open connection, round robin; -1 when none. */
static int next_conn(struct stream *s)
{
	for (unsigned int i = 0; i < s->nlocal; i++) {
		unsigned int id = (s->rr + i) % s->nlocal;

		if (id < s->nc && s->c[id].open) {
			s->rr = id + 1;
			return (int)id;
		}
	}
	return -1;
}

static void count_tx(struct salvo_worker *w, struct stream *s, uint64_t bytes, uint64_t pkts)
{
	s->sent += bytes;
	salvo_worker_count_tx(w, pkts, bytes, salvo_now_ns());
}

/* Queue one empty message with flags on each open connection (close / shut down). */
static void close_all(struct salvo_worker *w, struct stream *s, uint16_t flags)
{
	struct salvo_port *p = &w->port;

	for (unsigned int id = 0; id < s->nlocal && id < s->nc; id++) {
		struct salvo_pkt *k;

		if (!s->c[id].open)
			continue;
		if (salvo_pool_get(p->pool, &k, 1) != 1) {
			salvo_port_reap(p);
			if (salvo_pool_get(p->pool, &k, 1) != 1)
				break;
		}
		k->len = 0;
		k->conn = id;
		k->flags = flags;
		if (salvo_port_tx(p, &k, 1) != 1)
			salvo_pool_put(p->pool, &k, 1);
	}
}

/* Refused messages were never sent: their numbers and bytes go out again. */
static void stream_unspend(struct salvo_burst *b, struct salvo_pkt **v, unsigned int n,
			   uint64_t pkts)
{
	struct stream *s = b->arg;

	(void)pkts;
	for (unsigned int i = 0; i < n; i++) {
		struct sconn *c = &s->c[v[i]->conn];

		c->rec.bytes -= v[i]->len;
		if (s->stamp && v[i]->len >= SALVO_STAMP_SIZE)
			c->seq--;
	}
}

static int client_loop(struct salvo_worker *w, struct stream *s)
{
	struct salvo_port *p = &w->port;
	const struct salvo_cfg *cfg = w->cfg;
	uint64_t deadline = salvo_now_ns() + (uint64_t)cfg->timeout_ms * NSEC_PER_MSEC;
	uint32_t len = cfg->message ? cfg->message_len : cfg->size;
	int rc, drc;

	if (!s->nlocal)
		return 0;
	/* Connections first: every one open, or failed. */
	while (s->nopen + s->nfailed < s->nlocal && !salvo_worker_stopping(w)) {
		if (salvo_now_ns() >= deadline + 500 * NSEC_PER_MSEC)
			return salvo_worker_fail(w, ETIMEDOUT, "connect %s",
						 "timed out");
		rc = poll_rx(w, s, 100, NULL);
		if (rc)
			return rc;
	}
	if (s->nfailed) {
		const struct salvo_conn_rec *r = NULL;

		for (unsigned int i = 0; i < s->nc && !r; i++)
			if (s->c[i].closed && s->c[i].rec.err)
				r = &s->c[i].rec;
		if (p->err[0])
			return salvo_worker_fail(w, r ? -r->err : ECONNREFUSED, "%s", p->err);
		return salvo_worker_fail(w, r ? -r->err : ECONNREFUSED, "connect failed: %s",
					 strerror(r ? -r->err : ECONNREFUSED));
	}
	if (cfg->message) {
		/* The seed's sender: send, close. */
		for (unsigned int id = 0; id < s->nlocal; id++) {
			struct salvo_pkt *k;

			if (salvo_pool_get(p->pool, &k, 1) != 1)
				return salvo_worker_fail(w, ENOBUFS, "no free buffer");
			k->len = cfg->message_len;
			k->conn = id;
			k->flags = SALVO_PKT_F_CONN_CLOSE;
			rc = salvo_port_tx(p, &k, 1);
			if (rc != 1) {
				salvo_pool_put(p->pool, &k, 1);
				return salvo_worker_fail(w, rc < 0 ? -rc : EIO, "send failed: %s",
							 strerror(rc < 0 ? -rc : EIO));
			}
			s->c[id].rec.bytes += cfg->message_len;
			count_tx(w, s, cfg->message_len, 1);
		}
		salvo_cnt_add(&w->cnt.submissions, 1);
	} else {
		struct salvo_burst b;

		/* No pacing, the quota in bytes (s->quota): include/salvo/burst.h. */
		salvo_burst_init(&b, w, s->v, STREAM_MAX_BURST, 1, SALVO_BURST_F_STREAM,
				 stream_unspend, s);
		while (!salvo_worker_stopping(w) && (!s->quota || b.bytes < s->quota)) {
			uint64_t bytes = 0, ts;
			unsigned int got, i, per;
			int n, sent, id = -1;

			if (!s->nopen) {
				int err = 0;

				for (unsigned int i = 0; i < s->nc && !err; i++)
					err = s->c[i].rec.err;
				if (err)
					return salvo_worker_fail(w, -err, "connection to the peer failed: %s",
								 strerror(-err));
				return salvo_worker_fail(w, ECONNRESET, "every connection was closed by the peer");
			}
			n = salvo_burst_reserve(&b, s->burst);
			if (n <= 0) {
				/* Every buffer is queued: wait for completions (and events). */
				rc = poll_rx(w, s, 100, NULL);
				if (rc)
					return rc;
				continue;
			}
			got = (unsigned int)n;
			ts = s->stamp ? salvo_clock_ns(cfg->stamp_clock) : 0;
			/*
			 * Each open connection takes an equal run of adjacent
			 * messages in the burst, not one message in turn: a
			 * backend can then hand a run to one system call
			 * (syscall: one sendmsg), and the round robin still
			 * shares the bytes between the connections.
			 */
			per = SALVO_MAX(1u, got / SALVO_MAX(1u, s->nopen));
			for (i = 0; i < got; i++) {
				uint64_t left = s->quota ? s->quota - b.bytes - bytes : len;
				struct salvo_pkt *k = s->v[i];

				if (i % per == 0)
					id = next_conn(s);
				if (id < 0 || !left)
					break;
				k->len = (uint32_t)SALVO_MIN((uint64_t)len, left);
				k->conn = (uint32_t)id;
				bytes += k->len;
				/* Counted before tx, which may reuse the buffer; unspend takes it back. */
				s->c[id].rec.bytes += k->len;
				if (s->stamp && k->len >= SALVO_STAMP_SIZE) {
					struct salvo_stamp st = {
						.flags = s->stamp_flags,
						.session = cfg->session,
						.flow = salvo_worker_flow_id((unsigned int)id, w->id,
									     p->nworkers),
						.len = k->len,
						.seq = s->c[id].seq++,
						.ts_ns = ts,
					};

					salvo_stamp_encode(k->data, &st);
				}
			}
			if (i < got)
				salvo_pool_put(p->pool, s->v + i, got - i);
			got = i;
			if (!got)
				continue;
			sent = salvo_burst_commit(&b, got, got);
			if (sent <= 0) {
				/* A connection went away: its event tells which. */
				rc = poll_rx(w, s, 0, NULL);
				if (rc)
					return rc;
				continue;
			}
		}
		close_all(w, s, SALVO_PKT_F_CONN_CLOSE);
	}
	drc = salvo_worker_tx_drain(w);
	/* Take the last events (a reset during the drain). */
	poll_rx(w, s, 0, NULL);
	/*
	 * A peer that stopped reading is a failure, not a short run: the
	 * stream backends give up on it after --timeout without progress
	 * (syscall: the connection's deadline; uring: the drain's wait).
	 */
	if (drc == -ETIMEDOUT)
		return salvo_worker_fail(w, ETIMEDOUT, "the peer stopped reading: %s (--timeout)",
					 p->err);
	for (unsigned int i = 0; i < s->nc; i++) {
		char a[SALVO_ADDR_STRLEN];

		if (s->c[i].rec.err != -ETIMEDOUT)
			continue;
		return salvo_worker_fail(w, ETIMEDOUT, "the peer stopped reading: %s took nothing for "
					 "--timeout (%u ms), connection reset",
					 salvo_addr_str(&s->c[i].rec.peer, a, sizeof(a)), cfg->timeout_ms);
	}
	return 0;
}

static int stream_loop(struct salvo_worker *w)
{
	struct stream *s = w->app_priv;

	return s->a->server ? server_loop(w, s) : client_loop(w, s);
}

static void stream_fini(struct salvo_worker *w)
{
	struct stream *s = w->app_priv;

	if (!s)
		return;
	/* Connections still open at the end count too. */
	for (unsigned int i = 0; i < s->nc; i++)
		if (s->c[i].open)
			conn_done(w, s, &s->c[i], 0);
	free(s->c);
	free(s);
	w->app_priv = NULL;
}

const struct salvo_app salvo_app_stream = {
	.name = "stream",
	.init = stream_init,
	.loop = stream_loop,
	.fini = stream_fini,
};
