// SPDX-License-Identifier: MIT
/*
 * The syscall backend's stream half (TCP, unix stream): the reference the
 * io_uring stream path is measured against.
 *
 * Clients connect their share of --streams in open() (non-blocking connect,
 * poll bounded by --timeout) and report each as CONN_OPEN on the first
 * rx_burst.  Sends are blocking send() loops of whole buffers, bounded by
 * SO_SNDTIMEO.  Servers and clients receive through one epoll set
 * (level-triggered): the listener accepts, each ready connection gives one
 * recv() per call.  A peer's FIN is reported as CONN_CLOSE; our side stays
 * writable (a half-closed client may wait for a reply) and is closed when
 * the app releases that event, as the io_uring backend does.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <salvo/backend.h>

#include "sock.h"
#include "syscall_internal.h"

#define SS_MAX_CONNS 4096
#define SS_NEV 64
#define SS_NO_IDX UINT32_MAX

enum { SC_FREE, SC_OPEN, SC_EOF, SC_DIAL };	/* SC_DIAL: connect in progress (cfg->dial) */

struct ss_conn {
	int fd;
	uint8_t state;
	uint16_t evout;		/* its events queued or held by the app */
	/* queued sends (cfg->send_timeout_ms): */
	bool close_after;	/* close once the queue is sent */
	bool wantout;		/* EPOLLOUT asked for */
	bool dialed;		/* connected by a tx CONN_OPEN: non-blocking, sends queue */
	uint32_t qhead, qtail;	/* pool idx, linked by txnext */
	uint64_t send_end_ns;	/* the queue head must be sent by then; SC_DIAL: connect deadline */
	struct salvo_addr peer;
};

struct ss_event {
	uint16_t flags;
	uint32_t conn;
	int err;
};

struct sys_stream {
	int ep;
	int lfd;
	bool accept_paused;	/* table full: the listen backlog holds the rest (accept_all) */
	bool discard;		/* cfg->discard: MSG_TRUNC receives, no data in rx packets */
	bool splice;		/* cfg->splice: sends by sendfile from payload */
	struct salvo__sock_payload payload;
	bool unlink_path;
	struct ss_conn *c;
	unsigned int nc;
	struct ss_event *evq;	/* pending events, ring */
	unsigned int evcap, evhead, evn;
	/*
	 * With a send deadline (cfg->send_timeout_ms) sends do not block: each
	 * connection queues what the socket did not take and goes on at
	 * EPOLLOUT, so a peer that does not read stalls only itself, and is
	 * reset at its deadline.
	 */
	bool queued;
	uint64_t send_timeout_ns;
	uint32_t *txnext;	/* per pool index */
	unsigned int nqueued;	/* connections with a queue */
	unsigned int ndial;	/* connections in SC_DIAL */
	uint64_t next_check_ns;
	uint64_t retrans_closed, retrans_next_ns;
};

static void ev_add(struct sys_stream *s, uint16_t flags, uint32_t conn, int err)
{
	if (s->evn == s->evcap)
		return;	/* cannot happen: two events per connection slot at most */
	s->evq[(s->evhead + s->evn) % s->evcap] = (struct ss_event){flags, conn, err};
	s->evn++;
	s->c[conn].evout++;	/* released in salvo__sys_stream_release() */
}

static void update_retrans(struct salvo_port *p, struct sys_stream *s)
{
	uint64_t t = s->retrans_closed;

	for (unsigned int i = 0; i < s->nc; i++)
		if (s->c[i].state != SC_FREE)
			t += salvo__sock_retrans(s->c[i].fd, &s->c[i].peer);
	p->stats.tx_retrans = t;
}

static void conn_close(struct salvo_port *p, struct sys_stream *s, uint32_t id)
{
	struct ss_conn *c = &s->c[id];

	if (c->state == SC_FREE)
		return;
	if (c->state == SC_DIAL)
		s->ndial--;
	if (c->qhead != SS_NO_IDX)
		s->nqueued--;
	while (c->qhead != SS_NO_IDX) {
		struct salvo_pkt *k = salvo_pool_pkt(p->pool, c->qhead);

		c->qhead = s->txnext[k->idx];
		salvo_pool_put(p->pool, &k, 1);
	}
	c->qtail = SS_NO_IDX;
	c->close_after = c->wantout = c->dialed = false;
	s->retrans_closed += salvo__sock_retrans(c->fd, &c->peer);
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	/* A close, not a reset; after the peer's FIN (read to EOF) nothing is unread. */
	if (c->state != SC_EOF)
		salvo__sock_discard_unread(c->fd);
	close(c->fd);
	c->fd = -1;
	c->state = SC_FREE;
	salvo_cnt_add(&p->stats.conns_closed, 1);
}

/* Readiness to ask for: input while open, output while something is queued. */
static void conn_events(struct sys_stream *s, uint32_t id, bool out)
{
	struct ss_conn *c = &s->c[id];
	struct epoll_event e = {.events = (c->state == SC_OPEN ? EPOLLIN : 0) |
					  (out || c->state == SC_DIAL ? EPOLLOUT : 0),
				.data.u32 = id + 1};

	if (!epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e))
		c->wantout = out;
}

/* The peer stopped reading: CONN_ERROR -ETIMEDOUT (unless its FIN was reported), then a reset. */
static void conn_abort(struct salvo_port *p, struct sys_stream *s, uint32_t id)
{
	struct ss_conn *c = &s->c[id];
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	salvo_cnt_add(&p->stats.tx_errors, 1);
	if (c->state == SC_OPEN)
		ev_add(s, SALVO_PKT_F_CONN_ERROR, id, -ETIMEDOUT);
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(p, s, id);
}

/* One send of k's bytes [off, len): from its buffer, or from the memfd (cfg->splice). */
static ssize_t send_some(struct sys_stream *s, int fd, const struct salvo_pkt *k, uint32_t off,
			 int flags)
{
	if (s->splice) {
		ssize_t r = salvo__sock_payload_send(&s->payload, fd, off, k->len - off);

		/* 0 would be the memfd's end: short of the message, never progress. */
		if (r == 0 && off < k->len) {
			errno = EIO;
			return -1;
		}
		return r;
	}
	return send(fd, k->data + off, k->len - off, flags);
}

/*
 * Blocking sends: consecutive unflagged messages to one connection go out
 * in one sendmsg (up to SS_IOV of them, 1 MiB at the default 128 KiB
 * size) instead of one send each: the same bytes in the same order, an
 * eighth of the system calls (issue 13 R3; docs/tcp.md).  Returns how
 * many of v it took, all sent or the connection failed (as for one).
 */
#define SS_IOV 8
static unsigned int send_run(struct salvo_port *p, struct sys_stream *s, struct salvo_pkt **v,
			     unsigned int n)
{
	uint32_t id = v[0]->conn;
	struct iovec iov[SS_IOV];
	struct msghdr mh = {.msg_iov = iov};
	unsigned int m = 0;

	while (m < n && m < SS_IOV && v[m]->conn == id && !v[m]->flags) {
		iov[m].iov_base = v[m]->data;
		iov[m].iov_len = v[m]->len;
		m++;
	}
	mh.msg_iovlen = m;
	while (mh.msg_iovlen) {
		ssize_t r = sendmsg(s->c[id].fd, &mh, MSG_NOSIGNAL);

		if (r < 0) {
			int err = errno == EAGAIN ? -ETIMEDOUT : -errno;

			if (errno == EINTR)
				continue;
			salvo_cnt_add(&p->stats.tx_errors, 1);
			ev_add(s, SALVO_PKT_F_CONN_ERROR, id, err);
			conn_close(p, s, id);
			break;
		}
		/* A partial send (SO_SNDTIMEO, a signal): go on from where it stopped. */
		while (mh.msg_iovlen && (size_t)r >= mh.msg_iov->iov_len) {
			r -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base = (uint8_t *)mh.msg_iov->iov_base + r;
			mh.msg_iov->iov_len -= (size_t)r;
		}
	}
	return m;
}

/* Send what the socket takes now; the rest waits for EPOLLOUT. */
static void conn_flush(struct salvo_port *p, struct sys_stream *s, uint32_t id)
{
	struct ss_conn *c = &s->c[id];

	while (c->qhead != SS_NO_IDX) {
		struct salvo_pkt *k = salvo_pool_pkt(p->pool, c->qhead);
		uint16_t fl = k->flags;

		while (k->bid < k->len) {
			ssize_t r = send_some(s, c->fd, k, k->bid, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (r >= 0) {
				k->bid += (uint32_t)r;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (!c->wantout)
					conn_events(s, id, true);
				return;
			}
			salvo_cnt_add(&p->stats.tx_errors, 1);
			if (c->state == SC_OPEN)
				ev_add(s, SALVO_PKT_F_CONN_ERROR, id, -errno);
			conn_close(p, s, id);
			return;
		}
		c->qhead = s->txnext[k->idx];
		salvo_pool_put(p->pool, &k, 1);
		if (c->qhead == SS_NO_IDX) {
			c->qtail = SS_NO_IDX;
			s->nqueued--;
		} else {
			c->send_end_ns = salvo_now_ns() + s->send_timeout_ns;
		}
		if (fl & SALVO_PKT_F_SHUT_WR)
			shutdown(c->fd, SHUT_WR);
		if (fl & SALVO_PKT_F_CONN_CLOSE)
			c->close_after = true;
	}
	if (c->close_after) {
		conn_close(p, s, id);
		return;
	}
	if (c->wantout)
		conn_events(s, id, false);
}

/* Reset the connections whose queue head is past its deadline. */
static void check_deadlines(struct salvo_port *p, struct sys_stream *s)
{
	uint64_t now = salvo_now_ns();

	if (!((s->nqueued && s->send_timeout_ns) || s->ndial) || now < s->next_check_ns)
		return;
	s->next_check_ns = now + 10 * NSEC_PER_MSEC;
	for (uint32_t id = 0; id < s->nc; id++) {
		struct ss_conn *c = &s->c[id];

		if (c->state == SC_DIAL && now >= c->send_end_ns) {
			ev_add(s, SALVO_PKT_F_CONN_ERROR, id, -ETIMEDOUT);
			conn_close(p, s, id);
		} else if (s->send_timeout_ns && c->state != SC_FREE && c->state != SC_DIAL &&
			   c->qhead != SS_NO_IDX && now >= c->send_end_ns) {
			conn_abort(p, s, id);
		}
	}
}

/*
 * A tx packet flagged SALVO_PKT_F_CONN_OPEN: a non-blocking connect of free
 * slot id to cfg->remote, bounded by cfg->timeout_ms (check_deadlines); the
 * packet waits in the slot's queue until EPOLLOUT says the connect ended
 * (dial_done).  The socket stays non-blocking and its sends queue (as with
 * --send-timeout), so a dialing app never blocks in send.
 */
static int conn_dial(struct salvo_port *p, struct sys_stream *s, uint32_t id)
{
	const struct salvo_cfg *cfg = p->cfg;
	struct epoll_event e = {.events = EPOLLOUT, .data.u32 = id + 1};
	struct ss_conn *c;
	int fd, err;

	if (cfg->listen || id >= s->nc)
		return -EINVAL;
	c = &s->c[id];
	if (c->state != SC_FREE || c->evout)
		return -EBUSY;
	fd = socket(cfg->remote.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (cfg->sndbuf)
		salvo__sock_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, cfg->sndbuf);
	if (cfg->have_local && bind(fd, &cfg->local.sa, cfg->local.len))
		goto fail;
	if (connect(fd, &cfg->remote.sa, cfg->remote.len) && errno != EINPROGRESS)
		goto fail;
	/* Done or not, EPOLLOUT reports it (at once when it is done). */
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e))
		goto fail;
	c->fd = fd;
	c->state = SC_DIAL;
	c->dialed = true;
	c->peer = cfg->remote;
	c->qhead = c->qtail = SS_NO_IDX;
	c->close_after = c->wantout = false;
	c->send_end_ns = salvo_now_ns() +
			 (uint64_t)(cfg->timeout_ms ? cfg->timeout_ms : 5000) * NSEC_PER_MSEC;
	s->ndial++;
	return 0;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* EPOLLOUT on a dialing slot: CONN_OPEN and send what waits, or CONN_ERROR. */
static void dial_done(struct salvo_port *p, struct sys_stream *s, uint32_t id)
{
	struct ss_conn *c = &s->c[id];
	socklen_t l = sizeof(int);
	int err = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l))
		err = errno;
	if (err) {
		ev_add(s, SALVO_PKT_F_CONN_ERROR, id, -err);
		conn_close(p, s, id);
		return;
	}
	s->ndial--;
	c->state = SC_OPEN;
	salvo_cnt_add(&p->stats.conns_opened, 1);
	ev_add(s, SALVO_PKT_F_CONN_OPEN, id, 0);
	if (c->qhead != SS_NO_IDX)
		c->send_end_ns = salvo_now_ns() + s->send_timeout_ns;
	conn_events(s, id, false);
	conn_flush(p, s, id);
}

static int conn_add(struct salvo_port *p, struct sys_stream *s, uint32_t id, int fd)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u32 = id + 1};
	struct timeval tv = {
		.tv_sec = p->cfg->timeout_ms / 1000,
		.tv_usec = (long)(p->cfg->timeout_ms % 1000) * 1000,
	};

	/* A blocked send gives up after --timeout rather than hang the run. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* Accepted ones take --sndbuf as the io_uring backend's do (set_bufs()). */
	if (p->cfg->listen && p->cfg->sndbuf)
		salvo__sock_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, p->cfg->sndbuf);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e))
		return -errno;
	s->c[id].fd = fd;
	s->c[id].state = SC_OPEN;
	s->c[id].qhead = s->c[id].qtail = SS_NO_IDX;
	s->c[id].close_after = s->c[id].wantout = false;
	salvo_cnt_add(&p->stats.conns_opened, 1);
	return 0;
}

static int set_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) ? -errno : 0;
}

/* Non-blocking connect bounded by timeout_ms; the socket is blocking afterwards. */
static int connect_timed(int fd, const struct salvo_addr *a, unsigned int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t l = sizeof(int);
	int err = 0, r;

	if (connect(fd, &a->sa, a->len) == 0)
		return set_blocking(fd);
	if (errno != EINPROGRESS && errno != EAGAIN)
		return -errno;
	do
		r = poll(&pfd, 1, (int)timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l))
		return -errno;
	if (err)
		return -err;
	return set_blocking(fd);
}

static int open_listener(struct salvo_port *p, struct sys_stream *s, const struct salvo_cfg *cfg)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u32 = 0};
	int fd;

	if (salvo_addr_is_unix(&cfg->local) && p->worker)
		return 0;	/* a unix path has one listener: worker 0 */
	fd = salvo__sock_open_listener(cfg, p->nworkers, p->err, sizeof(p->err));
	if (fd < 0)
		return fd;
	s->lfd = fd;
	s->unlink_path = salvo_addr_is_unix(&cfg->local);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e))
		return salvo_port_fail(p, -errno, "epoll_ctl", NULL);
	return 0;
}

static int open_clients(struct salvo_port *p, struct sys_stream *s, const struct salvo_cfg *cfg)
{
	unsigned int n = salvo_worker_nflows(SALVO_MAX(cfg->streams, 1u), p->worker, p->nworkers);

	for (unsigned int i = 0; i < n; i++) {
		int fd = salvo__sock_open_stream(cfg, p->err, sizeof(p->err));
		int rc;

		if (fd < 0)
			return fd;
		rc = connect_timed(fd, &cfg->remote, cfg->timeout_ms ? cfg->timeout_ms : 5000);
		if (rc == 0) {
			s->c[i].peer = cfg->remote;
			rc = conn_add(p, s, i, fd);
		}
		if (rc) {
			close(fd);
			return salvo_port_fail(p, rc, "connect", &cfg->remote);
		}
		ev_add(s, SALVO_PKT_F_CONN_OPEN, i, 0);
	}
	return 0;
}

int salvo__sys_stream_open(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct sys_stream *s;
	struct rlimit rl;
	uint32_t bufsz, npool;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	p->priv = s;
	s->lfd = -1;
	s->payload.fd = -1;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0) {
		rc = salvo_port_fail(p, -errno, "epoll_create1", NULL);
		goto fail;
	}
	s->nc = cfg->listen ? SS_MAX_CONNS :
			      SALVO_MAX(salvo_worker_nflows(SALVO_MAX(cfg->streams, 1u), p->worker,
							    p->nworkers), 1u);
	if (cfg->listen && !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    s->nc + 64 > rl.rlim_cur)
		s->nc = rl.rlim_cur > 128 ? (unsigned int)rl.rlim_cur - 64 : 64;
	p->conn_slots = s->nc;
	s->c = calloc(s->nc, sizeof(*s->c));
	/* OPEN, CLOSE, ERROR: a slot is not reused while any is unreleased. */
	s->evcap = 3 * s->nc + 16;
	s->evq = calloc(s->evcap, sizeof(*s->evq));
	if (!s->c || !s->evq) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < s->nc; i++) {
		s->c[i].fd = -1;
		s->c[i].qhead = s->c[i].qtail = SS_NO_IDX;
	}
	s->queued = cfg->send_timeout_ms > 0;
	s->discard = cfg->discard;
	s->splice = cfg->splice && !cfg->listen;
	s->send_timeout_ns = (uint64_t)cfg->send_timeout_ms * NSEC_PER_MSEC;
	/* A queued send (or a dial's first) holds its descriptor: one per connection then. */
	npool = (cfg->listen && cfg->tx_per_conn) || (!cfg->listen && cfg->dial) ? s->nc + 128 : 128;
	s->txnext = calloc(npool, sizeof(*s->txnext));
	if (!s->txnext) {
		rc = -ENOMEM;
		goto fail;
	}
	bufsz = SALVO_MAX(SALVO_MAX(cfg->size, cfg->message_len), 65536u);
	rc = salvo_pool_create(&p->pool, npool, bufsz, NULL);
	if (rc) {
		salvo_port_fail(p, rc, "pool", NULL);
		goto fail;
	}
	/* With cfg->dial the slots wait for tx packets flagged CONN_OPEN (conn_dial). */
	rc = cfg->listen ? open_listener(p, s, cfg) : cfg->dial ? 0 : open_clients(p, s, cfg);
	if (rc)
		goto fail;
	snprintf(p->info, sizeof(p->info), "%s, %s send, epoll receive",
		 cfg->listen ? "listener" : "connected streams", s->queued ? "queued" : "blocking");
	return 0;
fail:
	salvo__sys_stream_close(p);
	return rc;
}

int salvo__sys_stream_tx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct sys_stream *s = p->priv;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct salvo_pkt *k = v[i];
		struct ss_conn *c = k->conn < s->nc ? &s->c[k->conn] : NULL;
		uint32_t off = 0;

		if (salvo_unlikely(k->flags & SALVO_PKT_F_CONN_OPEN)) {
			int rc = conn_dial(p, s, k->conn);

			if (rc) {
				if (i)
					break;
				return rc;
			}
		}
		/* SC_EOF: the peer shut its side; ours still takes the reply. */
		if (!c || (c->state != SC_OPEN && c->state != SC_EOF && c->state != SC_DIAL)) {
			if (i)
				break;
			return -ENOTCONN;
		}
		if (s->splice) {
			int rc = salvo__sock_payload_fill(&s->payload, k->data, k->len);

			if (rc) {
				salvo_port_fail(p, rc, "memfd payload", NULL);
				if (i)
					break;
				return rc;
			}
		}
		if (s->queued || c->dialed) {
			k->bid = 0;	/* bytes sent so far */
			s->txnext[k->idx] = SS_NO_IDX;
			if (c->qtail == SS_NO_IDX) {
				c->qhead = k->idx;
				if (c->state != SC_DIAL)	/* there: the connect's deadline */
					c->send_end_ns = salvo_now_ns() + s->send_timeout_ns;
				s->nqueued++;
			} else {
				s->txnext[c->qtail] = k->idx;
			}
			c->qtail = k->idx;
			/* else it waits for EPOLLOUT behind the others (or the connect) */
			if (!c->wantout && c->state != SC_DIAL)
				conn_flush(p, s, k->conn);
			continue;
		}
		if (!s->splice && !k->flags && i + 1 < n && v[i + 1]->conn == k->conn &&
		    !v[i + 1]->flags) {
			unsigned int m = send_run(p, s, v + i, n - i);

			salvo_pool_put(p->pool, v + i, m);
			i += m - 1;
			continue;
		}
		while (off < k->len) {
			ssize_t r = send_some(s, c->fd, k, off, MSG_NOSIGNAL);

			if (r < 0) {
				int err = errno == EAGAIN ? -ETIMEDOUT : -errno;

				if (errno == EINTR)
					continue;
				salvo_cnt_add(&p->stats.tx_errors, 1);
				ev_add(s, SALVO_PKT_F_CONN_ERROR, k->conn, err);
				conn_close(p, s, k->conn);
				break;
			}
			off += (uint32_t)r;
		}
		if ((c->state == SC_OPEN || c->state == SC_EOF) && (k->flags & SALVO_PKT_F_SHUT_WR))
			shutdown(c->fd, SHUT_WR);
		if ((c->state == SC_OPEN || c->state == SC_EOF) && (k->flags & SALVO_PKT_F_CONN_CLOSE))
			conn_close(p, s, k->conn);
		/* Synchronous: the kernel has the bytes, the buffer goes back at once. */
		salvo_pool_put(p->pool, &k, 1);
	}
	if (salvo_now_ns() >= s->retrans_next_ns) {
		update_retrans(p, s);
		s->retrans_next_ns = salvo_now_ns() + 200 * NSEC_PER_MSEC;
	}
	return (int)i;
}

static unsigned int take_events(struct salvo_port *p, struct sys_stream *s, struct salvo_pkt **v,
				unsigned int n)
{
	unsigned int out = 0;

	while (s->evn && out < n) {
		struct ss_event *e = &s->evq[s->evhead];
		struct salvo_pkt *k;

		if (salvo_pool_get(p->pool, &k, 1) != 1)
			break;
		k->len = 0;
		k->flags = e->flags;
		k->conn = e->conn;
		k->err = e->err;
		k->peer = s->c[e->conn].peer;
		k->ts_ns = 0;
		v[out++] = k;
		s->evhead = (s->evhead + 1) % s->evcap;
		s->evn--;
	}
	return out;
}

static unsigned int free_slot(const struct sys_stream *s)
{
	unsigned int id;

	/* Not an id whose old connection still has events with the app (backend.h). */
	for (id = 0; id < s->nc && (s->c[id].state != SC_FREE || s->c[id].evout); id++)
		;
	return id;
}

/* Listener readiness on or off: level-triggered, a full table would spin on it. */
static void accept_pause(struct sys_stream *s, bool pause)
{
	struct epoll_event e = {.events = pause ? 0 : EPOLLIN, .data.u32 = 0};

	if (s->accept_paused != pause && !epoll_ctl(s->ep, EPOLL_CTL_MOD, s->lfd, &e))
		s->accept_paused = pause;
}

static void accept_all(struct salvo_port *p, struct sys_stream *s)
{
	for (;;) {
		struct salvo_addr a;
		socklen_t l = sizeof(a.ss);
		unsigned int id;
		int fd;

		/*
		 * Table full: leave the rest in the listen backlog until a slot
		 * is free, rather than close them without a word while the app
		 * could still answer them (a refusal, once they are in).
		 */
		if (free_slot(s) == s->nc) {
			accept_pause(s, true);
			return;
		}
		fd = accept4(s->lfd, &a.sa, &l, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				salvo_port_fail(p, -errno, "accept", NULL);
			return;
		}
		a.len = l;
		id = free_slot(s);
		if (id == s->nc || conn_add(p, s, id, fd)) {
			close(fd);
			salvo_cnt_add(&p->stats.rx_dropped, 1);
			snprintf(p->err, sizeof(p->err), "accept: more than %u connections on one worker",
				 s->nc);
			continue;
		}
		s->c[id].peer = a;
		ev_add(s, SALVO_PKT_F_CONN_OPEN, id, 0);
	}
}

int salvo__sys_stream_rx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct sys_stream *s = p->priv;
	struct epoll_event evs[SS_NEV];
	unsigned int out;
	int ne;

	check_deadlines(p, s);
	out = take_events(p, s, v, n);
	if (out)
		return (int)out;
	if (s->accept_paused && free_slot(s) < s->nc)
		accept_pause(s, false);
	ne = epoll_wait(s->ep, evs, SS_NEV,
			(int)(s->nqueued || s->ndial ? SALVO_MIN(p->rx_timeout_ms, 10u) : p->rx_timeout_ms));
	if (ne < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < ne; i++) {
		uint32_t id;
		struct salvo_pkt *k;
		ssize_t r;

		if (evs[i].data.u32 == 0) {
			accept_all(p, s);
			continue;
		}
		id = evs[i].data.u32 - 1;
		if (id < s->nc && s->c[id].state == SC_DIAL) {
			dial_done(p, s, id);
			continue;
		}
		if (id < s->nc && s->c[id].wantout && (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			conn_flush(p, s, id);
		if (id >= s->nc || s->c[id].state != SC_OPEN || out >= n ||
		    !(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
			continue;
		/*
		 * A receive that filled its buffer most likely left more queued:
		 * read again at once, without an epoll_wait between (one system
		 * call fewer per buffer while a sender outruns us); a short
		 * read (or EAGAIN) sends us back to epoll_wait.
		 */
		for (;;) {
			if (salvo_pool_get(p->pool, &k, 1) != 1)
				goto out;
			r = s->discard ? salvo__sock_recv_discard(s->c[id].fd) :
					 recv(s->c[id].fd, k->data, k->buf_len, MSG_DONTWAIT);
			if (r <= 0)
				break;
			k->len = (uint32_t)r;
			k->conn = id;
			k->flags = 0;
			k->err = 0;
			k->peer.len = 0;
			k->ts_ns = 0;
			v[out++] = k;
			if (s->discard || (size_t)r < k->buf_len || out >= n)
				break;
		}
		if (r > 0)
			continue;
		salvo_pool_put(p->pool, &k, 1);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r == 0) {
			s->c[id].state = SC_EOF;
			/* Queued sends: stay registered, a reply may still need EPOLLOUT. */
			if (s->queued || s->c[id].dialed)
				conn_events(s, id, s->c[id].wantout);
			else
				epoll_ctl(s->ep, EPOLL_CTL_DEL, s->c[id].fd, NULL);
			ev_add(s, SALVO_PKT_F_CONN_CLOSE, id, 0);
		} else {
			ev_add(s, SALVO_PKT_F_CONN_ERROR, id, -errno);
			conn_close(p, s, id);
		}
	}
out:
	out += take_events(p, s, v + out, n - out);
	return (int)out;
}

void salvo__sys_stream_release(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct sys_stream *s = p->priv;

	for (unsigned int i = 0; i < n; i++) {
		const uint16_t ev = SALVO_PKT_F_CONN_OPEN | SALVO_PKT_F_CONN_CLOSE | SALVO_PKT_F_CONN_ERROR;

		if ((v[i]->flags & ev) && v[i]->conn < s->nc && s->c[v[i]->conn].evout)
			s->c[v[i]->conn].evout--;	/* ev_add() counted it */
		/* A released FIN: the app has replied (or will not): close our side now. */
		if ((v[i]->flags & SALVO_PKT_F_CONN_CLOSE) && v[i]->conn < s->nc &&
		    s->c[v[i]->conn].state == SC_EOF) {
			if (s->c[v[i]->conn].qhead != SS_NO_IDX)
				s->c[v[i]->conn].close_after = true;	/* once the reply is out */
			else
				conn_close(p, s, v[i]->conn);
		}
	}
	salvo_pool_put(p->pool, v, n);
}

void salvo__sys_stream_close(struct salvo_port *p)
{
	struct sys_stream *s = p->priv;

	if (!s)
		return;
	/* The last TCP_INFO read of the connections still open (the report's retransmits). */
	if (s->c)
		update_retrans(p, s);
	for (unsigned int i = 0; s->c && i < s->nc; i++)
		if (s->c[i].fd >= 0)
			close(s->c[i].fd);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->unlink_path && p->cfg->listen)
		salvo__sock_unix_unbind(&p->cfg->local);
	if (s->ep >= 0)
		close(s->ep);
	salvo__sock_payload_close(&s->payload);
	free(s->c);
	free(s->evq);
	free(s->txnext);
	free(s);
	p->priv = NULL;
	salvo_pool_destroy(p->pool);
	p->pool = NULL;
}
