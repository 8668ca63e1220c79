// SPDX-License-Identifier: MIT
/*
 * Runs and workers.  Each worker thread opens its own port (so rings and
 * sockets are created, and io_uring's single issuer is, the thread that uses
 * them), waits at a barrier until every worker opened, then runs the app's
 * loop.  The main thread only watches the clock and reads counters.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <salvo/run.h>
#include <salvo/pacer.h>
#include <salvo/stamp.h>

struct salvo_run {
	struct salvo_cfg cfg;
	const struct salvo_backend_ops *ops;
	const struct salvo_app *app;
	unsigned int n;
	struct salvo_worker *w;		/* n workers, each cache-line aligned */
	pthread_t *tid;
	bool *started;
	pthread_barrier_t opened;	/* workers + main: every port is open (or failed) */
	pthread_barrier_t go;		/* main has set the start time: run */
	struct salvo_pacer *pacer;
	uint64_t start_ns, deadline_ns, end_ns;
	uint64_t start_rt_ns;		/* start_ns's instant on CLOCK_REALTIME */
	/* Set from signal handlers and any worker; read by every worker per burst. */
	int stop;
	int interrupted;
	int open_failed;
	bool barriers;
	/* Interval reports: the main thread's epoch, and every sample it drained so far. */
	uint64_t iv_epoch;
	int iv_sessions_on;	/* salvo_run_interval_sessions(): boundaries also take per-session rows */
	struct salvo_hist *lat_drained, *lat_iv;
	struct salvo_hist *lat_final;	/* the last salvo_run_report()'s, for rep->hist */
	uint64_t rx_total __salvo_aligned;	/* run-wide receive count, for --count */
	unsigned int running __salvo_aligned;
};

bool salvo_worker_stopping(const struct salvo_worker *w)
{
	/* Relaxed: a worker that sees the flag one burst late is fine. */
	return __atomic_load_n(&w->run->stop, __ATOMIC_RELAXED);
}

bool salvo_worker_interrupted(const struct salvo_worker *w)
{
	/* Relaxed: set before the stop flag by salvo_run_interrupt(); seen late, a wait ends at its own deadline. */
	return __atomic_load_n(&w->run->interrupted, __ATOMIC_RELAXED);
}

void salvo_worker_stop_run(struct salvo_worker *w)
{
	salvo_run_stop(w->run);
}

uint64_t salvo_worker_rx_claim(struct salvo_worker *w, uint64_t n)
{
	uint64_t cur, grant;

	if (!w->cfg->count)
		return n;
	cur = __atomic_load_n(&w->run->rx_total, __ATOMIC_RELAXED);
	do {
		if (cur >= w->cfg->count)
			return 0;
		grant = SALVO_MIN(n, w->cfg->count - cur);
		/* Relaxed: only the total matters; nothing is published with it. */
	} while (!__atomic_compare_exchange_n(&w->run->rx_total, &cur, cur + grant, false,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	if (cur + grant >= w->cfg->count)
		salvo_run_stop(w->run);
	return grant;
}

bool salvo_worker_rx_goal(struct salvo_worker *w, uint64_t n)
{
	uint64_t total;

	if (!w->cfg->count)
		return false;
	total = __atomic_add_fetch(&w->run->rx_total, n, __ATOMIC_RELAXED);
	if (total >= w->cfg->count) {
		salvo_run_stop(w->run);
		return true;
	}
	return false;
}

void salvo_worker_count_tx(struct salvo_worker *w, uint64_t pkts, uint64_t bytes, uint64_t now)
{
	if (!pkts && !bytes)
		return;
	salvo_cnt_add(&w->cnt.tx_pkts, pkts);
	salvo_cnt_add(&w->cnt.tx_bytes, bytes);
	if (!w->cnt.first_tx_ns)
		salvo_cnt_add(&w->cnt.first_tx_ns, now);
	__atomic_store_n(&w->cnt.last_tx_ns, now, __ATOMIC_RELAXED);
}

int salvo_worker_tx_drain(struct salvo_worker *w)
{
	struct salvo_port *p = &w->port;
	int rc = 0;

	salvo_port_flush(p);
	if (p->ops->drain)
		rc = p->ops->drain(p, w->cfg->timeout_ms);
	if (salvo_cnt_read(&w->cnt.tx_pkts))
		__atomic_store_n(&w->cnt.last_tx_ns, salvo_now_ns(), __ATOMIC_RELAXED);
	return rc;
}

/*
 * The flow table's per-session totals now (by its owner, or once it is done):
 * once per interval, a walk of the table, never per packet.
 */
static void iv_sessions(struct salvo_worker *w)
{
	int n;

	/*
	 * Relaxed: the flag is set before the first interval's snapshot; a
	 * worker that reads it one boundary late still hands over cumulative
	 * rows, so no interval loses a count.
	 */
	if (!w->iv_sess || !__atomic_load_n(&w->run->iv_sessions_on, __ATOMIC_RELAXED) ||
	    !salvo_flowtab_count(w->flows))
		return;
	n = salvo_flowtab_sessions(w->flows, w->iv_sess, SALVO_REPORT_SESSIONS);
	if (n >= 0)	/* -ENOMEM: the previous boundary's rows stand */
		w->iv_nsess = n;
}

void salvo_run_interval_sessions(struct salvo_run *r)
{
	/* Relaxed: pairs with nothing; iv_sessions() says why a late reader is fine. */
	__atomic_store_n(&r->iv_sessions_on, 1, __ATOMIC_RELAXED);
}

void salvo_worker_interval(struct salvo_worker *w)
{
	/* Relaxed: a worker that sees the new epoch one burst late just closes it then. */
	uint64_t e = __atomic_load_n(&w->run->iv_epoch, __ATOMIC_RELAXED);

	if (e == w->iv_epoch)
		return;
	pthread_mutex_lock(&w->iv_lock);
	salvo_hist_merge(w->iv_lat, w->lat);
	if (salvo_hist_count(w->lat))
		salvo_hist_reset(w->lat);
	w->iv_cnt = w->cnt;	/* the only writer: a plain copy is current */
	iv_sessions(w);
	/* Release pairs with the acquire in salvo_run_snapshot()'s wait. */
	__atomic_store_n(&w->iv_epoch, e, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&w->iv_lock);
}

int salvo_worker_fail(struct salvo_worker *w, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : err;
}

void salvo_run_stop(struct salvo_run *r)
{
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	/* Pairs with the futex wait in salvo_pacer_wait(): a sleeping worker wakes now. */
	salvo_pacer_wake(&r->stop);
}

uint64_t salvo_worker_wait(struct salvo_worker *w, uint64_t due_ns)
{
	struct salvo_run *r = w->run;
	uint64_t now;

	if (r->deadline_ns && due_ns >= r->deadline_ns) {
		/* Due after the end of the run: wait for the end, not the slot. */
		if (salvo_pacer_wait(r->deadline_ns, &r->stop))
			salvo_run_stop(r);
		return 0;
	}
	now = salvo_pacer_wait(due_ns, &r->stop);
	return salvo_worker_stopping(w) ? 0 : now;
}

void salvo_run_interrupt(struct salvo_run *r)
{
	__atomic_store_n(&r->interrupted, 1, __ATOMIC_RELAXED);
	salvo_run_stop(r);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* Best effort: a restricted cpuset just leaves the thread unpinned. */
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *worker_main(void *arg)
{
	struct salvo_worker *w = arg;
	struct salvo_run *r = w->run;
	sigset_t all;
	int rc;

	/* Signals go to the main thread, which turns them into salvo_run_stop(). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (r->cfg.cpu_base >= 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		pin((int)((r->cfg.cpu_base + (int)w->id) % (ncpu > 0 ? ncpu : 1)));
	}
	prctl(PR_SET_TIMERSLACK, 1UL);	/* the pacer's sleeps should end on time */

	rc = salvo_port_open(&w->port, r->ops, &r->cfg, w->id, r->n);
	if (rc) {
		snprintf(w->err, sizeof(w->err), "%s", w->port.err);
		w->port.ops = NULL;
	} else if (r->app->init) {
		rc = r->app->init(w);
		if (rc && !w->err[0])
			snprintf(w->err, sizeof(w->err), "%s: %s", r->app->name, strerror(-rc));
	}
	if (rc)
		__atomic_store_n(&r->open_failed, 1, __ATOMIC_RELAXED);
	w->rc = rc;
	pthread_barrier_wait(&r->opened);
	pthread_barrier_wait(&r->go);	/* main read open_failed and set start_ns */

	if (!rc && !__atomic_load_n(&r->open_failed, __ATOMIC_RELAXED)) {
		rc = r->app->loop(w);
		w->rc = rc;
		if (rc)
			salvo_run_stop(r);	/* one fatal error ends the run */
	}
	if (r->app->fini && w->port.ops)
		r->app->fini(w);
	/* Close where it was opened; stats stay readable in w->port for the report. */
	if (w->port.ops)
		salvo_port_close(&w->port);
	/* Release pairs with the acquire in salvo_run_snapshot(): w->lat is the main thread's now. */
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	/* Release pairs with the acquire in salvo_run_wait: counters are final. */
	__atomic_sub_fetch(&r->running, 1, __ATOMIC_RELEASE);
	return NULL;
}

int salvo_run_create(struct salvo_run **out, const struct salvo_cfg *cfg,
		     const struct salvo_backend_ops *ops, const struct salvo_app *app,
		     char *err, size_t errlen)
{
	struct salvo_run *r;
	int rc = -ENOMEM;

	r = aligned_alloc(SALVO_CACHELINE, sizeof(*r));
	if (!r)
		goto oom;
	memset(r, 0, sizeof(*r));
	r->cfg = *cfg;
	/* One session per run, shared by its workers: receivers tell senders apart by it. */
	if (!r->cfg.session) {
		rc = salvo_stamp_session_new(&r->cfg.session);
		if (rc) {
			snprintf(err, errlen, "cannot draw a session id: %s", strerror(-rc));
			salvo_run_destroy(r);
			return rc;
		}
		rc = -ENOMEM;
	}
	r->ops = ops;
	r->app = app;
	r->n = cfg->threads;
	r->w = aligned_alloc(SALVO_CACHELINE, sizeof(*r->w) * r->n);
	r->tid = calloc(r->n, sizeof(*r->tid));
	r->started = calloc(r->n, sizeof(*r->started));
	if (!r->w || !r->tid || !r->started)
		goto oom;
	memset(r->w, 0, sizeof(*r->w) * r->n);
	if (salvo_hist_create(&r->lat_drained) || salvo_hist_create(&r->lat_iv))
		goto oom;
	if (cfg->rate_pps > 0) {
		rc = salvo_pacer_create(&r->pacer, cfg->rate_pps);
		if (rc)
			goto oom;
	}
	for (unsigned int i = 0; i < r->n; i++) {
		struct salvo_worker *w = &r->w[i];
		uint64_t share;

		w->id = i;
		w->run = r;
		w->cfg = &r->cfg;
		w->pacer = r->pacer;
		pthread_mutex_init(&w->iv_lock, NULL);
		if (salvo_hist_create(&w->lat) || salvo_hist_create(&w->pace_err) ||
		    salvo_hist_create(&w->iv_lat) || salvo_flowtab_create(&w->flows, 65536))
			goto oom;
		if (app->intervals &&
		    !(w->iv_sess = calloc(SALVO_REPORT_SESSIONS, sizeof(*w->iv_sess))))
			goto oom;
		/* Split --count: the first (count % n) workers send one more. */
		share = cfg->count / r->n + (i < cfg->count % r->n ? 1 : 0);
		w->tx_quota = cfg->count ? share : 0;
	}
	*out = r;
	return 0;
oom:
	snprintf(err, errlen, "out of memory setting up %u workers", cfg->threads);
	salvo_run_destroy(r);
	return rc;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/*
 * --start-at: every port is open and the workers wait at the go barrier;
 * sleep until the instant on CLOCK_REALTIME (absolute, so a clock step
 * while we sleep moves the wake-up with it), in slices of at most
 * START_POLL_NS so a stop request is seen.  The last slice ends at the
 * instant itself.
 */
#define START_POLL_NS (10 * NSEC_PER_MSEC)

static void wait_start_at(struct salvo_run *r)
{
	for (;;) {
		uint64_t now = realtime_ns(), until = r->cfg.start_at_ns;
		struct timespec ts;

		if (now >= until)
			return;
		if (r->cfg.start_wait_stop && r->cfg.start_wait_stop()) {
			salvo_run_interrupt(r);
			return;
		}
		if (until - now > START_POLL_NS)
			until = now + START_POLL_NS;
		ts.tv_sec = (time_t)(until / NSEC_PER_SEC);
		ts.tv_nsec = (long)(until % NSEC_PER_SEC);
		/* EINTR (a signal): loop, ask start_wait_stop again. */
		clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL);
	}
}

int salvo_run_start(struct salvo_run *r, char *err, size_t errlen)
{
	unsigned int i;
	int rc;

	pthread_barrier_init(&r->opened, NULL, r->n + 1);
	pthread_barrier_init(&r->go, NULL, r->n + 1);
	r->barriers = true;
	r->running = r->n;
	for (i = 0; i < r->n; i++) {
		rc = pthread_create(&r->tid[i], NULL, worker_main, &r->w[i]);
		if (rc) {
			/*
			 * Cannot happen often (thread limit); the barriers expect
			 * n threads, so fail hard rather than deadlock.
			 */
			snprintf(err, errlen, "cannot start worker thread: %s", strerror(rc));
			abort();
		}
		r->started[i] = true;
	}
	pthread_barrier_wait(&r->opened);
	if (r->cfg.start_at_ns && !__atomic_load_n(&r->open_failed, __ATOMIC_RELAXED))
		wait_start_at(r);
	r->start_ns = salvo_now_ns();
	r->start_rt_ns = realtime_ns();
	if (r->pacer)
		salvo_pacer_start(r->pacer, r->start_ns);
	if (r->cfg.duration_ns)
		r->deadline_ns = r->start_ns + r->cfg.duration_ns;
	pthread_barrier_wait(&r->go);
	if (__atomic_load_n(&r->open_failed, __ATOMIC_RELAXED)) {
		for (i = 0; i < r->n; i++) {
			if (r->w[i].rc) {
				snprintf(err, errlen, "%s", r->w[i].err[0] ? r->w[i].err : strerror(-r->w[i].rc));
				break;
			}
		}
		salvo_run_join(r);
		return -EIO;
	}
	return 0;
}

bool salvo_run_wait(struct salvo_run *r, uint64_t until_ns)
{
	for (;;) {
		uint64_t now = salvo_now_ns(), next = until_ns;
		struct timespec ts;

		if (__atomic_load_n(&r->running, __ATOMIC_ACQUIRE) == 0) {
			if (!r->end_ns)
				r->end_ns = now;
			return true;
		}
		if (r->deadline_ns && now >= r->deadline_ns)
			salvo_run_stop(r);
		if (now >= until_ns)
			return false;
		/* Past the deadline the workers are stopping: nap, do not spin on it. */
		if (r->deadline_ns && r->deadline_ns > now && r->deadline_ns < next)
			next = r->deadline_ns;
		/* Short naps: notice finished workers and signals quickly. */
		if (next > now + 10 * NSEC_PER_MSEC)
			next = now + 10 * NSEC_PER_MSEC;
		if (next <= now)
			continue;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(next - now);
		nanosleep(&ts, NULL);
	}
}

void salvo_run_join(struct salvo_run *r)
{
	for (unsigned int i = 0; i < r->n; i++) {
		if (r->started[i]) {
			pthread_join(r->tid[i], NULL);
			r->started[i] = false;
		}
	}
	if (!r->end_ns)
		r->end_ns = salvo_now_ns();
}

uint64_t salvo_run_start_ns(const struct salvo_run *r)
{
	return r->start_ns;
}

const struct salvo_app *salvo_run_app(const struct salvo_run *r)
{
	return r->app;
}

const char *salvo_run_port_info(const struct salvo_run *r, unsigned int i)
{
	return i < r->n ? r->w[i].port.info : "";
}

static double rate(uint64_t n, uint64_t t0, uint64_t t1)
{
	return t1 > t0 ? (double)n * 1e9 / (double)(t1 - t0) : 0;
}

/* cnt: the counters to sum, one per worker; NULL: each worker's live ones. */
static void sum_counters(struct salvo_run *r, struct salvo_report *rep, uint64_t now,
			 const struct salvo_counters *cnt)
{
	uint64_t txp = 0, txb = 0, rxp = 0, rxb = 0, sub = 0, unst = 0, stamped = 0;
	uint64_t lost = 0, reord = 0, dup = 0, flows = 0, conns = 0, tmo = 0;
	uint64_t ftx = 0, ltx = 0, frx = 0, lrx = 0, t0;
	uint64_t txerr = 0, refused = 0, retrans = 0, drops = 0, failed = 0, failed_b = 0;
	struct salvo_kstats kern = { 0 };

	for (unsigned int i = 0; i < r->n; i++) {
		const struct salvo_counters *c = cnt ? &cnt[i] : &r->w[i].cnt;
		const struct salvo_port_stats *s = &r->w[i].port.stats;
		uint64_t v;

		txp += salvo_cnt_read(&c->tx_pkts);
		txb += salvo_cnt_read(&c->tx_bytes);
		sub += salvo_cnt_read(&c->submissions);
		rxp += salvo_cnt_read(&c->rx_pkts);
		rxb += salvo_cnt_read(&c->rx_bytes);
		stamped += salvo_cnt_read(&c->rx_stamped);
		unst += salvo_cnt_read(&c->rx_unstamped);
		lost += salvo_cnt_read(&c->lost);
		reord += salvo_cnt_read(&c->reordered);
		dup += salvo_cnt_read(&c->duplicates);
		flows += salvo_cnt_read(&c->flows);
		conns += salvo_cnt_read(&c->conns);
		tmo += salvo_cnt_read(&c->timeouts);
		txerr += salvo_cnt_read(&s->tx_errors);
		refused += salvo_cnt_read(&s->tx_refused);
		retrans += salvo_cnt_read(&s->tx_retrans);
		drops += salvo_cnt_read(&s->rx_dropped);
		salvo_kstats_add(&kern, &s->kernel);
		/* Set by open before the workers started: plain reads. */
		rep->busy_poll_ok += s->busy_poll_ok;
		rep->busy_poll_refused += s->busy_poll_refused;
		rep->prefer_busy_poll_ok += s->prefer_busy_poll_ok;
		rep->prefer_busy_poll_refused += s->prefer_busy_poll_refused;
		if (!rep->busy_poll_errno)
			rep->busy_poll_errno = s->busy_poll_errno;
		failed += salvo_cnt_read(&s->tx_failed);
		failed_b += salvo_cnt_read(&s->tx_failed_bytes);
		if ((v = salvo_cnt_read(&c->first_tx_ns)) && (!ftx || v < ftx))
			ftx = v;
		if ((v = salvo_cnt_read(&c->last_tx_ns)) > ltx)
			ltx = v;
		if ((v = salvo_cnt_read(&c->first_rx_ns)) && (!frx || v < frx))
			frx = v;
		if ((v = salvo_cnt_read(&c->last_rx_ns)) > lrx)
			lrx = v;
	}
	(void)stamped;
	/* Counted when submitted; take back what failed at completion. */
	txp -= SALVO_MIN(txp, failed);
	txb -= SALVO_MIN(txb, failed_b);
	rep->backend = r->ops->name;
	rep->command = r->cfg.command;
	rep->busy_poll = r->cfg.busy_poll;
	rep->busy_poll_us = r->cfg.busy_poll_us;
	rep->threads = r->n;
	rep->duration_s = (double)((r->end_ns ? r->end_ns : now) - r->start_ns) / 1e9;
	rep->start_unix_ns = r->start_rt_ns;
	rep->tx.packets = txp;
	rep->tx.bytes = txb;
	rep->submissions = sub;
	rep->tx_errors = txerr;
	rep->tx_refused = refused;
	rep->tx_retrans = retrans;
	/*
	 * Senders: from the start of the run to the last departure; responders
	 * from the first arrival, the first departure's cause (docs/json.md).
	 */
	t0 = r->app->responder ? frx : r->start_ns;
	rep->tx.active_s = t0 && ltx > t0 ? (double)(ltx - t0) / 1e9 : 0;
	rep->tx.pps = t0 ? rate(txp, t0, ltx) : 0;
	rep->tx.bits_per_second = t0 ? rate(txb * 8, t0, ltx) : 0;
	rep->rx.packets = rxp;
	rep->rx.bytes = rxb;
	/* Receivers: first to last arrival, so waiting for the sender does not count. */
	rep->rx.active_s = lrx > frx ? (double)(lrx - frx) / 1e9 : 0;
	rep->rx.pps = rate(rxp, frx, lrx);
	rep->rx.bits_per_second = rate(rxb * 8, frx, lrx);
	rep->lost = lost;
	rep->reordered = reord;
	rep->duplicates = dup;
	rep->unstamped = unst;
	rep->flows = flows;
	rep->rx_dropped = drops;
	/* TCP_INFO's retransmits: read by the stream backends for TCP (not unix) connections. */
	if (r->cfg.proto == SALVO_PROTO_TCP && (r->cfg.remote.sa.sa_family == AF_INET ||
						r->cfg.remote.sa.sa_family == AF_INET6 ||
						r->cfg.local.sa.sa_family == AF_INET ||
						r->cfg.local.sa.sa_family == AF_INET6)) {
		kern.have |= SALVO_KSTAT_TCP;
		kern.tcp_retrans = retrans;
	}
	rep->kernel = kern;
	rep->conns = conns;
	rep->timeouts = tmo;
	rep->has_tx = r->cfg.dir & SALVO_DIR_TX;
	rep->has_rx = r->cfg.dir & SALVO_DIR_RX;
	rep->interrupted = __atomic_load_n(&r->interrupted, __ATOMIC_RELAXED);
	if (r->pacer) {
		rep->has_pacing = true;
		rep->target_pps = r->cfg.rate_pps;
	}
	(void)ftx;
}

void salvo_report_latency_fill(struct salvo_report_latency *l, const struct salvo_hist *h)
{
	l->count = salvo_hist_count(h);
	l->min = salvo_hist_min(h);
	l->mean = salvo_hist_mean(h);
	l->p50 = salvo_hist_percentile(h, 50);
	l->p90 = salvo_hist_percentile(h, 90);
	l->p99 = salvo_hist_percentile(h, 99);
	l->p999 = salvo_hist_percentile(h, 99.9);
	l->p9999 = salvo_hist_percentile(h, 99.99);
	l->max = salvo_hist_max(h);
	l->clamped = salvo_hist_clamped(h);
}

static void fill_latency(struct salvo_report *rep, const struct salvo_hist *lat)
{
	struct salvo_report_latency *l = &rep->latency;

	if (!salvo_hist_count(lat))
		return;
	rep->has_latency = true;
	salvo_report_latency_fill(l, lat);
}

/*
 * Add one worker's per-session rows to rep's (same session, same row; a new
 * one appended while there is room).  Cumulative, like the counters: the
 * interval report is the difference of two snapshots.  Latency stays with
 * the summary's rows.
 */
static void add_sessions(struct salvo_report *rep, const struct salvo_session_totals *v, int n)
{
	unsigned int rows = v ? (unsigned int)SALVO_MIN(n, SALVO_REPORT_SESSIONS) : 0;

	for (unsigned int i = 0; i < rows; i++) {
		struct salvo_report_session *s = NULL;

		for (unsigned int j = 0; j < rep->nsession_rows && !s; j++)
			if (rep->session[j].session == v[i].session)
				s = &rep->session[j];
		if (!s && rep->nsession_rows < SALVO_REPORT_SESSIONS) {
			s = &rep->session[rep->nsession_rows++];
			s->session = v[i].session;
		}
		if (!s)
			continue;
		s->flows += v[i].flows;
		s->packets += v[i].received;
		s->lost += v[i].lost;
		s->reordered += v[i].reordered;
		s->duplicates += v[i].duplicates;
	}
	rep->sessions = SALVO_MAX(rep->sessions, SALVO_MAX((uint64_t)SALVO_MAX(n, 0), rep->nsession_rows));
}

#define IV_WAIT_NS (250 * NSEC_PER_MSEC)	/* > the 100 ms an idle receiver blocks */

void salvo_run_snapshot(struct salvo_run *r, struct salvo_report *rep)
{
	struct salvo_counters *cnt;
	uint64_t e, until;

	memset(rep, 0, sizeof(*rep));
	if (!r->app->intervals || !(cnt = malloc(sizeof(*cnt) * r->n))) {
		sum_counters(r, rep, salvo_now_ns(), NULL);
		return;
	}
	/* Open a new epoch; each worker closes the old one at its next burst boundary. */
	e = __atomic_add_fetch(&r->iv_epoch, 1, __ATOMIC_RELAXED);
	until = salvo_now_ns() + IV_WAIT_NS;
	for (unsigned int i = 0; i < r->n; i++) {
		struct salvo_worker *w = &r->w[i];
		struct timespec nap = {.tv_nsec = 1000000};

		/* A worker that does not answer in time (stalled) reports in a later interval. */
		while (__atomic_load_n(&w->iv_epoch, __ATOMIC_ACQUIRE) != e &&
		       !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE) && salvo_now_ns() < until)
			nanosleep(&nap, NULL);
	}
	salvo_hist_reset(r->lat_iv);
	for (unsigned int i = 0; i < r->n; i++) {
		struct salvo_worker *w = &r->w[i];

		pthread_mutex_lock(&w->iv_lock);
		if (__atomic_load_n(&w->done, __ATOMIC_ACQUIRE)) {
			/* Finished: what it recorded after its last boundary is ours now. */
			salvo_hist_merge(w->iv_lat, w->lat);
			if (salvo_hist_count(w->lat))
				salvo_hist_reset(w->lat);
			w->iv_cnt = w->cnt;
			iv_sessions(w);
		}
		salvo_hist_merge(r->lat_iv, w->iv_lat);
		if (salvo_hist_count(w->iv_lat))
			salvo_hist_reset(w->iv_lat);
		cnt[i] = w->iv_cnt;
		add_sessions(rep, w->iv_sess, w->iv_nsess);
		pthread_mutex_unlock(&w->iv_lock);
	}
	sum_counters(r, rep, salvo_now_ns(), cnt);
	free(cnt);
	fill_latency(rep, r->lat_iv);
	if (rep->has_latency)
		rep->hist = r->lat_iv;	/* reset only by the next snapshot */
	salvo_hist_merge(r->lat_drained, r->lat_iv);
}

/* One row per sending session (first seen first), and how many there were. */
static void fill_sessions(struct salvo_report *rep, const struct salvo_flowtab *t)
{
	struct salvo_session_totals row[SALVO_REPORT_SESSIONS];
	int n = salvo_flowtab_sessions(t, row, SALVO_REPORT_SESSIONS);

	if (n < 0)
		return;
	rep->sessions = (uint64_t)n;
	rep->nsession_rows = SALVO_MIN((unsigned int)n, SALVO_REPORT_SESSIONS);
	for (unsigned int i = 0; i < rep->nsession_rows; i++) {
		struct salvo_report_session *s = &rep->session[i];

		s->session = row[i].session;
		s->flows = row[i].flows;
		s->packets = row[i].received;
		s->lost = row[i].lost;
		s->reordered = row[i].reordered;
		s->duplicates = row[i].duplicates;
		s->latency_samples = row[i].lat_n;
		s->latency_max_ns = row[i].lat_max;
		s->latency_mean_ns = row[i].lat_n ? (double)row[i].lat_sum / (double)row[i].lat_n : 0;
	}
}

void salvo_run_report(struct salvo_run *r, struct salvo_report *rep)
{
	struct salvo_hist *lat = r->lat_final, *pace = NULL;

	memset(rep, 0, sizeof(*rep));
	if (lat)
		salvo_hist_reset(lat);
	sum_counters(r, rep, salvo_now_ns(), NULL);
	/*
	 * Only a run whose departures carry stamps has a session: not a
	 * responder (it sends back what arrived), not --message, not --no-stamp.
	 */
	if (rep->has_tx && !r->app->responder && r->cfg.stamp && !r->cfg.message)
		rep->tx_session = r->cfg.session;
	for (unsigned int i = 0; i < r->n; i++) {
		if (r->w[i].rc && r->w[i].err[0] && !rep->error[0])
			snprintf(rep->error, sizeof(rep->error), "%s", r->w[i].err);
	}
	if ((lat || salvo_hist_create(&lat) == 0) && salvo_hist_create(&pace) == 0) {
		/* Every sample once: those snapshots drained, those still with the workers. */
		salvo_hist_merge(lat, r->lat_drained);
		for (unsigned int i = 0; i < r->n; i++) {
			salvo_hist_merge(lat, r->w[i].iv_lat);
			salvo_hist_merge(lat, r->w[i].lat);
			salvo_hist_merge(pace, r->w[i].pace_err);
		}
		fill_latency(rep, lat);
		if (rep->has_latency)
			rep->hist = lat;
		if (rep->has_pacing && salvo_hist_count(pace)) {
			rep->pacing_err_mean_ns = salvo_hist_mean(pace);
			rep->pacing_err_p99_ns = salvo_hist_percentile(pace, 99);
		}
	}
	r->lat_final = lat;	/* kept for rep->hist until the next report or destroy */
	salvo_hist_destroy(pace);
	if (r->n == 1) {
		rep->flow_overflow = salvo_flowtab_overflow(r->w[0].flows);
		fill_sessions(rep, r->w[0].flows);
	}
	/* Exact per-flow merge (a flow split across workers still counts once). */
	if (r->n > 1) {
		struct salvo_flowtab *all = NULL;
		struct salvo_flow_totals t;

		if (salvo_flowtab_create(&all, 65536 * 2) == 0) {
			for (unsigned int i = 0; i < r->n; i++)
				salvo_flowtab_merge(all, r->w[i].flows);
			salvo_flowtab_totals(all, &t);
			rep->lost = t.lost;
			rep->reordered = t.reordered;
			rep->duplicates = t.duplicates;
			rep->flows = t.flows;
			/* The workers' own overflow, and flows the merged table had no room for. */
			rep->flow_overflow = salvo_flowtab_overflow(all);
			fill_sessions(rep, all);
			salvo_flowtab_destroy(all);
		}
	}
}

void salvo_run_destroy(struct salvo_run *r)
{
	if (!r)
		return;
	if (r->w) {
		salvo_run_stop(r);
		salvo_run_join(r);
		for (unsigned int i = 0; i < r->n; i++) {
			if (r->w[i].port.ops)
				salvo_port_close(&r->w[i].port);
			salvo_hist_destroy(r->w[i].lat);
			salvo_hist_destroy(r->w[i].pace_err);
			salvo_hist_destroy(r->w[i].iv_lat);
			salvo_flowtab_destroy(r->w[i].flows);
			free(r->w[i].iv_sess);
			pthread_mutex_destroy(&r->w[i].iv_lock);
		}
	}
	if (r->barriers) {
		pthread_barrier_destroy(&r->opened);
		pthread_barrier_destroy(&r->go);
	}
	salvo_pacer_destroy(r->pacer);
	salvo_hist_destroy(r->lat_drained);
	salvo_hist_destroy(r->lat_iv);
	salvo_hist_destroy(r->lat_final);
	free(r->w);
	free(r->tid);
	free(r->started);
	free(r);
}
