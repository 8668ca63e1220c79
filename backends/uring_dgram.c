// SPDX-License-Identifier: MIT
/*
 * io_uring backend, datagram path (UDP, unix dgram): sockets, multishot
 * RECVMSG into the provided buffer ring, SEND/SENDMSG(_ZC) batches, and
 * sendmmsg(2) for unix datagrams.  Ring set-up and the ops: uring.c.
 */
#include <errno.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include "sock.h"
#include "uring_internal.h"

void salvo__uring_arm_recvmsg(struct uring_port *up, unsigned int i)
{
	struct usock *s = &up->socks[i];
	struct io_uring_sqe *sqe = get_sqe(up);

	if (!sqe)
		return;
	s->rx_hdr = (uint32_t)(sizeof(struct io_uring_recvmsg_out) + s->rxmsg.msg_namelen +
			       s->rxmsg.msg_controllen);
	io_uring_prep_recvmsg_multishot(sqe, (int)s->slot, &s->rxmsg, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud_make(UD_RECVMSG, i));
	s->armed = true;
}

void salvo__uring_on_tx(struct salvo_port *p, struct io_uring_cqe *cqe, struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;

	if (cqe->flags & IORING_CQE_F_NOTIF) {
		if (cqe->res & ZC_USAGE_COPIED)
			salvo_cnt_add(&p->stats.zc_copied, 1);
		tx_unhold(p, k);
		return;
	}
	if (cqe->res < 0)
		salvo__uring_tx_error(p, cqe->res, k);
	if (!(cqe->flags & IORING_CQE_F_MORE) && up->zc && up->hold[k->idx] > 1)
		up->hold[k->idx]--;	/* failed: no notification will follow */
	tx_unhold(p, k);
}

/*
 * A skipped-success send that failed.  In its burst's window (tx_skip) the
 * descriptor is still ours: -EAGAIN (socket buffer full) sends it again as
 * an ordinary SEND, which the kernel retries when the socket is writable,
 * as it does for every send outside skip mode, and turns skip mode off for
 * the rest of the run (a full socket buffer is where the kernel's retry,
 * not ours, should wait).  Every other error is counted as tx_error counts
 * it, from what user_data carries, so a CQE that came late is exact too.
 */
void salvo__uring_on_tx_skip(struct salvo_port *p, const struct io_uring_cqe *cqe)
{
	struct uring_port *up = p->priv;
	uint64_t ud = cqe->user_data;
	uint32_t idx = (uint32_t)(ud >> 8) & (TXS_MAX_IDX - 1);
	struct salvo_pkt t = {
		.len = (uint32_t)(ud >> 24) & (TXS_MAX_LEN - 1),
		.gso_size = (uint16_t)(ud >> 41),
	};
	bool ours = up->skip_window && (unsigned int)(ud >> 57) == (up->skip_gen & 0x7fU);

	if (cqe->res >= 0)
		return;	/* posted although skipped: the send went, it was counted */
	if (cqe->res == -EAGAIN && ours) {
		struct salvo_pkt *k = salvo_pool_pkt(p->pool, idx);
		struct usock *s = &up->socks[up->nsocks > 1 ? k->flow % up->nsocks : 0];

		up->skip = false;
		up->hold[idx] = 0;
		prep_send(up, (int)s->slot, k, 0, UD_TX, 0);
		up->tx_inflight++;
		up->skip_held++;
		return;
	}
	salvo__uring_tx_error(p, cqe->res, &t);
}

/* The SQE every skipped send starts from; the port's first call, once fixed_send is known. */
void salvo__uring_skip_setup(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	struct io_uring_sqe *t = &up->skip_sqe;

	/*
	 * MSG_DONTWAIT: io_uring's send prep marks the request REQ_F_NOWAIT,
	 * so an -EAGAIN completes it at once (with a CQE) instead of arming a
	 * poll that would read the buffer later; every consumed SQE is then
	 * finished when io_uring_enter returns.
	 */
	io_uring_prep_send(t, (int)up->socks[0].slot, NULL, 0, MSG_DONTWAIT);
	t->flags |= IOSQE_FIXED_FILE | IOSQE_CQE_SKIP_SUCCESS;
	if (up->fixed_send) {
		t->ioprio |= IORING_RECVSEND_FIXED_BUF;
		t->buf_index = 0;
	}
	up->skip_dirty = true;	/* no slot holds the template yet */
}

/*
 * Skip mode's per-packet step: SQEs for the plain descriptors of v[0..n)
 * into consecutive ring slots from sqe, whose every other field already
 * holds the template (tx_skip).  Returns how many (it stops at the first
 * descriptor that is not plain: an explicit peer, an external buffer, or a
 * segment size other than the socket's).  Inline, called with one run of
 * the ring at a time, so the slot is a pointer step.
 */
static inline unsigned int skip_write(struct io_uring_sqe *sqe, struct salvo_pkt **v,
				      unsigned int n, const struct usock *socks,
				      unsigned int nsocks, uint16_t sock_gso, uint64_t burst)
{
	unsigned int i;

	for (i = 0; i < n; i++, sqe++) {
		const struct salvo_pkt *k = v[i];
		uint16_t gso = k->gso_size;

		/* len needs no check: a pool buffer is below TXS_MAX_LEN (uring_open). */
		if (salvo_unlikely((k->flags & (SALVO_PKT_F_PEER | SALVO_PKT_F_EXTERN)) ||
				   (gso && gso != sock_gso)))
			break;
		if (nsocks > 1)
			sqe->fd = (int)socks[k->flow % nsocks].slot;
		sqe->addr = (uintptr_t)k->data;
		sqe->len = k->len;
		sqe->user_data = ud_skip(burst, k->idx, k->len, gso);
	}
	return i;
}

/*
 * Skip mode: SQEs written straight into the ring, one submit, no CQE per
 * success.  Every consumed SQE has completed when the submit returns
 * (MSG_DONTWAIT above), and the errors among them are in the CQ: reap them
 * while the burst's descriptors are still ours, then the descriptors go
 * back to the pool as a block, as the syscall backend's do.  SQEs the
 * kernel did not consume (it ran out of requests) are ours to rewrite as
 * ordinary sends: no SQPOLL thread reads the ring, only our own
 * io_uring_enter.  Returns how many of v[0..n) went (a leading run of
 * plain descriptors; 0 when v[0] is not plain).
 *
 * The kernel never writes an SQE, so a slot keeps what was last written
 * there: once skip sends have filled every slot of the ring with the
 * template since the last other SQE (any SQE written elsewhere moves the
 * tail from where this function left it), a send writes only its fd
 * (several sockets), address, length and user_data.
 */
static unsigned int tx_skip(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	struct io_uring_sq *sq = &up->ring.sq;
	unsigned int i, j, tail, left, first, run;
	uint64_t burst;

	left = io_uring_sq_space_left(&up->ring);
	if (salvo_unlikely(left < n)) {
		io_uring_submit(&up->ring);
		left = io_uring_sq_space_left(&up->ring);
		if (n > left)
			n = left;
	}
	burst = ud_skip_burst(++up->skip_gen);
	tail = sq->sqe_tail;
	first = tail & sq->ring_mask;
	run = SALVO_MIN(n, sq->ring_entries - first);
	if (salvo_unlikely(up->skip_dirty || tail != up->skip_tail)) {
		up->skip_dirty = false;
		up->skip_tmpl_left = sq->ring_entries;
	}
	if (salvo_unlikely(up->skip_tmpl_left)) {
		for (j = 0; j < n; j++)
			sq->sqes[(tail + j) & sq->ring_mask] = up->skip_sqe;
	}
	i = skip_write(&sq->sqes[first], v, run, up->socks, up->nsocks, up->sock_gso, burst);
	if (i == run && run < n)
		i += skip_write(&sq->sqes[0], v + run, n - run, up->socks, up->nsocks,
				up->sock_gso, burst);
	if (!i)
		return 0;
	/* Slots written whole in a row since the last other SQE: all of them, once it reaches 0. */
	up->skip_tmpl_left -= SALVO_MIN(up->skip_tmpl_left, i);
	sq->sqe_tail = tail + i;
	up->skip_tail = tail + i;
	up->skip_window = true;
	up->skip_held = 0;
	io_uring_submit(&up->ring);
	left = SALVO_MIN(io_uring_sq_ready(&up->ring), i);
	if (salvo_unlikely(left)) {
		for (j = i - left; j < i; j++) {
			struct io_uring_sqe *sqe = &sq->sqes[(tail + j) & sq->ring_mask];
			struct salvo_pkt *k = v[j];

			sqe->flags &= (uint8_t)~IOSQE_CQE_SKIP_SUCCESS;
			sqe->msg_flags = 0;
			sqe->user_data = ud_make(UD_TX, k->idx);
			up->hold[k->idx] = 1;
			up->tx_inflight++;
			up->skip_held++;
		}
		up->skip_dirty = true;	/* those slots are no template any more */
	}
	uring_process(p);
	up->skip_window = false;
	if (salvo_likely(!up->skip_held)) {
		salvo_pool_put_block(p->pool, v, i);	/* none external: checked above */
	} else {
		for (j = 0; j < i; j++)
			if (!up->hold[v[j]->idx])
				salvo_pool_put(p->pool, &v[j], 1);
	}
	return i;
}

/*
 * Unix datagram sockets are sent with sendmmsg(2), not through the ring:
 * unix_dgram_sendmsg copies the payload out of the iterator before it finds
 * the receiver's queue full and returns -EAGAIN, and io_uring's poll-driven
 * retry then sends the consumed iterator: an empty datagram where the data
 * was (kernel 6.18: 3478 of 5000 unpaced sends arrived empty;
 * tests/integ/test_udp.sh test_unix_python_receiver).  One call per burst
 * (per run of packets for the same socket), as the syscall backend does;
 * the socket is non-blocking, so -EAGAIN comes back to the sender and the
 * same buffers go again.
 */
static int tx_dgram_sync(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	unsigned int i = 0, j, sent = 0;

	while (i < n) {
		const struct usock *s = &up->socks[up->nsocks > 1 ? v[i]->flow % up->nsocks : 0];
		int r;

		for (j = i; j < n; j++) {
			struct salvo_pkt *k = v[j];
			struct txslot *t = &up->txs[k->idx];
			struct msghdr *m = &up->mm[j - i].msg_hdr;

			if (&up->socks[up->nsocks > 1 ? k->flow % up->nsocks : 0] != s)
				break;
			t->iov.iov_base = k->data;
			t->iov.iov_len = k->len;
			memset(m, 0, sizeof(*m));
			m->msg_iov = &t->iov;
			m->msg_iovlen = 1;
			if (k->flags & SALVO_PKT_F_PEER) {
				m->msg_name = &k->peer.sa;
				m->msg_namelen = k->peer.len;
			}
		}
		r = sendmmsg(s->fd, up->mm, j - i, 0);
		if (r < 0) {
			int err = -errno;

			if (sent)
				break;	/* the error comes back on the next call */
			if (err == -ECONNREFUSED)
				salvo_cnt_add(&p->stats.tx_refused, 1);
			return err;
		}
		sent += (unsigned int)r;
		if ((unsigned int)r < j - i)
			break;
		i = j;
	}
	/* Synchronous: the kernel has copied the data, the buffers go back now. */
	salvo_pool_put(p->pool, v, sent);
	return (int)sent;
}

int salvo__uring_tx_dgram(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	unsigned int i;

	if (!up->nsocks)
		return -ENOTCONN;	/* a unix server's extra workers have no socket */
	if (up->unix_dgram)
		return tx_dgram_sync(p, v, n);
	i = 0;
	if (up->skip) {
		i = tx_skip(p, v, n);
		if (i == n || !up->skip)
			return (int)i;	/* after an EAGAIN the rest is refused: the next burst */
	}
	for (; i < n; i++) {
		struct salvo_pkt *k = v[i];
		struct usock *s = &up->socks[up->nsocks > 1 ? k->flow % up->nsocks : 0];
		struct io_uring_sqe *sqe = get_sqe(up);

		if (!sqe)
			break;
		if ((k->gso_size && k->gso_size != up->sock_gso) || (k->flags & SALVO_PKT_F_PEER)) {
			struct txslot *t = &up->txs[k->idx];

			memset(&t->msg, 0, sizeof(t->msg));
			t->iov.iov_base = k->data;
			t->iov.iov_len = k->len;
			t->msg.msg_iov = &t->iov;
			t->msg.msg_iovlen = 1;
			if (k->flags & SALVO_PKT_F_PEER) {
				t->msg.msg_name = &k->peer.sa;
				t->msg.msg_namelen = k->peer.len;
			}
			if (k->gso_size && k->gso_size < k->len) {
				struct cmsghdr *cm;

				t->msg.msg_control = t->c.buf;
				t->msg.msg_controllen = sizeof(t->c.buf);
				cm = CMSG_FIRSTHDR(&t->msg);
				cm->cmsg_level = SOL_UDP;
				cm->cmsg_type = UDP_SEGMENT;
				cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
				memcpy(CMSG_DATA(cm), &k->gso_size, sizeof(uint16_t));
			}
			if (up->zc) {
				io_uring_prep_sendmsg_zc(sqe, (int)s->slot, &t->msg, 0);
				sqe->ioprio |= ZC_REPORT_USAGE;
				up->hold[k->idx] = 2;
			} else {
				io_uring_prep_sendmsg(sqe, (int)s->slot, &t->msg, 0);
				up->hold[k->idx] = 1;
			}
			sqe->flags |= IOSQE_FIXED_FILE;
			io_uring_sqe_set_data64(sqe, ud_make(UD_TX, k->idx));
		} else {
			up->hold[k->idx] = 0;
			prep_send_sqe(up, sqe, (int)s->slot, k, 0, UD_TX, 0);
		}
		up->tx_inflight++;
	}
	if (i)
		io_uring_submit(&up->ring);
	return (int)i;
}

int salvo__uring_open_dgram(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct uring_port *up = p->priv;
	const struct salvo_addr *a = cfg->listen ? &cfg->local : &cfg->remote;
	bool un = salvo_addr_is_unix(a);
	unsigned int i, n;
	int ret, fd;

	up->unix_dgram = un;

	if (cfg->listen)
		n = (un && p->worker) ? 0 : 1;
	else
		n = SALVO_MAX(share(SALVO_MAX(cfg->flows, 1), p->worker, p->nworkers), 1U);
	up->socks = calloc(n ? n : 1, sizeof(*up->socks));
	if (!up->socks)
		return -ENOMEM;
	/* The size gen cuts segments at (apps/gen.c); checked per descriptor in tx. */
	if (cfg->gso && !cfg->listen && !un)
		up->sock_gso = (uint16_t)SALVO_MIN(cfg->message ? cfg->message_len : cfg->size, 65535U);
	for (i = 0; i < n; i++) {
		struct usock *s = &up->socks[up->nsocks];
		struct salvo__sock_dgram_opts o = {
			.rx = cfg->listen,
			.nonblock = true,	/* completions, never a blocking call */
			.nworkers = p->nworkers,
			.port_offset = p->worker * n + i,	/* a --local port per socket */
		};

		fd = salvo__sock_open_dgram(cfg, &o, p->err, sizeof(p->err));
		if (fd < 0)
			return fd;
		s->fd = fd;
		s->slot = up->nsocks++;
		up->unix_bound = cfg->listen && un;
		s->rx = cfg->listen || (cfg->dir & SALVO_DIR_RX);
		up->dgram_rx |= s->rx;
		/*
		 * As the syscall backend does; where the kernel refuses, every
		 * descriptor keeps its own UDP_SEGMENT cmsg (and its error).
		 */
		if (up->sock_gso && salvo__sock_set_gso(fd, up->sock_gso, NULL, 0))
			up->sock_gso = 0;
		if (s->rx) {
			/* A sender expecting replies receives too (a receiver got this in open). */
			if (!cfg->listen) {
				ret = salvo__sock_rx_queue(fd, cfg, p->err, sizeof(p->err));
				if (ret)
					return ret;
			}
			/* --busy-poll: uring_rx_burst reaps without waiting (rx_timeout_ms 0). */
			salvo__sock_busy_poll(p, fd, cfg);
			/*
			 * No SO_RXQ_OVFL: a cmsg on every datagram cost 8-9% of the
			 * receiver's CPU (__sock_recv_cmsgs, bench/probes/profile.sh);
			 * the kernel's drops are read once at close (SO_MEMINFO), as
			 * the syscall backend does.
			 */
			s->rxmsg.msg_namelen = sizeof(struct sockaddr_storage);
			s->rxmsg.msg_controllen = 2 * CMSG_SPACE(sizeof(int));
		}
	}
	return 0;
}

