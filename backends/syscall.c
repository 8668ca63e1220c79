// SPDX-License-Identifier: MIT
/*
 * The syscall backend: the reference every other backend is measured
 * against, and the fallback where io_uring is disabled.  Datagrams go out in
 * one sendmmsg per burst (per flow run) and come in through recvmmsg;
 * --gso sets UDP_SEGMENT so one message carries up to 64 segments, --gro
 * sets UDP_GRO and reads the segment size from the cmsg.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <salvo/backend.h>

#include "sock.h"
#include "syscall_internal.h"

#define SYS_MAX_BURST 1024
#define CMSG_SPACE_GRO CMSG_SPACE(sizeof(int))

struct sys_port {
	int *fds;			/* tx: one per local flow; rx: fds[0] */
	unsigned int nfds;
	bool rx;
	bool unix_bound;		/* bound cfg->local's unix path: removed at close */
	bool recverr;			/* IP(V6)_RECVERR: each ICMP error queued (check_refused) */
	struct mmsghdr msgs[SYS_MAX_BURST];
	struct iovec iov[SYS_MAX_BURST];
	struct salvo_addr names[SYS_MAX_BURST];
	uint8_t (*ctrl)[CMSG_SPACE_GRO];	/* rx with --gro: one cmsg area per message */
	struct salvo_pkt *tmp[SYS_MAX_BURST];
	unsigned int tx_calls;
	/*
	 * rx: msgs[0..armed) each hold a descriptor (slot), its buffer and
	 * peer address set, ready for recvmmsg.  A call hands out the slots
	 * the kernel filled and arms only those again: its cost follows the
	 * datagrams it took, not the batch it offered.
	 */
	struct salvo_pkt *slot[SYS_MAX_BURST];
	struct mmsghdr rx_msgs[SYS_MAX_BURST];	/* apart from tx's: an echo port does both */
	struct iovec rx_iov[SYS_MAX_BURST];
	unsigned int armed;
};

/* One datagram socket of the port: sock.c's, then what only this backend does. */
static int open_dgram(struct salvo_port *p, struct sys_port *s, const struct salvo_cfg *cfg)
{
	struct salvo__sock_dgram_opts o = {
		.rx = cfg->listen,
		.nonblock = false,	/* recvmmsg blocks, bounded by SO_RCVTIMEO */
		.nworkers = p->nworkers,
	};
	char a[SALVO_ADDR_STRLEN];
	int fd, rc;

	fd = salvo__sock_open_dgram(cfg, &o, p->err, sizeof(p->err));
	if (fd < 0)
		return fd;
	s->fds[s->nfds++] = fd;
	if (s->rx && s->nfds == 1)
		salvo__sock_busy_poll(p, fd, cfg);	/* fds[0] is the one sys_rx reads */
	if (cfg->listen) {
		s->unix_bound = salvo_addr_is_unix(&cfg->local);
		/* A receiver that answers one peer only (--connect). */
		if (cfg->connect && cfg->remote.len && connect(fd, &cfg->remote.sa, cfg->remote.len)) {
			rc = -errno;
			snprintf(p->err, sizeof(p->err), "cannot connect to %s: %s",
				 salvo_addr_str(&cfg->remote, a, sizeof(a)), strerror(-rc));
			return rc;
		}
		return 0;
	}
	/*
	 * One queued error per ICMP port unreachable, so every refused
	 * datagram is counted (check_refused); without it sendmmsg() drops
	 * the socket's pending error once a message of the batch went out.
	 */
	if (!s->rx && (cfg->remote.sa.sa_family == AF_INET || cfg->remote.sa.sa_family == AF_INET6)) {
		int one = 1;

		s->recverr = !(cfg->remote.sa.sa_family == AF_INET ?
			       setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) :
			       setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one)));
	}
	return cfg->gso ? salvo__sock_set_gso(fd, cfg->size, p->err, sizeof(p->err)) : 0;
}

static int sys_probe(const struct salvo_cfg *cfg, char *why, size_t len)
{
	(void)cfg;
	(void)why;
	(void)len;
	return 0;	/* plain sockets work wherever salvo runs */
}

static void sys_close(struct salvo_port *p);

static int sys_open(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct sys_port *s;
	unsigned int nbuf, bufsz, nflows;
	bool rx_only = (cfg->dir & SALVO_DIR_RX) && !(cfg->dir & SALVO_DIR_TX);
	bool rx = cfg->dir & SALVO_DIR_RX;
	int rc;

	if (cfg->proto == SALVO_PROTO_TCP)
		return salvo__sys_stream_open(p, cfg);
	if (cfg->proto != SALVO_PROTO_UDP) {
		snprintf(p->err, sizeof(p->err), "syscall backend: this protocol is not supported");
		return -EOPNOTSUPP;
	}
	if (cfg->listen && cfg->local.sa.sa_family == AF_UNIX && p->nworkers > 1) {
		snprintf(p->err, sizeof(p->err), "a unix datagram receiver runs one thread (--threads 1)");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	p->priv = s;
	s->rx = rx;
	/* Listening ports (receivers, echo servers) have one bound socket; senders one per flow. */
	nflows = cfg->listen ? 1 : salvo_worker_nflows(cfg->flows, p->worker, p->nworkers);
	if (!nflows)
		nflows = 1;
	s->fds = calloc(nflows, sizeof(int));
	if (!s->fds) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < nflows; i++) {
		rc = open_dgram(p, s, cfg);
		if (rc)
			goto fail;
	}
	/* Receive buffers must hold the largest datagram (64 KiB with GRO). */
	if (rx)
		bufsz = cfg->gro ? 65536 : SALVO_MAX(cfg->size, 65536u);
	else
		bufsz = cfg->gso ? 65536 : SALVO_MAX(cfg->size, cfg->message_len) + 1;
	if (cfg->message_len > 65507) {
		rc = -EMSGSIZE;
		snprintf(p->err, sizeof(p->err), "message of %u bytes exceeds a datagram", cfg->message_len);
		goto fail;
	}
	nbuf = SALVO_MAX(2 * cfg->burst, 64u);
	if (!rx_only && rx)
		nbuf *= 2;
	rc = salvo_pool_create(&p->pool, nbuf, bufsz, NULL);
	if (rc)
		goto fail;
	if (cfg->gro) {
		s->ctrl = calloc(SYS_MAX_BURST, sizeof(*s->ctrl));
		if (!s->ctrl) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	snprintf(p->info, sizeof(p->info), "%u socket%s%s%s", s->nfds, s->nfds == 1 ? "" : "s",
		 cfg->gso ? ", UDP_SEGMENT" : "", cfg->gro ? ", UDP_GRO" : "");
	return 0;
fail:
	sys_close(p);
	return rc;
}

/* Send one run of descriptors through one socket.  Returns accepted count or -errno. */
static int send_run(struct salvo_port *p, struct sys_port *s, int fd, struct salvo_pkt **v,
		    unsigned int n)
{
	int rc;

	for (unsigned int i = 0; i < n; i++) {
		struct msghdr *m = &s->msgs[i].msg_hdr;

		s->iov[i].iov_base = v[i]->data;
		s->iov[i].iov_len = v[i]->len;
		memset(m, 0, sizeof(*m));
		m->msg_iov = &s->iov[i];
		m->msg_iovlen = 1;
		if (v[i]->flags & SALVO_PKT_F_PEER) {
			m->msg_name = &v[i]->peer.sa;
			m->msg_namelen = v[i]->peer.len;
		}
	}
	rc = sendmmsg(fd, s->msgs, n, 0);
	if (rc < 0) {
		rc = -errno;
		/* With recverr the queued ICMP error counts it (check_refused). */
		if (rc == -ECONNREFUSED && !s->recverr)
			salvo_cnt_add(&p->stats.tx_refused, 1);
		return rc;
	}
	return rc;
}

/* Count and clear the ICMP errors queued on fd (IP_RECVERR): one per refused datagram. */
static void drain_errqueue(struct salvo_port *p, int fd)
{
	for (;;) {
		char ctl[512];
		struct msghdr m = {.msg_control = ctl, .msg_controllen = sizeof(ctl)};
		struct cmsghdr *cm;

		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;	/* EAGAIN: the queue is empty */
		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
			const struct sock_extended_err *ee = (const void *)CMSG_DATA(cm);

			if (!((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR) ||
			      (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR)))
				continue;
			salvo_cnt_add(&p->stats.tx_errors, 1);
			if (ee->ee_errno == ECONNREFUSED)
				salvo_cnt_add(&p->stats.tx_refused, 1);
		}
	}
}

/*
 * Without recverr (unix sockets) sendmmsg() drops a pending error once one
 * message of the batch went out, so "nobody listening" would never show at
 * full speed: read and clear SO_ERROR every 64 submissions instead (one
 * cheap syscall per 2048 packets).  With it, the error queue holds every
 * ICMP error: drained as often, after a short or failed send, and at close.
 */
static void check_refused(struct salvo_port *p, struct sys_port *s)
{
	for (unsigned int i = 0; i < s->nfds; i++) {
		int e = 0;
		socklen_t l = sizeof(e);

		if (s->recverr) {
			drain_errqueue(p, s->fds[i]);
			continue;
		}
		if (getsockopt(s->fds[i], SOL_SOCKET, SO_ERROR, &e, &l) == 0 && e == ECONNREFUSED) {
			salvo_cnt_add(&p->stats.tx_refused, 1);
			salvo_cnt_add(&p->stats.tx_errors, 1);
		}
	}
}

static int sys_tx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct sys_port *s = p->priv;
	unsigned int done = 0;

	if (p->cfg->proto == SALVO_PROTO_TCP)
		return salvo__sys_stream_tx(p, v, n);
	if (n > SYS_MAX_BURST)
		n = SYS_MAX_BURST;
	if ((++s->tx_calls & 63) == 0 && !s->rx)
		check_refused(p, s);
	while (done < n) {
		unsigned int flow = v[done]->flow, run = 1;
		int fd, rc;

		while (done + run < n && v[done + run]->flow == flow)
			run++;
		fd = s->fds[flow < s->nfds ? flow : 0];
		rc = send_run(p, s, fd, v + done, run);
		if (s->recverr && rc < (int)run)
			drain_errqueue(p, fd);	/* a refusal may be why it stopped short */
		if (rc < 0) {
			if (done)
				break;
			return rc;
		}
		/* Synchronous: the kernel has copied the data, buffers go back at once. */
		salvo_pool_put(p->pool, v + done, (unsigned int)rc);
		done += (unsigned int)rc;
		if ((unsigned int)rc < run)
			break;
	}
	return (int)done;
}

/* Slot i of the receive batch gets descriptor k: its buffer, its peer, fields the kernel rewrites. */
static inline void rx_slot_set(struct sys_port *s, unsigned int i, struct salvo_pkt *k)
{
	struct msghdr *m = &s->rx_msgs[i].msg_hdr;

	s->slot[i] = k;
	s->rx_iov[i].iov_base = k->data;
	s->rx_iov[i].iov_len = k->buf_len;
	m->msg_name = &k->peer.ss;
	m->msg_namelen = sizeof(k->peer.ss);
	m->msg_controllen = s->ctrl ? sizeof(s->ctrl[i]) : 0;
	m->msg_flags = 0;
}

/* Arm slots from s->armed up to n from the pool; returns s->armed. */
static unsigned int rx_arm(struct salvo_port *p, struct sys_port *s, unsigned int n)
{
	unsigned int got = salvo_pool_get(p->pool, &s->slot[s->armed], n - s->armed);

	for (unsigned int i = s->armed; i < s->armed + got; i++) {
		struct msghdr *m = &s->rx_msgs[i].msg_hdr;

		m->msg_iov = &s->rx_iov[i];
		m->msg_iovlen = 1;
		m->msg_control = s->ctrl ? s->ctrl[i] : NULL;
		rx_slot_set(s, i, s->slot[i]);
	}
	s->armed += got;
	return s->armed;
}

static int sys_rx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct sys_port *s = p->priv;
	unsigned int vlen, left, mv;
	int rc;

	if (p->cfg->proto == SALVO_PROTO_TCP)
		return salvo__sys_stream_rx(p, v, n);
	if (n > SYS_MAX_BURST)
		n = SYS_MAX_BURST;
	if (s->armed < n && !rx_arm(p, s, n))
		return -ENOBUFS;
	vlen = SALVO_MIN(n, s->armed);
	/*
	 * Blocks until one datagram (or SO_RCVTIMEO), then takes what is
	 * queued; a port that may not block (--busy-poll) asks once and
	 * returns 0 at once when nothing is there.
	 */
	rc = recvmmsg(s->fds[0], s->rx_msgs, vlen, MSG_WAITFORONE | (p->rx_timeout_ms ? 0 : MSG_DONTWAIT),
		      NULL);
	if (rc < 0) {
		rc = -errno;
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR)
			return 0;
		if (rc == -ECONNREFUSED) {
			salvo_cnt_add(&p->stats.tx_refused, 1);
			return 0;
		}
		return rc;
	}
	for (int i = 0; i < rc; i++) {
		struct msghdr *m = &s->rx_msgs[i].msg_hdr;
		struct salvo_pkt *k = s->slot[i];

		v[i] = k;
		k->len = s->rx_msgs[i].msg_len;
		k->peer.len = m->msg_namelen;
		k->gso_size = 0;
		k->ts_ns = 0;
		if (s->ctrl) {
			for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
				if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
					int gs;

					memcpy(&gs, CMSG_DATA(c), sizeof(gs));
					k->gso_size = (uint16_t)gs;
				}
			}
		}
	}
	/*
	 * Slots 0..rc went to the caller.  The armed slots the kernel did not
	 * reach move from the end into the first of those places, so the armed
	 * ones stay 0..armed; the next call arms the rest from the pool.
	 */
	left = s->armed - (unsigned int)rc;
	mv = SALVO_MIN((unsigned int)rc, left);
	for (unsigned int i = 0; i < mv; i++)
		rx_slot_set(s, i, s->slot[s->armed - 1 - i]);
	s->armed = left;
	return rc;
}

static void sys_release(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	if (p->cfg->proto == SALVO_PROTO_TCP)
		salvo__sys_stream_release(p, v, n);
	else
		salvo_pool_put(p->pool, v, n);
}

static void sys_close(struct salvo_port *p)
{
	struct sys_port *s = p->priv;

	if (p->cfg->proto == SALVO_PROTO_TCP) {
		salvo__sys_stream_close(p);
		return;
	}
	if (!s)
		return;
	/* The kernel's exact drop count, tail included (kstats.h): UDP receivers. */
	if (s->rx && s->nfds && !salvo_addr_is_unix(&p->cfg->local))
		salvo_kstats_add_sock(&p->stats.kernel, s->fds[0]);
	if (s->recverr)
		check_refused(p, s);	/* the last datagrams' refusals */
	for (unsigned int i = 0; i < s->nfds; i++)
		close(s->fds[i]);
	/* Only a path this port bound: not a running receiver's that our bind was refused. */
	if (s->unix_bound)
		salvo__sock_unix_unbind(&p->cfg->local);
	free(s->fds);
	free(s->ctrl);
	if (p->pool)
		salvo_pool_put(p->pool, s->slot, s->armed);	/* the receive batch's, never handed out */
	free(s);
	p->priv = NULL;
	salvo_pool_destroy(p->pool);
	p->pool = NULL;
}

static const struct salvo_backend_ops syscall_ops = {
	.name = "syscall",
	.desc = "sendmmsg/recvmmsg sockets, UDP GSO/GRO (the reference)",
	.caps = SALVO_CAP_UDP | SALVO_CAP_TCP | SALVO_CAP_GSO | SALVO_CAP_GRO | SALVO_CAP_DISCARD |
		SALVO_CAP_SPLICE,
	/*
	 * The defaults, from the lead's measurement (docs/backends.md): the
	 * fastest measured backend per path gets 20, uring 10.  Re-measure and
	 * change one number when a faster path lands.
	 */
	.prio_path[SALVO_PATH_UDP_TX] = 20,
	.why_path[SALVO_PATH_UDP_TX] = "fastest measured: 713,835 pps at 64 B vs uring's 679,042 (fastpath send), "
				       "27,921,064 vs 22,722,271 with --gso (udp64); 2026-11-30 16:16",
	.prio_path[SALVO_PATH_UDP_RX] = 20,
	.why_path[SALVO_PATH_UDP_RX] = "fastest measured: 1,527,015/s unstamped vs uring's 1,412,218, "
				       "1,450,857 vs 1,188,274 stamped (fastpath recv); 2026-11-30 16:16",
	.prio_path[SALVO_PATH_TCP_TX] = 20,
	.why_path[SALVO_PATH_TCP_TX] = "fastest measured: 37.27 vs uring's 29.47 Gbit/s with 1 stream, 31.53 vs 26.53 "
				       "with 2 (both batch sends up to 1 MiB) (tcp); 2026-11-30 13:21",
	.prio_path[SALVO_PATH_TCP_RX] = 20,
	.why_path[SALVO_PATH_TCP_RX] = "fastest measured at the sink: 37.27 vs uring's 29.47 Gbit/s with 1 stream, "
				       "31.53 vs 26.53 with 2 (tcp); 2026-11-30 13:21",
	.probe = sys_probe,
	.open = sys_open,
	.tx_burst = sys_tx,
	.rx_burst = sys_rx,
	.release = sys_release,
	.close = sys_close,
};

SALVO_BACKEND_REGISTER(syscall_ops)
