// SPDX-License-Identifier: MIT
/*
 * The registry server app (`salvo registry serve`) on the engine's workers,
 * plus one request as a client (`join`, `list`).  The load generator
 * (`registry bench`) is in registry_bench.c.
 *
 * The server speaks only through the backend ops' stream path: CONN_OPEN
 * events carry the peer, data packets carry pkt->conn, a CONN_CLOSE event
 * is the peer's FIN, and a tx packet flagged SALVO_PKT_F_CONN_CLOSE closes
 * the connection once sent.  Per worker and per loop iteration, every name
 * that arrived is joined in one salvo_registry_join_batch() (one journal
 * append + fdatasync with --state) and every reply of that iteration shares
 * one reference to the list text, so a burst of joins costs one rebuild.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <salvo/backend.h>
#include <salvo/common.h>
#include <salvo/hist.h>
#include "registry/registry.h"
#include <salvo/run.h>
#include "registry/server.h"
#include "registry/bench.h"
#include <salvo/pacer.h>

#define SRV_BURST 64
#define DEFAULT_MAX_CONNS 1024

enum {
	RC_WAIT = 1,	/* accepted, waiting for the name (or a FIN: list) */
	RC_REPLY,	/* reply being handed to the backend */
};

struct rconn {
	uint32_t id;
	uint8_t state;
	bool queued;			/* on the send queue */
	bool dead;			/* reset or replaced in this batch: freed at its end */
	uint64_t deadline;		/* RC_WAIT: monotonic ns */
	struct salvo_pkt *hold_ev;	/* the peer's CONN_CLOSE, released once the reply is queued */
	char host[SALVO_REGISTRY_HOST_MAX + 1];
	unsigned int port;
	struct salvo_registry_reply *rep;	/* shared list text, or NULL: errbuf */
	const char *data;
	size_t len, off;		/* off: bytes handed to the backend */
	char errbuf[224];
	struct rconn *tprev, *tnext;	/* RC_WAIT, in deadline order (one timeout: FIFO) */
	struct rconn *snext;		/* send queue */
	struct rconn *fnext;		/* free list */
};

/* conn id -> rconn: open addressing, linear probing, backward-shift delete. */
struct cmap {
	uint32_t *ids;
	struct rconn **v;
	uint32_t cap, n;
};

struct srv {
	struct salvo_registry_srv *a;
	struct salvo_registry *reg;
	struct cmap map;
	struct rconn *free;
	struct rconn *whead, *wtail;	/* waiting for a request */
	struct rconn *shead, *stail;	/* replies to hand to the backend */
	uint64_t timeout_ns;
	uint32_t max_conns;
	uint32_t nlocal;		/* this worker's connections (rconns) */
	uint32_t local_max;		/* above it: refused, the rest of the table carries refusals */
	unsigned int burst;
	struct salvo_pkt *rx[SRV_BURST];
	struct salvo_pkt *rel[SRV_BURST];
	struct salvo_pkt *tx[SRV_BURST];
	struct rconn *owner[SRV_BURST];
	struct salvo_registry_join jv[SRV_BURST];
	struct rconn *jc[SRV_BURST];
	struct rconn *lc[SRV_BURST];
	struct rconn *dc[SRV_BURST];	/* gone in this batch, freed once its replies are built */
	/*
	 * Per tx descriptor: the list its last send pointed into.  A list reply
	 * is sent straight from the shared text (SALVO_PKT_F_EXTERN), no copy;
	 * the text stays referenced until the descriptor is ours again (the
	 * backend is then done with it) or the worker ends.
	 */
	struct salvo_registry_reply **txrep;
	uint32_t ntxrep;
	/*
	 * Descriptors whose txrep is set, checked every loop (txrep_collect):
	 * with a descriptor per connection one may sit in the pool for long,
	 * and a slow reply's list version (megabytes) with it.
	 */
	uint32_t *txout;
	uint32_t ntxout;
	bool *txlisted;
};

/* ---- connection map --------------------------------------------------------- */

static uint32_t id_slot(uint32_t id, uint32_t cap)
{
	return (id * 2654435761U) & (cap - 1);
}

static int cmap_grow(struct cmap *m)
{
	uint32_t ncap = m->cap ? m->cap * 2 : 256, i;
	uint32_t *ids = calloc(ncap, sizeof(*ids));
	struct rconn **v = calloc(ncap, sizeof(*v));

	if (!ids || !v) {
		free(ids);
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < m->cap; i++) {
		uint32_t s;

		if (!m->v[i])
			continue;
		for (s = id_slot(m->ids[i], ncap); v[s]; s = (s + 1) & (ncap - 1))
			;
		ids[s] = m->ids[i];
		v[s] = m->v[i];
	}
	free(m->ids);
	free(m->v);
	m->ids = ids;
	m->v = v;
	m->cap = ncap;
	return 0;
}

static struct rconn *cmap_get(struct cmap *m, uint32_t id)
{
	uint32_t s;

	if (!m->cap)
		return NULL;
	for (s = id_slot(id, m->cap); m->v[s]; s = (s + 1) & (m->cap - 1))
		if (m->ids[s] == id)
			return m->v[s];
	return NULL;
}

static int cmap_put(struct cmap *m, uint32_t id, struct rconn *c)
{
	uint32_t s;

	if ((m->n + 1) * 2 > m->cap && cmap_grow(m))
		return -ENOMEM;
	for (s = id_slot(id, m->cap); m->v[s]; s = (s + 1) & (m->cap - 1))
		;
	m->ids[s] = id;
	m->v[s] = c;
	m->n++;
	return 0;
}

static void cmap_del(struct cmap *m, uint32_t id)
{
	uint32_t s, j, h;

	if (!m->cap)
		return;
	for (s = id_slot(id, m->cap); m->v[s]; s = (s + 1) & (m->cap - 1))
		if (m->ids[s] == id)
			break;
	if (!m->v[s])
		return;
	m->v[s] = NULL;
	m->n--;
	/* Backward shift: move later members of the run into the hole when allowed. */
	for (j = (s + 1) & (m->cap - 1); m->v[j]; j = (j + 1) & (m->cap - 1)) {
		h = id_slot(m->ids[j], m->cap);
		if (((j - h) & (m->cap - 1)) >= ((j - s) & (m->cap - 1))) {
			m->ids[s] = m->ids[j];
			m->v[s] = m->v[j];
			m->v[j] = NULL;
			s = j;
		}
	}
}

/* ---- connection state ------------------------------------------------------- */

static void wait_unlink(struct srv *s, struct rconn *c)
{
	if (c->state != RC_WAIT)
		return;
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		s->whead = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	else
		s->wtail = c->tprev;
	c->tprev = c->tnext = NULL;
}

static void conn_free(struct salvo_worker *w, struct srv *s, struct rconn *c)
{
	wait_unlink(s, c);
	/* A retired one is out of the map already; its id may name a new connection. */
	if (cmap_get(&s->map, c->id) == c)
		cmap_del(&s->map, c->id);
	s->nlocal--;
	if (c->hold_ev)
		salvo_port_release(&w->port, &c->hold_ev, 1);
	salvo_registry_reply_put(c->rep);
	memset(c, 0, sizeof(*c));
	c->fnext = s->free;
	s->free = c;
	/* Relaxed: a count for the max_conns limit and the report, no ordering. */
	__atomic_fetch_sub(&s->a->active, 1, __ATOMIC_RELAXED);
}

static struct rconn *conn_new(struct srv *s, const struct salvo_pkt *k, uint64_t now)
{
	struct rconn *c = s->free;
	char host[SALVO_ADDR_STRLEN];

	if (c)
		s->free = c->fnext;
	else
		c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	if (cmap_put(&s->map, k->conn, c)) {
		free(c);
		return NULL;
	}
	c->id = k->conn;
	c->state = RC_WAIT;
	c->deadline = now + s->timeout_ns;
	if (k->peer.len) {
		salvo_addr_host(&k->peer, host, sizeof(host));
		snprintf(c->host, sizeof(c->host), "%s", host);
		c->port = salvo_addr_port(&k->peer);
	}
	c->tprev = s->wtail;
	if (s->wtail)
		s->wtail->tnext = c;
	else
		s->whead = c;
	s->wtail = c;
	s->nlocal++;
	__atomic_fetch_add(&s->a->active, 1, __ATOMIC_RELAXED);
	return c;
}

/*
 * Stretch the active time to cover now.  Relaxed, as the other report
 * counters: each CAS only moves first_ns down and last_ns up, and the
 * report reads them after the workers joined.
 */
static void note_activity(struct salvo_registry_srv *a, uint64_t now)
{
	uint64_t v = __atomic_load_n(&a->first_ns, __ATOMIC_RELAXED);

	while ((!v || now < v) &&
	       !__atomic_compare_exchange_n(&a->first_ns, &v, now, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
	v = __atomic_load_n(&a->last_ns, __ATOMIC_RELAXED);
	while (now > v &&
	       !__atomic_compare_exchange_n(&a->last_ns, &v, now, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

static void send_enqueue(struct srv *s, struct rconn *c)
{
	wait_unlink(s, c);
	c->state = RC_REPLY;
	c->off = 0;
	c->snext = NULL;
	c->queued = true;
	if (s->stail)
		s->stail->snext = c;
	else
		s->shead = c;
	s->stail = c;
}

static void reply_list(struct srv *s, struct rconn *c, struct salvo_registry_reply *rep)
{
	salvo_registry_reply_get(rep);
	c->rep = rep;
	c->data = salvo_registry_reply_data(rep, &c->len);
	send_enqueue(s, c);
}

static void reply_error(struct srv *s, struct rconn *c, int err)
{
	int n = salvo_registry_error_json(err, c->errbuf, sizeof(c->errbuf));

	if (n <= 0 || (size_t)n >= sizeof(c->errbuf))
		n = snprintf(c->errbuf, sizeof(c->errbuf), "{\"error\": \"internal error\"}");
	c->data = c->errbuf;
	c->len = (size_t)n;
	send_enqueue(s, c);
}

/* Remove c from the send queue (it is anywhere in it). */
static void send_unlink(struct srv *s, struct rconn *c)
{
	struct rconn **pp, *prev = NULL;

	for (pp = &s->shead; *pp; prev = *pp, pp = &(*pp)->snext) {
		if (*pp == c) {
			*pp = c->snext;
			if (s->stail == c)
				s->stail = prev;
			c->queued = false;
			return;
		}
	}
}

/*
 * The peer reset c (or its id came back for a new connection) while this
 * batch may still name c in jc[]/lc[]: take it out of the map and the
 * queues now, free it once the batch's replies are built (handle_rx), so
 * nothing is queued on freed or reused memory.
 */
static void conn_retire(struct srv *s, struct rconn *c, unsigned int *nd)
{
	cmap_del(&s->map, c->id);
	wait_unlink(s, c);
	if (c->queued)
		send_unlink(s, c);
	c->state = RC_REPLY;	/* not waiting: wait_unlink() leaves it alone */
	c->dead = true;
	s->dc[(*nd)++] = c;
}

static struct salvo_pkt *tx_get(struct srv *s, struct salvo_port *p)
{
	struct salvo_pkt *k;

	if (!salvo_pool_get(p->pool, &k, 1)) {
		salvo_port_reap(p);
		if (!salvo_pool_get(p->pool, &k, 1))
			return NULL;
	}
	/* Back from the backend: the list its last send read can go. */
	if (k->idx < s->ntxrep && s->txrep[k->idx]) {
		salvo_registry_reply_put(s->txrep[k->idx]);
		s->txrep[k->idx] = NULL;
	}
	return k;
}

/*
 * Drop the list references of descriptors the backend has given back:
 * salvo_pool_put() clears SALVO_PKT_F_EXTERN, and tx_get() has already
 * dropped those taken again (txrep NULL).
 */
static void txrep_collect(struct srv *s, struct salvo_port *p)
{
	uint32_t i = 0;

	while (i < s->ntxout) {
		uint32_t idx = s->txout[i];

		if (s->txrep[idx] && (salvo_pool_pkt(p->pool, idx)->flags & SALVO_PKT_F_EXTERN)) {
			i++;	/* still the backend's */
			continue;
		}
		salvo_registry_reply_put(s->txrep[idx]);
		s->txrep[idx] = NULL;
		s->txlisted[idx] = false;
		s->txout[i] = s->txout[--s->ntxout];
	}
}

/* Hand queued reply bytes to the backend; the last chunk closes the connection. */
static void send_pending(struct salvo_worker *w, struct srv *s)
{
	struct salvo_port *p = &w->port;
	struct rconn *c;
	unsigned int k = 0, i;
	uint64_t bytes = 0;
	int sent;

	for (c = s->shead; c && k < s->burst; c = c->snext) {
		while (c->off < c->len && k < s->burst) {
			struct salvo_pkt *t = tx_get(s, p);
			bool ext = false;
			size_t chunk;

			if (!t)
				goto built;
			if (c->rep && t->idx < s->ntxrep) {
				/* The whole rest of the list, from the shared text. */
				chunk = SALVO_MIN(c->len - c->off, (size_t)UINT32_MAX);
				t->data = (uint8_t *)c->data + c->off;
				salvo_registry_reply_get(c->rep);
				s->txrep[t->idx] = c->rep;
				if (!s->txlisted[t->idx]) {
					s->txlisted[t->idx] = true;
					s->txout[s->ntxout++] = t->idx;
				}
				ext = true;
			} else {
				chunk = SALVO_MIN((size_t)t->buf_len, c->len - c->off);
				memcpy(t->data, c->data + c->off, chunk);
			}
			t->len = (uint32_t)chunk;
			t->conn = c->id;
			t->flow = 0;
			c->off += chunk;
			t->flags = (c->off == c->len ? SALVO_PKT_F_CONN_CLOSE : 0) |
				   (ext ? SALVO_PKT_F_EXTERN : 0);
			s->tx[k] = t;
			s->owner[k++] = c;
		}
		if (c->off < c->len)
			break;
	}
built:
	if (!k)
		return;
	sent = salvo_port_tx(p, s->tx, k);
	salvo_cnt_add(&w->cnt.submissions, 1);
	if (sent < 0) {
		/* v[0]'s connection is gone (reset by the peer): forget it. */
		struct rconn *gone = s->owner[0];

		__atomic_fetch_add(&s->a->conn_errors, 1, __ATOMIC_RELAXED);
		for (i = 0; i < k; i++)
			s->owner[i]->off -= s->tx[i]->len;
		salvo_pool_put(p->pool, s->tx, k);
		send_unlink(s, gone);
		conn_free(w, s, gone);
		return;
	}
	for (i = (unsigned int)sent; i < k; i++)
		s->owner[i]->off -= s->tx[i]->len;
	if ((unsigned int)sent < k)
		salvo_pool_put(p->pool, s->tx + sent, k - (unsigned int)sent);
	for (i = 0; i < (unsigned int)sent; i++)
		bytes += s->tx[i]->len;
	salvo_cnt_add(&w->cnt.tx_pkts, (uint64_t)sent);
	salvo_cnt_add(&w->cnt.tx_bytes, bytes);
	__atomic_fetch_add(&s->a->reply_bytes, bytes, __ATOMIC_RELAXED);
	if (sent)
		note_activity(s->a, salvo_now_ns());
	/* Fully handed over: the backend sends and closes; our part is done. */
	while ((c = s->shead) && c->off == c->len) {
		s->shead = c->snext;
		if (!s->shead)
			s->stail = NULL;
		c->queued = false;
		conn_free(w, s, c);
	}
}

static int srv_init(struct salvo_worker *w)
{
	struct salvo_registry_srv *a = salvo_run_app(w->run)->arg;
	struct srv *s;

	if (!a || !a->reg)
		return salvo_worker_fail(w, EINVAL, "registry: no store");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->a = a;
	s->reg = a->reg;
	s->timeout_ns = (uint64_t)(a->timeout_ms ? a->timeout_ms : w->cfg->timeout_ms) * NSEC_PER_MSEC;
	s->max_conns = a->max_conns ? a->max_conns : DEFAULT_MAX_CONNS;
	s->burst = SALVO_MIN(SALVO_MAX(w->cfg->burst, 1U), SRV_BURST);
	/* An eighth of the backend's table is kept for refusals. */
	s->local_max = w->port.conn_slots ? w->port.conn_slots - w->port.conn_slots / 8 : UINT32_MAX;
	/*
	 * A list can be megabytes, one per version a slow reply still holds.
	 * glibc raises its mmap threshold to the size of each mmapped chunk
	 * freed, after which such lists come from the arena and stay in RSS
	 * when freed; a fixed threshold keeps them mmapped, so they go back
	 * to the kernel when the last reply lets go.
	 */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	s->ntxrep = w->port.pool ? w->port.pool->n : 0;
	s->txrep = calloc(s->ntxrep ? s->ntxrep : 1, sizeof(*s->txrep));
	s->txout = calloc(s->ntxrep ? s->ntxrep : 1, sizeof(*s->txout));
	s->txlisted = calloc(s->ntxrep ? s->ntxrep : 1, sizeof(*s->txlisted));
	if (!s->txrep || !s->txout || !s->txlisted) {
		free(s->txrep);
		free(s->txout);
		free(s->txlisted);
		free(s);
		return -ENOMEM;
	}
	w->app_priv = s;
	salvo_registry_thread_enter();
	return 0;
}

static void handle_rx(struct salvo_worker *w, struct srv *s, unsigned int n, uint64_t now)
{
	struct salvo_registry_reply *rep = NULL;
	unsigned int i, nj = 0, nl = 0, nrel = 0, nd = 0;
	uint64_t gen = 0, bytes = 0, data = 0;
	int rc = 0;

	for (i = 0; i < n; i++) {
		struct salvo_pkt *k = s->rx[i];
		struct rconn *c = cmap_get(&s->map, k->conn);

		if (k->flags & SALVO_PKT_F_CONN_OPEN) {
			if (c)	/* a stale one under a reused id */
				conn_retire(s, c, &nd);
			c = conn_new(s, k, now);
			salvo_cnt_add(&w->cnt.conns, 1);
			__atomic_fetch_add(&s->a->conns, 1, __ATOMIC_RELAXED);
			/*
			 * Over --max-conns, or this worker's table nearly full: the
			 * JSON refusal, while slots remain to carry it (past the
			 * table the backend can only close without a word).
			 */
			if (c && (__atomic_load_n(&s->a->active, __ATOMIC_RELAXED) > s->max_conns ||
				  s->nlocal > s->local_max)) {
				__atomic_fetch_add(&s->a->refused_conns, 1, __ATOMIC_RELAXED);
				reply_error(s, c, -EMFILE);
			}
			/* Without state (no memory) the connection idles until the peer goes. */
			s->rel[nrel++] = k;
		} else if (k->flags & SALVO_PKT_F_CONN_ERROR) {
			/* Its name may be in jc[] already: the join stands, the reply is dropped. */
			if (c) {
				__atomic_fetch_add(&s->a->conn_errors, 1, __ATOMIC_RELAXED);
				conn_retire(s, c, &nd);
			}
			s->rel[nrel++] = k;
		} else if (k->flags & SALVO_PKT_F_CONN_CLOSE) {
			if (c && !c->hold_ev) {
				/*
				 * Keep the FIN event until the whole reply is handed over
				 * (conn_free): releasing it lets the backend close a
				 * connection with nothing queued, a name that came with
				 * its FIN in this batch included (its reply is built below).
				 */
				c->hold_ev = k;
				if (c->state == RC_WAIT) {
					/* Nothing sent, half-closed: a list request, answered below. */
					wait_unlink(s, c);
					c->state = RC_REPLY;	/* in lc[]: no name, no timeout now */
					s->lc[nl++] = c;
				}
			} else {
				s->rel[nrel++] = k;
			}
		} else {
			data++;
			bytes += k->len;
			if (c && c->state == RC_WAIT) {
				/* The seed's server: the first chunk is the name. */
				wait_unlink(s, c);
				c->state = RC_REPLY;	/* not queued yet: joined below */
				s->jv[nj] = (struct salvo_registry_join){
					.name = k->data, .name_len = k->len,
					.host = c->host, .port = c->port,
				};
				s->jc[nj++] = c;
			}
			/* Later chunks of a connection that has its reply are ignored. */
			s->rel[nrel++] = k;
		}
	}
	if (nj)
		salvo_registry_join_batch(s->reg, s->jv, nj);
	/* The names are copied into the store: the receive buffers can go back. */
	if (nrel)
		salvo_port_release(&w->port, s->rel, nrel);
	salvo_cnt_add(&w->cnt.rx_pkts, data);
	salvo_cnt_add(&w->cnt.rx_bytes, bytes);
	if (data) {
		if (!w->cnt.first_rx_ns)
			salvo_cnt_add(&w->cnt.first_rx_ns, now);
		__atomic_store_n(&w->cnt.last_rx_ns, now, __ATOMIC_RELAXED);
	}
	for (i = 0; i < nj; i++)
		if (!s->jv[i].rc && s->jv[i].gen > gen)
			gen = s->jv[i].gen;
	if (nl)
		gen = SALVO_MAX(gen, salvo_registry_gen(s->reg));
	if (gen || nl)
		rc = salvo_registry_list(s->reg, gen, &rep);
	for (i = 0; i < nj; i++) {
		if (s->jv[i].rc) {
			__atomic_fetch_add(&s->a->join_errors, 1, __ATOMIC_RELAXED);
			reply_error(s, s->jc[i], s->jv[i].rc);
		} else if (rc) {
			reply_error(s, s->jc[i], rc);
		} else {
			reply_list(s, s->jc[i], rep);
		}
	}
	for (i = 0; i < nl; i++) {
		if (rc) {
			reply_error(s, s->lc[i], rc);
		} else {
			reply_list(s, s->lc[i], rep);
			__atomic_fetch_add(&s->a->lists, 1, __ATOMIC_RELAXED);
		}
	}
	if (rep)
		salvo_registry_reply_put(rep);
	for (i = 0; i < nd; i++) {
		if (s->dc[i]->queued)
			send_unlink(s, s->dc[i]);
		conn_free(w, s, s->dc[i]);
	}
}

/*
 * One turn of the loop: receive (waiting up to max_wait_ms, less while
 * replies or deadlines are pending), handle, expire, send, reap.  0, or
 * -errno with w->err set.  tests/fuzz/fuzz_registry_srv.c drives it too.
 */
static int srv_step(struct salvo_worker *w, struct srv *s, unsigned int max_wait_ms)
{
	struct salvo_port *p = &w->port;
	uint64_t now;
	int n;

	/* Poll while replies wait for buffers; otherwise wake for the next deadline. */
	if (s->shead)
		p->rx_timeout_ms = 0;
	else if (s->whead)
		p->rx_timeout_ms = SALVO_MIN(10U, max_wait_ms);
	else
		p->rx_timeout_ms = max_wait_ms;
	n = salvo_port_rx(p, s->rx, s->burst);
	if (n < 0) {
		if (n == -EAGAIN || n == -EINTR || n == -ENOBUFS)
			return 0;
		return salvo_worker_fail(w, -n, "receive failed: %s%s%s", strerror(-n),
					 p->err[0] ? ": " : "", p->err);
	}
	now = salvo_now_ns();
	if (n) {
		note_activity(s->a, now);
		handle_rx(w, s, (unsigned int)n, now);
	}
	/* Silent or slow clients: an error reply and close, nobody else waits. */
	while (s->whead && s->whead->deadline <= now) {
		note_activity(s->a, now);
		__atomic_fetch_add(&s->a->timeouts, 1, __ATOMIC_RELAXED);
		salvo_cnt_add(&w->cnt.timeouts, 1);
		reply_error(s, s->whead, -ETIMEDOUT);
	}
	if (s->shead)
		send_pending(w, s);
	salvo_port_reap(p);
	if (s->ntxout)
		txrep_collect(s, p);
	return 0;
}

static int srv_loop(struct salvo_worker *w)
{
	struct srv *s = w->app_priv;
	struct salvo_port *p = &w->port;

	while (!salvo_worker_stopping(w)) {
		int rc = srv_step(w, s, 100);

		if (rc)
			return rc;
	}
	/* Let replies already handed over go out, bounded. */
	if (p->ops->drain)
		p->ops->drain(p, SALVO_MIN(w->cfg->timeout_ms, 1000U));
	return 0;
}

static void srv_fini(struct salvo_worker *w)
{
	struct srv *s = w->app_priv;
	struct rconn *c;
	uint32_t i;

	if (!s)
		return;
	for (i = 0; i < s->map.cap; i++) {
		while ((c = s->map.v[i])) {
			if (c->queued)
				send_unlink(s, c);
			conn_free(w, s, c);	/* shifts the next one into slot i */
		}
	}
	while ((c = s->free)) {
		s->free = c->fnext;
		free(c);
	}
	for (i = 0; i < s->ntxrep; i++)
		salvo_registry_reply_put(s->txrep[i]);
	free(s->txrep);
	free(s->txout);
	free(s->txlisted);
	free(s->map.ids);
	free(s->map.v);
	free(s);
	w->app_priv = NULL;
	salvo_registry_thread_leave();
}

const struct salvo_app salvo_app_registry = {
	.name = "registry",
	.init = srv_init,
	.loop = srv_loop,
	.fini = srv_fini,
};

/* ---- one request (join / list) --------------------------------------------- */

/* Wait for events on fd until deadline (monotonic ns): 0, or -ETIMEDOUT / -errno. */
static int request_wait(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};

	for (;;) {
		uint64_t now = salvo_now_ns();
		int n;

		if (now >= deadline)
			return -ETIMEDOUT;
		/* Round up, so a wait never ends just before the deadline and spins. */
		n = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

int salvo_registry_request(const struct salvo_addr *dest, const void *name, size_t name_len,
			   uint32_t timeout_ms, size_t max_reply, char **reply, size_t *reply_len,
			   char *err, size_t errlen)
{
	/* One deadline for the whole exchange: a server trickling a byte at a time cannot extend it. */
	uint64_t deadline = salvo_now_ns() + (uint64_t)timeout_ms * 1000000;
	char *buf = NULL, *nb, addr[SALVO_ADDR_STRLEN];
	const char *what = "connect to";
	size_t len = 0, cap = 0, sent = 0;
	socklen_t sl = sizeof(int);
	int fd, rc, soerr = 0;

	if (max_reply > SIZE_MAX / 2)
		max_reply = SIZE_MAX / 2;	/* the buffer arithmetic below stays in range */
	salvo_addr_str(dest, addr, sizeof(addr));
	fd = socket(dest->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (connect(fd, &dest->sa, dest->len) && errno != EINPROGRESS) {
		rc = -errno;
		goto fail;
	}
	rc = request_wait(fd, POLLOUT, deadline);
	if (!rc && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl))
		rc = -errno;
	if (!rc && soerr)
		rc = -soerr;
	if (rc)
		goto fail;
	what = "send to";
	if (name_len) {
		/* Like the seed's client: the name as one stream write, no half-close. */
		while (sent < name_len) {
			ssize_t n = send(fd, (const char *)name + sent, name_len - sent, MSG_NOSIGNAL);

			if (n > 0) {
				sent += (size_t)n;
				continue;
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				rc = -errno;
				goto fail;
			}
			rc = request_wait(fd, POLLOUT, deadline);
			if (rc)
				goto fail;
		}
	} else if (shutdown(fd, SHUT_WR)) {
		/* A list request: nothing, then FIN. */
		rc = -errno;
		goto fail;
	}
	what = "reading the reply from";
	for (;;) {
		ssize_t n;

		/* Room for max_reply + 1 bytes: one byte over the limit tells a reply that is too long. */
		if (cap - len < 2 && cap < max_reply + 2) {
			cap = cap ? 2 * cap : 65536;
			if (cap > max_reply + 2)
				cap = max_reply + 2;
			nb = realloc(buf, cap);
			if (!nb) {
				rc = -ENOMEM;
				snprintf(err, errlen, "out of memory for a %zu-byte reply", len);
				goto fail_msg;
			}
			buf = nb;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n == 0)
			break;
		if (n > 0) {
			len += (size_t)n;
			if (len > max_reply) {
				rc = -EMSGSIZE;
				snprintf(err, errlen,
					 "the reply from %s is over --max-reply %zu bytes; stopped reading",
					 addr, max_reply);
				goto fail_msg;
			}
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			rc = -errno;
			goto fail;
		}
		rc = request_wait(fd, POLLIN, deadline);
		if (rc)
			goto fail;
	}
	close(fd);
	buf[len] = 0;
	*reply = buf;
	*reply_len = len;
	return 0;
fail:
	if (rc == -ETIMEDOUT)
		snprintf(err, errlen, "%s %s: no whole reply within --timeout %u ms (%zu bytes received)",
			 what, addr, timeout_ms, len);
	else
		snprintf(err, errlen, "%s %s: %s", what, addr, strerror(-rc));
fail_msg:
	free(buf);
	close(fd);
	return rc;
}
