// SPDX-License-Identifier: MIT
/*
 * io_uring backend: one ring per worker, registered files and buffers.
 *
 * Datagrams (UDP, unix dgram): a tx burst is one batch of SEND (fixed
 * buffer) / SENDMSG (GSO cmsg, explicit peer) SQEs and one io_uring_submit;
 * --zerocopy uses SEND_ZC / SENDMSG_ZC and gives a buffer back only on its
 * notification CQE.  Receive is one multishot RECVMSG per socket drawing on
 * a provided buffer ring; rx_burst hands out descriptors pointing into those
 * buffers and release() puts them back on the ring.
 *
 * Streams (TCP, unix stream): CONNECT (with a linked timeout) and
 * multishot ACCEPT through the ring, one multishot RECV per connection into
 * the same buffer ring, and at most one SEND in flight per connection
 * (two sends in flight on one stream socket may interleave when the socket
 * buffer fills, so later packets wait in a per-connection queue).
 * Connection life is reported as SALVO_PKT_F_CONN_* events in rx_burst.
 *
 * Threads: each worker opens its own port (engine/run.c), so the ring is
 * created by the thread that submits: SINGLE_ISSUER | DEFER_TASKRUN hold.
 * Receives are armed and connects started on the worker's first call.
 *
 * This file: ring set-up and probe, the completion loop, the ops, open and
 * close.  The datagram path is in uring_dgram.c, the stream path in
 * uring_stream.c; they share struct uring_port through uring_internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <liburing.h>

#include <salvo/addr.h>
#include <salvo/backend.h>
#include <salvo/common.h>
#include <salvo/pkt.h>

#include "sock.h"
#include "uring_internal.h"

/* ---- ring set-up and probe ------------------------------------------------ */

static struct io_uring_probe *real_get_probe(struct io_uring *ring)
{
	return io_uring_get_probe_ring(ring);
}

const struct salvo__uring_sys salvo__uring_sys_default = {
	.disabled_path = "/proc/sys/kernel/io_uring_disabled",
	.queue_init = io_uring_queue_init_params,
	.queue_exit = io_uring_queue_exit,
	.get_probe = real_get_probe,
	.register_buf_ring = io_uring_register_buf_ring,
	.unregister_buf_ring = io_uring_unregister_buf_ring,
};

int salvo__uring_setup(const struct salvo__uring_sys *sys, struct io_uring *ring, unsigned int sq,
		       unsigned int cq, unsigned int *flags)
{
	static const unsigned int tries[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
		0,
	};
	struct io_uring_params prm;
	unsigned int i;
	int ret = -EINVAL;

	for (i = 0; i < SALVO_ARRAY_SIZE(tries); i++) {
		memset(&prm, 0, sizeof(prm));
		prm.flags = tries[i] | IORING_SETUP_CQSIZE;
		prm.cq_entries = cq;
		ret = sys->queue_init(sq, ring, &prm);
		if (ret == 0) {
			*flags = prm.flags;
			return 0;
		}
		if (ret != -EINVAL)
			break;
	}
	return ret;
}

const char *salvo__uring_flags_str(unsigned int flags, char *buf, size_t len)
{
	static const struct {
		unsigned int f;
		const char *n;
	} names[] = {
		{ IORING_SETUP_SINGLE_ISSUER, "single_issuer" },
		{ IORING_SETUP_DEFER_TASKRUN, "defer_taskrun" },
		{ IORING_SETUP_COOP_TASKRUN, "coop_taskrun" },
		{ IORING_SETUP_SUBMIT_ALL, "submit_all" },
	};
	size_t off = 0;
	unsigned int i;

	if (len)
		buf[0] = 0;
	for (i = 0; i < SALVO_ARRAY_SIZE(names) && off < len; i++) {
		if (!(flags & names[i].f))
			continue;
		off += snprintf(buf + off, len - off, "%s%s", off ? "," : "", names[i].n);
	}
	if (len && !buf[0])
		snprintf(buf, len, "plain");
	return buf;
}

static int read_disabled(const char *path)
{
	char b[16];
	ssize_t n;
	int fd;

	if (!path)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	b[n] = 0;
	return atoi(b);
}

struct opneed {
	int op;
	const char *name;
};

static const struct opneed ops_dgram[] = {
	{ IORING_OP_SEND, "SEND" },
	{ IORING_OP_SENDMSG, "SENDMSG" },
	{ IORING_OP_RECVMSG, "RECVMSG" },
};
static const struct opneed ops_stream[] = {
	{ IORING_OP_SEND, "SEND" },
	{ IORING_OP_RECV, "RECV" },
	{ IORING_OP_ACCEPT, "ACCEPT" },
	{ IORING_OP_CONNECT, "CONNECT" },
	{ IORING_OP_CLOSE, "CLOSE" },
	{ IORING_OP_SHUTDOWN, "SHUTDOWN" },
	{ IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL" },
	{ IORING_OP_LINK_TIMEOUT, "LINK_TIMEOUT" },
};
static const struct opneed ops_zc[] = {
	{ IORING_OP_SEND_ZC, "SEND_ZC" },
	{ IORING_OP_SENDMSG_ZC, "SENDMSG_ZC" },
};

static int need_ops(const struct io_uring_probe *pr, const struct opneed *v, size_t n, char *why,
		    size_t len, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!io_uring_opcode_supported(pr, v[i].op)) {
			snprintf(why, len, "kernel lacks IORING_OP_%s (%s)", v[i].name, what);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

int salvo__uring_check(const struct salvo__uring_sys *sys, const struct salvo_cfg *cfg, char *why,
		       size_t len)
{
	struct io_uring_buf_reg reg;
	struct io_uring_probe *pr;
	struct io_uring ring;
	unsigned int flags;
	bool stream = cfg && cfg->proto == SALVO_PROTO_TCP;
	void *mem;
	int dis, ret;

	if (cfg && cfg->proto == SALVO_PROTO_L2) {
		snprintf(why, len, "io_uring backend carries UDP and TCP, not raw frames");
		return -EOPNOTSUPP;
	}
	dis = read_disabled(sys->disabled_path);
	if (dis >= 2) {
		snprintf(why, len, "io_uring is disabled (kernel.io_uring_disabled=%d)", dis);
		return -EPERM;
	}
	ret = salvo__uring_setup(sys, &ring, 8, 16, &flags);
	if (ret < 0) {
		snprintf(why, len, "io_uring_setup failed: %s%s", strerror(-ret),
			 ret != -EPERM ? "" :
			 dis == 1 ? " (kernel.io_uring_disabled=1: needs CAP_SYS_ADMIN or io_uring_group)" :
				    " (blocked by seccomp or a container policy?)");
		return ret;
	}
	pr = sys->get_probe(&ring);
	if (!pr) {
		snprintf(why, len, "io_uring cannot probe its opcodes (kernel older than 5.6)");
		ret = -EOPNOTSUPP;
		goto out;
	}
	ret = stream ? need_ops(pr, ops_stream, SALVO_ARRAY_SIZE(ops_stream), why, len, "streams") :
		       need_ops(pr, ops_dgram, SALVO_ARRAY_SIZE(ops_dgram), why, len, "datagrams");
	/* SEND_ZC came with multishot recvmsg (Linux 6.0): it stands for both. */
	if (!ret && !stream && !io_uring_opcode_supported(pr, IORING_OP_SEND_ZC)) {
		snprintf(why, len, "kernel lacks multishot recvmsg (needs Linux 6.0)");
		ret = -EOPNOTSUPP;
	}
	if (!ret && cfg && cfg->zerocopy)
		ret = need_ops(pr, ops_zc, SALVO_ARRAY_SIZE(ops_zc), why, len, "--zerocopy");
	free(pr);
	if (ret)
		goto out;

	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		ret = -errno;
		snprintf(why, len, "mmap: %s", strerror(-ret));
		goto out;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)mem;
	reg.ring_entries = 1;
	reg.bgid = BGID;
	ret = sys->register_buf_ring(&ring, &reg, 0);
	if (ret < 0) {
		snprintf(why, len, "kernel lacks provided buffer rings (io_uring_register_buf_ring: %s)",
			 strerror(-ret));
		ret = -EOPNOTSUPP;
	} else {
		sys->unregister_buf_ring(&ring, BGID);
		ret = 0;
	}
	munmap(mem, 4096);
out:
	sys->queue_exit(&ring);
	return ret;
}

static int uring_probe(const struct salvo_cfg *cfg, char *why, size_t len)
{
	return salvo__uring_check(&salvo__uring_sys_default, cfg, why, len);
}

/* ---- small helpers ----------------------------------------------------------- */

static void *map_mem(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return m == MAP_FAILED ? NULL : m;
}

/* ---- tx errors ----------------------------------------------------------- */

static bool fatal_errno(int err)
{
	switch (err) {
	case -EACCES: case -EPERM: case -ENETUNREACH: case -EHOSTUNREACH: case -EADDRNOTAVAIL:
	case -EINVAL: case -EMSGSIZE: case -EBADF: case -ENOTCONN: case -EDESTADDRREQ:
	case -ENOENT: case -EAFNOSUPPORT: case -EFAULT:
		return true;
	}
	return false;
}

void salvo__uring_tx_error(struct salvo_port *p, int res, const struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;

	/* Counted as sent when submitted: take it back (empty close markers never were). */
	if (k->len) {
		salvo_cnt_add(&p->stats.tx_failed,
			      k->gso_size ? (k->len + k->gso_size - 1) / k->gso_size : 1);
		salvo_cnt_add(&p->stats.tx_failed_bytes, k->len);
	}
	salvo_cnt_add(&p->stats.tx_errors, 1);
	if (res == -ECONNREFUSED) {
		salvo_cnt_add(&p->stats.tx_refused, 1);
		return;
	}
	/*
	 * A reply to a datagram's source (SALVO_PKT_F_PEER: echo) fails for
	 * that one peer (port 0, broadcast, an unbound unix client): counted
	 * above, and the port goes on serving the others.  Only a send to the
	 * run's own destination makes every later one fail the same way.
	 */
	if (k->flags & SALVO_PKT_F_PEER)
		return;
	if (fatal_errno(res) && !up->fatal) {
		up->fatal = res;
		salvo_port_fail(p, res, "send", p->cfg->connect ? &p->cfg->remote : NULL);
	}
}

/* Re-arm what the kernel ended (ENOBUFS, errors), once buffers are back. */
static void rearm(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	unsigned int i;
	bool bufs = up->rx_out < up->br_entries;

	if (up->accept_paused)
		salvo__uring_adopt_pending(p);
	for (i = 0; i < up->nsocks; i++) {
		struct usock *s = &up->socks[i];

		if (s->armed || s->fd < 0)
			continue;
		if (up->listen_stream && !up->accept_paused)
			salvo__uring_arm_accept(up, i);
		else if (s->rx && bufs)
			salvo__uring_arm_recvmsg(up, i);
	}
	if (!up->stream || !bufs || !up->conn_rearm)
		return;
	up->conn_rearm = false;	/* salvo__uring_arm_recv() sets it again if it cannot */
	for (i = 0; i < up->nconns; i++) {
		struct uconn *c = &up->conns[i];

		if (c->state == C_OPEN && !c->recv_armed && !c->eof)
			salvo__uring_arm_recv(up, i);
	}
}

/* ---- the completion loop ----------------------------------------------------- */

/* Handle every CQE there is; returns how many tx buffers went back to the pool. */
static int process(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0, before = up->tx_inflight;

	io_uring_for_each_cqe(&up->ring, head, cqe) {
		uint64_t ud = cqe->user_data;
		uint32_t x = (uint32_t)(ud >> 8);

		seen++;
		switch (ud & 0xff) {
		case UD_TX:
			salvo__uring_on_tx(p, cqe, salvo_pool_pkt(p->pool, x));
			break;
		case UD_SEND:
			salvo__uring_on_send(p, cqe, salvo_pool_pkt(p->pool, x));
			break;
		case UD_RECVMSG:
			salvo__uring_on_recvmsg(p, cqe, x);
			break;
		case UD_RECV:
			salvo__uring_on_recv(p, cqe, x);
			break;
		case UD_ACCEPT:
			salvo__uring_on_accept(p, cqe, x);
			break;
		case UD_CONNECT:
			salvo__uring_on_connect(p, cqe, x);
			break;
		default:
			break;
		}
	}
	if (seen)
		io_uring_cq_advance(&up->ring, seen);
	if (io_uring_sq_ready(&up->ring))
		io_uring_submit(&up->ring);
	return (int)(before > up->tx_inflight ? before - up->tx_inflight : 0);
}

/* Whether IORING_OP_SEND takes a registered buffer on this kernel: one byte over a socketpair. */
static bool probe_fixed_send(struct uring_port *up)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int sv[2], res = -1;

	if (!up->fixed_bufs || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return false;
	sqe = io_uring_get_sqe(&up->ring);
	if (sqe) {
		io_uring_prep_send(sqe, sv[0], up->txmem, 1, MSG_DONTWAIT);
		sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
		sqe->buf_index = 0;
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
		if (io_uring_submit_and_wait(&up->ring, 1) >= 0 &&
		    io_uring_peek_cqe(&up->ring, &cqe) == 0) {
			res = cqe->res;
			io_uring_cqe_seen(&up->ring, cqe);
		}
	}
	close(sv[0]);
	close(sv[1]);
	return res == 1;
}

/* First call on the worker thread: become the ring's issuer, arm receives, start connects. */
static int port_enable(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	unsigned int i;

	if (salvo_likely(up->enabled))
		return 0;
	up->enabled = true;
	up->fixed_send = probe_fixed_send(up);
	rearm(p);
	for (i = 0; i < up->nconnect; i++) {
		struct uconn *c = &up->conns[i];
		struct io_uring_sqe *sqe = get_sqe(up);

		io_uring_prep_connect(sqe, (int)(up->conn_base + i), &c->peer.sa, c->peer.len);
		sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
		io_uring_sqe_set_data64(sqe, ud_make(UD_CONNECT, i));
		sqe = get_sqe(up);
		io_uring_prep_link_timeout(sqe, &up->conn_ts, 0);
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
	}
	io_uring_submit(&up->ring);
	return 0;
}

/* ---- ops --------------------------------------------------------------------- */

static int uring_tx_burst(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	int ret = port_enable(p);

	if (ret)
		return ret;
	if (salvo_unlikely(up->fatal))
		return up->fatal;
	return up->stream ? salvo__uring_tx_stream(p, v, n) : salvo__uring_tx_dgram(p, v, n);
}

static int uring_reap(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	int n;

	if (port_enable(p))
		return 0;
	rearm(p);
	n = process(p);
	/* DEFER_TASKRUN: completions that went async wait for us to enter the kernel. */
	if (!n && up->tx_inflight && (up->ring_flags & IORING_SETUP_DEFER_TASKRUN)) {
		io_uring_get_events(&up->ring);
		n = process(p);
	}
	if (up->stream) {
		uint64_t now = salvo_now_ns();

		if (now >= up->retrans_next_ns) {
			salvo__uring_update_retrans(p);
			up->retrans_next_ns = now + 200 * NSEC_PER_MSEC;
		}
	}
	return n;
}

static int uring_rx_burst(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	unsigned int i;
	int ret;

	ret = port_enable(p);
	if (ret)
		return ret;
	rearm(p);
	process(p);
	if (!up->fifo_n) {
		if (p->rx_timeout_ms) {
			struct __kernel_timespec ts = {
				.tv_sec = p->rx_timeout_ms / 1000,
				.tv_nsec = (long long)(p->rx_timeout_ms % 1000) * 1000000,
			};
			struct io_uring_cqe *cqe;

			ret = io_uring_submit_and_wait_timeout(&up->ring, &cqe, 1, &ts, NULL);
			if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN &&
			    ret != -EBUSY)
				return salvo_port_fail(p, ret, "io_uring_enter", NULL);
		} else {
			io_uring_get_events(&up->ring);
		}
		process(p);
	}
	for (i = 0; i < n && up->fifo_n; i++) {
		v[i] = up->fifo[up->fifo_head];
		up->fifo_head = (up->fifo_head + 1) % up->fifo_cap;
		up->fifo_n--;
	}
	return (int)i;
}

static void uring_release(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	unsigned int i;
	int added = 0;

	for (i = 0; i < n; i++) {
		struct salvo_pkt *k = v[i];

		if (k >= up->rxd && k < up->rxd + up->br_entries) {
			buf_recycle(up, (unsigned int)(k - up->rxd), added++);
			up->rx_out--;
		} else if (k >= up->evd && k < up->evd + up->nev) {
			if (k->conn < up->nconns && up->conns[k->conn].evout)
				up->conns[k->conn].evout--;	/* ev_push() counted it */
			if ((k->flags & SALVO_PKT_F_CONN_CLOSE) && k->conn < up->nconns) {
				struct uconn *c = &up->conns[k->conn];

				/* The app has seen the peer's FIN and queued any reply. */
				if (c->state == C_OPEN && c->eof) {
					c->close_after = true;
					salvo__uring_stream_start(p, k->conn);
				}
			}
			up->evfree[up->evfree_n++] = k;
		} else {
			salvo_pool_put(p->pool, &k, 1);
		}
	}
	if (added)
		io_uring_buf_ring_advance(up->br, added);
}

static int uring_drain(struct salvo_port *p, unsigned int timeout_ms)
{
	struct uring_port *up = p->priv;
	uint64_t end = salvo_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;

	if (!up->enabled)
		return 0;
	process(p);
	while (up->tx_inflight) {
		uint64_t now = salvo_now_ns();
		struct __kernel_timespec ts;
		struct io_uring_cqe *cqe;

		if (now >= end)
			break;
		ts.tv_sec = (long long)((end - now) / NSEC_PER_SEC);
		ts.tv_nsec = (long long)((end - now) % NSEC_PER_SEC);
		io_uring_submit_and_wait_timeout(&up->ring, &cqe, 1, &ts, NULL);
		process(p);
	}
	if (up->stream)
		salvo__uring_update_retrans(p);
	if (up->tx_inflight) {
		snprintf(p->err, sizeof(p->err), "%u sends still in flight after %u ms",
			 up->tx_inflight, timeout_ms);
		return -ETIMEDOUT;
	}
	return 0;
}

/* ---- open / close ---------------------------------------------------------- */

/* Sizes of one tx buffer and, for streams, of the connection table. */
static uint32_t open_sizes(struct salvo_port *p, struct uring_port *up, const struct salvo_cfg *cfg)
{
	struct rlimit rl;
	uint32_t bufsz;

	bufsz = SALVO_MAX(cfg->size, cfg->message_len);
	if (!up->stream && cfg->gso)
		bufsz = SALVO_MAX(bufsz, SALVO_MIN(64U, 65507U / SALVO_MAX(cfg->size, 1U)) *
					   SALVO_MAX(cfg->size, 1U));
	if (!up->stream && cfg->listen && (cfg->dir & SALVO_DIR_TX))
		bufsz = 65536;	/* an echo server replies with whatever came */
	bufsz = SALVO_MAX(bufsz, 64U);
	if (up->stream) {
		up->nconns = cfg->listen ? MAX_CONNS :
				SALVO_MAX(share(SALVO_MAX(cfg->streams, 1), p->worker, p->nworkers), 1U);
		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
		    up->nconns + 64 > rl.rlim_cur)
			up->nconns = rl.rlim_cur > 128 ? (unsigned int)rl.rlim_cur - 64 : 64;
	}
	return bufsz;
}

/* tx pool in our own memory, registered as one fixed buffer */
static int open_tx_pool(struct salvo_port *p, struct uring_port *up, const struct salvo_cfg *cfg,
			uint32_t bufsz)
{
	struct iovec iov;
	uint32_t npool, stride;
	int ret;

	npool = up->stream ? 64 : (bufsz > 16384 ? 256 : 2048);
	/*
	 * A server whose every connection may hold a send (a reply to a peer
	 * that does not read) needs a descriptor per connection, or 64 such
	 * peers stop it for everybody until their deadlines.
	 */
	if (up->stream && cfg->listen && cfg->tx_per_conn)
		npool = up->nconns + 64;
	stride = salvo_pool_stride(bufsz);
	up->txmem_len = (size_t)npool * stride;
	up->txmem = map_mem(up->txmem_len);
	if (!up->txmem)
		return salvo_port_fail(p, -ENOMEM, "mmap tx buffers", NULL);
	ret = salvo_pool_create(&p->pool, npool, bufsz, up->txmem);
	if (ret)
		return salvo_port_fail(p, ret, "pool", NULL);
	up->txs = calloc(npool, sizeof(*up->txs));
	up->txnext = calloc(npool, sizeof(*up->txnext));
	up->hold = calloc(npool, sizeof(*up->hold));
	up->mm = calloc(npool, sizeof(*up->mm));
	if (!up->txs || !up->txnext || !up->hold || !up->mm)
		return salvo_port_fail(p, -ENOMEM, "alloc", NULL);
	iov.iov_base = up->txmem;
	iov.iov_len = up->txmem_len;
	/* Not fatal: without it sends copy from plain user memory (RLIMIT_MEMLOCK). */
	up->fixed_bufs = io_uring_register_buffers(&up->ring, &iov, 1) == 0;
	return 0;
}

/* provided buffer ring for every receive */
static int open_rx_ring(struct salvo_port *p, struct uring_port *up, const struct salvo_cfg *cfg)
{
	struct io_uring_buf_reg reg;
	uint32_t payload;
	unsigned int i;
	int ret;

	if (up->stream) {
		up->br_entries = 256;
		payload = 65536;
	} else if (cfg->gro || (cfg->listen && (cfg->dir & SALVO_DIR_TX))) {
		up->br_entries = 256;
		payload = 65536;
	} else {
		up->br_entries = 1024;
		payload = SALVO_MAX(SALVO_MAX(cfg->size, cfg->message_len), 2048U);
	}
	up->rxbuf_size = salvo_pool_stride(payload + (up->stream ? 0 : RX_HDR));
	up->rxmem_len = (size_t)up->br_entries * up->rxbuf_size;
	up->rxmem = map_mem(up->rxmem_len);
	up->br_len = (size_t)up->br_entries * sizeof(struct io_uring_buf);
	up->br_len = (up->br_len + 4095) & ~(size_t)4095;
	up->br = map_mem(up->br_len);
	up->rxd = calloc(up->br_entries, sizeof(*up->rxd));
	if (!up->rxmem || !up->br || !up->rxd)
		return salvo_port_fail(p, -ENOMEM, "rx buffers", NULL);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)up->br;
	reg.ring_entries = up->br_entries;
	reg.bgid = BGID;
	ret = io_uring_register_buf_ring(&up->ring, &reg, 0);
	if (ret)
		return salvo_port_fail(p, ret, "io_uring_register_buf_ring", NULL);
	up->br_registered = true;
	io_uring_buf_ring_init(up->br);
	for (i = 0; i < up->br_entries; i++) {
		up->rxd[i].idx = NO_IDX;
		up->rxd[i].bid = i;
		up->rxd[i].buf_len = up->rxbuf_size;
		buf_recycle(up, i, (int)i);
	}
	io_uring_buf_ring_advance(up->br, (int)up->br_entries);
	return 0;
}

/* connections, the fixed file table, the event descriptors and the rx fifo */
static int open_tables(struct salvo_port *p, struct uring_port *up, const struct salvo_cfg *cfg)
{
	unsigned int i, nfiles;
	int ret;

	if (up->stream) {
		p->conn_slots = up->nconns;
		up->conns = calloc(up->nconns, sizeof(*up->conns));
		if (!up->conns)
			return salvo_port_fail(p, -ENOMEM, "alloc", NULL);
		for (i = 0; i < up->nconns; i++) {
			up->conns[i].fd = -1;
			up->conns[i].qhead = up->conns[i].qtail = NO_IDX;
		}
		up->conn_base = 1;
		nfiles = 1 + up->nconns;
	} else {
		nfiles = SALVO_MAX(share(SALVO_MAX(cfg->flows, 1), p->worker, p->nworkers), 1U);
	}
	ret = io_uring_register_files_sparse(&up->ring, nfiles);
	if (ret)
		return salvo_port_fail(p, ret, "io_uring_register_files_sparse", NULL);
	up->nev = up->stream ? 4 * up->nconns + 64 : 1;
	up->evd = calloc(up->nev, sizeof(*up->evd));
	up->evfree = calloc(up->nev, sizeof(*up->evfree));
	up->fifo_cap = up->br_entries + up->nev;
	up->fifo = calloc(up->fifo_cap, sizeof(*up->fifo));
	if (!up->evd || !up->evfree || !up->fifo)
		return salvo_port_fail(p, -ENOMEM, "alloc", NULL);
	for (i = 0; i < up->nev; i++) {
		up->evd[i].idx = NO_IDX;
		up->evfree[up->evfree_n++] = &up->evd[up->nev - 1 - i];
	}
	return 0;
}

/* The sockets of either path, registered as fixed files. */
static int open_sockets(struct salvo_port *p, struct uring_port *up, const struct salvo_cfg *cfg)
{
	unsigned int i;
	int ret;

	ret = up->stream ? salvo__uring_open_stream(p, cfg) : salvo__uring_open_dgram(p, cfg);
	if (ret)
		return ret;
	for (i = 0; i < up->nsocks; i++) {
		ret = reg_file(up, up->socks[i].slot, up->socks[i].fd);
		if (ret)
			return salvo_port_fail(p, ret, "io_uring_register_files_update", NULL);
	}
	for (i = 0; i < up->nconnect; i++) {
		ret = reg_file(up, up->conn_base + i, up->conns[i].fd);
		if (ret)
			return salvo_port_fail(p, ret, "io_uring_register_files_update", NULL);
	}
	return 0;
}

static void uring_close(struct salvo_port *p);

static int uring_open(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct uring_port *up;
	char fl[96];
	int ret;

	up = calloc(1, sizeof(*up));
	if (!up)
		return -ENOMEM;
	p->priv = up;
	up->stream = cfg->proto == SALVO_PROTO_TCP;
	up->zc = cfg->zerocopy;

	ret = salvo__uring_setup(&salvo__uring_sys_default, &up->ring, SQ_ENTRIES, CQ_ENTRIES,
				 &up->ring_flags);
	if (ret) {
		salvo_port_fail(p, ret, "io_uring_setup", NULL);
		goto fail;
	}
	up->ring_ok = true;
	ret = open_tx_pool(p, up, cfg, open_sizes(p, up, cfg));
	if (!ret)
		ret = open_rx_ring(p, up, cfg);
	if (!ret)
		ret = open_tables(p, up, cfg);
	if (ret)
		goto fail;
	up->conn_ts.tv_sec = cfg->timeout_ms / 1000;
	up->conn_ts.tv_nsec = (long long)(cfg->timeout_ms % 1000) * 1000000;
	if (!cfg->timeout_ms)
		up->conn_ts.tv_sec = 5;
	up->send_timeout_ns = (uint64_t)cfg->send_timeout_ms * NSEC_PER_MSEC;
	ret = open_sockets(p, up, cfg);
	if (ret)
		goto fail;
	snprintf(p->info, sizeof(p->info), "ring: %s%s%s",
		 salvo__uring_flags_str(up->ring_flags, fl, sizeof(fl)),
		 up->fixed_bufs ? ", fixed buffers" : ", no fixed buffers (memlock)",
		 up->zc ? ", zerocopy" : "");
	return 0;
fail:
	uring_close(p);
	return ret < 0 ? ret : -EINVAL;
}

/*
 * Let go of the sockets now.  The ring holds a reference to every socket
 * registered as a fixed file and to every one a pending request uses, and
 * io_uring_queue_exit() only starts the ring's teardown: the kernel finishes
 * it in a workqueue 10-60 ms later, and until then the sockets stay bound
 * (an immediate restart on the same port failed with EADDRINUSE).  So cancel
 * every request, run their completions (DEFER_TASKRUN queues them as task
 * work for this thread), and unregister the files; the close() that follows
 * then drops the last reference.  Best effort: on failure the deferred
 * teardown still releases them.
 */
static void release_files(struct uring_port *up)
{
	struct io_uring_sync_cancel_reg reg = {
		.flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL,
		.fd = -1,
		/* Cancelling a receive or a non-blocking send does not wait on the network. */
		.timeout = {.tv_sec = 1, .tv_nsec = 0},
	};

	io_uring_register_sync_cancel(&up->ring, &reg);
	io_uring_get_events(&up->ring);
	io_uring_unregister_files(&up->ring);
}

static void uring_close(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	unsigned int i;

	if (!up)
		return;
	if (up->ring_ok)
		release_files(up);
	for (i = 0; i < up->nsocks; i++)
		if (up->socks[i].fd >= 0)
			close(up->socks[i].fd);
	for (i = 0; up->conns && i < up->nconns; i++)
		if (up->conns[i].fd >= 0)
			close(up->conns[i].fd);
	for (i = 0; i < up->npend; i++)
		close(up->pend_fd[i]);
	/* The ring's exit cancels what is pending before our memory goes. */
	if (up->ring_ok)
		io_uring_queue_exit(&up->ring);
	if (up->unix_bound)
		salvo__sock_unix_unbind(&p->cfg->local);
	if (p->pool)
		salvo_pool_destroy(p->pool);
	p->pool = NULL;
	if (up->txmem)
		munmap(up->txmem, up->txmem_len);
	if (up->rxmem)
		munmap(up->rxmem, up->rxmem_len);
	if (up->br)
		munmap(up->br, up->br_len);
	free(up->txs);
	free(up->mm);
	free(up->txnext);
	free(up->hold);
	free(up->rxd);
	free(up->evd);
	free(up->evfree);
	free(up->fifo);
	free(up->socks);
	free(up->conns);
	free(up);
	p->priv = NULL;
}

static const struct salvo_backend_ops uring_ops = {
	.name = "uring",
	.desc = "io_uring: batched SQEs, registered buffers and files, multishot receive",
	.caps = SALVO_CAP_UDP | SALVO_CAP_TCP | SALVO_CAP_GSO | SALVO_CAP_GRO | SALVO_CAP_ZEROCOPY,
	.prio = 30,
	.probe = uring_probe,
	.open = uring_open,
	.tx_burst = uring_tx_burst,
	.rx_burst = uring_rx_burst,
	.release = uring_release,
	.flush = NULL,
	.reap = uring_reap,
	.drain = uring_drain,
	.close = uring_close,
};

SALVO_BACKEND_REGISTER(uring_ops)

