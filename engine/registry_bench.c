// SPDX-License-Identifier: MIT
/*
 * The registry load generator (`salvo registry bench`): many short TCP
 * client connections, each one join (connect, send a name, read the reply
 * to EOF, close), on its own threads with an io_uring loop, or an epoll
 * loop where io_uring is unavailable.
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
#include <salvo/registry.h>

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
	for (i = 0; i < nt; i++) {
		pthread_join(t[i].tid, NULL);
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
