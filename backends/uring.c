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

#include "uring_internal.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

/* From newer kernel headers than liburing 2.3 ships (Linux 6.2 uapi). */
#define ZC_REPORT_USAGE (1U << 3)	/* IORING_SEND_ZC_REPORT_USAGE */
#define ZC_USAGE_COPIED (1U << 31)	/* IORING_NOTIF_USAGE_ZC_COPIED */

#define SQ_ENTRIES 512
#define CQ_ENTRIES 8192
#define BGID 0
#define RX_HDR 256		/* io_uring_recvmsg_out + name + control, rounded */
#define MAX_CONNS 4096
#define NO_IDX UINT32_MAX

enum {
	UD_IGNORE = 1,	/* link timeouts, cancels, closes, shutdowns */
	UD_TX,		/* x: pool index (datagram send) */
	UD_SEND,	/* x: pool index (stream send) */
	UD_RECVMSG,	/* x: socket index */
	UD_RECV,	/* x: connection id */
	UD_ACCEPT,	/* x: socket index */
	UD_CONNECT,	/* x: connection id */
};

static inline uint64_t ud_make(unsigned int kind, uint32_t x)
{
	return (uint64_t)x << 8 | kind;
}

enum { C_FREE, C_CONNECTING, C_OPEN, C_CLOSING };

struct usock {
	int fd;
	unsigned int slot;	/* fixed file index */
	bool armed;		/* multishot recvmsg / accept pending */
	bool rx;		/* wants a multishot recvmsg */
	uint32_t ovfl;		/* last SO_RXQ_OVFL value */
	struct msghdr rxmsg;	/* layout template for multishot recvmsg */
};

struct uconn {
	int fd;
	uint8_t state;
	bool recv_armed;
	bool sending;
	bool close_after;	/* close once the queue is sent */
	bool failed;		/* CONN_ERROR reported */
	bool eof;
	bool eof_pending;	/* EOF seen while a send was in flight: its result decides */
	bool fixed;		/* registered at conn_base + id (connects); accepted ones use fd */
	bool abort;		/* close with RST (a send ran out of time), not FIN */
	uint16_t evout;		/* events of this connection the app has not released */
	uint32_t qhead, qtail;	/* queued tx pkts (pool idx, linked by txnext) */
	uint64_t send_end_ns;	/* the queue head must be sent by then (send_timeout_ms) */
	struct __kernel_timespec send_ts;	/* its linked timeout, read at submission */
	struct salvo_addr peer;
};

struct txslot {
	struct msghdr msg;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} c;
};

struct uring_port {
	struct io_uring ring;
	unsigned int ring_flags;
	bool ring_ok;
	bool enabled;
	bool stream;
	bool fixed_bufs;	/* pool memory registered */
	bool fixed_send;	/* IORING_OP_SEND takes a fixed buffer here */
	bool zc;
	bool unix_dgram;	/* datagrams to or from a unix socket: sent with sendmmsg(2) */
	struct mmsghdr *mm;	/* unix datagrams: one sendmmsg per burst and socket */
	int fatal;		/* sticky -errno: tx_burst returns it */

	/* tx */
	uint8_t *txmem;
	size_t txmem_len;
	struct txslot *txs;	/* per pool index */
	uint32_t *txnext;	/* per pool index: stream queue link */
	uint8_t *hold;		/* per pool index: CQEs still to come */
	unsigned int tx_inflight;

	/* rx: provided buffer ring */
	struct io_uring_buf_ring *br;
	size_t br_len;
	unsigned int br_entries;
	uint8_t *rxmem;
	size_t rxmem_len;
	uint32_t rxbuf_size;
	struct salvo_pkt *rxd;	/* descriptor per buffer id */
	unsigned int rx_out;	/* buffers not on the ring */
	bool br_registered;

	/* connection events */
	struct salvo_pkt *evd;
	struct salvo_pkt **evfree;
	unsigned int nev, evfree_n;

	/* received, not yet handed out */
	struct salvo_pkt **fifo;
	unsigned int fifo_cap, fifo_head, fifo_n;

	struct usock *socks;
	unsigned int nsocks;
	struct uconn *conns;
	unsigned int nconns;	/* table size */
	unsigned int conn_base;	/* fixed file index of conns[0] */
	unsigned int nconnect;	/* client conns to start on enable */
	bool listen_stream;
	/*
	 * Table full: accepted sockets wait here (the rest in the listen
	 * backlog, accept cancelled) until a slot is free, rather than be
	 * closed without a word while the app could still refuse them.
	 */
	bool accept_paused;
	int pend_fd[64];
	unsigned int npend;
	bool conn_rearm;	/* some open connection has no receive armed: rearm() scans */

	struct __kernel_timespec conn_ts;
	uint64_t send_timeout_ns;	/* cfg->send_timeout_ms; 0: none */
	uint64_t retrans_closed;
	uint64_t retrans_next_ns;

	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

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

static struct io_uring_sqe *get_sqe(struct uring_port *up)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&up->ring);

	if (!sqe) {
		io_uring_submit(&up->ring);
		sqe = io_uring_get_sqe(&up->ring);
	}
	return sqe;
}

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

static void set_bufs(int fd, const struct salvo_cfg *cfg)
{
	int v;

	if (cfg->sndbuf) {
		v = (int)cfg->sndbuf;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)))
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	}
	if (cfg->rcvbuf) {
		v = (int)cfg->rcvbuf;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	}
}

/* This worker's share of total (flows, streams). */
static unsigned int share(unsigned int total, unsigned int worker, unsigned int nworkers)
{
	if (!nworkers)
		nworkers = 1;
	return total / nworkers + (worker < total % nworkers);
}

/*
 * Bind a server socket.  A unix path left behind by a dead process is
 * removed (connect is refused); one with a live listener is "in use".
 */
static int bind_server(int fd, const struct salvo_addr *a, int type)
{
	int s;

	if (bind(fd, &a->sa, a->len) == 0)
		return 0;
	if (errno == EADDRINUSE && !salvo_addr_is_unix(a)) {
		/*
		 * A process killed with its ring open releases its sockets only
		 * when the kernel's deferred ring teardown runs (tens of ms).  A
		 * server restarted right after a crash waits that out, briefly,
		 * before calling the port in use.
		 */
		for (int i = 0; i < 20; i++) {
			struct timespec ts = {.tv_nsec = 25 * 1000 * 1000};

			nanosleep(&ts, NULL);
			if (bind(fd, &a->sa, a->len) == 0)
				return 0;
			if (errno != EADDRINUSE)
				break;
		}
		return -errno;
	}
	if (errno != EADDRINUSE || !salvo_addr_is_unix(a) || a->un.sun_path[0] == 0)
		return -errno;
	s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -EADDRINUSE;
	if (connect(s, &a->sa, a->len) == 0 || errno != ECONNREFUSED) {
		close(s);
		return -EADDRINUSE;
	}
	close(s);
	unlink(a->un.sun_path);
	return bind(fd, &a->sa, a->len) ? -errno : 0;
}

static int reg_file(struct uring_port *up, unsigned int slot, int fd)
{
	int ret = io_uring_register_files_update(&up->ring, slot, &fd, 1);

	return ret < 0 ? ret : 0;
}

/* ---- tx buffer bookkeeping ------------------------------------------------- */

static void tx_put(struct salvo_port *p, struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;

	salvo_pool_put(p->pool, &k, 1);
	up->tx_inflight--;
}

/* One expected CQE for k arrived; the buffer goes back when none remain. */
static bool tx_unhold(struct salvo_port *p, struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;

	if (!up->hold[k->idx] || --up->hold[k->idx])
		return false;
	tx_put(p, k);
	return true;
}

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

static void tx_error(struct salvo_port *p, int res, const struct salvo_pkt *k)
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

/* ---- rx -------------------------------------------------------------------- */

static void fifo_push(struct uring_port *up, struct salvo_pkt *k)
{
	up->fifo[(up->fifo_head + up->fifo_n) % up->fifo_cap] = k;
	up->fifo_n++;
}

static void buf_recycle(struct uring_port *up, unsigned int bid, int off)
{
	io_uring_buf_ring_add(up->br, up->rxmem + (size_t)bid * up->rxbuf_size, up->rxbuf_size,
			      bid, io_uring_buf_ring_mask(up->br_entries), off);
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

static void arm_recvmsg(struct uring_port *up, unsigned int i)
{
	struct usock *s = &up->socks[i];
	struct io_uring_sqe *sqe = get_sqe(up);

	if (!sqe)
		return;
	io_uring_prep_recvmsg_multishot(sqe, (int)s->slot, &s->rxmsg, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud_make(UD_RECVMSG, i));
	s->armed = true;
}

static void arm_accept(struct uring_port *up, unsigned int i)
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

static void arm_recv(struct uring_port *up, uint32_t id)
{
	struct uconn *c = &up->conns[id];
	struct io_uring_sqe *sqe = get_sqe(up);

	if (!sqe) {
		up->conn_rearm = true;
		return;
	}
	io_uring_prep_recv_multishot(sqe, 0, NULL, 0, 0);
	sqe_conn(up, sqe, id);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud_make(UD_RECV, id));
	c->recv_armed = true;
}

/* Re-arm what the kernel ended (ENOBUFS, errors), once buffers are back. */
static void conn_adopt_pending(struct salvo_port *p);

static void rearm(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	unsigned int i;
	bool bufs = up->rx_out < up->br_entries;

	if (up->accept_paused)
		conn_adopt_pending(p);
	for (i = 0; i < up->nsocks; i++) {
		struct usock *s = &up->socks[i];

		if (s->armed || s->fd < 0)
			continue;
		if (up->listen_stream && !up->accept_paused)
			arm_accept(up, i);
		else if (s->rx && bufs)
			arm_recvmsg(up, i);
	}
	if (!up->stream || !bufs || !up->conn_rearm)
		return;
	up->conn_rearm = false;	/* arm_recv() sets it again if it cannot */
	for (i = 0; i < up->nconns; i++) {
		struct uconn *c = &up->conns[i];

		if (c->state == C_OPEN && !c->recv_armed && !c->eof)
			arm_recv(up, i);
	}
}

static void on_recvmsg(struct salvo_port *p, struct io_uring_cqe *cqe, uint32_t i)
{
	struct uring_port *up = p->priv;
	struct usock *s = &up->socks[i];
	struct io_uring_recvmsg_out *o;
	struct salvo_pkt *k;
	struct cmsghdr *cm;
	unsigned int bid;
	uint8_t *buf;

	if (!(cqe->flags & IORING_CQE_F_MORE))
		s->armed = false;
	if (cqe->res < 0) {
		if (cqe->res == -ENOBUFS)
			salvo_cnt_add(&p->stats.rx_nobufs, 1);
		else if (cqe->res == -ECONNREFUSED)
			salvo_cnt_add(&p->stats.tx_refused, 1);	/* ICMP port unreachable for our sends */
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_BUFFER))
		return;
	bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	buf = up->rxmem + (size_t)bid * up->rxbuf_size;
	up->rx_out++;
	k = &up->rxd[bid];
	o = io_uring_recvmsg_validate(buf, cqe->res, &s->rxmsg);
	if (!o) {
		salvo_cnt_add(&p->stats.rx_dropped, 1);
		salvo_port_release(p, &k, 1);
		return;
	}
	k->data = io_uring_recvmsg_payload(o, &s->rxmsg);
	k->len = io_uring_recvmsg_payload_length(o, cqe->res, &s->rxmsg);
	k->gso_size = 0;
	k->flags = 0;
	k->err = 0;
	k->flow = i;
	k->conn = 0;
	k->ts_ns = 0;
	salvo_addr_from_sa(&k->peer, io_uring_recvmsg_name(o),
			   SALVO_MIN(o->namelen, s->rxmsg.msg_namelen));
	for (cm = io_uring_recvmsg_cmsg_firsthdr(o, &s->rxmsg); cm;
	     cm = io_uring_recvmsg_cmsg_nexthdr(o, &s->rxmsg, cm)) {
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
			int seg;

			memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
			if (seg > 0 && (uint32_t)seg < k->len)
				k->gso_size = (uint16_t)seg;
		} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
			uint32_t d;

			memcpy(&d, CMSG_DATA(cm), sizeof(d));
			salvo_cnt_add(&p->stats.rx_dropped, d - s->ovfl);
			s->ovfl = d;
		}
	}
	fifo_push(up, k);
}

/* ---- streams --------------------------------------------------------------- */

static uint64_t conn_retrans(const struct uconn *c)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	if (c->peer.sa.sa_family != AF_INET && c->peer.sa.sa_family != AF_INET6)
		return 0;
	if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &l))
		return 0;
	return ti.tcpi_total_retrans;
}

static void update_retrans(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	uint64_t t = up->retrans_closed;
	unsigned int i;

	for (i = 0; i < up->nconns; i++)
		if (up->conns[i].state != C_FREE && up->conns[i].fd >= 0)
			t += conn_retrans(&up->conns[i]);
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

	up->retrans_closed += conn_retrans(c);
	if (c->fixed)
		reg_file(up, up->conn_base + id, -1);
	if (c->abort) {
		/* The peer stopped reading: reset, and the kernel frees the unsent bytes now. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else {
		salvo_stream_discard_unread(c->fd);	/* a close, not a reset */
	}
	sqe = get_sqe(up);
	if (sqe) {
		io_uring_prep_close(sqe, c->fd);
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
	} else {
		close(c->fd);
	}
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

static void stream_start(struct salvo_port *p, uint32_t id);

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
		arm_recv(up, id);
	else
		up->conn_rearm = true;
	stream_start(p, id);
}

static struct io_uring_sqe *prep_send(struct uring_port *up, int slot, struct salvo_pkt *k,
				      uint32_t off, unsigned int kind, int flags)
{
	struct io_uring_sqe *sqe = get_sqe(up);
	uint8_t *d = k->data + off;
	uint32_t n = k->len - off;

	if (up->zc) {
		if (up->fixed_bufs && !(k->flags & SALVO_PKT_F_EXTERN))
			io_uring_prep_send_zc_fixed(sqe, slot, d, n, flags, ZC_REPORT_USAGE, 0);
		else
			io_uring_prep_send_zc(sqe, slot, d, n, flags, ZC_REPORT_USAGE);
		up->hold[k->idx] += 2;
	} else {
		io_uring_prep_send(sqe, slot, d, n, flags);
		if (up->fixed_send && !(k->flags & SALVO_PKT_F_EXTERN)) {
			sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
			sqe->buf_index = 0;
		}
		up->hold[k->idx] += 1;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, ud_make(kind, k->idx));
	return sqe;
}

/* Send the head of c's queue, or act on the close it asked for. */
static void stream_start(struct salvo_port *p, uint32_t id)
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
			sqe = prep_send(up, (int)(up->conn_base + id), k, k->bid, UD_SEND,
					MSG_WAITALL | MSG_NOSIGNAL);
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

static void on_send(struct salvo_port *p, struct io_uring_cqe *cqe, struct salvo_pkt *k)
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
		tx_unhold(p, k);
		conn_timeout(p, id);
		return;
	}
	if (cqe->res < 0) {
		salvo_cnt_add(&p->stats.tx_errors, 1);
		tx_unhold(p, k);
		conn_fail(p, id, cqe->res);	/* drops the queue, k's entry with it */
		return;
	}
	k->bid += (uint32_t)cqe->res;
	tx_unhold(p, k);	/* the queue's reference keeps k */
	if (c->eof_pending) {
		/* The send went through: the EOF was a plain close after all. */
		c->eof_pending = false;
		ev_push(p, SALVO_PKT_F_CONN_CLOSE, id, 0);
	}
	if (c->state == C_OPEN) {
		/* Resends the rest, or pops k and acts on its SHUT_WR / CONN_CLOSE. */
		stream_start(p, id);
	} else {
		conn_drop_queue(p, c);
		conn_maybe_finalize(p, id);
	}
}

static void on_recv(struct salvo_port *p, struct io_uring_cqe *cqe, uint32_t id)
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
	set_bufs(fd, p->cfg);
	conn_open(p, (uint32_t)id);
	return true;
}

/* Slots came free: adopt the waiting sockets, then accept again. */
static void conn_adopt_pending(struct salvo_port *p)
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

static void on_accept(struct salvo_port *p, struct io_uring_cqe *cqe, uint32_t i)
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



static void on_connect(struct salvo_port *p, struct io_uring_cqe *cqe, uint32_t id)
{
	struct uring_port *up = p->priv;
	int res = cqe->res == -ECANCELED ? -ETIMEDOUT : cqe->res;

	if (res < 0) {
		salvo_port_fail(p, res, "connect", &up->conns[id].peer);
		conn_fail(p, id, res);
		return;
	}
	conn_open(p, id);
}

/* ---- the completion loop ----------------------------------------------------- */

static void on_tx(struct salvo_port *p, struct io_uring_cqe *cqe, struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;

	if (cqe->flags & IORING_CQE_F_NOTIF) {
		if (cqe->res & ZC_USAGE_COPIED)
			salvo_cnt_add(&p->stats.zc_copied, 1);
		tx_unhold(p, k);
		return;
	}
	if (cqe->res < 0)
		tx_error(p, cqe->res, k);
	if (!(cqe->flags & IORING_CQE_F_MORE) && up->zc && up->hold[k->idx] > 1)
		up->hold[k->idx]--;	/* failed: no notification will follow */
	tx_unhold(p, k);
}

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
			on_tx(p, cqe, salvo_pool_pkt(p->pool, x));
			break;
		case UD_SEND:
			on_send(p, cqe, salvo_pool_pkt(p->pool, x));
			break;
		case UD_RECVMSG:
			on_recvmsg(p, cqe, x);
			break;
		case UD_RECV:
			on_recv(p, cqe, x);
			break;
		case UD_ACCEPT:
			on_accept(p, cqe, x);
			break;
		case UD_CONNECT:
			on_connect(p, cqe, x);
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

static int uring_tx_dgram(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	unsigned int i;

	if (!up->nsocks)
		return -ENOTCONN;	/* a unix server's extra workers have no socket */
	if (up->unix_dgram)
		return tx_dgram_sync(p, v, n);
	for (i = 0; i < n; i++) {
		struct salvo_pkt *k = v[i];
		struct usock *s = &up->socks[up->nsocks > 1 ? k->flow % up->nsocks : 0];
		struct io_uring_sqe *sqe = get_sqe(up);

		if (!sqe)
			break;
		if (k->gso_size || (k->flags & SALVO_PKT_F_PEER)) {
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
			prep_send(up, (int)s->slot, k, 0, UD_TX, 0);
		}
		up->tx_inflight++;
	}
	if (i)
		io_uring_submit(&up->ring);
	return (int)i;
}

static int uring_tx_stream(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct salvo_pkt *k = v[i];
		struct uconn *c;

		if (k->conn >= up->nconns || (c = &up->conns[k->conn])->state != C_OPEN) {
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
		stream_start(p, k->conn);
	}
	if (io_uring_sq_ready(&up->ring))
		io_uring_submit(&up->ring);
	return (int)i;
}

static int uring_tx_burst(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	int ret = port_enable(p);

	if (ret)
		return ret;
	if (salvo_unlikely(up->fatal))
		return up->fatal;
	return up->stream ? uring_tx_stream(p, v, n) : uring_tx_dgram(p, v, n);
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
			update_retrans(p);
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
					stream_start(p, k->conn);
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
		update_retrans(p);
	if (up->tx_inflight) {
		snprintf(p->err, sizeof(p->err), "%u sends still in flight after %u ms",
			 up->tx_inflight, timeout_ms);
		return -ETIMEDOUT;
	}
	return 0;
}

/* ---- open / close ---------------------------------------------------------- */

static int open_dgram_socks(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct uring_port *up = p->priv;
	const struct salvo_addr *a = cfg->listen ? &cfg->local : &cfg->remote;
	bool un = salvo_addr_is_unix(a);
	unsigned int i, n;
	int one = 1, ret, fd;

	up->unix_dgram = un;

	if (cfg->listen)
		n = (un && p->worker) ? 0 : 1;
	else
		n = SALVO_MAX(share(SALVO_MAX(cfg->flows, 1), p->worker, p->nworkers), 1U);
	up->socks = calloc(n ? n : 1, sizeof(*up->socks));
	if (!up->socks)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct usock *s = &up->socks[up->nsocks];

		fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return salvo_port_fail(p, -errno, "socket", NULL);
		s->fd = fd;
		s->slot = up->nsocks++;
		set_bufs(fd, cfg);
		if (cfg->listen) {
			if (p->nworkers > 1 && !un)
				setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
			ret = bind_server(fd, &cfg->local, SOCK_DGRAM);
			if (ret)
				return salvo_port_fail(p, ret, "bind", &cfg->local);
			if (un)
				snprintf(up->unix_path, sizeof(up->unix_path), "%s",
					 cfg->local.un.sun_path);
		} else {
			if (un) {
				/* Autobind to an abstract name so replies can reach us. */
				sa_family_t fam = AF_UNIX;

				if ((cfg->dir & SALVO_DIR_RX) && bind(fd, (struct sockaddr *)&fam, sizeof(fam)))
					return salvo_port_fail(p, -errno, "bind unix autobind", NULL);
			} else if (cfg->have_local) {
				struct salvo_addr l = cfg->local;
				unsigned int port = salvo_addr_port(&l);

				if (port)
					salvo_addr_set_port(&l, port + p->worker * n + i);
				if (bind(fd, &l.sa, l.len))
					return salvo_port_fail(p, -errno, "bind", &l);
			}
			if (connect(fd, &cfg->remote.sa, cfg->remote.len))
				return salvo_port_fail(p, -errno, "connect", &cfg->remote);
		}
		s->rx = cfg->listen || (cfg->dir & SALVO_DIR_RX);
		if (s->rx) {
			if (cfg->gro && !un && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)))
				return salvo_port_fail(p, -errno, "setsockopt UDP_GRO", NULL);
			setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
			if (!cfg->rcvbuf) {
				/* As the syscall backend: a deep queue absorbs a fast sender's bursts. */
				int rb = 8 << 20;

				if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)))
					setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
			}
			s->rxmsg.msg_namelen = sizeof(struct sockaddr_storage);
			s->rxmsg.msg_controllen = 2 * CMSG_SPACE(sizeof(int));
		}
	}
	return 0;
}

static int open_stream_socks(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct uring_port *up = p->priv;
	int one = 1, ret, fd;
	unsigned int i;

	up->socks = calloc(1, sizeof(*up->socks));
	if (!up->socks)
		return -ENOMEM;
	if (cfg->listen) {
		bool un = salvo_addr_is_unix(&cfg->local);

		up->listen_stream = true;
		if (un && p->worker)
			return 0;
		fd = socket(cfg->local.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return salvo_port_fail(p, -errno, "socket", NULL);
		up->socks[0].fd = fd;
		up->socks[0].slot = 0;
		up->nsocks = 1;
		if (!un) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (p->nworkers > 1)
				setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
		}
		set_bufs(fd, cfg);
		ret = bind_server(fd, &cfg->local, SOCK_STREAM);
		if (ret)
			return salvo_port_fail(p, ret, "bind", &cfg->local);
		if (un)
			snprintf(up->unix_path, sizeof(up->unix_path), "%s", cfg->local.un.sun_path);
		if (listen(fd, 4096))
			return salvo_port_fail(p, -errno, "listen", &cfg->local);
		return 0;
	}
	up->nconnect = share(SALVO_MAX(cfg->streams, 1), p->worker, p->nworkers);
	for (i = 0; i < up->nconnect; i++) {
		struct uconn *c = &up->conns[i];

		fd = socket(cfg->remote.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return salvo_port_fail(p, -errno, "socket", NULL);
		c->fd = fd;
		c->fixed = true;
		c->state = C_CONNECTING;
		c->peer = cfg->remote;
		set_bufs(fd, cfg);
		if (cfg->have_local && bind(fd, &cfg->local.sa, cfg->local.len))
			return salvo_port_fail(p, -errno, "bind", &cfg->local);
	}
	return 0;
}

static void uring_close(struct salvo_port *p);

static int uring_open(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct uring_port *up;
	struct io_uring_buf_reg reg;
	struct rlimit rl;
	uint32_t bufsz, npool, stride, payload;
	unsigned int i, nfiles;
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

	/* tx pool in our own memory, registered as one fixed buffer */
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
	if (!up->txmem) {
		ret = salvo_port_fail(p, -ENOMEM, "mmap tx buffers", NULL);
		goto fail;
	}
	ret = salvo_pool_create(&p->pool, npool, bufsz, up->txmem);
	if (ret) {
		salvo_port_fail(p, ret, "pool", NULL);
		goto fail;
	}
	up->txs = calloc(npool, sizeof(*up->txs));
	up->txnext = calloc(npool, sizeof(*up->txnext));
	up->hold = calloc(npool, sizeof(*up->hold));
	up->mm = calloc(npool, sizeof(*up->mm));
	if (!up->txs || !up->txnext || !up->hold || !up->mm) {
		ret = salvo_port_fail(p, -ENOMEM, "alloc", NULL);
		goto fail;
	}
	{
		struct iovec iov = { .iov_base = up->txmem, .iov_len = up->txmem_len };

		/* Not fatal: without it sends copy from plain user memory (RLIMIT_MEMLOCK). */
		up->fixed_bufs = io_uring_register_buffers(&up->ring, &iov, 1) == 0;
	}

	/* provided buffer ring for every receive */
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
	if (!up->rxmem || !up->br || !up->rxd) {
		ret = salvo_port_fail(p, -ENOMEM, "rx buffers", NULL);
		goto fail;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)up->br;
	reg.ring_entries = up->br_entries;
	reg.bgid = BGID;
	ret = io_uring_register_buf_ring(&up->ring, &reg, 0);
	if (ret) {
		salvo_port_fail(p, ret, "io_uring_register_buf_ring", NULL);
		goto fail;
	}
	up->br_registered = true;
	io_uring_buf_ring_init(up->br);
	for (i = 0; i < up->br_entries; i++) {
		up->rxd[i].idx = NO_IDX;
		up->rxd[i].bid = i;
		up->rxd[i].buf_len = up->rxbuf_size;
		buf_recycle(up, i, (int)i);
	}
	io_uring_buf_ring_advance(up->br, (int)up->br_entries);

	/* connections and the fixed file table */
	nfiles = 1;
	if (up->stream) {
		p->conn_slots = up->nconns;
		up->conns = calloc(up->nconns, sizeof(*up->conns));
		if (!up->conns) {
			ret = salvo_port_fail(p, -ENOMEM, "alloc", NULL);
			goto fail;
		}
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
	if (ret) {
		salvo_port_fail(p, ret, "io_uring_register_files_sparse", NULL);
		goto fail;
	}
	up->nev = up->stream ? 4 * up->nconns + 64 : 1;
	up->evd = calloc(up->nev, sizeof(*up->evd));
	up->evfree = calloc(up->nev, sizeof(*up->evfree));
	up->fifo_cap = up->br_entries + up->nev;
	up->fifo = calloc(up->fifo_cap, sizeof(*up->fifo));
	if (!up->evd || !up->evfree || !up->fifo) {
		ret = salvo_port_fail(p, -ENOMEM, "alloc", NULL);
		goto fail;
	}
	for (i = 0; i < up->nev; i++) {
		up->evd[i].idx = NO_IDX;
		up->evfree[up->evfree_n++] = &up->evd[up->nev - 1 - i];
	}
	up->conn_ts.tv_sec = cfg->timeout_ms / 1000;
	up->conn_ts.tv_nsec = (long long)(cfg->timeout_ms % 1000) * 1000000;
	if (!cfg->timeout_ms)
		up->conn_ts.tv_sec = 5;
	up->send_timeout_ns = (uint64_t)cfg->send_timeout_ms * NSEC_PER_MSEC;

	ret = up->stream ? open_stream_socks(p, cfg) : open_dgram_socks(p, cfg);
	if (ret)
		goto fail;
	for (i = 0; i < up->nsocks; i++) {
		ret = reg_file(up, up->socks[i].slot, up->socks[i].fd);
		if (ret) {
			salvo_port_fail(p, ret, "io_uring_register_files_update", NULL);
			goto fail;
		}
	}
	for (i = 0; i < up->nconnect; i++) {
		ret = reg_file(up, up->conn_base + i, up->conns[i].fd);
		if (ret) {
			salvo_port_fail(p, ret, "io_uring_register_files_update", NULL);
			goto fail;
		}
	}
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
	for (i = 0; i < up->nsocks; i++) {
		/* The kernel's exact drop count, tail included (kstats.h): UDP receivers. */
		if (up->socks[i].rx && p->cfg->proto == SALVO_PROTO_UDP &&
		    !salvo_addr_is_unix(&p->cfg->local))
			salvo_kstats_add_sock(&p->stats.kernel, up->socks[i].fd);
		if (up->socks[i].fd >= 0)
			close(up->socks[i].fd);
	}
	for (i = 0; up->conns && i < up->nconns; i++)
		if (up->conns[i].fd >= 0)
			close(up->conns[i].fd);
	for (i = 0; i < up->npend; i++)
		close(up->pend_fd[i]);
	/* The ring's exit cancels what is pending before our memory goes. */
	if (up->ring_ok)
		io_uring_queue_exit(&up->ring);
	if (up->unix_path[0])
		unlink(up->unix_path);
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
