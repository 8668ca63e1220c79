// SPDX-License-Identifier: MIT
/*
 * The registry load generator (`salvo registry bench`): many short TCP
 * client connections, each one join (connect, send a name, read the reply
 * to EOF, close), on its own threads with an io_uring loop, or an epoll
 * loop where io_uring is unavailable; or, with --engine BACKEND, as an app
 * on the engine's workers and that backend's stream path (bench_engine).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <liburing.h>

#include <salvo/common.h>
#include <salvo/hist.h>
#include "registry/bench.h"
#include "registry/registry.h"
#include <salvo/run.h>

/* ---- the load generator ----------------------------------------------------- */

enum { B_IDLE, B_CONNECTING, B_READING };

struct bconn {
	int fd;			/* epoll: the socket */
	uint8_t state;
	bool open;		/* uring: its fixed-file slot holds a socket */
	bool armed;		/* uring: a multishot receive is pending */
	bool aborting;		/* uring: timed out, cancelled, waiting for the last CQE */
	uint64_t t0;
	size_t got;
	char head[10];		/* enough to tell {"error" from a list */
	char last;
};

struct bshared {
	const struct salvo_registry_bench_cfg *cfg;
	uint64_t started;	/* atomic: joins claimed (count mode) */
	uint64_t seq;		/* atomic: name sequence */
	uint64_t end_ns;
	pthread_mutex_t lock;	/* first_error only */
	char first_error[256];
};

struct bthread {
	pthread_t tid;
	struct bshared *sh;
	unsigned int nconns;
	struct salvo_hist *lat;
	uint64_t joins, error_replies, failed, bytes;
	int rc;
	bool epoll;		/* io_uring unavailable: the epoll loop ran */
};

static void bench_note(struct bshared *sh, const char *what, int err)
{
	pthread_mutex_lock(&sh->lock);
	if (!sh->first_error[0])
		snprintf(sh->first_error, sizeof(sh->first_error), "%s: %s", what, strerror(err));
	pthread_mutex_unlock(&sh->lock);
}

static bool bench_stopping(struct bshared *sh, uint64_t now)
{
	const struct salvo_registry_bench_cfg *cfg = sh->cfg;

	if (cfg->stop && __atomic_load_n(cfg->stop, __ATOMIC_RELAXED))
		return true;
	return sh->end_ns && now >= sh->end_ns;
}

static void bench_close(int ep, struct bconn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = B_IDLE;
}

/* Whether one more join may start (count mode claims it). */
static bool bench_claim(struct bshared *sh, uint64_t now)
{
	const struct salvo_registry_bench_cfg *cfg = sh->cfg;

	if (bench_stopping(sh, now))
		return false;
	/* Relaxed: a ticket counter, nothing is published through it. */
	return !cfg->count || __atomic_fetch_add(&sh->started, 1, __ATOMIC_RELAXED) < cfg->count;
}

/* The next name: PREFIX + (seq mod names). */
static int bench_name(struct bshared *sh, char *name, size_t len)
{
	const struct salvo_registry_bench_cfg *cfg = sh->cfg;
	uint64_t seq = __atomic_fetch_add(&sh->seq, 1, __ATOMIC_RELAXED);
	int n = snprintf(name, len, "%s%llu", cfg->prefix ? cfg->prefix : "bench-",
			 (unsigned long long)(seq % (cfg->names ? cfg->names : 1000)));

	return n < 0 ? 0 : (int)SALVO_MIN((size_t)n, len - 1);
}

/* A whole reply arrived (EOF): a join, an error reply or a failure. */
static void bench_done(struct bthread *t, struct bconn *c, uint64_t now)
{
	if (c->got >= 2 && c->head[0] == '{' && c->last == '}') {
		if (c->got >= 9 && !memcmp(c->head, "{\"error\"", 8)) {
			t->error_replies++;
		} else {
			t->joins++;
			salvo_hist_record(t->lat, now - c->t0);
		}
	} else {
		t->failed++;
		bench_note(t->sh, "short reply", EPROTO);
	}
}

/* Bytes of a reply: keep the first ones and the last one, discard the rest. */
static void bench_data(struct bthread *t, struct bconn *c, const uint8_t *buf, size_t n)
{
	if (c->got < sizeof(c->head))
		memcpy(c->head + c->got, buf, SALVO_MIN(n, sizeof(c->head) - c->got));
	c->got += n;
	c->last = (char)buf[n - 1];
	t->bytes += n;
}

static void bench_start(struct bthread *t, int ep, struct bconn *c, uint64_t now)
{
	struct bshared *sh = t->sh;
	const struct salvo_registry_bench_cfg *cfg = sh->cfg;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

	if (!bench_claim(sh, now))
		return;
	c->fd = socket(cfg->dest.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		t->failed++;
		bench_note(sh, "socket", errno);
		return;
	}
	c->t0 = now;
	c->got = 0;
	c->state = B_CONNECTING;
	if (connect(c->fd, &cfg->dest.sa, cfg->dest.len) && errno != EINPROGRESS) {
		t->failed++;
		bench_note(sh, "connect", errno);
		close(c->fd);
		c->fd = -1;
		c->state = B_IDLE;
		return;
	}
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void bench_event(struct bthread *t, int ep, struct bconn *c, uint32_t evs, uint8_t *buf,
			size_t buflen)
{
	struct bshared *sh = t->sh;

	if (c->state == B_CONNECTING) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		char name[300];
		socklen_t l = sizeof(int);
		int e = 0, n;

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l);
		if (e || (evs & EPOLLERR)) {
			t->failed++;
			bench_note(sh, "connect", e ? e : ECONNREFUSED);
			bench_close(ep, c);
			return;
		}
		n = bench_name(sh, name, sizeof(name));
		if (send(c->fd, name, (size_t)n, MSG_NOSIGNAL) != n) {
			t->failed++;
			bench_note(sh, "send", errno);
			bench_close(ep, c);
			return;
		}
		c->state = B_READING;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	for (;;) {
		ssize_t n = read(c->fd, buf, buflen);

		if (n > 0) {
			bench_data(t, c, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n == 0) {
			bench_done(t, c, salvo_now_ns());
		} else {
			t->failed++;
			bench_note(sh, "read", errno);
		}
		bench_close(ep, c);
		return;
	}
}

static void bench_thread_epoll(struct bthread *t)
{
	struct bshared *sh = t->sh;
	uint64_t tmo = (uint64_t)(sh->cfg->timeout_ms ? sh->cfg->timeout_ms : 5000) * NSEC_PER_MSEC;
	struct epoll_event evs[256];
	struct bconn *conns;
	uint64_t next_scan = 0;
	uint8_t *buf;
	unsigned int i;
	int ep;

	conns = calloc(t->nconns, sizeof(*conns));
	buf = malloc(1 << 16);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || !buf || ep < 0) {
		t->rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < t->nconns; i++) {
		conns[i].fd = -1;
		bench_start(t, ep, &conns[i], salvo_now_ns());
	}
	for (;;) {
		uint64_t now;
		bool busy = false;
		int n, k;

		n = epoll_wait(ep, evs, 256, 20);
		now = salvo_now_ns();
		for (k = 0; k < n; k++)
			bench_event(t, ep, evs[k].data.ptr, evs[k].events, buf, 1 << 16);
		if (now >= next_scan) {
			/* A connection without an answer in time counts as failed. */
			for (i = 0; i < t->nconns; i++) {
				if (conns[i].state != B_IDLE && now - conns[i].t0 > tmo) {
					t->failed++;
					bench_note(sh, "no reply", ETIMEDOUT);
					bench_close(ep, &conns[i]);
				}
			}
			next_scan = now + 100 * NSEC_PER_MSEC;
		}
		for (i = 0; i < t->nconns; i++) {
			if (conns[i].state == B_IDLE)
				bench_start(t, ep, &conns[i], now);
			busy |= conns[i].state != B_IDLE;
		}
		if (!busy)
			break;	/* stopping, or the count is reached and all answered */
		if (bench_stopping(sh, now)) {
			for (i = 0; i < t->nconns; i++)
				bench_close(ep, &conns[i]);	/* cut off in flight: not counted */
			break;
		}
	}
out:
	if (ep >= 0)
		close(ep);
	free(conns);
	free(buf);
}


/*
 * The io_uring loop: one ring per thread, each connection a fixed-file slot.
 * A join is one linked chain SOCKET (direct, into the slot; replacing the
 * previous connection's socket closes it) -> CONNECT -> SEND of the name,
 * only the SEND posting a CQE on success, then one multishot RECV into a
 * provided-buffer ring until EOF.  Buffers go back to the ring as soon as
 * their first bytes / last byte are looked at: the load generator keeps
 * no reply.  Submissions and completions of all connections share one
 * io_uring_enter per loop.
 */
#define BU_BUF_SIZE (64U << 10)
#define BU_BGID 0

enum { BU_AUX = 1, BU_SEND, BU_RECV };	/* user_data: conn index << 8 | kind */

struct bu {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t br_len;
	uint8_t *bufs;
	size_t bufs_len;
	unsigned int nbufs;
	int recycled;		/* buffers added since the last advance */
	char *names;		/* name_cap bytes per connection, stable until its SEND ran */
	size_t name_cap;
	uint32_t *idle;		/* connections to (re)start */
	uint32_t *rearm;	/* connections whose multishot receive ended early */
	unsigned int nidle, nrearm, active;
};

static struct io_uring_sqe *bu_sqe(struct bu *u)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		io_uring_submit(&u->ring);
		sqe = io_uring_get_sqe(&u->ring);
	}
	return sqe;
}

static void bu_recycle(struct bu *u, unsigned int bid)
{
	io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * BU_BUF_SIZE, BU_BUF_SIZE, bid,
			      io_uring_buf_ring_mask(u->nbufs), u->recycled++);
}

static bool bu_arm_recv(struct bu *u, struct bconn *c, uint32_t i)
{
	struct io_uring_sqe *sqe = bu_sqe(u);

	if (!sqe)
		return false;
	io_uring_prep_recv_multishot(sqe, (int)i, NULL, 0, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
	sqe->buf_group = BU_BGID;
	io_uring_sqe_set_data64(sqe, (uint64_t)i << 8 | BU_RECV);
	c->armed = true;
	return true;
}

/* Start a join on slot i; false when none may start (stopping, count reached). */
static bool bu_start(struct bthread *t, struct bu *u, struct bconn *c, uint32_t i, uint64_t now)
{
	const struct salvo_registry_bench_cfg *cfg = t->sh->cfg;
	struct io_uring_sqe *sqe[3];
	char *name = u->names + (size_t)i * u->name_cap;
	int n, k;

	if (!bench_claim(t->sh, now))
		return false;
	if (io_uring_sq_space_left(&u->ring) < 3)
		io_uring_submit(&u->ring);
	for (k = 0; k < 3; k++)
		sqe[k] = io_uring_get_sqe(&u->ring);
	if (!sqe[2]) {	/* not expected: the SQ was just flushed */
		t->failed++;
		bench_note(t->sh, "io_uring_get_sqe", EBUSY);
		return true;
	}
	n = bench_name(t->sh, name, u->name_cap);
	io_uring_prep_socket_direct(sqe[0], cfg->dest.sa.sa_family, SOCK_STREAM, 0, i, 0);
	io_uring_prep_connect(sqe[1], (int)i, &cfg->dest.sa, cfg->dest.len);
	io_uring_prep_send(sqe[2], (int)i, name, (size_t)n, MSG_NOSIGNAL);
	for (k = 0; k < 3; k++) {
		/* Only the SEND reports success: it ends the chain either way. */
		if (k < 2) {
			sqe[k]->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
			io_uring_sqe_set_data64(sqe[k], (uint64_t)i << 8 | BU_AUX);
		}
		if (k)
			sqe[k]->flags |= IOSQE_FIXED_FILE;
	}
	io_uring_sqe_set_data64(sqe[2], (uint64_t)i << 8 | BU_SEND);
	c->open = true;
	c->state = B_CONNECTING;
	c->aborting = false;
	c->armed = false;
	c->t0 = now;
	c->got = 0;
	u->active++;
	return true;
}

/* The connection's last CQE came: its slot can take the next join. */
static void bu_finish(struct bu *u, struct bconn *c, uint32_t i)
{
	c->state = B_IDLE;
	c->armed = false;
	u->active--;
	u->idle[u->nidle++] = i;
}

static void bu_cqe(struct bthread *t, struct bu *u, struct bconn *conns, struct io_uring_cqe *cqe,
		   uint64_t now)
{
	uint32_t i = (uint32_t)(cqe->user_data >> 8);
	struct bconn *c = &conns[i];
	int res = cqe->res;

	switch (cqe->user_data & 0xff) {
	case BU_AUX:	/* SOCKET or CONNECT failed; the SEND's -ECANCELED ends the chain */
		if (res != -ECANCELED && !c->aborting)
			bench_note(t->sh, "connect", -res);
		return;
	case BU_SEND:
		if (c->aborting) {
			bu_finish(u, c, i);
		} else if (res < 0) {
			t->failed++;
			if (res != -ECANCELED)
				bench_note(t->sh, "send", -res);
			bu_finish(u, c, i);
		} else {
			c->state = B_READING;
			if (!bu_arm_recv(u, c, i))
				u->rearm[u->nrearm++] = i;
		}
		return;
	case BU_RECV:
		break;
	default:
		return;
	}
	if (res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
		unsigned int bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

		if (!c->aborting)
			bench_data(t, c, u->bufs + (size_t)bid * BU_BUF_SIZE, (size_t)res);
		bu_recycle(u, bid);
	}
	if (cqe->flags & IORING_CQE_F_MORE)
		return;
	c->armed = false;
	if (c->aborting) {
		bu_finish(u, c, i);
	} else if (res == 0) {
		bench_done(t, c, now);
		bu_finish(u, c, i);
	} else if (res > 0 || res == -ENOBUFS) {
		/* Ended early (no buffer was free): again once buffers are back. */
		u->rearm[u->nrearm++] = i;
	} else {
		t->failed++;
		bench_note(t->sh, "read", -res);
		bu_finish(u, c, i);
	}
}

/* -errno when this thread cannot have a ring (io_uring disabled, old kernel): epoll then. */
static int bu_open(struct bu *u, unsigned int nconns, const struct salvo_registry_bench_cfg *cfg)
{
	struct io_uring_buf_reg reg = {0};
	struct io_uring_params prm;
	static const unsigned int tries[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
	};
	unsigned int sq = 64, k;
	int ret = -EINVAL;

	while (sq < 4 * nconns && sq < 4096)
		sq *= 2;
	for (k = 0; k < SALVO_ARRAY_SIZE(tries); k++) {
		memset(&prm, 0, sizeof(prm));
		prm.flags = tries[k] | IORING_SETUP_CQSIZE;
		prm.cq_entries = 4 * sq;
		ret = io_uring_queue_init_params(sq, &u->ring, &prm);
		if (ret != -EINVAL)
			break;
	}
	if (ret)
		return ret;
	/* Two buffers per connection in flight is plenty: each is back at once. */
	u->nbufs = 16;
	while (u->nbufs < 2 * nconns && u->nbufs < 512)
		u->nbufs *= 2;
	u->bufs_len = (size_t)u->nbufs * BU_BUF_SIZE;
	u->br_len = ((size_t)u->nbufs * sizeof(struct io_uring_buf) + 4095) & ~(size_t)4095;
	u->bufs = mmap(NULL, u->bufs_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u->br = mmap(NULL, u->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u->name_cap = strlen(cfg->prefix ? cfg->prefix : "bench-") + 24;
	u->names = calloc(nconns, u->name_cap);
	u->idle = calloc(nconns, sizeof(*u->idle));
	u->rearm = calloc(nconns, sizeof(*u->rearm));
	if (u->bufs == MAP_FAILED || u->br == MAP_FAILED || !u->names || !u->idle || !u->rearm)
		return -ENOMEM;
	ret = io_uring_register_files_sparse(&u->ring, nconns);
	if (ret)
		return ret;
	reg.ring_addr = (uint64_t)(uintptr_t)u->br;
	reg.ring_entries = u->nbufs;
	reg.bgid = BU_BGID;
	ret = io_uring_register_buf_ring(&u->ring, &reg, 0);
	if (ret)
		return ret;
	io_uring_buf_ring_init(u->br);
	for (k = 0; k < u->nbufs; k++)
		bu_recycle(u, k);
	io_uring_buf_ring_advance(u->br, u->recycled);
	u->recycled = 0;
	return 0;
}

static void bu_close(struct bu *u)
{
	/* Exiting the ring closes the sockets in its slots and cancels what is pending. */
	if (u->ring.ring_fd > 0)
		io_uring_queue_exit(&u->ring);
	if (u->bufs && u->bufs != MAP_FAILED)
		munmap(u->bufs, u->bufs_len);
	if (u->br && u->br != MAP_FAILED)
		munmap(u->br, u->br_len);
	free(u->names);
	free(u->idle);
	free(u->rearm);
}

static int bench_thread_uring(struct bthread *t)
{
	struct bshared *sh = t->sh;
	uint64_t tmo = (uint64_t)(sh->cfg->timeout_ms ? sh->cfg->timeout_ms : 5000) * NSEC_PER_MSEC;
	struct __kernel_timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	struct bconn *conns = calloc(t->nconns, sizeof(*conns));
	struct bu u = { .ring.ring_fd = -1 };
	uint64_t next_scan = 0, now;
	unsigned int i;
	int rc;

	if (!conns)
		return -ENOMEM;
	rc = bu_open(&u, t->nconns, sh->cfg);
	if (rc == -ENOSYS || rc == -EPERM || rc == -EINVAL || rc == -EOPNOTSUPP)
		t->epoll = true;	/* no ring here (io_uring disabled or too old) */
	if (rc)
		goto out;
	for (i = t->nconns; i-- > 0;)
		u.idle[u.nidle++] = i;
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;

		now = salvo_now_ns();
		/* Start what may start; a slot refused now (count reached) stays idle. */
		while (u.nidle) {
			uint32_t k = u.idle[u.nidle - 1];

			if (!bu_start(t, &u, &conns[k], k, now))
				break;
			u.nidle--;
		}
		while (u.nrearm && bu_arm_recv(&u, &conns[u.rearm[u.nrearm - 1]], u.rearm[u.nrearm - 1]))
			u.nrearm--;
		if (!u.active || bench_stopping(sh, now))
			break;	/* all answered (count), or the end: in flight is not counted */
		rc = io_uring_submit_and_wait_timeout(&u.ring, &cqe, 1, &ts, NULL);
		if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			bench_note(sh, "io_uring_enter", -rc);
			goto out;
		}
		rc = 0;
		now = salvo_now_ns();
		io_uring_for_each_cqe(&u.ring, head, cqe) {
			bu_cqe(t, &u, conns, cqe, now);
			seen++;
		}
		io_uring_cq_advance(&u.ring, seen);
		if (u.recycled) {
			io_uring_buf_ring_advance(u.br, u.recycled);
			u.recycled = 0;
		}
		if (now < next_scan)
			continue;
		/* A connection without an answer in time fails: cancel what it has pending. */
		for (i = 0; i < t->nconns; i++) {
			struct bconn *c = &conns[i];
			struct io_uring_sqe *sqe;

			if (c->state == B_IDLE || c->aborting || now - c->t0 <= tmo)
				continue;
			t->failed++;
			bench_note(sh, "no reply", ETIMEDOUT);
			c->aborting = true;
			if (c->state == B_READING && !c->armed) {
				unsigned int k;	/* waiting for a re-arm: nothing to cancel */

				for (k = 0; k < u.nrearm && u.rearm[k] != i; k++)
					;
				if (k < u.nrearm)
					u.rearm[k] = u.rearm[--u.nrearm];
				bu_finish(&u, c, i);
			} else if ((sqe = bu_sqe(&u))) {
				io_uring_prep_cancel_fd(sqe, (int)i,
							IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
				io_uring_sqe_set_data64(sqe, 0);
			}
		}
		next_scan = now + 100 * NSEC_PER_MSEC;
	}
out:
	bu_close(&u);
	free(conns);
	return rc;
}

static void *bench_thread(void *arg)
{
	struct bthread *t = arg;
	int rc = bench_thread_uring(t);

	if (t->epoll)
		bench_thread_epoll(t);	/* the same load without a ring */
	else if (rc)
		t->rc = rc;
	return NULL;
}

/*
 * ---- the load generator on the engine's workers (--engine BACKEND) -----------
 *
 * The same joins, counted the same way (bench_claim, bench_name,
 * bench_data, bench_done), as a struct salvo_app on salvo_run's workers,
 * over any backend's stream path.  The port is opened with cfg->dial: its
 * cfg->streams connection slots start empty, and a join is one tx packet
 * (the name) flagged SALVO_PKT_F_CONN_OPEN on a free slot: the backend
 * connects it, sends the name once connected, and reports CONN_OPEN (or
 * CONN_ERROR), the reply's bytes and the server's FIN (CONN_CLOSE).
 * Releasing the FIN closes our side and frees the slot for the next join.
 * A slot the backend still holds (its last connection closing, an event
 * not yet released) refuses the dial with -EBUSY and is tried again later.
 */
#define EB_BURST 64

struct ebench_arg {
	struct bshared *sh;
	struct bthread *t;	/* one per worker, read after the run */
};

struct ebench {
	struct bthread *t;
	struct bconn *c;	/* one per slot (the backend's connection id) */
	uint32_t *idle;		/* slots that may dial */
	unsigned int nslots, nidle, active;
	unsigned int tickets;	/* joins claimed but not yet dialed */
	bool exhausted;		/* no more joins may start (count reached) */
	uint64_t tmo, next_scan;
	struct salvo_pkt *v[EB_BURST];
};

static int ebench_init(struct salvo_worker *w)
{
	struct ebench_arg *a = salvo_run_app(w->run)->arg;
	struct ebench *e = calloc(1, sizeof(*e));
	unsigned int i;

	if (!e)
		return -ENOMEM;
	w->app_priv = e;
	e->t = &a->t[w->id];
	e->nslots = SALVO_MIN(salvo_worker_nflows(w->cfg->streams, w->id, w->port.nworkers),
			      w->port.conn_slots);
	e->c = calloc(SALVO_MAX(e->nslots, 1u), sizeof(*e->c));
	e->idle = calloc(SALVO_MAX(e->nslots, 1u), sizeof(*e->idle));
	if (!e->c || !e->idle)
		return -ENOMEM;
	for (i = e->nslots; i-- > 0;)
		e->idle[e->nidle++] = i;
	e->tmo = (uint64_t)(a->sh->cfg->timeout_ms ? a->sh->cfg->timeout_ms : 5000) * NSEC_PER_MSEC;
	w->port.rx_timeout_ms = 20;	/* as the old loops: the clock and the stop flag are looked at */
	return 0;
}

/*
 * Start joins on idle slots while the count, the pool and the backend allow,
 * as one tx burst (one submission on io_uring).  A slot the backend refuses
 * (-EBUSY: it still holds the slot) waits for a later round, and the join
 * claimed for it stays with this worker (tickets).
 */
static void ebench_dial(struct salvo_worker *w, struct ebench *e, uint64_t now)
{
	struct salvo_port *p = &w->port;
	struct bshared *sh = e->t->sh;
	struct salvo_pkt *d[EB_BURST];
	uint32_t back[EB_BURST];
	unsigned int n = 0, nback = 0, i, j;

	while (e->nidle && n < EB_BURST) {
		struct salvo_pkt *k;

		if (!e->tickets) {
			if (e->exhausted || !bench_claim(sh, now)) {
				e->exhausted = true;
				break;
			}
			e->tickets++;
		}
		if (salvo_pool_get(p->pool, &k, 1) != 1) {
			salvo_port_reap(p);
			if (salvo_pool_get(p->pool, &k, 1) != 1)
				break;	/* every descriptor waits for a connect or a send */
		}
		k->conn = e->idle[--e->nidle];
		k->len = (uint32_t)bench_name(sh, (char *)k->data, SALVO_MIN(k->buf_len, 300u));
		k->flags = SALVO_PKT_F_CONN_OPEN;
		d[n++] = k;
		e->tickets--;
	}
	for (i = 0; i < n;) {
		int rc = salvo_port_tx(p, d + i, n - i);

		for (j = i; rc > 0 && j < i + (unsigned int)rc; j++) {
			struct bconn *c = &e->c[d[j]->conn];

			c->state = B_CONNECTING;
			c->t0 = now;
			c->got = 0;
			e->active++;
		}
		if (rc > 0) {
			i += (unsigned int)rc;
			continue;
		}
		/* d[i] refused: the slot waits; the join is kept unless it failed outright. */
		back[nback++] = d[i]->conn;
		salvo_pool_put(p->pool, &d[i], 1);
		i++;
		if (rc == -EBUSY || rc == 0) {
			e->tickets++;
			continue;
		}
		/* socket() or connect() refused at once: that join failed; the rest wait. */
		e->t->failed++;
		bench_note(sh, "connect", -rc);
		for (; i < n; i++) {
			back[nback++] = d[i]->conn;
			salvo_pool_put(p->pool, &d[i], 1);
			e->tickets++;
		}
	}
	for (j = 0; j < nback; j++)
		e->idle[e->nidle++] = back[j];
}

static void ebench_end(struct ebench *e, struct bconn *c, uint32_t id)
{
	c->state = B_IDLE;
	e->active--;
	e->idle[e->nidle++] = id;
}

static void ebench_events(struct ebench *e, unsigned int n, uint64_t now)
{
	struct bthread *t = e->t;

	for (unsigned int i = 0; i < n; i++) {
		const struct salvo_pkt *k = e->v[i];
		struct bconn *c = k->conn < e->nslots ? &e->c[k->conn] : NULL;

		/* B_IDLE: what is left of a connection given up on (timeout); not counted. */
		if (!c || c->state == B_IDLE)
			continue;
		if (k->flags & SALVO_PKT_F_CONN_OPEN) {
			c->state = B_READING;
		} else if (k->flags & SALVO_PKT_F_CONN_ERROR) {
			t->failed++;
			bench_note(t->sh, c->state == B_CONNECTING ? "connect" : "read",
				   k->err < 0 ? -k->err : EIO);
			ebench_end(e, c, k->conn);
		} else if (k->flags & SALVO_PKT_F_CONN_CLOSE) {
			/* The server's FIN: the whole reply is in (releasing it closes ours). */
			bench_done(t, c, now);
			ebench_end(e, c, k->conn);
		} else if (k->len && c->state == B_READING) {
			/*
			 * Data before this connection's CONN_OPEN is what was left of
			 * the slot's previous one (given up on): not this reply's.
			 */
			bench_data(t, c, k->data, k->len);
		}
	}
}

/* Joins without a whole reply in time fail; a connect is bounded by the backend. */
static void ebench_timeouts(struct salvo_worker *w, struct ebench *e, uint64_t now)
{
	struct salvo_port *p = &w->port;

	for (uint32_t id = 0; id < e->nslots; id++) {
		struct bconn *c = &e->c[id];
		struct salvo_pkt *k;

		if (c->state != B_READING || now - c->t0 <= e->tmo)
			continue;
		e->t->failed++;
		bench_note(e->t->sh, "no reply", ETIMEDOUT);
		ebench_end(e, c, id);
		/* Close it; the slot is dialed again once the backend lets it go. */
		if (salvo_pool_get(p->pool, &k, 1) != 1)
			continue;	/* the port's close at the end takes it */
		k->len = 0;
		k->conn = id;
		k->flags = SALVO_PKT_F_CONN_CLOSE;
		if (salvo_port_tx(p, &k, 1) != 1)
			salvo_pool_put(p->pool, &k, 1);
	}
}

static int ebench_loop(struct salvo_worker *w)
{
	struct ebench *e = w->app_priv;
	struct salvo_port *p = &w->port;
	struct bshared *sh = e->t->sh;

	for (;;) {
		uint64_t now = salvo_now_ns();
		int n;

		if (salvo_worker_stopping(w) || bench_stopping(sh, now))
			break;	/* the end: joins in flight are not counted */
		ebench_dial(w, e, now);
		if (e->exhausted && !e->active && !e->tickets)
			break;	/* the count is reached and all answered */
		n = salvo_port_rx(p, e->v, EB_BURST);
		if (n < 0 && n != -EAGAIN && n != -EINTR && n != -ENOBUFS) {
			bench_note(sh, "receive", -n);
			return salvo_worker_fail(w, -n, "receive failed: %s", strerror(-n));
		}
		now = salvo_now_ns();
		if (n > 0) {
			ebench_events(e, (unsigned int)n, now);
			salvo_port_release(p, e->v, (unsigned int)n);
		}
		salvo_port_reap(p);
		if (now >= e->next_scan) {
			ebench_timeouts(w, e, now);
			e->next_scan = now + 100 * NSEC_PER_MSEC;
		}
	}
	return 0;
}

static void ebench_fini(struct salvo_worker *w)
{
	struct ebench *e = w->app_priv;

	if (!e)
		return;
	free(e->c);
	free(e->idle);
	free(e);
	w->app_priv = NULL;
}

static const struct salvo_app ebench_app = {
	.name = "registry bench",
	.init = ebench_init,
	.loop = ebench_loop,
	.fini = ebench_fini,
};

/* Run the joins on nt engine workers over backend cfg->engine; the counts land in t[]. */
static int bench_engine(const struct salvo_registry_bench_cfg *bc, struct bshared *sh,
			struct bthread *t, unsigned int nt, unsigned int nc, char *err, size_t errlen)
{
	const struct salvo_backend_ops *ops = salvo_backend_find(bc->engine);
	struct ebench_arg a = {.sh = sh, .t = t};
	struct salvo_app app = ebench_app;
	struct salvo_report rep;
	struct salvo_run *r;
	struct salvo_cfg cfg;
	char why[256];
	int rc;

	if (!ops) {
		snprintf(err, errlen, "unknown backend '%s'", bc->engine);
		return -ENOENT;
	}
	if (!(ops->caps & SALVO_CAP_TCP) || (ops->caps & SALVO_CAP_TEST)) {
		snprintf(err, errlen, "backend %s has no network stream path", ops->name);
		return -EINVAL;
	}
	salvo_cfg_init(&cfg);
	cfg.command = "registry bench";
	cfg.backend = ops->name;
	cfg.proto = SALVO_PROTO_TCP;
	cfg.dir = SALVO_DIR_RX | SALVO_DIR_TX;
	cfg.connect = true;
	cfg.remote = bc->dest;
	cfg.threads = nt;
	cfg.streams = nc;
	cfg.dial = true;
	cfg.stamp = false;
	cfg.size = 320;		/* a name: prefix + a sequence number */
	cfg.cpu_base = -1;	/* as the old generator's threads: not pinned */
	cfg.timeout_ms = bc->timeout_ms ? bc->timeout_ms : 5000;	/* bounds each connect */
	rc = salvo_cfg_finish(&cfg, err, errlen);
	if (rc)
		return rc;
	if (ops->probe && (rc = ops->probe(&cfg, why, sizeof(why)))) {
		snprintf(err, errlen, "backend %s: %s", ops->name, why);
		return rc;
	}
	app.arg = &a;
	rc = salvo_run_create(&r, &cfg, ops, &app, err, errlen);
	if (rc)
		return rc;
	rc = salvo_run_start(r, err, errlen);
	if (!rc) {
		/* The workers end on their own (count, duration); the stop flag ends them early. */
		while (!salvo_run_wait(r, salvo_now_ns() + 50 * NSEC_PER_MSEC))
			if (bc->stop && __atomic_load_n(bc->stop, __ATOMIC_RELAXED))
				salvo_run_stop(r);
		salvo_run_join(r);
		salvo_run_report(r, &rep);
		if (rep.error[0]) {
			snprintf(err, errlen, "%s", rep.error);
			rc = -EIO;
		}
	}
	salvo_run_destroy(r);
	return rc;
}

int salvo_registry_bench(const struct salvo_registry_bench_cfg *cfg,
			 struct salvo_registry_bench_result *res, char *err, size_t errlen)
{
	unsigned int nt = SALVO_MAX(cfg->threads, 1U), nc = SALVO_MAX(cfg->connections, 1U), i;
	struct bshared sh = { .cfg = cfg };
	struct bthread *t;
	struct rlimit rl;
	uint64_t t0;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	if (!cfg->duration_ns && !cfg->count) {
		snprintf(err, errlen, "needs a duration or a count");
		return -EINVAL;
	}
	nt = SALVO_MIN(nt, nc);
	/* Each connection is a descriptor: lift the soft limit to the hard one. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY && nc + 64 > rl.rlim_cur) {
		snprintf(err, errlen, "%u connections need more descriptors than RLIMIT_NOFILE (%llu)", nc,
			 (unsigned long long)rl.rlim_cur);
		return -EMFILE;
	}
	t = calloc(nt, sizeof(*t));
	if (!t || salvo_hist_create(&res->lat)) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&sh.lock, NULL);
	t0 = salvo_now_ns();
	sh.end_ns = cfg->duration_ns ? t0 + cfg->duration_ns : 0;
	if (cfg->engine) {
		for (i = 0; i < nt; i++) {
			t[i].sh = &sh;
			if (salvo_hist_create(&t[i].lat)) {
				snprintf(err, errlen, "out of memory");
				rc = -ENOMEM;
				nt = i;
				break;
			}
		}
		if (!rc)
			rc = bench_engine(cfg, &sh, t, nt, nc, err, errlen);
		goto collect;
	}
	for (i = 0; i < nt; i++) {
		t[i].sh = &sh;
		t[i].nconns = nc / nt + (i < nc % nt);
		if (salvo_hist_create(&t[i].lat) ||
		    pthread_create(&t[i].tid, NULL, bench_thread, &t[i])) {
			rc = -ENOMEM;
			snprintf(err, errlen, "cannot start bench thread %u", i);
			salvo_hist_destroy(t[i].lat);
			nt = i;
			break;
		}
	}
	for (i = 0; i < nt; i++)
		pthread_join(t[i].tid, NULL);
collect:
	for (i = 0; i < nt; i++) {
		res->joins += t[i].joins;
		res->error_replies += t[i].error_replies;
		res->failed += t[i].failed;
		res->reply_bytes += t[i].bytes;
		salvo_hist_merge(res->lat, t[i].lat);
		salvo_hist_destroy(t[i].lat);
		if (t[i].rc && !rc) {
			rc = t[i].rc;
			snprintf(err, errlen, "bench thread: %s", strerror(-rc));
		}
	}
	res->seconds = (double)(salvo_now_ns() - t0) / 1e9;
	snprintf(res->first_error, sizeof(res->first_error), "%s", sh.first_error);
	pthread_mutex_destroy(&sh.lock);
	free(t);
	if (rc) {
		salvo_hist_destroy(res->lat);
		res->lat = NULL;
	}
	return rc;
}
