/* SPDX-License-Identifier: MIT */
/*
 * The socket room: what every socket backend (syscall, uring) does to a
 * socket before its first byte, written once so the backends cannot drift
 * apart.  Private to backends/.  Functions that can fail return an fd or 0,
 * or -errno with one line for the user in err.
 */
#ifndef SALVO_SOCK_H
#define SALVO_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <salvo/addr.h>
#include <salvo/cfg.h>

#include <salvo/udp.h>	/* UDP_SEGMENT, UDP_GRO */

/* From newer kernel headers than some libcs ship (Linux 2.6.33). */
#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69	/* Linux 5.11 */
#endif

struct salvo_port;

/*
 * --busy-poll on a receiving datagram socket: the port's receive never
 * sleeps (p->rx_timeout_ms = 0: rx_burst returns at once), and fd asks for
 * SO_BUSY_POLL (cfg->busy_poll_us) and SO_PREFER_BUSY_POLL.  The kernel
 * may refuse either (EPERM without CAP_NET_ADMIN: SO_PREFER_BUSY_POLL, and
 * on older kernels SO_BUSY_POLL above net.core.busy_read; a kernel without
 * them): counted in p->stats, not an error.  Nothing
 * without cfg->busy_poll.
 */
void salvo__sock_busy_poll(struct salvo_port *p, int fd, const struct salvo_cfg *cfg);

/*
 * Socket buffer of bytes: opt_force (SO_RCVBUFFORCE/SO_SNDBUFFORCE: needs
 * CAP_NET_ADMIN, ignores rmem_max/wmem_max) first, then the capped opt.
 */
int salvo__sock_bufsize(int fd, int opt_force, int opt, unsigned int bytes);

/* --sndbuf and --rcvbuf, where given. */
void salvo__sock_set_bufs(int fd, const struct salvo_cfg *cfg);

/*
 * The one rule for a unix path a server is about to bind: nothing there,
 * or an abstract name, is fine; a socket whose connect is refused is a dead
 * server's and is removed; anything else stays where it is and is an error
 * (-EADDRINUSE: a running server holds it; -EEXIST: not a socket, a user's
 * file).  The probe connect never reaches a live server's app (sock.c).
 */
int salvo__sock_unix_claim(const struct salvo_addr *a, char *err, size_t errlen);

/*
 * Bind a server socket to a.  A unix path goes through salvo__sock_unix_claim;
 * an IP port still held by a process killed with its io_uring open is waited
 * for briefly (the kernel's deferred ring teardown releases it).
 */
int salvo__sock_bind_server(int fd, const struct salvo_addr *a, char *err, size_t errlen);

/* At close, by the server that bound it: remove its unix path (not an abstract name). */
void salvo__sock_unix_unbind(const struct salvo_addr *a);

struct salvo__sock_dgram_opts {
	bool rx;		/* a receiver, bound to cfg->local; else a sender connected to cfg->remote */
	bool nonblock;		/* SOCK_NONBLOCK; else blocking with a 100 ms SO_RCVTIMEO */
	unsigned int nworkers;	/* > 1: an IP receiver takes SO_REUSEPORT */
	unsigned int port_offset;	/* added to a sender's --local port (one per socket) */
};

/*
 * A datagram socket for cfg: a receiver bound (SO_REUSEPORT across workers,
 * the stale-path rule for unix), a deep receive queue and UDP_GRO with
 * --gro; a sender bound to --local (or autobound when a unix sender expects
 * replies) and connected to cfg->remote.  The fd, or -errno.
 */
int salvo__sock_open_dgram(const struct salvo_cfg *cfg, const struct salvo__sock_dgram_opts *o,
			   char *err, size_t errlen);

/* A datagram socket that receives: 8 MiB queue unless --rcvbuf, UDP_GRO with --gro. */
int salvo__sock_rx_queue(int fd, const struct salvo_cfg *cfg, char *err, size_t errlen);

/* UDP_SEGMENT of seg bytes on every send of fd (--gso). */
int salvo__sock_set_gso(int fd, unsigned int seg, char *err, size_t errlen);

/* A non-blocking stream listener on cfg->local (backlog 4096). The fd, or -errno. */
int salvo__sock_open_listener(const struct salvo_cfg *cfg, unsigned int nworkers, char *err,
			      size_t errlen);

/* A non-blocking stream socket for a client, bound to --local; not connected. */
int salvo__sock_open_stream(const struct salvo_cfg *cfg, char *err, size_t errlen);

/* TCP retransmits of fd so far (tcp_info); 0 for a unix stream or on error. */
uint64_t salvo__sock_retrans(int fd, const struct salvo_addr *peer);

/*
 * For stream backends, right before closing a connection: read and discard
 * what the peer sent that nobody read (at most 64 KiB, without blocking).
 * Closing a TCP or unix stream socket with unread data makes the kernel
 * reset the connection instead of closing it, and the peer's next read
 * fails with ECONNRESET even after it has read the whole reply.
 */
void salvo__sock_discard_unread(int fd);

/*
 * cfg->discard: take what a TCP socket holds without copying it out
 * (recv with MSG_TRUNC, tcp(7): the kernel drops the bytes), without
 * blocking.  recv's result: the bytes dropped, 0 at the peer's FIN, -1.
 */
#define SALVO_SOCK_DISCARD_MAX (1u << 30)	/* one call may drop this much */
ssize_t salvo__sock_recv_discard(int fd);

/*
 * cfg->splice: the payload of a stream sender in a memfd, written once,
 * sent with sendfile(2), which splices the memfd's pages into the socket
 * (no copy from user memory; sendfile(2): "more efficient than the
 * combination of read(2) and write(2)").  The memfd holds the longest
 * message seen so far; every message is a prefix of it, as every message
 * of an unstamped run is the same pattern.
 */
struct salvo__sock_payload {
	int fd;		/* memfd, -1: none yet */
	uint32_t len;	/* bytes written to it */
};

/* Make sure pl holds data[0..len): create it, or write the part beyond pl->len. 0 or -errno. */
int salvo__sock_payload_fill(struct salvo__sock_payload *pl, const void *data, uint32_t len);
/* Send pl's bytes [off, off + len) to sock; sendfile's result (-1 with errno). */
ssize_t salvo__sock_payload_send(const struct salvo__sock_payload *pl, int sock, uint32_t off,
				 uint32_t len);
void salvo__sock_payload_close(struct salvo__sock_payload *pl);

#endif
