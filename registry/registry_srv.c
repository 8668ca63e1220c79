// SPDX-License-Identifier: MIT
/*
 * The registry server app (`salvo registry serve`) on the engine's workers,
 * plus the two client sides: one request (`join`, `list`) and the load
 * generator (`registry bench`).
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <liburing.h>

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
			if (c)
				conn_retire(s, c, &nd);
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
	if (n)
		handle_rx(w, s, (unsigned int)n, now);
	/* Silent or slow clients: an error reply and close, nobody else waits. */
	while (s->whead && s->whead->deadline <= now) {
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

/* ---- the load generator ----------------------------------------------------- */

enum { B_IDLE, B_CONNECTING, B_READING };

struct bconn {
	int fd;			/* epoll: the socket */
	uint8_t state;
	bool open;		/* uring: its fixed-file slot holds a socket */
	bool armed;		/* uring: a multishot receive is pending */
	bool aborting;		/* uring: timed out, cancelled, waiting for the last CQE */
	uint64_t t0;
	size_t got;
	char head[10];		/* enough to tell {"error" from a list */
	char last;
};

struct bshared {
	const struct salvo_registry_bench_cfg *cfg;
	uint64_t started;	/* atomic: joins claimed (count mode) */
	uint64_t seq;		/* atomic: name sequence */
	uint64_t end_ns;
	pthread_mutex_t lock;	/* first_error only */
	char first_error[256];
};

struct bthread {
	pthread_t tid;
	struct bshared *sh;
	unsigned int nconns;
	struct salvo_hist *lat;
	uint64_t joins, error_replies, failed, bytes;
	int rc;
	bool epoll;		/* io_uring unavailable: the epoll loop ran */
};

static void bench_note(struct bshared *sh, const char *what, int err)
{
	pthread_mutex_lock(&sh->lock);
	if (!sh->first_error[0])
		snprintf(sh->first_error, sizeof(sh->first_error), "%s: %s", what, strerror(err));
	pthread_mutex_unlock(&sh->lock);
}

static bool bench_stopping(struct bshared *sh, uint64_t now)
{
	const struct salvo_registry_bench_cfg *cfg = sh->cfg;

	if (cfg->stop && __atomic_load_n(cfg->stop, __ATOMIC_RELAXED))
		return true;
	return sh->end_ns && now >= sh->end_ns;
}

static void bench_close(int ep, struct bconn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = B_IDLE;
}

/* Whether one more join may start (count mode claims it). */
static bool bench_claim(struct bshared *sh, uint64_t now)
{
	const struct salvo_registry_bench_cfg *cfg = sh->cfg;

	if (bench_stopping(sh, now))
		return false;
	/* Relaxed: a ticket counter, nothing is published through it. */
	return !cfg->count || __atomic_fetch_add(&sh->started, 1, __ATOMIC_RELAXED) < cfg->count;
}

/* The next name: PREFIX + (seq mod names). */
static int bench_name(struct bshared *sh, char *name, size_t len)
{
	const struct salvo_registry_bench_cfg *cfg = sh->cfg;
	uint64_t seq = __atomic_fetch_add(&sh->seq, 1, __ATOMIC_RELAXED);
	int n = snprintf(name, len, "%s%llu", cfg->prefix ? cfg->prefix : "bench-",
			 (unsigned long long)(seq % (cfg->names ? cfg->names : 1000)));

	return n < 0 ? 0 : (int)SALVO_MIN((size_t)n, len - 1);
}

/* A whole reply arrived (EOF): a join, an error reply or a failure. */
static void bench_done(struct bthread *t, struct bconn *c, uint64_t now)
{
	if (c->got >= 2 && c->head[0] == '{' && c->last == '}') {
		if (c->got >= 9 && !memcmp(c->head, "{\"error\"", 8)) {
			t->error_replies++;
		} else {
			t->joins++;
			salvo_hist_record(t->lat, now - c->t0);
		}
	} else {
		t->failed++;
		bench_note(t->sh, "short reply", EPROTO);
	}
}

/* Bytes of a reply: keep the first ones and the last one, discard the rest. */
static void bench_data(struct bthread *t, struct bconn *c, const uint8_t *buf, size_t n)
{
	if (c->got < sizeof(c->head))
		memcpy(c->head + c->got, buf, SALVO_MIN(n, sizeof(c->head) - c->got));
	c->got += n;
	c->last = (char)buf[n - 1];
	t->bytes += n;
}

static void bench_start(struct bthread *t, int ep, struct bconn *c, uint64_t now)
{
	struct bshared *sh = t->sh;
	const struct salvo_registry_bench_cfg *cfg = sh->cfg;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

	if (!bench_claim(sh, now))
		return;
	c->fd = socket(cfg->dest.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		t->failed++;
		bench_note(sh, "socket", errno);
		return;
	}
	c->t0 = now;
	c->got = 0;
	c->state = B_CONNECTING;
	if (connect(c->fd, &cfg->dest.sa, cfg->dest.len) && errno != EINPROGRESS) {
		t->failed++;
		bench_note(sh, "connect", errno);
		close(c->fd);
		c->fd = -1;
		c->state = B_IDLE;
		return;
	}
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void bench_event(struct bthread *t, int ep, struct bconn *c, uint32_t evs, uint8_t *buf,
			size_t buflen)
{
	struct bshared *sh = t->sh;

	if (c->state == B_CONNECTING) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		char name[300];
		socklen_t l = sizeof(int);
		int e = 0, n;

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
		if (e || (evs & EPOLLERR)) {
			t->failed++;
			bench_note(sh, "connect", e ? e : ECONNREFUSED);
			bench_close(ep, c);
			return;
		}
		n = bench_name(sh, name, sizeof(name));
		if (send(c->fd, name, (size_t)n, MSG_NOSIGNAL) != n) {
			t->failed++;
			bench_note(sh, "send", errno);
			bench_close(ep, c);
			return;
		}
		c->state = B_READING;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	for (;;) {
		ssize_t n = read(c->fd, buf, buflen);

		if (n > 0) {
			bench_data(t, c, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n == 0) {
			bench_done(t, c, salvo_now_ns());
		} else {
			t->failed++;
			bench_note(sh, "read", errno);
		}
		bench_close(ep, c);
		return;
	}
}

static void bench_thread_epoll(struct bthread *t)
{
	struct bshared *sh = t->sh;
	uint64_t tmo = (uint64_t)(sh->cfg->timeout_ms ? sh->cfg->timeout_ms : 5000) * NSEC_PER_MSEC;
	struct epoll_event evs[256];
	struct bconn *conns;
	uint64_t next_scan = 0;
	uint8_t *buf;
	unsigned int i;
	int ep;

	conns = calloc(t->nconns, sizeof(*conns));
	buf = malloc(1 << 16);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || !buf || ep < 0) {
		t->rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < t->nconns; i++) {
		conns[i].fd = -1;
		bench_start(t, ep, &conns[i], salvo_now_ns());
	}
	for (;;) {
		uint64_t now;
		bool busy = false;
		int n, k;

		n = epoll_wait(ep, evs, 256, 20);
		now = salvo_now_ns();
		for (k = 0; k < n; k++)
			bench_event(t, ep, evs[k].data.ptr, evs[k].events, buf, 1 << 16);
		if (now >= next_scan) {
			/* A connection without an answer in time counts as failed. */
			for (i = 0; i < t->nconns; i++) {
				if (conns[i].state != B_IDLE && now - conns[i].t0 > tmo) {
					t->failed++;
					bench_note(sh, "no reply", ETIMEDOUT);
					bench_close(ep, &conns[i]);
				}
			}
			next_scan = now + 100 * NSEC_PER_MSEC;
		}
		for (i = 0; i < t->nconns; i++) {
			if (conns[i].state == B_IDLE)
				bench_start(t, ep, &conns[i], now);
			busy |= conns[i].state != B_IDLE;
		}
		if (!busy)
			break;	/* stopping, or the count is reached and all answered */
		if (bench_stopping(sh, now)) {
			for (i = 0; i < t->nconns; i++)
				bench_close(ep, &conns[i]);	/* cut off in flight: not counted */
			break;
		}
	}
out:
	if (ep >= 0)
		close(ep);
	free(conns);
	free(buf);
}


/*
 * The io_uring loop: one ring per thread, each connection a fixed-file slot.
 * A join is one linked chain SOCKET (direct, into the slot; replacing the
 * previous connection's socket closes it) -> CONNECT -> SEND of the name,
 * only the SEND posting a CQE on success, then one multishot RECV into a
 * provided-buffer ring until EOF.  Buffers go back to the ring as soon as
 * their first bytes / last byte are looked at: the load generator keeps
 * no reply.  Submissions and completions of all connections share one
 * io_uring_enter per loop.
 */
#define BU_BUF_SIZE (64U << 10)
#define BU_BGID 0

enum { BU_AUX = 1, BU_SEND, BU_RECV };	/* user_data: conn index << 8 | kind */

struct bu {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t br_len;
	uint8_t *bufs;
	size_t bufs_len;
	unsigned int nbufs;
	int recycled;		/* buffers added since the last advance */
	char *names;		/* name_cap bytes per connection, stable until its SEND ran */
	size_t name_cap;
	uint32_t *idle;		/* connections to (re)start */
	uint32_t *rearm;	/* connections whose multishot receive ended early */
	unsigned int nidle, nrearm, active;
};

static struct io_uring_sqe *bu_sqe(struct bu *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void bu_recycle(struct bu *u, unsigned int bid)
{
	io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * BU_BUF_SIZE, BU_BUF_SIZE, bid,
			      io_uring_buf_ring_mask(u->nbufs), u->recycled++);
}

static bool bu_arm_recv(struct bu *u, struct bconn *c, uint32_t i)
{
	struct io_uring_sqe *sqe = bu_sqe(u);

	if (!sqe)
		return false;
	io_uring_prep_recv_multishot(sqe, (int)i, NULL, 0, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
	sqe->buf_group = BU_BGID;
	io_uring_sqe_set_data64(sqe, (uint64_t)i << 8 | BU_RECV);
	c->armed = true;
	return true;
}

/* Start a join on slot i; false when none may start (stopping, count reached). */
static bool bu_start(struct bthread *t, struct bu *u, struct bconn *c, uint32_t i, uint64_t now)
{
	const struct salvo_registry_bench_cfg *cfg = t->sh->cfg;
	struct io_uring_sqe *sqe[3];
	char *name = u->names + (size_t)i * u->name_cap;
	int n, k;

	if (!bench_claim(t->sh, now))
		return false;
	if (io_uring_sq_space_left(&u->ring) < 3)
		io_uring_submit(&u->ring);
	for (k = 0; k < 3; k++)
		sqe[k] = io_uring_get_sqe(&u->ring);
	if (!sqe[2]) {	/* not expected: the SQ was just flushed */
		t->failed++;
		bench_note(t->sh, "io_uring_get_sqe", EBUSY);
		return true;
	}
	n = bench_name(t->sh, name, u->name_cap);
	io_uring_prep_socket_direct(sqe[0], cfg->dest.sa.sa_family, SOCK_STREAM, 0, i, 0);
	io_uring_prep_connect(sqe[1], (int)i, &cfg->dest.sa, cfg->dest.len);
	io_uring_prep_send(sqe[2], (int)i, name, (size_t)n, MSG_NOSIGNAL);
	for (k = 0; k < 3; k++) {
		/* Only the SEND reports success: it ends the chain either way. */
		if (k < 2) {
			sqe[k]->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
			io_uring_sqe_set_data64(sqe[k], (uint64_t)i << 8 | BU_AUX);
		}
		if (k)
			sqe[k]->flags |= IOSQE_FIXED_FILE;
	}
	io_uring_sqe_set_data64(sqe[2], (uint64_t)i << 8 | BU_SEND);
	c->open = true;
	c->state = B_CONNECTING;
	c->aborting = false;
	c->armed = false;
	c->t0 = now;
	c->got = 0;
	u->active++;
	return true;
}

/* The connection's last CQE came: its slot can take the next join. */
static void bu_finish(struct bu *u, struct bconn *c, uint32_t i)
{
	c->state = B_IDLE;
	c->armed = false;
	u->active--;
	u->idle[u->nidle++] = i;
}

static void bu_cqe(struct bthread *t, struct bu *u, struct bconn *conns, struct io_uring_cqe *cqe,
		   uint64_t now)
{
	uint32_t i = (uint32_t)(cqe->user_data >> 8);
	struct bconn *c = &conns[i];
	int res = cqe->res;

	switch (cqe->user_data & 0xff) {
	case BU_AUX:	/* SOCKET or CONNECT failed; the SEND's -ECANCELED ends the chain */
		if (res != -ECANCELED && !c->aborting)
			bench_note(t->sh, "connect", -res);
		return;
	case BU_SEND:
		if (c->aborting) {
			bu_finish(u, c, i);
		} else if (res < 0) {
			t->failed++;
			if (res != -ECANCELED)
				bench_note(t->sh, "send", -res);
			bu_finish(u, c, i);
		} else {
			c->state = B_READING;
			if (!bu_arm_recv(u, c, i))
				u->rearm[u->nrearm++] = i;
		}
		return;
	case BU_RECV:
		break;
	default:
		return;
	}
	if (res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		unsigned int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		if (!c->aborting)
			bench_data(t, c, u->bufs + (size_t)bid * BU_BUF_SIZE, (size_t)res);
		bu_recycle(u, bid);
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	c->armed = false;
	if (c->aborting) {
		bu_finish(u, c, i);
	} else if (res == 0) {
		bench_done(t, c, now);
		bu_finish(u, c, i);
	} else if (res > 0 || res == -ENOBUFS) {
		/* Ended early (no buffer was free): again once buffers are back. */
		u->rearm[u->nrearm++] = i;
	} else {
		t->failed++;
		bench_note(t->sh, "read", -res);
		bu_finish(u, c, i);
	}
}

/* -errno when this thread cannot have a ring (io_uring disabled, old kernel): epoll then. */
static int bu_open(struct bu *u, unsigned int nconns, const struct salvo_registry_bench_cfg *cfg)
{
	struct io_uring_buf_reg reg = {0};
	struct io_uring_params prm;
	static const unsigned int tries[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
	};
	unsigned int sq = 64, k;
	int ret = -EINVAL;

	while (sq < 4 * nconns && sq < 4096)
		sq *= 2;
	for (k = 0; k < SALVO_ARRAY_SIZE(tries); k++) {
		memset(&prm, 0, sizeof(prm));
		prm.flags = tries[k] | IORING_SETUP_CQSIZE;
		prm.cq_entries = 4 * sq;
		ret = io_uring_queue_init_params(sq, &u->ring, &prm);
		if (ret != -EINVAL)
			break;
	}
	if (ret)
		return ret;
	/* Two buffers per connection in flight is plenty: each is back at once. */
	u->nbufs = 16;
	while (u->nbufs < 2 * nconns && u->nbufs < 512)
		u->nbufs *= 2;
	u->bufs_len = (size_t)u->nbufs * BU_BUF_SIZE;
	u->br_len = ((size_t)u->nbufs * sizeof(struct io_uring_buf) + 4095) & ~(size_t)4095;
	u->bufs = mmap(NULL, u->bufs_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u->br = mmap(NULL, u->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u->name_cap = strlen(cfg->prefix ? cfg->prefix : "bench-") + 24;
	u->names = calloc(nconns, u->name_cap);
	u->idle = calloc(nconns, sizeof(*u->idle));
	u->rearm = calloc(nconns, sizeof(*u->rearm));
	if (u->bufs == MAP_FAILED || u->br == MAP_FAILED || !u->names || !u->idle || !u->rearm)
		return -ENOMEM;
	ret = io_uring_register_files_sparse(&u->ring, nconns);
	if (ret)
		return ret;
	reg.ring_addr = (uint64_t)(uintptr_t)u->br;
	reg.ring_entries = u->nbufs;
	reg.bgid = BU_BGID;
	ret = io_uring_register_buf_ring(&u->ring, &reg, 0);
	if (ret)
		return ret;
	io_uring_buf_ring_init(u->br);
	for (k = 0; k < u->nbufs; k++)
		bu_recycle(u, k);
	io_uring_buf_ring_advance(u->br, u->recycled);
	u->recycled = 0;
	return 0;
}

static void bu_close(struct bu *u)
{
	/* Exiting the ring closes the sockets in its slots and cancels what is pending. */
	if (u->ring.ring_fd > 0)
		io_uring_queue_exit(&u->ring);
	if (u->bufs && u->bufs != MAP_FAILED)
		munmap(u->bufs, u->bufs_len);
	if (u->br && u->br != MAP_FAILED)
		munmap(u->br, u->br_len);
	free(u->names);
	free(u->idle);
	free(u->rearm);
}

static int bench_thread_uring(struct bthread *t)
{
	struct bshared *sh = t->sh;
	uint64_t tmo = (uint64_t)(sh->cfg->timeout_ms ? sh->cfg->timeout_ms : 5000) * NSEC_PER_MSEC;
	struct __kernel_timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	struct bconn *conns = calloc(t->nconns, sizeof(*conns));
	struct bu u = { .ring.ring_fd = -1 };
	uint64_t next_scan = 0, now;
	unsigned int i;
	int rc;

	if (!conns)
		return -ENOMEM;
	rc = bu_open(&u, t->nconns, sh->cfg);
	if (rc == -ENOSYS || rc == -EPERM || rc == -EINVAL || rc == -EOPNOTSUPP)
		t->epoll = true;	/* no ring here (io_uring disabled or too old) */
	if (rc)
		goto out;
	for (i = t->nconns; i-- > 0;)
		u.idle[u.nidle++] = i;
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		now = salvo_now_ns();
		/* Start what may start; a slot refused now (count reached) stays idle. */
		while (u.nidle) {
			uint32_t k = u.idle[u.nidle - 1];

			if (!bu_start(t, &u, &conns[k], k, now))
				break;
			u.nidle--;
		}
		while (u.nrearm && bu_arm_recv(&u, &conns[u.rearm[u.nrearm - 1]], u.rearm[u.nrearm - 1]))
			u.nrearm--;
		if (!u.active || bench_stopping(sh, now))
			break;	/* all answered (count), or the end: in flight is not counted */
		rc = io_uring_submit_and_wait_timeout(&u.ring, &cqe, 1, &ts, NULL);
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			bench_note(sh, "io_uring_enter", -rc);
			goto out;
		}
		rc = 0;
		now = salvo_now_ns();
		io_uring_for_each_cqe(&u.ring, head, cqe) {
			bu_cqe(t, &u, conns, cqe, now);
			seen++;
		}
		io_uring_cq_advance(&u.ring, seen);
		if (u.recycled) {
			io_uring_buf_ring_advance(u.br, u.recycled);
			u.recycled = 0;
		}
		if (now < next_scan)
			continue;
		/* A connection without an answer in time fails: cancel what it has pending. */
		for (i = 0; i < t->nconns; i++) {
			struct bconn *c = &conns[i];
			struct io_uring_sqe *sqe;

			if (c->state == B_IDLE || c->aborting || now - c->t0 <= tmo)
				continue;
			t->failed++;
			bench_note(sh, "no reply", ETIMEDOUT);
			c->aborting = true;
			if (c->state == B_READING && !c->armed) {
				unsigned int k;	/* waiting for a re-arm: nothing to cancel */

				for (k = 0; k < u.nrearm && u.rearm[k] != i; k++)
					;
				if (k < u.nrearm)
					u.rearm[k] = u.rearm[--u.nrearm];
				bu_finish(&u, c, i);
			} else if ((sqe = bu_sqe(&u))) {
				io_uring_prep_cancel_fd(sqe, (int)i,
							IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
				io_uring_sqe_set_data64(sqe, 0);
			}
		}
		next_scan = now + 100 * NSEC_PER_MSEC;
	}
out:
	bu_close(&u);
	free(conns);
	return rc;
}

static void *bench_thread(void *arg)
{
	struct bthread *t = arg;
	int rc = bench_thread_uring(t);

	if (t->epoll)
		bench_thread_epoll(t);	/* the same load without a ring */
	else if (rc)
		t->rc = rc;
	return NULL;
}

int salvo_registry_bench(const struct salvo_registry_bench_cfg *cfg,
			 struct salvo_registry_bench_result *res, char *err, size_t errlen)
{
	unsigned int nt = SALVO_MAX(cfg->threads, 1U), nc = SALVO_MAX(cfg->connections, 1U), i;
	struct bshared sh = { .cfg = cfg };
	struct bthread *t;
	struct rlimit rl;
	uint64_t t0;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (!cfg->duration_ns && !cfg->count) {
		snprintf(err, errlen, "needs a duration or a count");
		return -EINVAL;
	}
	nt = SALVO_MIN(nt, nc);
	/* Each connection is a descriptor: lift the soft limit to the hard one. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY && nc + 64 > rl.rlim_cur) {
		snprintf(err, errlen, "%u connections need more descriptors than RLIMIT_NOFILE (%llu)", nc,
			 (unsigned long long)rl.rlim_cur);
		return -EMFILE;
	}
	t = calloc(nt, sizeof(*t));
	if (!t || salvo_hist_create(&res->lat)) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&sh.lock, NULL);
	t0 = salvo_now_ns();
	sh.end_ns = cfg->duration_ns ? t0 + cfg->duration_ns : 0;
	for (i = 0; i < nt; i++) {
		t[i].sh = &sh;
		t[i].nconns = nc / nt + (i < nc % nt);
		if (salvo_hist_create(&t[i].lat) ||
		    pthread_create(&t[i].tid, NULL, bench_thread, &t[i])) {
			rc = -ENOMEM;
			snprintf(err, errlen, "cannot start bench thread %u", i);
			salvo_hist_destroy(t[i].lat);
			nt = i;
			break;
		}
	}
	for (i = 0; i < nt; i++) {
		pthread_join(t[i].tid, NULL);
		res->joins += t[i].joins;
		res->error_replies += t[i].error_replies;
		res->failed += t[i].failed;
		res->reply_bytes += t[i].bytes;
		salvo_hist_merge(res->lat, t[i].lat);
		salvo_hist_destroy(t[i].lat);
		if (t[i].rc && !rc) {
			rc = t[i].rc;
			snprintf(err, errlen, "bench thread: %s", strerror(-rc));
		}
	}
	res->seconds = (double)(salvo_now_ns() - t0) / 1e9;
	snprintf(res->first_error, sizeof(res->first_error), "%s", sh.first_error);
	pthread_mutex_destroy(&sh.lock);
	free(t);
	if (rc) {
		salvo_hist_destroy(res->lat);
		res->lat = NULL;
	}
	return rc;
}
