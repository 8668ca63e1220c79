/* SPDX-License-Identifier: MIT */
/*
 * Workers and runs.  A run starts cfg->threads workers, one per core,
 * pinned, each with its own port (sockets/rings/pool), counters, latency
 * histogram and flow table.  Each worker runs an app's loop (the traffic
 * generator, the counting receiver, echo, ping, the registry server...)
 * until the run stops: count reached, duration over, salvo_run_stop()
 * (signal), or a fatal error.
 */
#ifndef SALVO_RUN_H
#define SALVO_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <salvo/backend.h>
#include <salvo/cfg.h>
#include <salvo/flowstat.h>
#include <salvo/hist.h>
#include <salvo/report.h>

/* One writer (the worker); the reporting thread reads with salvo_cnt_read(). */
struct salvo_counters {
	uint64_t tx_pkts, tx_bytes, submissions;
	uint64_t rx_pkts, rx_bytes, rx_stamped, rx_unstamped;
	uint64_t lost, reordered, duplicates, flows;	/* mirrored from the flow table */
	uint64_t conns, timeouts;
	uint64_t first_tx_ns, last_tx_ns, first_rx_ns, last_rx_ns;
} __salvo_aligned;

struct salvo_run;
struct salvo_pacer;

struct salvo_worker {
	unsigned int id;
	struct salvo_run *run;
	const struct salvo_cfg *cfg;
	struct salvo_port port;
	struct salvo_counters cnt;
	struct salvo_hist *lat;		/* one-way or round-trip latency */
	struct salvo_hist *pace_err;	/* departure error per burst */
	struct salvo_flowtab *flows;
	struct salvo_pacer *pacer;	/* shared by the run, NULL without --rate */
	uint64_t tx_quota;		/* this worker's share of cfg->count (0: unbounded) */
	void *app_priv;
	char err[256];
	int rc;
	/*
	 * Interval hand-off (apps with .intervals): at the first burst boundary
	 * after salvo_run_snapshot() opened a new epoch, the worker moves its
	 * latency samples into iv_lat and copies its counters into iv_cnt, so
	 * the two agree; the main thread drains iv_lat.  iv_lock is taken once
	 * per interval by each side, never per packet.
	 */
	pthread_mutex_t iv_lock;
	struct salvo_hist *iv_lat;
	struct salvo_counters iv_cnt;
	uint64_t iv_epoch;	/* last epoch closed: release store pairs with the acquire in the snapshot */
	/*
	 * Per-session totals of the flow table at the same boundary (under
	 * iv_lock, like iv_cnt): iv_nsess sessions, the first
	 * SALVO_REPORT_SESSIONS of them in iv_sess.  Interval reports carry one
	 * row per session from it.
	 */
	struct salvo_session_totals *iv_sess;
	int iv_nsess;
	int done;		/* loop and fini returned: release pairs with the snapshot's acquire */
};

struct salvo_app {
	const char *name;
	/* Per worker, after the port opened. */
	int (*init)(struct salvo_worker *w);
	/* Runs until salvo_worker_stopping(w); returns 0 or -errno with w->err set. */
	int (*loop)(struct salvo_worker *w);
	void (*fini)(struct salvo_worker *w);
	void *arg;	/* app-wide argument (cli callbacks, shared state) */
	/*
	 * The loop calls salvo_worker_interval() at every burst boundary (and
	 * at most rx_timeout_ms apart when idle): interval reports then carry
	 * its latency, with counters taken at the same boundary.
	 */
	bool intervals;
	/*
	 * Every departure answers an arrival (echo, registry serve): the tx
	 * rates are over first arrival to last departure, not from the start
	 * of the run, which for a server includes the wait for its first client.
	 */
	bool responder;
};

int salvo_run_create(struct salvo_run **out, const struct salvo_cfg *cfg,
		     const struct salvo_backend_ops *ops, const struct salvo_app *app,
		     char *err, size_t errlen);
/* Open every worker's port, then start the workers.  -errno + err on failure. */
int salvo_run_start(struct salvo_run *r, char *err, size_t errlen);
/* Async-signal-safe: ask every worker to stop. */
void salvo_run_stop(struct salvo_run *r);
void salvo_run_interrupt(struct salvo_run *r);	/* stop, and mark the report interrupted */
/*
 * Wait until all workers finished or until now >= until_ns (monotonic);
 * also stops the run at its duration.  Returns true when all finished.
 */
bool salvo_run_wait(struct salvo_run *r, uint64_t until_ns);
/* Join workers (after salvo_run_wait returned true, or after stop). */
void salvo_run_join(struct salvo_run *r);
/*
 * Cumulative counters now (any time, also after join), for interval reports
 * and progress.  For apps with .intervals, rep->latency holds the samples
 * recorded since the previous snapshot (has_latency when there were any),
 * and the counters are those of the same burst boundary; each sample goes
 * to exactly one snapshot.  Waits at most ~250 ms for busy workers.
 */
void salvo_run_snapshot(struct salvo_run *r, struct salvo_report *rep);
/*
 * From now on each snapshot of an app with .intervals also carries one row
 * per sending session (rep->session[], cumulative), taken at the same burst
 * boundary as the counters.  It costs a walk of each worker's flow table
 * per snapshot, so it is for interval reports, not for the snapshots a
 * drain polls every few milliseconds.
 */
void salvo_run_interval_sessions(struct salvo_run *r);
/* Final report (after join): counters, merged histograms and flow tables. */
void salvo_run_report(struct salvo_run *r, struct salvo_report *rep);
uint64_t salvo_run_start_ns(const struct salvo_run *r);
const struct salvo_app *salvo_run_app(const struct salvo_run *r);
/* What worker i's port obtained at open (ops->open filled port.info), "" if nothing. */
const char *salvo_run_port_info(const struct salvo_run *r, unsigned int i);
void salvo_run_destroy(struct salvo_run *r);

/* For apps. */
bool salvo_worker_stopping(const struct salvo_worker *w);
/* The stop came from a signal (salvo_run_interrupt), not from the run's count or duration. */
bool salvo_worker_interrupted(const struct salvo_worker *w);
/*
 * Wait for a departure due at due_ns (a pacer slot, a capture's timestamp).
 * Returns the time reached, or 0 when the run stopped first: a signal, a
 * stop, or --duration's deadline falling before due_ns (that ends the run).
 * The caller then sends nothing more.
 */
uint64_t salvo_worker_wait(struct salvo_worker *w, uint64_t due_ns);
/* At a burst boundary: close the interval if a snapshot asked (cheap otherwise). */
void salvo_worker_interval(struct salvo_worker *w);
/* The app has reached the run-wide goal (e.g. rx count): stop everybody. */
void salvo_worker_stop_run(struct salvo_worker *w);
/*
 * Claim up to n of the run-wide receive budget (cfg->count): returns how
 * many of the n the caller may count (all of them without --count); the
 * claim that reaches the count stops the run.  Receivers that must stop
 * exactly at N use this; salvo_worker_rx_goal() is for approximate goals.
 */
uint64_t salvo_worker_rx_claim(struct salvo_worker *w, uint64_t n);
/* Add n to the run-wide receive total; true when cfg->count is reached. */
bool salvo_worker_rx_goal(struct salvo_worker *w, uint64_t n);
/* Count pkts/bytes as sent (after tx_burst accepted them); now: departure time. */
void salvo_worker_count_tx(struct salvo_worker *w, uint64_t pkts, uint64_t bytes, uint64_t now);
/*
 * End of a sender's loop: flush, wait for outstanding completions (bounded
 * by cfg->timeout_ms, blocking, not polling), and mark the last departure.
 * Returns 0, or the backend's -errno with the reason in w->port.err
 * (-ETIMEDOUT: sends still in flight, e.g. a TCP peer that stopped reading).
 */
int salvo_worker_tx_drain(struct salvo_worker *w);
/* Set w->err (printf-style) and return -err. */
int salvo_worker_fail(struct salvo_worker *w, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
