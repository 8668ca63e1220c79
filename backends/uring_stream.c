// SPDX-License-Identifier: MIT
/*
 * io_uring backend, stream path (TCP, unix stream): CONNECT with a linked
 * timeout, multishot ACCEPT, one multishot RECV per connection, at most one
 * send in flight per connection (a SENDMSG carrying a run of the queued
 * messages, send_run) and the queue behind it, connection events.
 * Ring set-up and the ops: uring.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include "sock.h"
#include "uring_internal.h"

/*
 * Point sqe at connection id.  Accepted connections are not registered: a
 * files-update syscall per accept and per close cost more than the file
 * reference each request takes on a plain descriptor.
 */
static void sqe_conn(struct uring_port *up, struct io_uring_sqe *sqe, uint32_t id)
{
	struct uconn *c = &up->conns[id];

	if (c->fixed) {
		sqe->fd = (int)(up->conn_base + id);
		sqe->flags |= IOSQE_FIXED_FILE;
	} else {
		sqe->fd = c->fd;
		sqe->flags &= (uint8_t)~IOSQE_FIXED_FILE;
	}
}

static void ev_push(struct salvo_port *p, uint16_t flags, uint32_t conn, int err)
{
	struct uring_port *up = p->priv;
	struct salvo_pkt *k;

	if (!up->evfree_n) {
		salvo_cnt_add(&p->stats.rx_dropped, 1);
		return;
	}
	k = up->evfree[--up->evfree_n];
	k->len = 0;
	k->gso_size = 0;
	k->flags = flags;
	k->err = err;
	k->conn = conn;
	k->flow = 0;
	k->ts_ns = 0;
	k->peer = up->conns[conn].peer;
	/* The id stays this connection's until the app releases k (conn_alloc). */
	up->conns[conn].evout++;
	fifo_push(up, k);
}

void salvo__uring_arm_accept(struct uring_port *up, unsigned int i)
{
	struct usock *s = &up->socks[i];
	struct io_uring_sqe *sqe = get_sqe(up);

	if (!sqe)
		return;
	io_uring_prep_multishot_accept(sqe, (int)s->slot, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, ud_make(UD_ACCEPT, i));
	s->armed = true;
}

void salvo__uring_arm_recv(struct uring_port *up, uint32_t id)
{
	struct uconn *c = &up->conns[id];
	struct io_uring_sqe *sqe = get_sqe(up);

	if (!sqe) {
		up->conn_rearm = true;
		return;
	}
	io_uring_prep_recv_multishot(sqe, 0, NULL, 0, up->discard ? MSG_TRUNC : 0);
	sqe_conn(up, sqe, id);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud_make(UD_RECV, id));
	c->recv_armed = true;
}

/* ---- streams --------------------------------------------------------------- */

void salvo__uring_update_retrans(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	uint64_t t = up->retrans_closed;
	unsigned int i;

	for (i = 0; i < up->nconns; i++)
		if (up->conns[i].state != C_FREE && up->conns[i].fd >= 0)
			t += salvo__sock_retrans(up->conns[i].fd, &up->conns[i].peer);
	p->stats.tx_retrans = t;
}

static void conn_drop_queue(struct salvo_port *p, struct uconn *c)
{
	struct uring_port *up = p->priv;

	/* Each queued pkt holds one reference; an in-flight send holds its own. */
	while (c->qhead != NO_IDX) {
		struct salvo_pkt *k = salvo_pool_pkt(p->pool, c->qhead);

		c->qhead = up->txnext[k->idx];
		tx_unhold(p, k);
	}
	c->qtail = NO_IDX;
}

static void conn_finalize(struct salvo_port *p, uint32_t id)
{
	struct uring_port *up = p->priv;
	struct uconn *c = &up->conns[id];
	struct io_uring_sqe *sqe;

	up->retrans_closed += salvo__sock_retrans(c->fd, &c->peer);
	if (c->fd < 0) {
		/* A direct descriptor (dial_direct): only the ring can close it. */
		sqe = get_sqe(up);
		if (sqe) {
			io_uring_prep_close_direct(sqe, up->conn_base + id);
			io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
		}
		goto done;
	}
	if (c->fixed)
		reg_file(up, up->conn_base + id, -1);
	if (c->abort) {
		/* The peer stopped reading: reset, and the kernel frees the unsent bytes now. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else if (!c->eof) {
		/* A close, not a reset; after the peer's FIN (read to EOF) nothing is unread. */
		salvo__sock_discard_unread(c->fd);
	}
	sqe = get_sqe(up);
	if (sqe) {
		io_uring_prep_close(sqe, c->fd);
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
	} else {
		close(c->fd);
	}
done:
	c->fd = -1;
	c->state = C_FREE;
	c->qhead = c->qtail = NO_IDX;
	salvo_cnt_add(&p->stats.conns_closed, 1);
}

static void conn_maybe_finalize(struct salvo_port *p, uint32_t id)
{
	struct uring_port *up = p->priv;
	struct uconn *c = &up->conns[id];

	if (c->state == C_CLOSING && !c->recv_armed && !c->sending)
		conn_finalize(p, id);
}

static void conn_close(struct salvo_port *p, uint32_t id)
{
	struct uring_port *up = p->priv;
	struct uconn *c = &up->conns[id];
	struct io_uring_sqe *sqe;

	if (c->state == C_FREE || c->state == C_CLOSING)
		return;
	c->state = C_CLOSING;
	if (c->recv_armed && (sqe = get_sqe(up))) {
		io_uring_prep_cancel64(sqe, ud_make(UD_RECV, id), 0);
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
	}
	conn_maybe_finalize(p, id);
}

static void conn_fail(struct salvo_port *p, uint32_t id, int err)
{
	struct uring_port *up = p->priv;
	struct uconn *c = &up->conns[id];

	if (!c->failed && (!c->eof || c->eof_pending)) {
		c->failed = true;
		c->eof_pending = false;
		ev_push(p, SALVO_PKT_F_CONN_ERROR, id, err);
	}
	conn_drop_queue(p, c);
	conn_close(p, id);
	conn_maybe_finalize(p, id);
}

/* The queue head missed its send deadline: CONN_ERROR -ETIMEDOUT, then a reset. */
static void conn_timeout(struct salvo_port *p, uint32_t id)
{
	struct uring_port *up = p->priv;

	up->conns[id].abort = true;
	salvo_cnt_add(&p->stats.tx_errors, 1);
	conn_fail(p, id, -ETIMEDOUT);
}

static void conn_open(struct salvo_port *p, uint32_t id)
{
	struct uring_port *up = p->priv;
	struct uconn *c = &up->conns[id];

	c->state = C_OPEN;
	salvo_cnt_add(&p->stats.conns_opened, 1);
	ev_push(p, SALVO_PKT_F_CONN_OPEN, id, 0);
	if (up->rx_out < up->br_entries)
		salvo__uring_arm_recv(up, id);
	else
		up->conn_rearm = true;
	salvo__uring_stream_start(p, id);
}

/*
 * The head k (from its offset k->bid) and the messages queued behind it, up
 * to RUN_MSGS and RUN_BYTES, as one SENDMSG: one SQE and one CQE per run,
 * as the syscall backend's sendmsg (issue 13 R3; docs/tcp.md).  A message
 * whose SHUT_WR or CONN_CLOSE acts once it is sent ends the run.  Every
 * message of the run takes a reference (on_send drops them): a connection
 * that fails meanwhile drops its queue, and the kernel may still be reading
 * them.  MSG_WAITALL: on a stream socket io_uring retries a short send
 * itself (io_net_retry), so a run usually completes in one CQE.  NULL when
 * the head goes alone (nothing behind it, or --zerocopy: SEND_ZC per
 * message, with its notification), as a plain SEND from the fixed buffer.
 */
static struct io_uring_sqe *send_run(struct salvo_port *p, struct uconn *c, struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;
	struct io_uring_sqe *sqe;
	struct salvo_pkt *r = k;
	uint32_t bytes = 0;
	unsigned int m = 0, i;

	if (up->zc)
		return NULL;
	while (m < RUN_MSGS) {
		uint32_t off = m ? 0 : k->bid;

		if (m && bytes + r->len > RUN_BYTES)
			break;
		c->siov[m].iov_base = r->data + off;
		c->siov[m].iov_len = r->len - off;
		bytes += r->len - off;
		m++;
		if ((r->flags & (SALVO_PKT_F_SHUT_WR | SALVO_PKT_F_CONN_CLOSE)) ||
		    up->txnext[r->idx] == NO_IDX)
			break;
		r = salvo_pool_pkt(p->pool, up->txnext[r->idx]);
	}
	if (m < 2)
		return NULL;
	memset(&c->smsg, 0, sizeof(c->smsg));
	c->smsg.msg_iov = c->siov;
	c->smsg.msg_iovlen = m;
	sqe = get_sqe(up);
	io_uring_prep_sendmsg(sqe, 0, &c->smsg, up->send_flags);
	io_uring_sqe_set_data64(sqe, ud_make(UD_SEND, k->idx));
	for (r = k, i = 0; i < m; i++) {
		up->hold[r->idx]++;
		if (i + 1 < m)
			r = salvo_pool_pkt(p->pool, up->txnext[r->idx]);
	}
	c->srun = (uint8_t)m;
	return sqe;
}

/* The send's CQE came: drop the reference each message of its run took. */
static void run_unhold(struct salvo_port *p, struct uconn *c, struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;
	unsigned int i, m = c->srun;

	c->srun = 0;
	for (i = 0; i < m; i++) {
		/* Read the link first: the last reference gives k back to the pool. */
		uint32_t next = up->txnext[k->idx];

		tx_unhold(p, k);
		if (i + 1 < m)
			k = salvo_pool_pkt(p->pool, next);
	}
}

/* Send the head of c's queue, or act on the close it asked for. */
void salvo__uring_stream_start(struct salvo_port *p, uint32_t id)
{
	struct uring_port *up = p->priv;
	struct uconn *c = &up->conns[id];

	while (c->state == C_OPEN && !c->sending && c->qhead != NO_IDX) {
		struct salvo_pkt *k = salvo_pool_pkt(p->pool, c->qhead);
		struct io_uring_sqe *sqe;
		uint16_t fl = k->flags;

		if (k->len > k->bid) {
			/* unsent bytes left (a new message or the rest of a short send) */
			uint64_t now = up->send_timeout_ns ? salvo_now_ns() : 0;

			if (up->send_timeout_ns && !k->bid)
				c->send_end_ns = now + up->send_timeout_ns;
			if (up->send_timeout_ns && now >= c->send_end_ns) {
				conn_timeout(p, id);
				return;
			}
			c->sending = true;
			/* The send and its linked timeout go in one submission. */
			if (up->send_timeout_ns && io_uring_sq_space_left(&up->ring) < 2)
				io_uring_submit(&up->ring);
			sqe = send_run(p, c, k);
			if (!sqe) {
				sqe = prep_send(up, (int)(up->conn_base + id), k, k->bid, UD_SEND,
						up->send_flags);
				c->srun = 1;
			}
			sqe_conn(up, sqe, id);
			if (up->send_timeout_ns) {
				/*
				 * A peer that stops reading would keep this send, its
				 * descriptor and the socket buffer for ever: the linked
				 * timeout cancels it at the message's deadline.
				 */
				uint64_t left = c->send_end_ns - now;

				c->send_ts.tv_sec = (long long)(left / NSEC_PER_SEC);
				c->send_ts.tv_nsec = (long long)(left % NSEC_PER_SEC);
				sqe->flags |= IOSQE_IO_LINK;
				sqe = get_sqe(up);
				io_uring_prep_link_timeout(sqe, &c->send_ts, 0);
				io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
			}
			return;
		}
		/* Sent (or empty): pop it, then its flags act. */
		c->qhead = up->txnext[k->idx];
		if (c->qhead == NO_IDX)
			c->qtail = NO_IDX;
		tx_unhold(p, k);
		if ((fl & SALVO_PKT_F_SHUT_WR) && (sqe = get_sqe(up))) {
			io_uring_prep_shutdown(sqe, 0, SHUT_WR);
			sqe_conn(up, sqe, id);
			io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
		}
		if (fl & SALVO_PKT_F_CONN_CLOSE)
			c->close_after = true;
	}
	if (c->state == C_OPEN && !c->sending && c->qhead == NO_IDX && c->close_after)
		conn_close(p, id);
}

/*
 * res bytes of the run from k went out: each message's sent offset (bid)
 * advances in queue order, so a short run resumes exactly where it stopped,
 * inside a message or at its boundary.
 */
static void send_advance(struct salvo_port *p, struct uconn *c, struct salvo_pkt *k, uint32_t res)
{
	struct uring_port *up = p->priv;
	unsigned int i;

	for (i = 0; i < c->srun && res; i++) {
		uint32_t take = SALVO_MIN(res, k->len - k->bid);

		k->bid += take;
		res -= take;
		if (i + 1 < c->srun)
			k = salvo_pool_pkt(p->pool, up->txnext[k->idx]);
	}
}

void salvo__uring_on_send(struct salvo_port *p, struct io_uring_cqe *cqe, struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;
	uint32_t id = k->conn;
	struct uconn *c = &up->conns[id];

	if (cqe->flags & IORING_CQE_F_NOTIF) {
		if (cqe->res & ZC_USAGE_COPIED)
			salvo_cnt_add(&p->stats.zc_copied, 1);
		tx_unhold(p, k);
		return;
	}
	if (up->zc && !(cqe->flags & IORING_CQE_F_MORE))
		up->hold[k->idx]--;	/* no notification will follow */
	c->sending = false;
	if (cqe->res == -ECANCELED && up->send_timeout_ns && c->state == C_OPEN) {
		/* Our linked timeout fired (a close cancels nothing: sends are not cancelled). */
		run_unhold(p, c, k);
		conn_timeout(p, id);
		return;
	}
	if (cqe->res < 0) {
		salvo_cnt_add(&p->stats.tx_errors, 1);
		run_unhold(p, c, k);
		conn_fail(p, id, cqe->res);	/* drops the queue, k's entry with it */
		return;
	}
	send_advance(p, c, k, (uint32_t)cqe->res);
	run_unhold(p, c, k);	/* the queue's reference keeps each message */
	if (c->eof_pending) {
		/* The send went through: the EOF was a plain close after all. */
		c->eof_pending = false;
		ev_push(p, SALVO_PKT_F_CONN_CLOSE, id, 0);
	}
	if (c->state == C_OPEN) {
		/* Resends the rest, or pops k and acts on its SHUT_WR / CONN_CLOSE. */
		salvo__uring_stream_start(p, id);
	} else {
		conn_drop_queue(p, c);
		conn_maybe_finalize(p, id);
	}
}

void salvo__uring_on_recv(struct salvo_port *p, struct io_uring_cqe *cqe, uint32_t id)
{
	struct uring_port *up = p->priv;
	struct uconn *c = &up->conns[id];
	struct salvo_pkt *k;
	unsigned int bid;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		c->recv_armed = false;
	if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		up->rx_out++;
		k = &up->rxd[bid];
		k->data = up->rxmem + (size_t)bid * up->rxbuf_size;
		k->len = (uint32_t)cqe->res;
		k->gso_size = 0;
		k->flags = 0;
		k->err = 0;
		k->flow = 0;
		k->conn = id;
		k->ts_ns = 0;
		k->peer.len = 0;
		fifo_push(up, k);
		if (c->state == C_CLOSING)
			conn_maybe_finalize(p, id);
		else if (!c->recv_armed && c->state == C_OPEN)
			up->conn_rearm = true;	/* ended early (no buffer left): again */
		return;
	}
	if (c->state == C_CLOSING) {
		conn_maybe_finalize(p, id);
		return;
	}
	if (cqe->res == 0) {
		/* Peer's FIN: we close our side when the app releases this event. */
		c->eof = true;
		c->recv_armed = false;
		/*
		 * A reset wakes a pending send and this recv together, and
		 * whichever runs first takes the socket's error: the recv may
		 * see a plain EOF while the send's CQE, still to come, carries
		 * ECONNRESET.  With a send in flight, let its result say which.
		 */
		if (c->sending)
			c->eof_pending = true;
		else
			ev_push(p, SALVO_PKT_F_CONN_CLOSE, id, 0);
		return;
	}
	if (cqe->res == -ENOBUFS) {
		salvo_cnt_add(&p->stats.rx_nobufs, 1);
		up->conn_rearm = true;
		return;
	}
	if (cqe->res < 0)
		conn_fail(p, id, cqe->res);
}

static int conn_alloc(struct uring_port *up)
{
	unsigned int i;

	for (i = 0; i < up->nconns; i++)
		if (up->conns[i].state == C_FREE && !up->conns[i].evout)
			return (int)i;
	return -1;
}

/* Give accepted fd a slot and report it; false when the table is full. */
static bool conn_adopt(struct salvo_port *p, int fd)
{
	struct uring_port *up = p->priv;
	struct uconn *c;
	socklen_t l;
	int id = conn_alloc(up);

	if (id < 0)
		return false;
	c = &up->conns[id];
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->qhead = c->qtail = NO_IDX;
	l = sizeof(c->peer.ss);
	if (getpeername(fd, &c->peer.sa, &l) == 0)
		c->peer.len = l;
	salvo__sock_set_bufs(fd, p->cfg);
	conn_open(p, (uint32_t)id);
	return true;
}

/* Slots came free: adopt the waiting sockets, then accept again. */
void salvo__uring_adopt_pending(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	unsigned int i, k = 0;

	while (k < up->npend && conn_adopt(p, up->pend_fd[k]))
		k++;
	for (i = k; i < up->npend; i++)
		up->pend_fd[i - k] = up->pend_fd[i];
	up->npend -= k;
	if (!up->npend && conn_alloc(up) >= 0)
		up->accept_paused = false;	/* rearm() arms the accepts again */
}

void salvo__uring_on_accept(struct salvo_port *p, struct io_uring_cqe *cqe, uint32_t i)
{
	struct uring_port *up = p->priv;
	struct usock *s = &up->socks[i];
	struct io_uring_sqe *sqe;
	unsigned int j;
	int fd = cqe->res;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		s->armed = false;
	if (fd < 0) {
		if (fd != -ECANCELED)
			salvo_port_fail(p, fd, "accept", NULL);
		return;
	}
	if (!up->accept_paused && conn_adopt(p, fd))
		return;
	if (!up->accept_paused) {
		/* Table full: stop accepting; the listen backlog holds the rest. */
		up->accept_paused = true;
		for (j = 0; j < up->nsocks; j++) {
			if (up->socks[j].armed && (sqe = get_sqe(up))) {
				io_uring_prep_cancel64(sqe, ud_make(UD_ACCEPT, j), 0);
				io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
			}
		}
	}
	if (up->npend < SALVO_ARRAY_SIZE(up->pend_fd)) {
		up->pend_fd[up->npend++] = fd;
		return;
	}
	/* Accepted before the cancel took effect, and no room left: close, say so once. */
	close(fd);
	salvo_cnt_add(&p->stats.rx_dropped, 1);
	snprintf(p->err, sizeof(p->err), "accept: more than %u connections on one worker",
		 up->nconns);
}


void salvo__uring_on_connect(struct salvo_port *p, struct io_uring_cqe *cqe, uint32_t id)
{
	struct uring_port *up = p->priv;
	int res = cqe->res == -ECANCELED ? -ETIMEDOUT : cqe->res;

	if (res < 0 && up->conns[id].dial_err)
		res = up->conns[id].dial_err;	/* its SOCKET failed, the CONNECT was cancelled */
	if (res < 0) {
		salvo_port_fail(p, res, "connect", &up->conns[id].peer);
		conn_fail(p, id, res);
		return;
	}
	conn_open(p, id);
}

/*
 * A tx packet flagged SALVO_PKT_F_CONN_OPEN: connect free slot id to
 * cfg->remote (CONNECT with the connect timeout linked, as at open); the
 * packet waits in the slot's queue until on_connect.  Where the kernel has
 * IORING_OP_SOCKET and no socket option is asked for, the socket is made by
 * the ring straight into the slot's fixed file (dial_direct), linked to the
 * CONNECT: no syscall per dial, but no descriptor for TCP_INFO either, so
 * those connections add nothing to tx_retrans.  Else a plain socket(), not
 * registered, as accepted ones: a files-update per connect and per close
 * would cost more than it saves on a connection that carries one request.
 */
static int conn_dial(struct salvo_port *p, uint32_t id)
{
	struct uring_port *up = p->priv;
	const struct salvo_cfg *cfg = p->cfg;
	struct io_uring_sqe *sqe;
	struct uconn *c;
	int fd;

	if (up->listen_stream || id >= up->nconns)
		return -EINVAL;
	c = &up->conns[id];
	if (c->state != C_FREE || c->evout)
		return -EBUSY;
	if (io_uring_sq_space_left(&up->ring) < 3)
		io_uring_submit(&up->ring);
	if (up->dial_direct) {
		/*
		 * SOCKET straight into the slot, linked to the CONNECT: no
		 * socket() call, and the close is a ring op too (conn_finalize).
		 */
		memset(c, 0, sizeof(*c));
		c->fd = -1;
		c->fixed = true;
		c->state = C_CONNECTING;
		c->peer = cfg->remote;
		c->qhead = c->qtail = NO_IDX;
		sqe = get_sqe(up);
		io_uring_prep_socket_direct(sqe, cfg->remote.sa.sa_family, SOCK_STREAM, 0,
					    up->conn_base + id, 0);
		sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
		io_uring_sqe_set_data64(sqe, ud_make(UD_SOCKET, id));
		sqe = get_sqe(up);
		io_uring_prep_connect(sqe, (int)(up->conn_base + id), &c->peer.sa, c->peer.len);
		sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
		io_uring_sqe_set_data64(sqe, ud_make(UD_CONNECT, id));
		sqe = get_sqe(up);
		io_uring_prep_link_timeout(sqe, &up->conn_ts, 0);
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
		return 0;
	}
	fd = socket(cfg->remote.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	salvo__sock_set_bufs(fd, cfg);
	if (cfg->have_local && bind(fd, &cfg->local.sa, cfg->local.len)) {
		int err = -errno;

		close(fd);
		return err;
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->state = C_CONNECTING;
	c->peer = cfg->remote;
	c->qhead = c->qtail = NO_IDX;
	sqe = get_sqe(up);
	io_uring_prep_connect(sqe, fd, &c->peer.sa, c->peer.len);
	sqe->flags |= IOSQE_IO_LINK;
	io_uring_sqe_set_data64(sqe, ud_make(UD_CONNECT, id));
	sqe = get_sqe(up);
	io_uring_prep_link_timeout(sqe, &up->conn_ts, 0);
	io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
	return 0;
}

int salvo__uring_tx_stream(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	uint32_t pend = NO_IDX;	/* the connection whose queue grew and is not started yet */
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct salvo_pkt *k = v[i];
		struct uconn *c;

		if (salvo_unlikely(k->flags & SALVO_PKT_F_CONN_OPEN)) {
			int ret = conn_dial(p, k->conn);

			if (ret) {
				if (i)
					break;
				return ret;
			}
		}
		/* A connecting slot queues: on_connect -> conn_open starts its sends. */
		if (k->conn >= up->nconns ||
		    ((c = &up->conns[k->conn])->state != C_OPEN && c->state != C_CONNECTING)) {
			if (i)
				break;
			return -ENOTCONN;
		}
		k->bid = 0;	/* bytes sent so far */
		up->hold[k->idx] = 1;	/* queued: released when sent */
		up->txnext[k->idx] = NO_IDX;
		if (c->qtail == NO_IDX)
			c->qhead = k->idx;
		else
			up->txnext[c->qtail] = k->idx;
		c->qtail = k->idx;
		up->tx_inflight++;
		/*
		 * Start a connection once its adjacent messages of the burst are
		 * queued (apps/stream.c gives each one a run), so the first send
		 * already carries a run, not the first message alone.
		 */
		if (pend != NO_IDX && pend != k->conn)
			salvo__uring_stream_start(p, pend);
		pend = k->conn;
	}
	if (pend != NO_IDX)
		salvo__uring_stream_start(p, pend);
	if (io_uring_sq_ready(&up->ring))
		io_uring_submit(&up->ring);
	return (int)i;
}

int salvo__uring_open_stream(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct uring_port *up = p->priv;
	unsigned int i;
	int fd;

	up->socks = calloc(1, sizeof(*up->socks));
	if (!up->socks)
		return -ENOMEM;
	if (cfg->listen) {
		bool un = salvo_addr_is_unix(&cfg->local);

		up->listen_stream = true;
		up->discard = cfg->discard;
		if (un && p->worker)
			return 0;	/* a unix path has one listener: worker 0 */
		fd = salvo__sock_open_listener(cfg, p->nworkers, p->err, sizeof(p->err));
		if (fd < 0)
			return fd;
		up->socks[0].fd = fd;
		up->socks[0].slot = 0;
		up->nsocks = 1;
		up->unix_bound = un;
		return 0;
	}
	/* With cfg->dial the slots wait for tx packets flagged CONN_OPEN (conn_dial). */
	up->nconnect = cfg->dial ? 0 : share(SALVO_MAX(cfg->streams, 1), p->worker, p->nworkers);
	if (cfg->dial && !cfg->sndbuf && !cfg->rcvbuf && !cfg->have_local) {
		struct io_uring_probe *pr = io_uring_get_probe_ring(&up->ring);

		up->dial_direct = pr && io_uring_opcode_supported(pr, IORING_OP_SOCKET);
		if (pr)
			io_uring_free_probe(pr);
	}
	for (i = 0; i < up->nconnect; i++) {
		struct uconn *c = &up->conns[i];

		fd = salvo__sock_open_stream(cfg, p->err, sizeof(p->err));
		if (fd < 0)
			return fd;
		c->fd = fd;
		c->fixed = true;
		c->state = C_CONNECTING;
		c->peer = cfg->remote;
	}
	return 0;
}
