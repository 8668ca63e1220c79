// SPDX-License-Identifier: MIT
/* The run driver every traffic command shares: backend choice, signals, intervals, summary. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <salvo/backend.h>
#include <salvo/units.h>

#include "cli.h"

static const char *const clock_choices[] = {"monotonic", "realtime", NULL};

const struct salvo_opt salvo_cli_run_opts[] = {
	SALVO_OPT("backend", SALVO_OPT_STR, struct salvo_cli_common, backend,
		  .short_name = 'b', .metavar = "NAME", .help = "backend to use (default: the fastest that works here; see 'salvo backends')"),
	SALVO_OPT("threads", SALVO_OPT_UINT, struct salvo_cli_common, threads,
		  .short_name = 't', .metavar = "N", .help = "workers, one per core, each with its own socket/queue", .min = 1, .max = 256),
	SALVO_OPT("burst", SALVO_OPT_UINT, struct salvo_cli_common, burst,
		  .metavar = "N", .help = "packets per submission (default 32)", .min = 1, .max = 1024),
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
	c->burst = 32;
	c->timeout_ns = 5 * 1000000000ULL;
}

void salvo_cli_common_apply(const struct salvo_cli_common *c, struct salvo_cfg *cfg)
{
	cfg->backend = c->backend;
	cfg->threads = c->threads;
	cfg->burst = c->burst;
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
	return 0;
}

bool salvo_cli_has_common(const struct salvo_cmd *cmd)
{
	for (const struct salvo_opt *const *t = cmd->tables; t && *t; t++)
		if (*t == salvo_cli_run_opts)
			return true;
	return false;
}

static struct salvo_run *volatile current_run;
/* A signal that came while the run was being set up: it ends the run once it exists. */
static volatile sig_atomic_t stop_pending;

static void on_signal(int sig)
{
	int saved = errno;	/* the futex wake in salvo_run_interrupt() may set it */

	stop_pending = sig;
	if (current_run)
		salvo_run_interrupt(current_run);
	errno = saved;
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

	/* Every command with the run options goes through salvo_cli_run(), which reads stop_pending. */
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

int salvo_cli_run(const struct salvo_cli_common *c, struct salvo_cfg *cfg,
		  const struct salvo_app *app, const struct salvo_cli_extra *extra,
		  struct salvo_report *rep_out)
{
	const struct salvo_backend_ops *ops;
	const char *skipped = NULL;
	char err[320], why[256];
	struct salvo_run *run = NULL;
	struct salvo_report prev, now, rep;
	struct sigaction sa = {.sa_handler = on_signal};
	bool tty = !c->quiet && !c->json && !c->json_stream && !c->interval_ns && isatty(2);
	uint64_t start, tick, next;
	json_t *kept = NULL;	/* --json -i: the intervals, for the summary's "intervals" */
	bool intervals;
	int rc;

	/*
	 * Catch SIGINT/SIGTERM (main() already did, salvo_cli_signals_early();
	 * again here for callers that did not): a signal during the (slow)
	 * backend probes and port setup still ends in an interrupted run with
	 * its summary, not in the default action.  stop_pending is kept: a
	 * signal since start-up counts.
	 */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (salvo_cfg_finish(cfg, err, sizeof(err))) {
		rc = salvo_usage_error(NULL, "%s", err);
		goto out_signals;
	}
	if (salvo_backend_select(cfg, &ops, err, sizeof(err), &skipped, why, sizeof(why))) {
		rc = salvo_runtime_error(cfg->command, "%s", err);
		goto out_signals;
	}
	if (skipped && !c->json && !c->quiet)
		fprintf(stderr, "salvo: backend %s unavailable (%s); using %s\n", skipped, why, ops->name);
	rc = salvo_run_create(&run, cfg, ops, app, err, sizeof(err));
	if (rc) {
		rc = salvo_runtime_error(cfg->command, "%s", err);
		goto out_signals;
	}
	current_run = run;
	/* After publishing current_run: a signal before it set stop_pending. */
	if (stop_pending)
		salvo_run_interrupt(run);
	rc = salvo_run_start(run, err, sizeof(err));
	if (rc) {
		current_run = NULL;
		salvo_run_destroy(run);
		rc = salvo_runtime_error(cfg->command, "%s", err);
		goto out_signals;
	}
	if (c->verbose) {
		fprintf(stderr, "salvo: %s on %s backend, %u worker%s\n", cfg->command, ops->name,
			cfg->threads, cfg->threads == 1 ? "" : "s");
		for (unsigned int i = 0; i < cfg->threads; i++)
			if (salvo_run_port_info(run, i)[0])
				fprintf(stderr, "salvo: worker %u: %s\n", i, salvo_run_port_info(run, i));
	}
	if (extra && extra->started && extra->started(extra->arg)) {
		/* No traffic under credentials the user did not ask for. */
		salvo_run_stop(run);
		salvo_run_wait(run, UINT64_MAX);
		salvo_run_join(run);
		current_run = NULL;
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		salvo_run_destroy(run);
		return 1;
	}

	start = salvo_run_start_ns(run);
	tick = c->interval_ns ? c->interval_ns : (c->json_stream ? NSEC_PER_SEC : 200 * NSEC_PER_MSEC);
	next = start + tick;
	memset(&prev, 0, sizeof(prev));
	intervals = c->interval_ns || c->json_stream;
	if (intervals && c->json)
		kept = json_array();
	for (;;) {
		bool done = salvo_run_wait(run, next);
		double t1;

		if (done)
			break;
		t1 = (double)(next - start) / 1e9;
		salvo_run_snapshot(run, &now);
		if (intervals) {
			struct salvo_report d;

			delta(&d, &now, &prev, (double)(next - tick - start) / 1e9, t1);
			interval_out(c, &d, extra, kept);
		} else if (tty) {
			progress(cfg, &now, &prev, t1, (double)tick / 1e9);
		}
		prev = now;
		next += tick;
	}
	salvo_run_join(run);
	current_run = NULL;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (tty)
		fprintf(stderr, "\r\033[K");
	if (intervals) {
		/*
		 * The last, partial interval: from the last boundary to the end
		 * of the run, so that the intervals add up to the summary.
		 */
		struct salvo_report d;
		double t0 = (double)(next - tick - start) / 1e9;

		salvo_run_snapshot(run, &now);
		delta(&d, &now, &prev, t0, SALVO_MAX(now.duration_s, t0));
		interval_out(c, &d, extra, kept);
	}
	salvo_run_report(run, &rep);
	if (c->json || c->json_stream) {
		json_t *j = salvo_report_json(&rep, extra);

		if (kept)
			json_object_set_new(j, "intervals", kept);
		kept = NULL;
		salvo_json_print(stdout, j, c->json && !c->json_stream);
		json_decref(j);
	} else if (!(c->quiet && cfg->message)) {
		salvo_report_text(stdout, &rep, extra);
	}
	fflush(stdout);
	rc = 0;
	if (rep.error[0]) {
		salvo_runtime_error(cfg->command, "%s", rep.error);
		rc = 1;
	}
	if (rep_out)
		*rep_out = rep;
	salvo_run_destroy(run);
	return rc;
out_signals:
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	return rc;
}
