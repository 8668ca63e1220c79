// SPDX-License-Identifier: MIT
/*
 * The socket room shared by the syscall and io_uring backends: datagram
 * sockets, stream listeners and clients, buffer sizes, GSO/GRO, the stale
 * unix path rule, TCP retransmits, discard-before-close.  See sock.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <salvo/backend.h>

#include "sock.h"

int salvo__sock_bufsize(int fd, int opt_force, int opt, unsigned int bytes)
{
	int v = (int)bytes;

	/* FORCE needs CAP_NET_ADMIN and ignores rmem_max/wmem_max; fall back to the capped one. */
	if (setsockopt(fd, SOL_SOCKET, opt_force, &v, sizeof(v)) == 0)
		return 0;
	return setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) ? -errno : 0;
}

void salvo__sock_busy_poll(struct salvo_port *p, int fd, const struct salvo_cfg *cfg)
{
	int us = (int)cfg->busy_poll_us, one = 1;

	if (!cfg->busy_poll)
		return;
	p->rx_timeout_ms = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)) == 0) {
		p->stats.busy_poll_ok++;
	} else {
		p->stats.busy_poll_refused++;
		if (!p->stats.busy_poll_errno)
			p->stats.busy_poll_errno = errno;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) == 0) {
		p->stats.prefer_busy_poll_ok++;
	} else {
		p->stats.prefer_busy_poll_refused++;
		if (!p->stats.busy_poll_errno)
			p->stats.busy_poll_errno = errno;
	}
}

void salvo__sock_set_bufs(int fd, const struct salvo_cfg *cfg)
{
	if (cfg->sndbuf)
		salvo__sock_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, cfg->sndbuf);
	if (cfg->rcvbuf)
		salvo__sock_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, cfg->rcvbuf);
}

static void fail_line(char *err, size_t errlen, const char *what, const struct salvo_addr *a,
		      int e)
{
	char s[SALVO_ADDR_STRLEN];

	if (a)
		snprintf(err, errlen, "%s %s: %s", what, salvo_addr_str(a, s, sizeof(s)),
			 strerror(e));
	else
		snprintf(err, errlen, "%s: %s", what, strerror(e));
}

int salvo__sock_unix_claim(const struct salvo_addr *a, char *err, size_t errlen)
{
	char s[SALVO_ADDR_STRLEN];
	struct stat st;
	int t, e;

	if (!salvo_addr_is_unix(a) || a->un.sun_path[0] == 0)
		return 0;	/* an abstract name has no file to go stale */
	if (lstat(a->un.sun_path, &st)) {
		if (errno == ENOENT)
			return 0;
		e = errno;
		fail_line(err, errlen, "cannot bind", a, e);
		return -e;
	}
	salvo_addr_str(a, s, sizeof(s));
	if (!S_ISSOCK(st.st_mode)) {
		/* bind() would say "in use" and connect() "refused" for a file too: look first. */
		snprintf(err, errlen, "cannot bind %s: the path exists and is not a socket (left as it is)",
			 s);
		return -EEXIST;
	}
	/*
	 * A socket: refused means nobody is bound to it any more (its server
	 * died).  The probe is a datagram socket whatever the server's type:
	 * a live datagram receiver sees nothing (no data is sent), a live
	 * stream listener refuses the type (EPROTOTYPE) instead of taking a
	 * connection its --count would count.  A server killed with its
	 * io_uring open holds its sockets until the kernel's deferred ring
	 * teardown (tens of ms): until then the path is in use.
	 */
	t = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (t < 0) {
		e = errno;
		fail_line(err, errlen, "socket", NULL, e);
		return -e;
	}
	e = connect(t, &a->sa, a->len) ? errno : 0;
	close(t);
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "cannot bind %s: address in use by a running receiver", s);
		return -EADDRINUSE;
	}
	if (unlink(a->un.sun_path) && errno != ENOENT) {
		e = errno;
		fail_line(err, errlen, "cannot remove the stale socket", a, e);
		return -e;
	}
	return 0;
}

int salvo__sock_bind_server(int fd, const struct salvo_addr *a, char *err, size_t errlen)
{
	int rc = salvo__sock_unix_claim(a, err, errlen);

	if (rc)
		return rc;
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
	}
	rc = -errno;
	fail_line(err, errlen, "cannot bind", a, -rc);
	return rc;
}

void salvo__sock_unix_unbind(const struct salvo_addr *a)
{
	struct stat st;

	/* Only ever a socket: what we bound, unless someone replaced it since. */
	if (salvo_addr_is_unix(a) && a->un.sun_path[0] && lstat(a->un.sun_path, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		unlink(a->un.sun_path);
}

int salvo__sock_rx_queue(int fd, const struct salvo_cfg *cfg, char *err, size_t errlen)
{
	int one = 1;

	/* A deep receive queue: bursts from a fast sender should not be dropped. */
	if (!cfg->rcvbuf)
		salvo__sock_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, 8 << 20);
	if (cfg->gro && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one))) {
		int e = errno;

		fail_line(err, errlen, "UDP_GRO (--gro)", NULL, e);
		return -e;
	}
	return 0;
}

static int dgram_bind_rx(int fd, const struct salvo_cfg *cfg, const struct salvo__sock_dgram_opts *o,
			 char *err, size_t errlen)
{
	bool un = salvo_addr_is_unix(&cfg->local);
	int one = 1, rc;

	/*
	 * No SO_REUSEADDR: on a datagram socket it would let a second receiver
	 * bind the same port and silently take the traffic (Linux delivers
	 * unicast to one of them).  Workers share a port by SO_REUSEPORT only.
	 */
	if (!un && o->nworkers > 1 &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) {
		rc = -errno;
		fail_line(err, errlen, "SO_REUSEPORT", NULL, -rc);
		return rc;
	}
	rc = salvo__sock_bind_server(fd, &cfg->local, err, errlen);
	if (rc)
		return rc;
	salvo__sock_set_bufs(fd, cfg);
	return salvo__sock_rx_queue(fd, cfg, err, errlen);
}

static int dgram_connect_tx(int fd, const struct salvo_cfg *cfg,
			    const struct salvo__sock_dgram_opts *o, char *err, size_t errlen)
{
	if (cfg->have_local) {
		struct salvo_addr l = cfg->local;
		unsigned int port = salvo_addr_is_unix(&l) ? 0 : salvo_addr_port(&l);

		if (port)
			salvo_addr_set_port(&l, port + o->port_offset);
		if (bind(fd, &l.sa, l.len)) {
			int e = errno;

			fail_line(err, errlen, "cannot bind", &l, e);
			return -e;
		}
	} else if (cfg->remote.sa.sa_family == AF_UNIX && (cfg->dir & SALVO_DIR_RX)) {
		/* A unix sender that expects replies needs a name: autobind an abstract one. */
		sa_family_t fam = AF_UNIX;

		if (bind(fd, (struct sockaddr *)&fam, sizeof(fam))) {
			int e = errno;

			fail_line(err, errlen, "unix autobind", NULL, e);
			return -e;
		}
	}
	salvo__sock_set_bufs(fd, cfg);
	if (connect(fd, &cfg->remote.sa, cfg->remote.len)) {
		int e = errno;

		fail_line(err, errlen, "cannot connect to", &cfg->remote, e);
		return -e;
	}
	return 0;
}

int salvo__sock_open_dgram(const struct salvo_cfg *cfg, const struct salvo__sock_dgram_opts *o,
			   char *err, size_t errlen)
{
	const struct salvo_addr *a = o->rx ? &cfg->local : &cfg->remote;
	int fd, rc;

	fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC | (o->nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0) {
		rc = -errno;
		fail_line(err, errlen, "socket", NULL, -rc);
		return rc;
	}
	if (!o->nonblock) {
		/* Blocking receivers wake up every 100 ms to notice the end of the run. */
		struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	rc = o->rx ? dgram_bind_rx(fd, cfg, o, err, errlen) : dgram_connect_tx(fd, cfg, o, err, errlen);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

int salvo__sock_set_gso(int fd, unsigned int seg, char *err, size_t errlen)
{
	int v = (int)seg;

	if (setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof(v))) {
		int e = errno;

		fail_line(err, errlen, "UDP_SEGMENT (--gso)", NULL, e);
		return -e;
	}
	return 0;
}

int salvo__sock_open_listener(const struct salvo_cfg *cfg, unsigned int nworkers, char *err,
			      size_t errlen)
{
	int one = 1, fd, rc;

	fd = socket(cfg->local.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		fail_line(err, errlen, "socket", NULL, -rc);
		return rc;
	}
	if (!salvo_addr_is_unix(&cfg->local)) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (nworkers > 1)
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	}
	/* Accepted sockets inherit the listener's buffer sizes. */
	salvo__sock_set_bufs(fd, cfg);
	rc = salvo__sock_bind_server(fd, &cfg->local, err, errlen);
	if (rc)
		goto fail;
	if (listen(fd, 4096)) {
		rc = -errno;
		fail_line(err, errlen, "listen", &cfg->local, -rc);
		salvo__sock_unix_unbind(&cfg->local);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}

int salvo__sock_open_stream(const struct salvo_cfg *cfg, char *err, size_t errlen)
{
	int fd, rc;

	fd = socket(cfg->remote.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		fail_line(err, errlen, "socket", NULL, -rc);
		return rc;
	}
	salvo__sock_set_bufs(fd, cfg);
	if (cfg->have_local && bind(fd, &cfg->local.sa, cfg->local.len)) {
		rc = -errno;
		fail_line(err, errlen, "cannot bind", &cfg->local, -rc);
		close(fd);
		return rc;
	}
	return fd;
}

uint64_t salvo__sock_retrans(int fd, const struct salvo_addr *peer)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	if (fd < 0 || (peer->sa.sa_family != AF_INET && peer->sa.sa_family != AF_INET6))
		return 0;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l))
		return 0;
	return ti.tcpi_total_retrans;
}

void salvo__sock_discard_unread(int fd)
{
	char buf[4096];

	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < (ssize_t)sizeof(buf))
			break;	/* drained, EOF, EAGAIN or an error: nothing more to do */
	}
}

ssize_t salvo__sock_recv_discard(int fd)
{
	/*
	 * No buffer: with MSG_TRUNC TCP never writes to it, and were a kernel
	 * to copy after all, a NULL address fails (EFAULT) rather than write
	 * past a real buffer's end.
	 */
	return recv(fd, NULL, SALVO_SOCK_DISCARD_MAX, MSG_TRUNC | MSG_DONTWAIT);
}

int salvo__sock_payload_fill(struct salvo__sock_payload *pl, const void *data, uint32_t len)
{
	const uint8_t *d = data;

	if (len <= pl->len && pl->fd >= 0)
		return 0;
	if (pl->fd < 0) {
		pl->fd = memfd_create("salvo-payload", MFD_CLOEXEC);
		if (pl->fd < 0)
			return -errno;
		pl->len = 0;
	}
	while (pl->len < len) {
		ssize_t r = pwrite(pl->fd, d + pl->len, len - pl->len, pl->len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		pl->len += (uint32_t)r;
	}
	return 0;
}

ssize_t salvo__sock_payload_send(const struct salvo__sock_payload *pl, int sock, uint32_t off,
				 uint32_t len)
{
	off_t o = off;

	return sendfile(sock, pl->fd, &o, len);
}

void salvo__sock_payload_close(struct salvo__sock_payload *pl)
{
	if (pl->fd >= 0)
		close(pl->fd);
	pl->fd = -1;
	pl->len = 0;
}
