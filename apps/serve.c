// SPDX-License-Identifier: MIT
/*
 * `salvo serve`: many clients at once, each on its own thread with its own
 * engine run for the data side.  Every wait is bounded by the timeout, every
 * client's memory is freed when its thread ends, and data only ever goes to
 * the address of the client's own control connection (no reflector).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <salvo/backend.h>
#include <salvo/cfg.h>
#include <salvo/common.h>
#include <salvo/run.h>

#include "apps/gen.h"
#include "apps/serve.h"
#include "apps/sink.h"
#include "apps/stream.h"

/* After the sender's last packet, how long the receiver may go without a new one before it stops. */
#define DRAIN_IDLE_MS 500
#define POLL_MS 50
/* What a reverse test's sender may allocate per message: each client's memory stays small. */
#define SERVE_MAX_TX_SIZE (1u << 20)

struct slot {
	bool used, done;
	pthread_t tid;
	int fd;
	unsigned int version;	/* the client's hello: what its messages may hold */
	struct salvo_serve *srv;
	struct salvo_serve_test t;
};

struct salvo_serve {
	struct salvo_serve_cfg cfg;
	int lfd;
	int wake[2];		/* salvo_serve_stop() writes, the accept loop polls */
	pthread_mutex_t lock;	/* slots[].used/done/fd */
	struct slot *slots;
	unsigned long next_id;
};

uint16_t salvo_ctl_free_port(const struct salvo_addr *addr, bool tcp)
{
	struct salvo_addr a = *addr;
	int fd = socket(a.sa.sa_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	uint16_t port = 0;

	if (fd < 0)
		return 0;
	salvo_addr_set_port(&a, 0);
	if (!bind(fd, &a.sa, a.len) && !getsockname(fd, &a.sa, &a.len))
		port = (uint16_t)salvo_addr_port(&a);
	close(fd);
	return port;
}

int salvo_serve_create(struct salvo_serve **out, const struct salvo_serve_cfg *cfg, char *err,
		       size_t errlen)
{
	struct salvo_serve *s = calloc(1, sizeof(*s));
	int one = 1, rc;
	char a[SALVO_ADDR_STRLEN];

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->lfd = -1;
	s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->slots = calloc(cfg->max_clients, sizeof(*s->slots));
	if (!s->slots) {
		rc = -ENOMEM;
		goto fail;
	}
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK)) {
		rc = -errno;
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	s->lfd = socket(cfg->listen.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s->lfd, &cfg->listen.sa, cfg->listen.len) || listen(s->lfd, 64)) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s",
			 salvo_addr_str(&cfg->listen, a, sizeof(a)), strerror(errno));
		goto fail;
	}
	s->cfg.listen.len = sizeof(s->cfg.listen.ss);
	getsockname(s->lfd, &s->cfg.listen.sa, &s->cfg.listen.len);
	*out = s;
	return 0;
fail:
	salvo_serve_destroy(s);
	return rc;
}

const struct salvo_addr *salvo_serve_addr(const struct salvo_serve *s)
{
	return &s->cfg.listen;
}

void salvo_serve_stop(struct salvo_serve *s)
{
	char c = 1;
	ssize_t n = write(s->wake[1], &c, 1);

	(void)n;	/* full pipe: a wake-up is already pending */
}

/* Did the peer close or send something while we were not reading? (a message mid-test is an error) */
static bool peer_spoke(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) > 0;
}

static bool token_ok(const char *want, const char *got)
{
	size_t a = strlen(want), b = strlen(got);
	unsigned char d = a != b;

	/* Same time whatever the first differing byte. */
	for (size_t i = 0; i < a; i++)
		d |= (unsigned char)(want[i] ^ (i < b ? got[i] : 0));
	return !d;
}

/* The data side's configuration: always the control connection's own addresses. */
static void data_cfg(struct salvo_cfg *cfg, const struct salvo_ctl_msg *p, const struct salvo_addr *local,
		     const struct salvo_addr *peer, const struct salvo_serve_cfg *sc)
{
	salvo_cfg_init(cfg);
	cfg->command = p->tcp ? (p->reverse ? "serve tcp send" : "serve tcp sink") :
				(p->reverse ? "serve udp send" : "serve udp recv");
	cfg->backend = sc->backend ? sc->backend : (p->backend[0] ? p->backend : NULL);
	cfg->proto = p->tcp ? SALVO_PROTO_TCP : SALVO_PROTO_UDP;
	cfg->threads = 1;
	cfg->timeout_ms = sc->timeout_ms;
	cfg->size = p->size;
	if (p->reverse) {
		cfg->dir = SALVO_DIR_TX;
		cfg->connect = true;
		cfg->remote = *peer;	/* never a third address: the peer of this connection */
		salvo_addr_set_port(&cfg->remote, p->port);
		cfg->count = p->tcp ? 0 : p->count;
		cfg->bytes = p->tcp ? p->bytes : 0;
		cfg->duration_ns = p->duration_ms * NSEC_PER_MSEC;
		cfg->rate_pps = p->rate_pps;
		cfg->flows = p->tcp ? 1 : p->flows;
		cfg->streams = p->streams;
	} else {
		cfg->dir = SALVO_DIR_RX;
		cfg->listen = true;
		cfg->local = *local;
		cfg->rcvbuf = p->rcvbuf;
		if (p->tcp) {
			cfg->stamp = false;
			cfg->size = 128 * 1024;
		}
	}
	cfg->burst = salvo_cfg_udp_burst(cfg);	/* as udp send's and udp recv's */
}

struct data_side {
	struct salvo_cfg cfg;
	struct salvo_stream_arg sa;
	struct salvo_app app;
	struct salvo_run *run;
	bool started;
	bool closed;
};

static int data_open(struct data_side *d, const struct salvo_ctl_msg *p, int fd,
		     const struct salvo_serve_cfg *sc, uint16_t *port, char *err, size_t errlen)
{
	const struct salvo_backend_ops *ops;
	const char *skipped;
	char why[256];
	struct salvo_addr local = {.len = sizeof(local.ss)}, peer = {.len = sizeof(peer.ss)};
	int rc = -EADDRINUSE;

	if (getsockname(fd, &local.sa, &local.len) || getpeername(fd, &peer.sa, &peer.len)) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -errno;
	}
	salvo_stream_arg_init(&d->sa);
	if (p->reverse && p->size > SERVE_MAX_TX_SIZE) {
		snprintf(err, errlen, "size %u exceeds this server's %u for reverse tests", p->size,
			 SERVE_MAX_TX_SIZE);
		return -EINVAL;
	}
	d->app = p->tcp ? salvo_app_stream : p->reverse ? salvo_app_gen : salvo_app_sink;
	if (p->tcp) {
		d->sa.server = !p->reverse;
		d->app.arg = &d->sa;
	}
	/* The free port may be taken between probe and bind: try a few. */
	for (int tries = 0; tries < 5 && rc == -EADDRINUSE; tries++) {
		data_cfg(&d->cfg, p, &local, &peer, sc);
		if (!p->reverse) {
			*port = salvo_ctl_free_port(&local, p->tcp);
			if (!*port) {
				snprintf(err, errlen, "no free port for the data side");
				return -EADDRNOTAVAIL;
			}
			salvo_addr_set_port(&d->cfg.local, *port);
		}
		rc = salvo_cfg_finish(&d->cfg, err, errlen);
		if (rc)
			return rc;
		rc = salvo_backend_select(&d->cfg, &ops, err, errlen, &skipped, why, sizeof(why));
		if (rc)
			return rc;
		rc = salvo_run_create(&d->run, &d->cfg, ops, &d->app, err, errlen);
		if (rc)
			return rc;
		if (p->reverse)
			return 0;	/* started on the client's "start" */
		rc = salvo_run_start(d->run, err, errlen);
		if (rc) {
			salvo_run_destroy(d->run);
			d->run = NULL;
		}
	}
	d->started = !rc;
	return rc;
}

static void data_close(struct data_side *d, struct salvo_report *rep)
{
	if (d->run) {
		if (d->started) {
			salvo_run_stop(d->run);
			salvo_run_wait(d->run, UINT64_MAX);
			salvo_run_join(d->run);
			if (rep) {
				salvo_run_report(d->run, rep);
				/* the histogram is the run's, destroyed below */
				rep->hist = NULL;
			}
		}
		salvo_run_destroy(d->run);
		d->run = NULL;
	}
	if (!d->closed)
		salvo_stream_arg_fini(&d->sa);
	d->closed = true;
}

/*
 * Receiver side: keep counting until what arrived equals what the client
 * says it sent, or (UDP) nothing new came for DRAIN_IDLE_MS: the rest was
 * lost.  Bounded by the timeout.
 */
static void drain(struct data_side *d, bool tcp, const struct salvo_ctl_counts *sent,
		  uint32_t timeout_ms)
{
	uint64_t deadline = salvo_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	uint64_t last = UINT64_MAX, idle_since = salvo_now_ns();

	for (;;) {
		struct salvo_report now;
		uint64_t got, closed, t = salvo_now_ns();

		salvo_run_snapshot(d->run, &now);
		pthread_mutex_lock(&d->sa.lock);
		closed = d->sa.closed;
		pthread_mutex_unlock(&d->sa.lock);
		got = tcp ? now.rx.bytes : now.rx.packets;
		/* TCP: every connection also closed, so each one's record is final. */
		if (got >= (tcp ? sent->bytes : sent->packets) && (!tcp || closed >= now.conns))
			return;
		if (t >= deadline)
			return;
		/* TCP loses nothing: only the timeout ends its wait, however slow the machine. */
		if (got != last) {
			last = got;
			idle_since = t;
		} else if (!tcp && t - idle_since >= DRAIN_IDLE_MS * NSEC_PER_MSEC) {
			return;
		}
		usleep(POLL_MS * 1000 / 5);
	}
}

/*
 * Wait for the client's message while our data side runs; a silent client
 * is allowed as long as its data keeps arriving (or the run is still due to
 * last), otherwise timeout_ms.
 */
static int wait_msg_during(int fd, struct data_side *d, struct salvo_ctl_msg *m, uint64_t hard_deadline,
			   uint32_t timeout_ms, char *err, size_t errlen)
{
	uint64_t idle_since = salvo_now_ns(), last = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t t;
		struct salvo_report now;

		if (poll(&p, 1, POLL_MS) > 0)
			return salvo_ctl_recv(fd, m, timeout_ms, err, errlen);
		t = salvo_now_ns();
		if (t >= hard_deadline) {
			snprintf(err, errlen, "no results from the client by the end of the test");
			return -ETIMEDOUT;
		}
		salvo_run_snapshot(d->run, &now);
		if (now.rx.packets + now.tx.packets != last) {
			last = now.rx.packets + now.tx.packets;
			idle_since = t;
		} else if (t - idle_since >= (uint64_t)timeout_ms * NSEC_PER_MSEC) {
			snprintf(err, errlen, "no data and no message from the client within the timeout");
			return -ETIMEDOUT;
		}
	}
}

/*
 * The receiving half of a forward (or bidir) test: the client's results
 * with its tx while our receiver runs, then drain, stop and count the loss.
 */
static int recv_forward(struct slot *sl, struct data_side *d, const struct salvo_ctl_msg *p,
			uint64_t hard, char *err, size_t errlen)
{
	const struct salvo_serve_cfg *sc = &sl->srv->cfg;
	struct salvo_serve_test *t = &sl->t;
	struct salvo_ctl_msg m;
	int rc = wait_msg_during(sl->fd, d, &m, hard, sc->timeout_ms, err, errlen);

	if (rc)
		return rc;
	if (m.type != SALVO_CTL_RESULTS || !m.has_tx) {
		snprintf(err, errlen, "expected results with tx, got %s", salvo_ctl_type_name(m.type));
		return -EPROTO;
	}
	t->client = m.tx;
	t->has_client = true;
	drain(d, p->tcp, &m.tx, sc->timeout_ms);
	data_close(d, &t->rep);
	t->has_report = true;
	t->lost = p->tcp ? 0 : m.tx.packets - SALVO_MIN(m.tx.packets, t->rep.rx.packets);
	return 0;
}

/* Wait for our sender to end (count, bytes, duration); the client may hang up meanwhile. */
static int wait_sender(int fd, struct data_side *d, uint64_t hard, char *err, size_t errlen)
{
	while (!salvo_run_wait(d->run, salvo_now_ns() + POLL_MS * NSEC_PER_MSEC)) {
		if (peer_spoke(fd)) {
			snprintf(err, errlen, "client spoke or left during the test");
			return -ECONNRESET;
		}
		if (salvo_now_ns() >= hard) {
			snprintf(err, errlen, "test did not end within its bound");
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/*
 * --bidir: a receiver for the client's data (as forward) and a sender to
 * the client's port (as reverse, to the control connection's peer only),
 * both at once.  The client's results bring its tx; ours carry rx and tx;
 * its answer brings its rx.  Each direction's loss is its own sent - received.
 */
/* A data side's last moment: the test's duration and four control timeouts, or never. */
static uint64_t hard_deadline(const struct salvo_ctl_msg *p, const struct salvo_serve_cfg *sc)
{
	if (!p->duration_ms)
		return UINT64_MAX;
	return salvo_now_ns() + p->duration_ms * NSEC_PER_MSEC +
	       4ULL * sc->timeout_ms * NSEC_PER_MSEC;
}

/* The server's sender starts only on the client's start: its receiver is ready. */
static int start_on_client(struct slot *sl, struct data_side *d, char *err, size_t errlen)
{
	struct salvo_ctl_msg m;
	int rc;

	rc = salvo_ctl_recv(sl->fd, &m, sl->srv->cfg.timeout_ms, err, errlen);
	if (rc)
		return rc;
	if (m.type != SALVO_CTL_START) {
		snprintf(err, errlen, "expected start, got %s", salvo_ctl_type_name(m.type));
		return -EPROTO;
	}
	rc = salvo_run_start(d->run, err, errlen);
	if (!rc)
		d->started = true;
	return rc;
}

/*
 * Our results out, the client's back: after the server sent, the client's
 * message must carry what it received (its rx), the count loss is taken from.
 */
static int results_for_rx(struct slot *sl, const struct salvo_ctl_msg *res, struct salvo_ctl_msg *m,
			  char *err, size_t errlen)
{
	uint32_t timeout_ms = sl->srv->cfg.timeout_ms;
	int rc;

	rc = salvo_ctl_send(sl->fd, res, timeout_ms);
	if (!rc)
		rc = salvo_ctl_recv(sl->fd, m, timeout_ms + DRAIN_IDLE_MS * 4, err, errlen);
	if (rc)
		return rc;
	if (m->type != SALVO_CTL_RESULTS || !m->has_rx) {
		snprintf(err, errlen, "expected results with rx, got %s", salvo_ctl_type_name(m->type));
		return -EPROTO;
	}
	return 0;
}

static int serve_bidir(struct slot *sl, const struct salvo_ctl_msg *p, char *err, size_t errlen)
{
	const struct salvo_serve_cfg *sc = &sl->srv->cfg;
	struct salvo_serve_test *t = &sl->t;
	struct data_side rx = {0}, tx = {0};
	struct salvo_ctl_msg fwd = *p, rev = *p, m = {0}, res = {.type = SALVO_CTL_RESULTS};
	uint64_t hard;
	uint16_t port = 0, unused;
	int rc;

	fwd.bidir = rev.bidir = false;
	fwd.reverse = false;
	rev.reverse = true;
	rc = data_open(&rx, &fwd, sl->fd, sc, &port, err, errlen);
	if (!rc)
		rc = data_open(&tx, &rev, sl->fd, sc, &unused, err, errlen);
	if (rc) {
		salvo_ctl_send_error(sl->fd, SALVO_CTL_REFUSE, "%s", err);
		data_close(&rx, NULL);
		data_close(&tx, NULL);
		return rc;
	}
	m.type = SALVO_CTL_ACCEPT;
	m.port = port;
	rc = salvo_ctl_send(sl->fd, &m, sc->timeout_ms);
	if (rc) {
		snprintf(err, errlen, "sending accept: %s", strerror(-rc));
		goto out;
	}
	hard = hard_deadline(p, sc);
	rc = start_on_client(sl, &tx, err, errlen);
	if (rc)
		goto out;
	rc = recv_forward(sl, &rx, p, hard, err, errlen);
	if (rc)
		goto out;
	rc = wait_sender(sl->fd, &tx, hard, err, errlen);
	if (rc)
		goto out;
	data_close(&tx, &t->rev_rep);
	t->has_rev_report = true;
	res.has_rx = res.has_tx = true;
	salvo_ctl_counts_from_report(&res.rx, &t->rep, false);
	salvo_ctl_counts_from_report(&res.tx, &t->rev_rep, true);
	rc = results_for_rx(sl, &res, &m, err, errlen);
	if (rc)
		goto out;
	t->rev_client = m.rx;
	t->has_rev_client = true;
	t->rev_lost = p->tcp ? 0 : t->rev_rep.tx.packets - SALVO_MIN(t->rev_rep.tx.packets, m.rx.packets);
	/* A bye is polite, not required: the test is complete either way. */
	salvo_ctl_recv(sl->fd, &m, SALVO_MIN(sc->timeout_ms, 1000u), err, errlen);
	err[0] = 0;
	return 0;
out:
	if (rc != -ECONNRESET)
		salvo_ctl_send_error(sl->fd, SALVO_CTL_ERROR, "%s", err);
	if (!t->has_report) {
		data_close(&rx, &t->rep);
		t->has_report = rx.started;
	}
	if (!t->has_rev_report) {
		data_close(&tx, &t->rev_rep);
		t->has_rev_report = tx.started;
	}
	return rc;
}

static int serve_test(struct slot *sl, struct salvo_ctl_msg *p, char *err, size_t errlen)
{
	const struct salvo_serve_cfg *sc = &sl->srv->cfg;
	struct salvo_serve_test *t = &sl->t;
	struct data_side d = {0};
	struct salvo_ctl_msg m = {0}, res = {.type = SALVO_CTL_RESULTS};
	uint64_t hard;
	uint16_t port = 0;
	int rc;

	if (p->bidir && sl->version < SALVO_CTL_VERSION_BIDIR) {
		snprintf(err, errlen, "a bidir proposal needs protocol version %d (hello said %u)",
			 SALVO_CTL_VERSION_BIDIR, sl->version);
		salvo_ctl_send_error(sl->fd, SALVO_CTL_REFUSE, "%s", err);
		return -EPROTO;
	}
	if (p->bidir)
		return serve_bidir(sl, p, err, errlen);
	rc = data_open(&d, p, sl->fd, sc, &port, err, errlen);
	if (rc) {
		salvo_ctl_send_error(sl->fd, SALVO_CTL_REFUSE, "%s", err);
		data_close(&d, NULL);
		return rc;
	}
	m.type = SALVO_CTL_ACCEPT;
	m.port = p->reverse ? p->port : port;
	rc = salvo_ctl_send(sl->fd, &m, sc->timeout_ms);
	if (rc) {
		snprintf(err, errlen, "sending accept: %s", strerror(-rc));
		goto out;
	}
	/*
	 * A test with a duration may last that plus one timeout per step; one
	 * bounded by count or bytes only is bounded by its idle timeouts.
	 */
	hard = hard_deadline(p, sc);
	if (p->reverse) {
		rc = start_on_client(sl, &d, err, errlen);
		if (rc)
			goto out;
		rc = wait_sender(sl->fd, &d, hard, err, errlen);
		if (rc)
			goto out;
		data_close(&d, &t->rep);
		t->has_report = true;
		res.has_tx = true;
		salvo_ctl_counts_from_report(&res.tx, &t->rep, true);
		rc = results_for_rx(sl, &res, &m, err, errlen);
		if (rc)
			goto out;
		t->client = m.rx;
		t->has_client = true;
		t->lost = p->tcp ? 0 : t->rep.tx.packets - SALVO_MIN(t->rep.tx.packets, m.rx.packets);
		goto bye;
	}
	rc = recv_forward(sl, &d, p, hard, err, errlen);
	if (rc)
		goto out;
	res.has_rx = true;
	salvo_ctl_counts_from_report(&res.rx, &t->rep, false);
	rc = salvo_ctl_send(sl->fd, &res, sc->timeout_ms);
	if (rc) {
		snprintf(err, errlen, "sending results: %s", strerror(-rc));
		goto out;
	}
bye:
	/* A bye is polite, not required: the test is complete either way. */
	salvo_ctl_recv(sl->fd, &m, SALVO_MIN(sc->timeout_ms, 1000u), err, errlen);
	err[0] = 0;
	return 0;
out:
	if (rc != -ECONNRESET)
		salvo_ctl_send_error(sl->fd, SALVO_CTL_ERROR, "%s", err);
	data_close(&d, &t->rep);
	t->has_report = d.started;
	return rc;
}

static void *client_main(void *arg)
{
	struct slot *sl = arg;
	struct salvo_serve *s = sl->srv;
	const struct salvo_serve_cfg *sc = &s->cfg;
	struct salvo_serve_test *t = &sl->t;
	struct salvo_ctl_msg m;
	int rc;

	rc = salvo_ctl_recv(sl->fd, &m, sc->timeout_ms, t->error, sizeof(t->error));
	if (!rc && m.type != SALVO_CTL_HELLO) {
		snprintf(t->error, sizeof(t->error), "expected hello, got %s", salvo_ctl_type_name(m.type));
		rc = -EPROTO;
	} else if (!rc && (m.version < SALVO_CTL_VERSION_MIN || m.version > SALVO_CTL_VERSION)) {
		snprintf(t->error, sizeof(t->error), "protocol version %u, this server speaks %u..%u",
			 m.version, SALVO_CTL_VERSION_MIN, SALVO_CTL_VERSION);
		rc = -EPROTONOSUPPORT;
	} else if (!rc && sc->token && sc->token[0] && !token_ok(sc->token, m.token)) {
		snprintf(t->error, sizeof(t->error), "wrong or missing token");
		rc = -EACCES;
	}
	if (rc) {
		if (rc != -ECONNRESET)
			salvo_ctl_send_error(sl->fd, SALVO_CTL_ERROR, "%s", t->error);
		goto out;
	}
	/* Answer in the client's version: a version-1 client checks for exactly 1. */
	sl->version = m.version;
	memset(&m, 0, sizeof(m));
	m.type = SALVO_CTL_HELLO;
	m.version = sl->version;
	rc = salvo_ctl_send(sl->fd, &m, sc->timeout_ms);
	if (rc) {
		snprintf(t->error, sizeof(t->error), "sending hello: %s", strerror(-rc));
		goto out;
	}
	rc = salvo_ctl_recv(sl->fd, &m, sc->timeout_ms, t->error, sizeof(t->error));
	if (!rc && m.type != SALVO_CTL_PROPOSE) {
		snprintf(t->error, sizeof(t->error), "expected propose, got %s", salvo_ctl_type_name(m.type));
		rc = -EPROTO;
	}
	if (rc) {
		if (rc != -ECONNRESET)
			salvo_ctl_send_error(sl->fd, SALVO_CTL_ERROR, "%s", t->error);
		goto out;
	}
	t->proposal = m;
	t->has_proposal = true;
	rc = serve_test(sl, &m, t->error, sizeof(t->error));
out:
	t->rc = rc;
	if (sc->on_test)
		sc->on_test(t, sc->arg);
	pthread_mutex_lock(&s->lock);
	close(sl->fd);
	sl->fd = -1;
	sl->done = true;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* Join the threads that ended, so their slots can take new clients. */
static unsigned int reap(struct salvo_serve *s, bool all)
{
	unsigned int busy = 0;

	for (unsigned int i = 0; i < s->cfg.max_clients; i++) {
		struct slot *sl = &s->slots[i];
		bool done;

		pthread_mutex_lock(&s->lock);
		done = sl->done;
		if (all && sl->used && !done && sl->fd >= 0)
			shutdown(sl->fd, SHUT_RDWR);	/* wakes its reads: the client thread winds down */
		pthread_mutex_unlock(&s->lock);
		if (!sl->used)
			continue;
		if (done || all) {
			pthread_join(sl->tid, NULL);
			sl->used = sl->done = false;
		} else {
			busy++;
		}
	}
	return busy;
}

int salvo_serve_run(struct salvo_serve *s, char *err, size_t errlen)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
		struct salvo_addr peer = {.len = sizeof(peer.ss)};
		struct slot *sl = NULL;
		pthread_attr_t attr;
		int fd, one = 1, n;

		n = poll(p, 2, 200);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			reap(s, true);
			return -errno;
		}
		if (p[1].revents)
			break;
		reap(s, false);
		if (n <= 0 || !(p[0].revents & POLLIN))
			continue;
		fd = accept4(s->lfd, &peer.sa, &peer.len, SOCK_CLOEXEC);
		if (fd < 0)
			continue;	/* the peer left before accept, or out of files for now */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (unsigned int i = 0; i < s->cfg.max_clients && !sl; i++)
			if (!s->slots[i].used)
				sl = &s->slots[i];
		if (!sl) {
			struct salvo_serve_test t = {.id = ++s->next_id, .peer = peer, .rc = -EBUSY};

			snprintf(t.error, sizeof(t.error), "server busy: %u clients already", s->cfg.max_clients);
			salvo_ctl_send_error(fd, SALVO_CTL_ERROR, "%s", t.error);
			close(fd);
			if (s->cfg.on_test)
				s->cfg.on_test(&t, s->cfg.arg);
			continue;
		}
		memset(sl, 0, sizeof(*sl));
		sl->srv = s;
		sl->fd = fd;
		sl->t.id = ++s->next_id;
		sl->t.peer = peer;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		if (pthread_create(&sl->tid, &attr, client_main, sl)) {
			salvo_ctl_send_error(fd, SALVO_CTL_ERROR, "server cannot start a thread");
			close(fd);
		} else {
			sl->used = true;
		}
		pthread_attr_destroy(&attr);
	}
	reap(s, true);
	return 0;
}

void salvo_serve_destroy(struct salvo_serve *s)
{
	if (!s)
		return;
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	pthread_mutex_destroy(&s->lock);
	free(s->slots);
	free(s);
}

/* --- client ---------------------------------------------------------------------- */

int salvo_ctl_client_open(struct salvo_ctl_client *c, const struct salvo_addr *server,
			  const char *token, unsigned int version, uint32_t timeout_ms, char *err,
			  size_t errlen)
{
	struct salvo_ctl_msg m = {.type = SALVO_CTL_HELLO, .version = version};
	struct pollfd p;
	char a[SALVO_ADDR_STRLEN];
	int rc, one = 1, soerr = 0;
	socklen_t sl = sizeof(soerr);

	memset(c, 0, sizeof(*c));
	c->timeout_ms = timeout_ms;
	c->server = *server;
	if (token && strlen(token) > SALVO_CTL_TOKEN_MAX) {
		snprintf(err, errlen, "token longer than %d bytes", SALVO_CTL_TOKEN_MAX);
		return -EINVAL;
	}
	c->fd = socket(server->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, &server->sa, server->len) && errno != EINPROGRESS) {
		rc = -errno;
		goto fail;
	}
	p = (struct pollfd){.fd = c->fd, .events = POLLOUT};
	if (poll(&p, 1, (int)timeout_ms) <= 0) {
		rc = -ETIMEDOUT;
		goto fail;
	}
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (soerr) {
		rc = -soerr;
		goto fail;
	}
	c->local.len = sizeof(c->local.ss);
	getsockname(c->fd, &c->local.sa, &c->local.len);
	if (token)
		snprintf(m.token, sizeof(m.token), "%s", token);
	rc = salvo_ctl_send(c->fd, &m, timeout_ms);
	if (!rc)
		rc = salvo_ctl_recv(c->fd, &m, timeout_ms, err, errlen);
	if (rc) {
		close(c->fd);
		c->fd = -1;
		return rc;
	}
	if (m.type == SALVO_CTL_ERROR || m.type == SALVO_CTL_REFUSE) {
		snprintf(err, errlen, "server: %s", m.error);
		close(c->fd);
		c->fd = -1;
		return -EPERM;
	}
	if (m.type != SALVO_CTL_HELLO || m.version != version) {
		snprintf(err, errlen, "server answered %s version %u, not hello version %u",
			 salvo_ctl_type_name(m.type), m.version, version);
		close(c->fd);
		c->fd = -1;
		return -EPROTO;
	}
	return 0;
fail:
	snprintf(err, errlen, "cannot connect to %s: %s", salvo_addr_str(server, a, sizeof(a)),
		 strerror(-rc));
	close(c->fd);
	c->fd = -1;
	return rc;
}

/* Receive the next message; a server's error or refusal becomes -EPERM with its text. */
static int client_recv(struct salvo_ctl_client *c, struct salvo_ctl_msg *m, uint32_t wait_ms,
		       enum salvo_ctl_type want, char *err, size_t errlen)
{
	int rc = salvo_ctl_recv(c->fd, m, wait_ms, err, errlen);

	if (rc)
		return rc;
	if (m->type == SALVO_CTL_ERROR || m->type == SALVO_CTL_REFUSE) {
		snprintf(err, errlen, "server: %s", m->error);
		return -EPERM;
	}
	if (m->type != want) {
		snprintf(err, errlen, "server sent %s, expected %s", salvo_ctl_type_name(m->type),
			 salvo_ctl_type_name(want));
		return -EPROTO;
	}
	return 0;
}

int salvo_ctl_client_propose(struct salvo_ctl_client *c, const struct salvo_ctl_msg *prop,
			     uint16_t *port, char *err, size_t errlen)
{
	struct salvo_ctl_msg m;
	int rc = salvo_ctl_send(c->fd, prop, c->timeout_ms);

	if (rc) {
		snprintf(err, errlen, "sending the proposal: %s", strerror(-rc));
		return rc;
	}
	/* The server probes its backend and opens the data side before it answers. */
	rc = client_recv(c, &m, c->timeout_ms * 2, SALVO_CTL_ACCEPT, err, errlen);
	if (!rc)
		*port = m.port;
	return rc;
}

int salvo_ctl_client_send(struct salvo_ctl_client *c, const struct salvo_ctl_msg *m)
{
	return salvo_ctl_send(c->fd, m, c->timeout_ms);
}

int salvo_ctl_client_start(struct salvo_ctl_client *c, char *err, size_t errlen)
{
	struct salvo_ctl_msg m = {.type = SALVO_CTL_START};
	int rc = salvo_ctl_send(c->fd, &m, c->timeout_ms);

	if (rc)
		snprintf(err, errlen, "sending start: %s", strerror(-rc));
	return rc;
}

int salvo_ctl_client_results(struct salvo_ctl_client *c, const struct salvo_ctl_msg *mine,
			     struct salvo_ctl_msg *theirs, uint32_t wait_ms, char *err,
			     size_t errlen)
{
	int rc = salvo_ctl_send(c->fd, mine, c->timeout_ms);

	if (rc) {
		snprintf(err, errlen, "sending results: %s", strerror(-rc));
		return rc;
	}
	return client_recv(c, theirs, wait_ms, SALVO_CTL_RESULTS, err, errlen);
}

int salvo_ctl_client_wait_results(struct salvo_ctl_client *c, struct salvo_ctl_msg *theirs,
				  uint32_t wait_ms, char *err, size_t errlen)
{
	return client_recv(c, theirs, wait_ms, SALVO_CTL_RESULTS, err, errlen);
}

void salvo_ctl_client_close(struct salvo_ctl_client *c)
{
	struct salvo_ctl_msg m = {.type = SALVO_CTL_BYE};

	if (c->fd < 0)
		return;
	salvo_ctl_send(c->fd, &m, 1000);
	close(c->fd);
	c->fd = -1;
}
