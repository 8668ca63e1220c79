/* SPDX-License-Identifier: MIT */
/*
 * io_uring backend internals that the unit tests reach: ring set-up with
 * flag fallback, and the capability check behind probe().  The kernel
 * calls go through a table so a test can play a kernel that refuses a flag,
 * an op, or io_uring altogether.
 */
#ifndef SALVO_URING_INTERNAL_H
#define SALVO_URING_INTERNAL_H

#include <stddef.h>

#include <liburing.h>

#include <salvo/cfg.h>

struct salvo__uring_sys {
	const char *disabled_path;	/* /proc/sys/kernel/io_uring_disabled */
	int (*queue_init)(unsigned int entries, struct io_uring *ring, struct io_uring_params *prm);
	void (*queue_exit)(struct io_uring *ring);
	struct io_uring_probe *(*get_probe)(struct io_uring *ring);
	int (*register_buf_ring)(struct io_uring *ring, struct io_uring_buf_reg *reg,
				 unsigned int flags);
	int (*unregister_buf_ring)(struct io_uring *ring, int bgid);
	/*
	 * Arm op (IORING_OP_RECVMSG, _ACCEPT or _RECV) as multishot on a test
	 * socket and cancel it: 0 when the kernel kept it armed, else -errno
	 * (-EINVAL: the kernel does not know multishot for op).
	 */
	int (*multishot)(struct io_uring *ring, int op);
};

extern const struct salvo__uring_sys salvo__uring_sys_default;

/*
 * Create a ring with sq entries and a CQ of cq entries, asking for
 * SUBMIT_ALL | SINGLE_ISSUER | DEFER_TASKRUN and dropping what the kernel
 * refuses (EINVAL) one step at a time: DEFER_TASKRUN (COOP_TASKRUN instead),
 * then SINGLE_ISSUER, then everything but CQSIZE.  The calling thread must
 * be the one that submits.  Flags obtained in *flags.  -errno from the last
 * attempt (EPERM, ENOMEM... stop at once).
 */
int salvo__uring_setup(const struct salvo__uring_sys *sys, struct io_uring *ring, unsigned int sq,
		       unsigned int cq, unsigned int *flags);

/*
 * Can this machine run cfg on io_uring?  0, or -errno with one line in why:
 * io_uring_disabled, setup refused (seccomp, EPERM), an op or a multishot
 * flavour the kernel lacks, no provided buffer rings.
 */
int salvo__uring_check(const struct salvo__uring_sys *sys, const struct salvo_cfg *cfg, char *why,
		       size_t len);

/*
 * salvo doctor's io_uring lines, judged from the same feature table as
 * salvo__uring_check: the sysctl, the test ring, one line per feature, and
 * io_uring.datagrams / io_uring.streams whose detail carries the probe's
 * reason word for word.
 */
struct salvo_doctor_report;
void salvo__uring_doctor(const struct salvo__uring_sys *sys, struct salvo_doctor_report *r);

/* "single_issuer,defer_taskrun" for p->info. */
const char *salvo__uring_flags_str(unsigned int flags, char *buf, size_t len);

/* ---- the port: shared by uring.c, uring_dgram.c and uring_stream.c ---------- */

#include <netinet/udp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <salvo/addr.h>
#include <salvo/backend.h>
#include <salvo/common.h>
#include <salvo/pkt.h>


/* From newer kernel headers than liburing 2.3 ships (Linux 6.2 uapi). */
#define ZC_REPORT_USAGE (1U << 3)	/* IORING_SEND_ZC_REPORT_USAGE */
#define ZC_USAGE_COPIED (1U << 31)	/* IORING_NOTIF_USAGE_ZC_COPIED */

#define SQ_ENTRIES 512
#define CQ_ENTRIES 8192
#define BGID 0
#define RX_HDR 256		/* io_uring_recvmsg_out + name + control, rounded */
#define MAX_CONNS 4096
/*
 * A stream send carries a run of up to RUN_MSGS queued messages of one
 * connection (and RUN_BYTES, the first message always), one SENDMSG whose
 * iovec points at them: the syscall backend's sendmsg run (1 MiB at the
 * default 128 KiB --size), one SQE and one CQE per run instead of per message.
 */
#define RUN_MSGS 8
#define RUN_BYTES (1U << 20)
#define NO_IDX UINT32_MAX

enum {
	UD_IGNORE = 1,	/* link timeouts, cancels, closes, shutdowns */
	UD_TX,		/* x: pool index (datagram send) */
	UD_SEND,	/* x: pool index (stream send) */
	UD_RECVMSG,	/* x: socket index */
	UD_RECV,	/* x: connection id */
	UD_ACCEPT,	/* x: socket index */
	UD_CONNECT,	/* x: connection id */
	UD_SOCKET,	/* x: connection id (a dial's SOCKET, reported only when it fails) */
	UD_TXS,		/* datagram send with CQE_SKIP_SUCCESS: see ud_skip() */
};

static inline uint64_t ud_make(unsigned int kind, uint32_t x)
{
	return (uint64_t)x << 8 | kind;
}

/*
 * A skipped-success send's user_data carries what its error CQE needs
 * without the descriptor: pool index (16 bits), length (17), segment size
 * (16) and the burst's generation (7), so a CQE that came after its burst
 * was recycled is still counted exactly (uring_dgram.c, tx_skip).
 */
#define TXS_MAX_LEN (1U << 17)
#define TXS_MAX_IDX (1U << 16)

/* The burst's part of every skip send's user_data: computed once a burst. */
static inline uint64_t ud_skip_burst(unsigned int gen)
{
	return (uint64_t)(gen & 0x7f) << 57 | UD_TXS;
}

static inline uint64_t ud_skip(uint64_t burst, uint32_t idx, uint32_t len, uint16_t gso)
{
	return burst | (uint64_t)gso << 41 | (uint64_t)len << 24 | (uint64_t)idx << 8;
}

enum { C_FREE, C_CONNECTING, C_OPEN, C_CLOSING };

struct usock {
	int fd;
	unsigned int slot;	/* fixed file index */
	bool armed;		/* multishot recvmsg / accept pending */
	bool rx;		/* wants a multishot recvmsg */
	uint32_t rx_hdr;	/* io_uring_recvmsg_out + namelen + controllen of rxmsg */
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
	int dial_err;		/* a dial's SOCKET failed: the cancelled CONNECT reports this */
	uint16_t evout;		/* events of this connection the app has not released */
	uint32_t qhead, qtail;	/* queued tx pkts (pool idx, linked by txnext) */
	uint64_t send_end_ns;	/* the queue head must be sent by then (send_timeout_ms) */
	struct __kernel_timespec send_ts;	/* its linked timeout, read at submission */
	/*
	 * The run in flight (uring_stream.c, send_run): srun messages from the
	 * one in the send's user_data, each holding a reference until the CQE.
	 * The kernel may read smsg and siov until then (a send that went async
	 * or is retried for MSG_WAITALL), so they live here, not on a stack.
	 */
	uint8_t srun;
	struct msghdr smsg;
	struct iovec siov[RUN_MSGS];
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
	/*
	 * Plain datagram sends go with IOSQE_CQE_SKIP_SUCCESS and MSG_DONTWAIT
	 * (5.17, IORING_FEAT_CQE_SKIP): no CQE per success, and every send is
	 * done when io_uring_enter returns (tx_skip).  Off for --zerocopy,
	 * servers, unix datagrams, SALVO_URING_REFUSE=cqe_skip, and for the rest
	 * of the run after the first EAGAIN.
	 */
	bool skip;
	bool skip_window;	/* inside tx_skip's reap: the burst's descriptors are still ours */
	uint8_t skip_gen;	/* the burst in the window (7 bits in user_data) */
	unsigned int skip_held;	/* descriptors of the window's burst the kernel still holds */
	struct io_uring_sqe skip_sqe;	/* template: SEND, fixed file (and buffer), skip, DONTWAIT */
	/*
	 * Some SQ slot may hold something other than skip_sqe's fields: set
	 * at set-up, by tx_skip's rewrite of unconsumed SQEs, and when the
	 * SQ tail is not where tx_skip left it (skip_tail: any other SQE was
	 * written since, by whatever code); tx_skip then writes the template
	 * whole into the next skip_tmpl_left slots (the ring's size) before
	 * it trusts them.
	 */
	bool skip_dirty;
	unsigned int skip_tmpl_left;
	unsigned int skip_tail;
	/*
	 * --gso: the segment size set with UDP_SEGMENT on every tx socket, so
	 * a descriptor of that gso_size goes as a plain SEND (no msghdr, no
	 * cmsg per request); 0 when not set (a descriptor then carries its cmsg).
	 */
	uint16_t sock_gso;
	bool unix_dgram;	/* datagrams to or from a unix socket: sent with sendmmsg(2) */
	bool dgram_rx;		/* some datagram socket receives (usock.rx): rearm() has work */
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
	 * cfg->discard: the multishot RECV carries MSG_TRUNC, so TCP drops the
	 * bytes without copying them into the picked buffer (its length still
	 * caps one completion); the buffer goes back to the app unwritten.
	 */
	bool discard;
	bool dial_direct;	/* dials use SOCKET into the fixed slot (no fd: no TCP_INFO) */
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
	int send_flags;	/* stream sends: MSG_NOSIGNAL | MSG_WAITALL (uring_open) */
	uint64_t retrans_closed;
	uint64_t retrans_next_ns;

	bool unix_bound;	/* bound cfg->local's unix path: removed at close */
};

static inline struct io_uring_sqe *get_sqe(struct uring_port *up)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&up->ring);

	if (!sqe) {
		io_uring_submit(&up->ring);
		sqe = io_uring_get_sqe(&up->ring);
	}
	return sqe;
}

/* This worker's share of total (flows, streams). */
static inline unsigned int share(unsigned int total, unsigned int worker, unsigned int nworkers)
{
	if (!nworkers)
		nworkers = 1;
	return total / nworkers + (worker < total % nworkers);
}

static inline int reg_file(struct uring_port *up, unsigned int slot, int fd)
{
	int ret = io_uring_register_files_update(&up->ring, slot, &fd, 1);

	return ret < 0 ? ret : 0;
}

/* ---- tx buffer bookkeeping ------------------------------------------------- */

static inline void tx_put(struct salvo_port *p, struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;

	salvo_pool_put(p->pool, &k, 1);
	up->tx_inflight--;
}

/* One expected CQE for k arrived; the buffer goes back when none remain. */
static inline bool tx_unhold(struct salvo_port *p, struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;

	if (!up->hold[k->idx] || --up->hold[k->idx])
		return false;
	tx_put(p, k);
	return true;
}

/* ---- rx -------------------------------------------------------------------- */

static inline void fifo_push(struct uring_port *up, struct salvo_pkt *k)
{
	unsigned int i = up->fifo_head + up->fifo_n;

	/* head and n are below cap: one subtraction wraps, no division per packet. */
	up->fifo[i >= up->fifo_cap ? i - up->fifo_cap : i] = k;
	up->fifo_n++;
}

static inline void buf_recycle(struct uring_port *up, unsigned int bid, int off)
{
	io_uring_buf_ring_add(up->br, up->rxmem + (size_t)bid * up->rxbuf_size, up->rxbuf_size,
			      bid, io_uring_buf_ring_mask(up->br_entries), off);
}

/* sqe: one the caller got and has not used; every byte of it is written here. */
static inline void prep_send_sqe(struct uring_port *up, struct io_uring_sqe *sqe, int slot,
				 struct salvo_pkt *k, uint32_t off, unsigned int kind, int flags)
{
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
}

static inline struct io_uring_sqe *prep_send(struct uring_port *up, int slot, struct salvo_pkt *k,
					     uint32_t off, unsigned int kind, int flags)
{
	struct io_uring_sqe *sqe = get_sqe(up);

	prep_send_sqe(up, sqe, slot, k, off, kind, flags);
	return sqe;
}

/*
 * The kernel's name for a datagram into k->peer: what salvo_addr_from_sa
 * (engine/addr.c) does, with the one length a UDP/IPv4 socket gives done
 * here without the call (a tenth of the per-datagram work of the run below);
 * the clear is the same: what an IPv6 reader of the storage could look at.
 */
static inline void rx_peer(struct salvo_pkt *k, const void *name, socklen_t len)
{
	if (len == sizeof(struct sockaddr_in)) {
		memcpy(&k->peer.in4, name, sizeof(struct sockaddr_in));
		memset((char *)&k->peer.ss + sizeof(struct sockaddr_in), 0,
		       sizeof(struct sockaddr_in6) - sizeof(struct sockaddr_in));
		k->peer.len = len;
	} else {
		salvo_addr_from_sa(&k->peer, name, len);
	}
}

/* The cmsgs of one datagram (the GRO segment size); most carry none. */
static inline void rx_cmsgs(struct usock *s, struct io_uring_recvmsg_out *o,
			    struct salvo_pkt *k)
{
	struct cmsghdr *cm;

	for (cm = io_uring_recvmsg_cmsg_firsthdr(o, &s->rxmsg); cm;
	     cm = io_uring_recvmsg_cmsg_nexthdr(o, &s->rxmsg, cm)) {
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
			int seg;

			memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
			if (seg > 0 && (uint32_t)seg < k->len)
				k->gso_size = (uint16_t)seg;
		}
	}
}

/*
 * A run of multishot RECVMSG completions, from CQE i up to tail or the
 * first CQE of another kind; each datagram goes to the receive FIFO.
 * Returns the index after the run.  Inline in the completion loop (uring.c),
 * once per received datagram.  The FIFO position, the buffer geometry and
 * the count of buffers taken are locals for the run, written back once at
 * its end: kept in the port, every store to a descriptor made the compiler
 * load them again (it cannot tell the two do not alias).  The layout in the
 * buffer (io_uring_recvmsg_out, name, control, payload) is fixed per socket:
 * s->rx_hdr, set when the RECVMSG is armed, replaces liburing's
 * validate/payload helpers, which recompute it per datagram.
 */
static inline unsigned int uring_recvmsg_run(struct salvo_port *p, unsigned int i,
					     unsigned int tail, unsigned int shift)
{
	struct uring_port *up = p->priv;
	const struct io_uring_cq *cq = &up->ring.cq;
	struct io_uring_cqe *cqes = cq->cqes;
	unsigned int mask = cq->ring_mask, sx = UINT32_MAX;
	struct salvo_pkt **fifo = up->fifo, *rxd = up->rxd;
	struct usock *s = NULL;
	uint8_t *rxmem = up->rxmem;
	size_t size = up->rxbuf_size;
	unsigned int cap = up->fifo_cap, pos = up->fifo_head + up->fifo_n, pushed = 0, taken = 0;

	/* head and n are below cap: one subtraction wraps, no division per packet. */
	if (pos >= cap)
		pos -= cap;
	for (; i != tail; i++) {
		struct io_uring_cqe *cqe = &cqes[(i & mask) << shift];
		uint64_t ud = cqe->user_data;
		uint32_t flags = cqe->flags, hdr;
		int32_t res = cqe->res;
		struct io_uring_recvmsg_out *o;
		struct salvo_pkt *k;
		unsigned int bid;

		if ((ud & 0xff) != UD_RECVMSG)
			break;
		if ((uint32_t)(ud >> 8) != sx) {	/* most runs are one socket's */
			sx = (uint32_t)(ud >> 8);
			s = &up->socks[sx];
		}
		if (!(flags & IORING_CQE_F_MORE))
			s->armed = false;
		if (res < 0) {
			if (res == -ENOBUFS)
				salvo_cnt_add(&p->stats.rx_nobufs, 1);
			else if (res == -ECONNREFUSED)
				salvo_cnt_add(&p->stats.tx_refused, 1);	/* ICMP port unreachable for our sends */
			continue;
		}
		if (!(flags & IORING_CQE_F_BUFFER))
			continue;
		bid = flags >> IORING_CQE_BUFFER_SHIFT;
		o = (struct io_uring_recvmsg_out *)(rxmem + (size_t)bid * size);
		k = &rxd[bid];
		taken++;
		hdr = s->rx_hdr;
		if ((uint32_t)res < hdr) {	/* io_uring_recvmsg_validate() would fail */
			salvo_cnt_add(&p->stats.rx_dropped, 1);
			/* uring_release takes it off up->rx_out, which gets taken below */
			salvo_port_release(p, &k, 1);
			continue;
		}
		k->data = (uint8_t *)o + hdr;
		k->len = (uint32_t)res - hdr;
		k->gso_size = 0;
		k->flags = 0;
		k->err = 0;
		k->flow = sx;
		k->conn = 0;
		k->ts_ns = 0;
		rx_peer(k, io_uring_recvmsg_name(o), SALVO_MIN(o->namelen, s->rxmsg.msg_namelen));
		if (o->controllen >= sizeof(struct cmsghdr))
			rx_cmsgs(s, o, k);
		fifo[pos] = k;
		if (++pos == cap)
			pos = 0;
		pushed++;
	}
	up->fifo_n += pushed;
	up->rx_out += taken;
	return i;
}

/* uring.c: tx errors, shared by both paths. */
void salvo__uring_tx_error(struct salvo_port *p, int res, const struct salvo_pkt *k);
/* uring.c: handle every CQE there is; returns how many tx buffers went back to the pool. */
int salvo__uring_process(struct salvo_port *p);

/*
 * The same, without a call when there is nothing to do: a skipped-success
 * sender usually finds the CQ empty and the SQ submitted.  The CQ tail is
 * read with acquire (io_uring_cq_ready), pairing with the kernel's release
 * of it, as salvo__uring_process reads it.
 */
static inline int uring_process(struct salvo_port *p)
{
	struct uring_port *up = p->priv;

	if (!io_uring_cq_ready(&up->ring) && !io_uring_sq_ready(&up->ring))
		return 0;
	return salvo__uring_process(p);
}

/* uring_dgram.c: datagram sockets (UDP, unix dgram). */
int salvo__uring_open_dgram(struct salvo_port *p, const struct salvo_cfg *cfg);
void salvo__uring_arm_recvmsg(struct uring_port *up, unsigned int i);
void salvo__uring_on_tx(struct salvo_port *p, struct io_uring_cqe *cqe, struct salvo_pkt *k);
void salvo__uring_on_tx_skip(struct salvo_port *p, const struct io_uring_cqe *cqe);
void salvo__uring_skip_setup(struct salvo_port *p);
int salvo__uring_tx_dgram(struct salvo_port *p, struct salvo_pkt **v, unsigned int n);

/* uring_stream.c: stream sockets (TCP, unix stream) and their connections. */
int salvo__uring_open_stream(struct salvo_port *p, const struct salvo_cfg *cfg);
void salvo__uring_arm_accept(struct uring_port *up, unsigned int i);
void salvo__uring_arm_recv(struct uring_port *up, uint32_t id);
void salvo__uring_adopt_pending(struct salvo_port *p);
void salvo__uring_stream_start(struct salvo_port *p, uint32_t id);
void salvo__uring_update_retrans(struct salvo_port *p);
void salvo__uring_on_send(struct salvo_port *p, struct io_uring_cqe *cqe, struct salvo_pkt *k);
void salvo__uring_on_recv(struct salvo_port *p, struct io_uring_cqe *cqe, uint32_t id);
void salvo__uring_on_accept(struct salvo_port *p, struct io_uring_cqe *cqe, uint32_t i);
void salvo__uring_on_connect(struct salvo_port *p, struct io_uring_cqe *cqe, uint32_t id);
int salvo__uring_tx_stream(struct salvo_port *p, struct salvo_pkt **v, unsigned int n);

#endif
