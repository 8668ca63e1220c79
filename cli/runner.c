// SPDX-License-Identifier: MIT
/*
 * The run driver every traffic command and every stream of a profile
 * shares: backend choice, signals, waiting, intervals, progress, summaries.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <salvo/backend.h>
#include <salvo/units.h>

#include "cli.h"
#include "metrics.h"

static const char *const clock_choices[] = {"monotonic", "realtime", NULL};

const struct salvo_opt salvo_cli_run_opts[] = {
	SALVO_OPT("backend", SALVO_OPT_STR, struct salvo_cli_common, backend,
		  .short_name = 'b', .metavar = "NAME", .help = "backend to use (default: the fastest that works here; see 'salvo backends')"),
	SALVO_OPT("threads", SALVO_OPT_UINT, struct salvo_cli_common, threads,
		  .short_name = 't', .metavar = "N", .help = "workers, one per core, each with its own socket/queue", .min = 1, .max = 256),
	SALVO_OPT("burst", SALVO_OPT_UINT, struct salvo_cli_common, burst,
		  .metavar = "N", .help = "packets per submission or receive call (default 32; 256 for unpaced UDP sends and UDP receivers)", .min = 1, .max = 1024),
	SALVO_OPT("duration", SALVO_OPT_DURATION, struct salvo_cli_common, duration_ns,
		  .short_name = 'd', .help = "stop after this long (5, 5s, 250ms, 2m)"),
	SALVO_OPT("interval", SALVO_OPT_DURATION, struct salvo_cli_common, interval_ns,
		  .short_name = 'i', .help = "print a report line every interval"),
	SALVO_OPT("json", SALVO_OPT_FLAG, struct salvo_cli_common, json,
		  .short_name = 'J', .help = "print the final summary as one JSON document, with -i its intervals too (docs/json.md)"),
	SALVO_OPT("json-stream", SALVO_OPT_FLAG, struct salvo_cli_common, json_stream,
		  .help = "print one JSON object per interval and the summary (NDJSON)"),
	SALVO_OPT("clock", SALVO_OPT_ENUM, struct salvo_cli_common, clock,
		  .help = "clock of the send timestamp in stamps", .choices = clock_choices),
	SALVO_OPT("cpu", SALVO_OPT_UINT, struct salvo_cli_common, cpu,
		  .short_name = 'c', .metavar = "N", .help = "pin worker i to CPU N+i (default: no pinning)", .max = 4095, .seen = SALVO_OPT_SEEN(struct salvo_cli_common, cpu_seen)),
	SALVO_OPT("timeout", SALVO_OPT_DURATION, struct salvo_cli_common, timeout_ns,
		  .help = "longest single wait: connect, reply, drain (default 5s)"),
	SALVO_OPT("verbose", SALVO_OPT_FLAG, struct salvo_cli_common, verbose,
		  .short_name = 'v', .help = "say what the backend set up"),
	SALVO_OPT("quiet", SALVO_OPT_FLAG, struct salvo_cli_common, quiet,
		  .short_name = 'q', .help = "no progress line, only the summary"),
	SALVO_CLI_FLEET_OPTS(struct salvo_cli_common, fleet),
	SALVO_OPT_END,
};

const struct salvo_opt salvo_cli_count_opt[] = {
	SALVO_OPT("count", SALVO_OPT_COUNT, struct salvo_cli_common, count,
		  .short_name = 'n', .help = "stop after N packets (1000, 100k, 1.5M)"),
	SALVO_OPT_END,
};

const struct salvo_opt salvo_cli_rate_opt[] = {
	SALVO_OPT("rate", SALVO_OPT_RATE, struct salvo_cli_common, rate,
		  .short_name = 'r', .help = "pace to this rate: packets/s (100k, 1.5M) or bits/s (800Mbit, 10Gbit); default: as fast as possible"),
	SALVO_OPT_END,
};

void salvo_cli_common_defaults(struct salvo_cli_common *c)
{
	memset(c, 0, sizeof(*c));
	c->threads = 1;
	c->burst = 0;	/* not given: 32, or what the command decides (udp send) */
	c->timeout_ns = 5 * 1000000000ULL;
}

void salvo_cli_common_apply(const struct salvo_cli_common *c, struct salvo_cfg *cfg)
{
	cfg->backend = c->backend;
	cfg->threads = c->threads;
	cfg->burst = c->burst ? c->burst : 32;
	cfg->count = c->count;
	cfg->duration_ns = c->duration_ns;
	cfg->rate_pps = c->rate.pps;
	cfg->rate_bps = c->rate.bps;
	cfg->verbose = c->verbose;
	cfg->stamp_clock = c->clock == 1 ? CLOCK_REALTIME : CLOCK_MONOTONIC;
	cfg->cpu_base = c->cpu_seen ? (int)c->cpu : -1;
	cfg->timeout_ms = (uint32_t)(c->timeout_ns / 1000000ULL);
	if (!cfg->timeout_ms)
		cfg->timeout_ms = 1;
}

/* "0-1", "0,2-5": the CPUs in set, for an error message. */
static void cpus_text(const cpu_set_t *set, char *out, size_t len)
{
	size_t w = 0;
	int a = -1;

	out[0] = 0;
	for (int c = 0; c <= CPU_SETSIZE && w < len; c++) {
		bool in = c < CPU_SETSIZE && CPU_ISSET(c, set);

		if (in && a < 0)
			a = c;
		if (!in && a >= 0) {
			w += (size_t)snprintf(out + w, len - w, "%s%d", w ? "," : "", a);
			if (c - 1 > a && w < len)
				w += (size_t)snprintf(out + w, len - w, "-%d", c - 1);
			a = -1;
		}
	}
}

int salvo_cli_cpu_check(unsigned int cpu, unsigned int threads, char *err, size_t errlen)
{
	cpu_set_t set;
	char have[128];

	/* The CPUs this process may run on (a cpuset or taskset may allow fewer than exist). */
	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;	/* cannot tell: let pinning itself report */
	for (unsigned int i = 0; i < threads; i++) {
		if (cpu + i < CPU_SETSIZE && CPU_ISSET(cpu + i, &set))
			continue;
		cpus_text(&set, have, sizeof(have));
		if (threads > 1)
			snprintf(err, errlen, "--cpu %u with %u threads pins to CPUs %u-%u, but CPU %u is not available (CPUs here: %s)",
				 cpu, threads, cpu, cpu + threads - 1, cpu + i, have);
		else
			snprintf(err, errlen, "--cpu %u: CPU %u is not available (CPUs here: %s)", cpu,
				 cpu, have);
		return -EINVAL;
	}
	return 0;
}

int salvo_cli_common_check(const struct salvo_cli_common *c)
{
	char err[320];

	if (c->json && c->json_stream)
		return salvo_usage_error(NULL, "--json and --json-stream exclude each other (--json-stream ends with the summary too)");
	if (salvo_cli_backend_check(c->backend, err, sizeof(err)))
		return salvo_usage_error(NULL, "--backend: %s", err);
	if (c->cpu_seen && salvo_cli_cpu_check(c->cpu, c->threads, err, sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	return salvo_cli_fleet_check(&c->fleet);
}

bool salvo_cli_has_common(const struct salvo_cmd *cmd)
{
	for (const struct salvo_opt *const *t = cmd->tables; t && *t; t++)
		if (*t == salvo_cli_run_opts)
			return true;
	return false;
}

/*
 * The only file-scope state the driver keeps, because a signal handler must
 * reach it: the signal that asked to stop (0: none).  The handler only
 * stores it (async-signal-safe, errno untouched); the driver polls it at
 * least every POLL_NS and interrupts its own runs, so no run pointer is
 * shared with the handler.  A signal during start-up (before any run
 * exists) waits here too, and _dispatch() re-raises it for commands that
 * have no run.
 */
static volatile sig_atomic_t stop_pending;

/* How soon a stop request becomes salvo_run_interrupt() (salvo_run_wait naps as long). */
#define POLL_NS (10 * NSEC_PER_MSEC)

static void on_signal(int sig)
{
	stop_pending = sig;
}

/* salvo_run_start()'s --start-at wait asks this: a signal ends the wait. */
static bool start_wait_stop(void)
{
	return stop_pending != 0;
}

void salvo_cli_signals_early(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/*
	 * A mask inherited from the parent would hold a stop request back for
	 * the whole run; one sent before we got here (pending across exec) is
	 * delivered now, to the handler.
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void salvo_cli_signals_dispatch(const struct salvo_cmd *cmd)
{
	sigset_t set, old;

	/* Every command with the run options goes through the driver, which reads stop_pending. */
	for (const struct salvo_opt *const *t = cmd->tables; t && *t; t++)
		if (*t == salvo_cli_run_opts)
			return;
	/* Block while switching so no signal falls between the two. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (stop_pending)
		raise(stop_pending);
	sigprocmask(SIG_SETMASK, &old, NULL);	/* a pending one now takes its default action */
}

/*
 * Interval report = difference of two cumulative snapshots: every counter a
 * delta, so the intervals sum to the summary.  The latency is already the
 * interval's own (salvo_run_snapshot() hands each sample out once); flows
 * stays the count seen so far.
 */
static void delta(struct salvo_report *d, const struct salvo_report *now,
		  const struct salvo_report *prev, double t0, double t1)
{
	*d = *now;
	d->interval = true;
	d->t_start_s = t0;
	d->duration_s = t1 - t0;
	d->tx.packets = now->tx.packets - prev->tx.packets;
	d->tx.bytes = now->tx.bytes - prev->tx.bytes;
	d->rx.packets = now->rx.packets - prev->rx.packets;
	d->rx.bytes = now->rx.bytes - prev->rx.bytes;
	d->tx.active_s = d->rx.active_s = d->duration_s;
	d->tx.pps = d->duration_s > 0 ? (double)d->tx.packets / d->duration_s : 0;
	d->tx.bits_per_second = d->duration_s > 0 ? (double)d->tx.bytes * 8 / d->duration_s : 0;
	d->rx.pps = d->duration_s > 0 ? (double)d->rx.packets / d->duration_s : 0;
	d->rx.bits_per_second = d->duration_s > 0 ? (double)d->rx.bytes * 8 / d->duration_s : 0;
	d->submissions = now->submissions - prev->submissions;
	d->tx_errors = now->tx_errors - prev->tx_errors;
	d->tx_refused = now->tx_refused - prev->tx_refused;
	d->tx_retrans = now->tx_retrans - prev->tx_retrans;
	d->rx_dropped = now->rx_dropped - prev->rx_dropped;
	d->conns = now->conns - prev->conns;
	d->timeouts = now->timeouts - prev->timeouts;
	d->lost = now->lost - SALVO_MIN(now->lost, prev->lost);
	d->reordered = now->reordered - prev->reordered;
	d->duplicates = now->duplicates - prev->duplicates;
	d->unstamped = now->unstamped - prev->unstamped;
	/* Per session the same, matched by id: a session new in this interval starts from 0. */
	for (unsigned int i = 0; i < d->nsession_rows; i++) {
		struct salvo_report_session *s = &d->session[i];
		const struct salvo_report_session *p = NULL;

		for (unsigned int j = 0; j < prev->nsession_rows && !p; j++)
			if (prev->session[j].session == s->session)
				p = &prev->session[j];
		s->latency_samples = s->latency_max_ns = 0;	/* the summary's rows have it */
		s->latency_mean_ns = 0;
		if (!p)
			continue;
		s->packets -= p->packets;
		s->lost -= SALVO_MIN(s->lost, p->lost);
		s->reordered -= p->reordered;
		s->duplicates -= p->duplicates;
	}
}

/* Print one interval (text or NDJSON), or keep it for --json's intervals array. */
static void interval_out(const struct salvo_cli_common *c, const struct salvo_report *d,
			 const struct salvo_cli_extra *extra, json_t *keep)
{
	if (c->json_stream || c->json) {
		json_t *j = salvo_report_json(d, extra);

		if (c->json_stream) {
			salvo_json_print(stdout, j, false);
			json_decref(j);
		} else {
			json_array_append_new(keep, j);
		}
	} else {
		salvo_report_interval_text(stdout, d);
		fflush(stdout);
	}
}

static void progress(const struct salvo_cfg *cfg, const struct salvo_report *now,
		     const struct salvo_report *prev, double t, double dt)
{
	char a[32], b[32], eta[48] = "";
	const struct salvo_report_dir *d = now->has_tx ? &now->tx : &now->rx;
	const struct salvo_report_dir *pd = now->has_tx ? &prev->tx : &prev->rx;
	/* The rate since the last tick, not the run's average. */
	double inst = dt > 0 ? (double)(d->packets - pd->packets) / dt : 0;
	double avg = t > 0 ? (double)d->packets / t : 0;

	if (cfg->duration_ns)
		snprintf(eta, sizeof(eta), ", ETA %.0f s", (double)cfg->duration_ns / 1e9 - t);
	else if (cfg->count && avg > 0 && d->packets < cfg->count)
		snprintf(eta, sizeof(eta), ", ETA %.0f s", (double)(cfg->count - d->packets) / avg);
	fprintf(stderr, "\r\033[K%s %s pps, %s %s, %.1f s%s", now->has_tx ? "sending" : "receiving",
		salvo_fmt_si(inst, a, sizeof(a)), salvo_fmt_si((double)d->packets, b, sizeof(b)),
		now->has_tx ? "sent" : "received", t, eta);
	fflush(stderr);
}

/* SIGINT/SIGTERM from here on only set stop_pending (main() did it already; again for other callers). */
static void signals_catch(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Once the runs are over: a signal while the reports print takes its default action. */
static void signals_default(void)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

/* One line on stderr for stream s; returns the exit code (2 bad input, 1 failure). */
static int stream_error(const struct salvo_cli_drive_cfg *d, const struct salvo_cli_stream *s,
			bool usage, const char *msg)
{
	if (usage)
		return s->name ? salvo_usage_error(NULL, "stream %s: %s", s->name, msg)
			       : salvo_usage_error(NULL, "%s", msg);
	return s->name ? salvo_runtime_error(d->profile, "stream %s: %s", s->name, msg)
		       : salvo_runtime_error(s->cfg->command, "%s", msg);
}

/*
 * A listening command given port 0 asks the kernel for a free port.  Every
 * worker opens its own socket on the one address (SO_REUSEPORT), so each
 * binding port 0 would get a port of its own: the port is picked once here,
 * by binding a socket of the command's type and reading it back, and the
 * workers bind that.  The probe socket is closed first (a UDP one kept in
 * the group would take a share of the datagrams); if another program takes
 * the port in that window, the workers' bind fails loudly (exit 1), it is
 * never a silent wrong port.  0, or -errno with the reason in err.
 */
static int pick_port0(struct salvo_cfg *cfg, char *err, size_t errlen)
{
	struct salvo_addr a = cfg->local;
	int family = a.sa.sa_family, fd, rc = 0;
	char text[SALVO_ADDR_STRLEN];

	if (!cfg->listen || (family != AF_INET && family != AF_INET6) ||
	    (family == AF_INET ? a.in4.sin_port : a.in6.sin6_port) != 0)
		return 0;
	fd = socket(family, (cfg->proto == SALVO_PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, &a.sa, a.len) || getsockname(fd, &a.sa, &a.len)) {
		rc = -errno;
		snprintf(err, errlen, "cannot pick a free port for %s: %s",
			 salvo_addr_str(&cfg->local, text, sizeof(text)), strerror(-rc));
	} else {
		cfg->local = a;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int salvo_cli_stream_create(struct salvo_cli_stream *s, const struct salvo_cli_drive_cfg *d)
{
	const char *skipped = NULL;
	char err[320], why[256];

	/*
	 * Catch signals before the (slow) backend probes and port set-up: a
	 * signal from now on still ends in an interrupted run with its
	 * summary.  stop_pending is kept: a signal since start-up counts.
	 */
	signals_catch();
	/* The driver, not each command: every stream starts at --start-at, and names itself. */
	s->cfg->start_at_ns = salvo_cli_fleet_start_ns(&d->c->fleet);
	s->cfg->start_wait_stop = start_wait_stop;
	salvo_cli_fleet_identity(&d->c->fleet, s->cfg->start_at_ns);
	if (salvo_cfg_finish(s->cfg, err, sizeof(err)))
		return stream_error(d, s, true, err);
	if (pick_port0(s->cfg, err, sizeof(err)))
		return stream_error(d, s, false, err);
	if (salvo_backend_select(s->cfg, &s->ops, err, sizeof(err), &skipped, why, sizeof(why)))
		return stream_error(d, s, false, err);
	/* A profile never said this; a command says it unless asked to be quiet. */
	if (skipped && !d->profile && !d->c->json && !d->c->quiet)
		fprintf(stderr, "salvo: backend %s unavailable (%s); using %s\n", skipped, why,
			s->ops->name);
	if (salvo_run_create(&s->run, s->cfg, s->ops, s->app, err, sizeof(err)))
		return stream_error(d, s, false, err);
	return 0;
}

void salvo_cli_streams_destroy(struct salvo_cli_stream *v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (v[i].run)
			salvo_run_destroy(v[i].run);
		v[i].run = NULL;
	}
	signals_default();
}

/* What one salvo_cli_drive() call keeps while its runs go. */
struct drive {
	const struct salvo_cli_drive_cfg *d;
	struct salvo_cli_stream *v;
	unsigned int n;
	bool interrupted;	/* stop_pending turned into salvo_run_interrupt() */
	bool one;		/* a command's own run, not a profile's streams */
	bool intervals;		/* -i or --json-stream: interval reports (one command's run) */
	bool tty;		/* a progress line on stderr instead */
	uint64_t start, tick, next;
	struct salvo_report prev;	/* the snapshot at the last tick */
	json_t *kept;		/* --json -i: the intervals, for the summary's "intervals" */
	struct salvo_metrics *metrics;	/* --metrics: fed the snapshots of the ticks */
};

static void poll_stop(struct drive *st)
{
	if (!stop_pending || st->interrupted)
		return;
	for (unsigned int i = 0; i < st->n; i++)
		salvo_run_interrupt(st->v[i].run);
	st->interrupted = true;
}

/*
 * Wait until every run ended (true) or until `until` (false), in slices of
 * POLL_NS so a signal is noticed; salvo_run_wait() also ends each run at its
 * duration.
 */
static bool wait_all(struct drive *st, uint64_t until)
{
	for (;;) {
		uint64_t slice = salvo_now_ns() + POLL_NS;
		bool all = true;

		poll_stop(st);
		if (slice > until)
			slice = until;
		for (unsigned int i = 0; i < st->n; i++) {
			if (!st->v[i].done)
				st->v[i].done = salvo_run_wait(st->v[i].run, slice);
			all &= st->v[i].done;
		}
		if (all)
			return true;
		if (salvo_now_ns() >= until)
			return false;
	}
}

/* Stop the runs started so far and wait for their workers. */
static void stop_started(struct salvo_cli_stream *v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		salvo_run_stop(v[i].run);
	for (unsigned int i = 0; i < n; i++) {
		salvo_run_wait(v[i].run, UINT64_MAX);
		salvo_run_join(v[i].run);
	}
}

static void say_started(const struct drive *st, const struct salvo_cli_stream *s)
{
	const struct salvo_cfg *cfg = s->cfg;

	if (s->name)
		fprintf(stderr, "salvo: %s: stream %s: ", st->d->profile, s->name);
	else
		fputs("salvo: ", stderr);
	fprintf(stderr, "%s on %s backend, %u worker%s\n", cfg->command, s->ops->name, cfg->threads,
		cfg->threads == 1 ? "" : "s");
	if (s->name)
		return;	/* a profile's --verbose never listed the ports */
	for (unsigned int i = 0; i < cfg->threads; i++)
		if (salvo_run_port_info(s->run, i)[0])
			fprintf(stderr, "salvo: worker %u: %s\n", i, salvo_run_port_info(s->run, i));
}

/* Start every run, in order; on a failure stop those already going.  0 or the exit code. */
static int start_all(struct drive *st)
{
	char err[320];

	/* A signal before the runs existed ends them as soon as they start. */
	poll_stop(st);
	for (unsigned int i = 0; i < st->n; i++) {
		if (salvo_run_start(st->v[i].run, err, sizeof(err))) {
			stop_started(st->v, i);
			signals_default();
			return stream_error(st->d, &st->v[i], false, err);
		}
		if (st->d->c->verbose)
			say_started(st, &st->v[i]);
		/*
		 * Every worker has bound: say where, the port picked for port 0
		 * included, so a client (or a script) can connect to it.  stderr,
		 * with --json too: the document comes only at the end.
		 */
		if (st->v[i].cfg->listen && !st->v[i].name) {
			const struct salvo_cfg *c = st->v[i].cfg;
			char a[SALVO_ADDR_STRLEN];

			/* A raw receiver listens on an interface, not an address. */
			if (c->proto == SALVO_PROTO_L2)
				fprintf(stderr, "salvo: %s: listening on %s\n", c->command, c->iface);
			else
				fprintf(stderr, "salvo: %s: listening on %s\n", c->command,
					salvo_addr_str(&c->local, a, sizeof(a)));
		}
	}
	return 0;
}

/*
 * --metrics: hand the endpoint each run's cumulative snapshot, the one a
 * command's tick took already (one_now), else one per stream taken here.
 */
static void metrics_feed(struct drive *st, const struct salvo_report *one_now)
{
	struct salvo_report now;

	if (!st->metrics)
		return;
	if (one_now) {
		salvo_metrics_update(st->metrics, 0, one_now, salvo_now_ns());
		return;
	}
	for (unsigned int i = 0; i < st->n; i++) {
		salvo_run_snapshot(st->v[i].run, &now);
		salvo_metrics_update(st->metrics, i, &now, salvo_now_ns());
	}
}

/* Bind --metrics before any traffic, so a taken port ends the command before it sends.  0 or 1. */
static int metrics_open(struct drive *st)
{
	const struct salvo_cli_fleet *f = &st->d->c->fleet;
	const char *cmd = st->d->profile ? st->d->profile : st->v[0].cfg->command;
	const struct salvo_metrics_labels l = {.run_id = f->run_id, .kv = f->labels.v, .nkv = f->labels.n};
	const char *names[st->n];
	struct salvo_addr a, bound;
	char err[320], text[SALVO_ADDR_STRLEN];

	if (!f->metrics)
		return 0;
	for (unsigned int i = 0; i < st->n; i++)
		names[i] = st->v[i].name;
	/* salvo_cli_fleet_check() refused a bad address already. */
	if (salvo_metrics_parse(f->metrics, &a, err, sizeof(err)) ||
	    salvo_metrics_start(&st->metrics, &a, &l, st->d->profile ? names : NULL, st->n, &bound,
				err, sizeof(err)))
		return salvo_runtime_error(cmd, "%s", err);
	fprintf(stderr, "salvo: %s: metrics on %s\n", cmd, salvo_addr_str(&bound, text, sizeof(text)));
	return 0;
}

/*
 * Until every run ended: at each tick, an interval report (-i,
 * --json-stream) or the progress line (a terminal) for a command's run.
 */
static void watch(struct drive *st)
{
	const struct salvo_cli_common *c = st->d->c;
	bool one = st->one;

	st->tty = one && !c->quiet && !c->json && !c->json_stream && !c->interval_ns && isatty(2);
	st->intervals = one && (c->interval_ns || c->json_stream);
	st->start = salvo_run_start_ns(st->v[0].run);
	st->tick = c->interval_ns ? c->interval_ns : (c->json_stream ? NSEC_PER_SEC : 200 * NSEC_PER_MSEC);
	st->next = st->start + st->tick;
	memset(&st->prev, 0, sizeof(st->prev));
	if (st->intervals && c->json)
		st->kept = json_array();
	if (st->intervals)	/* each interval's rows per session, as the summary's */
		salvo_run_interval_sessions(st->v[0].run);
	while (!wait_all(st, st->next)) {
		double t1 = (double)(st->next - st->start) / 1e9;
		struct salvo_report now;

		if (one) {
			salvo_run_snapshot(st->v[0].run, &now);
			if (st->intervals) {
				struct salvo_report d;

				delta(&d, &now, &st->prev, (double)(st->next - st->tick - st->start) / 1e9, t1);
				interval_out(c, &d, st->d->extra, st->kept);
			} else if (st->tty) {
				progress(st->v[0].cfg, &now, &st->prev, t1, (double)st->tick / 1e9);
			}
			st->prev = now;
		}
		metrics_feed(st, one ? &now : NULL);
		st->next += st->tick;
	}
}

/* A command's summary: text, or JSON with its kept intervals; then a worker's error. */
static int report_one(struct drive *st)
{
	const struct salvo_cli_common *c = st->d->c;
	const struct salvo_cli_stream *s = &st->v[0];
	const struct salvo_cli_extra *x = st->d->extra;
	char why[256];

	if (c->json || c->json_stream) {
		json_t *j = salvo_report_json(&s->rep, st->d->extra);

		if (st->kept)
			json_object_set_new(j, "intervals", st->kept);
		st->kept = NULL;
		salvo_json_print(stdout, j, c->json && !c->json_stream);
		json_decref(j);
	} else if (!(c->quiet && s->cfg->message)) {
		salvo_report_text(stdout, &s->rep, st->d->extra);
	}
	fflush(stdout);
	if (s->rep.error[0]) {
		salvo_runtime_error(s->cfg->command, "%s", s->rep.error);
		return 1;
	}
	/*
	 * A run stopped by SIGINT/SIGTERM ends with its summary and exit 0
	 * (docs/commands.md): whoever stopped it reads the figures.
	 */
	if (!s->rep.interrupted && x && x->failed && x->failed(&s->rep, x->arg, why, sizeof(why))) {
		salvo_runtime_error(s->cfg->command, "%s", why);
		return 1;
	}
	return 0;
}

/* A profile's: the streams' errors, then one document or a "stream NAME:" summary each. */
static int report_profile(struct drive *st)
{
	int rc = 0;

	for (unsigned int i = 0; i < st->n; i++) {
		if (st->v[i].rep.error[0]) {
			stream_error(st->d, &st->v[i], false, st->v[i].rep.error);
			rc = 1;
		}
	}
	if (st->d->c->json) {
		json_t *root = json_object(), *arr = json_array();

		json_object_set_new(root, "schema", json_integer(SALVO_JSON_SCHEMA));
		json_object_set_new(root, "type", json_string("profile"));
		for (unsigned int i = 0; i < st->n; i++) {
			json_t *one = json_object();

			json_object_set_new(one, "name", json_string(st->v[i].name));
			json_object_set_new(one, "report", salvo_report_json(&st->v[i].rep, NULL));
			json_array_append_new(arr, one);
		}
		json_object_set_new(root, "streams", arr);
		salvo_json_print(stdout, root, true);
		json_decref(root);
	} else {
		for (unsigned int i = 0; i < st->n; i++) {
			printf("stream %s:\n", st->v[i].name);
			salvo_report_text(stdout, &st->v[i].rep, NULL);
		}
	}
	fflush(stdout);
	return rc;
}

/* Start, watch, join and report the runs: salvo_cli_drive() without the endpoint. */
static int drive_runs(struct drive *st)
{
	const struct salvo_cli_drive_cfg *d = st->d;
	const struct salvo_cli_extra *x = d->extra;
	struct salvo_cli_stream *v = st->v;
	unsigned int n = st->n;
	int rc;

	rc = start_all(st);
	if (rc)
		return rc;
	if (x && x->started && x->started(x->arg)) {
		/* No traffic under credentials the user did not ask for. */
		stop_started(v, n);
		signals_default();
		return 1;
	}
	watch(st);
	for (unsigned int i = 0; i < n; i++)
		salvo_run_join(v[i].run);
	signals_default();
	if (st->tty)
		fprintf(stderr, "\r\033[K");
	if (st->intervals) {
		/*
		 * The last, partial interval: from the last boundary to the end
		 * of the run, so that the intervals add up to the summary.
		 */
		struct salvo_report now, last;
		double t0 = (double)(st->next - st->tick - st->start) / 1e9;

		salvo_run_snapshot(v[0].run, &now);
		delta(&last, &now, &st->prev, t0, SALVO_MAX(now.duration_s, t0));
		interval_out(d->c, &last, x, st->kept);
		metrics_feed(st, &now);
	} else {
		metrics_feed(st, NULL);	/* the end of the run, for a scrape during the reports */
	}
	for (unsigned int i = 0; i < n; i++) {
		salvo_run_report(v[i].run, &v[i].rep);
		v[i].reported = true;
	}
	return d->profile ? report_profile(st) : report_one(st);
}

int salvo_cli_drive(struct salvo_cli_stream *v, unsigned int n, const struct salvo_cli_drive_cfg *d)
{
	struct drive st = {.d = d, .v = v, .n = n, .one = n == 1 && !d->profile};
	int rc = metrics_open(&st);

	if (!rc)
		rc = drive_runs(&st);
	salvo_metrics_stop(st.metrics);
	return rc;
}

bool salvo_cli_tx_failed(const struct salvo_report *rep, void *arg, char *why, size_t len)
{
	(void)arg;
	if (!rep->tx.packets && (rep->tx_errors || rep->tx_refused)) {
		snprintf(why, len, "nothing went out: %" PRIu64 " send errors, %" PRIu64
			 " refused (nobody listening)", rep->tx_errors, rep->tx_refused);
		return true;
	}
	/*
	 * Each refusal answers one datagram that went out (an ICMP port
	 * unreachable, or a unix peer gone), so as many refusals as datagrams
	 * sent means none of them found a receiver.
	 */
	if (rep->tx_refused && rep->tx_refused >= rep->tx.packets) {
		snprintf(why, len, "every datagram was refused: %" PRIu64 " sent, %" PRIu64
			 " refused (nobody listening)", rep->tx.packets, rep->tx_refused);
		return true;
	}
	return false;
}

int salvo_cli_run(const struct salvo_cli_common *c, struct salvo_cfg *cfg,
		  const struct salvo_app *app, const struct salvo_cli_extra *extra,
		  struct salvo_report *rep_out)
{
	struct salvo_cli_stream s = {.cfg = cfg, .app = app};
	const struct salvo_cli_drive_cfg d = {.c = c, .extra = extra};
	int rc;

	rc = salvo_cli_stream_create(&s, &d);
	if (!rc)
		rc = salvo_cli_drive(&s, 1, &d);
	if (s.reported && rep_out) {
		*rep_out = s.rep;
		rep_out->hist = NULL;	/* the run that owns it is destroyed below */
	}
	salvo_cli_streams_destroy(&s, 1);
	return rc;
}
