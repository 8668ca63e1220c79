/* SPDX-License-Identifier: MIT */
/* What the subcommands share: the run options table, the run driver and the reports. */
#ifndef SALVO_CLI_H
#define SALVO_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include <salvo/cfg.h>
#include <salvo/report.h>
#include <salvo/run.h>

#include "opt.h"

/*
 * What ties the records of many processes together (docs/fleet.md): a
 * common start instant, a run id and labels.  Every traffic command has
 * them (in salvo_cli_common), `salvo run` too (SALVO_CLI_FLEET_OPTS in its
 * own table).
 */
struct salvo_cli_fleet {
	const char *start_at;		/* --start-at, as given */
	const char *run_id;		/* --run-id */
	struct salvo_opt_strlist labels;	/* --label KEY=VALUE, repeatable */
	const char *metrics;		/* --metrics [ADDR:]PORT (cli/metrics.h) */
};

#define SALVO_CLI_FLEET_OPTS(T, m)                                                                 \
	SALVO_OPT("start-at", SALVO_OPT_STR, T, m.start_at, .metavar = "TIME",                     \
		  .help = "set up, then start at TIME on the real-time clock: RFC 3339 (2026-11-30T07:00:00.5Z) or Unix seconds (1795935600.5)"), \
	SALVO_OPT("run-id", SALVO_OPT_STR, T, m.run_id, .metavar = "ID",                           \
		  .help = "a name for this run in every JSON record, for salvo merge"),                    \
	SALVO_OPT("label", SALVO_OPT_STRLIST, T, m.labels, .metavar = "KEY=VALUE",                 \
		  .help = "a label in every JSON record (repeatable, up to 16)"),                       \
	SALVO_OPT("metrics", SALVO_OPT_STR, T, m.metrics, .metavar = "[ADDR:]PORT",                \
		  .help = "serve Prometheus metrics at http://ADDR:PORT/metrics while running (ADDR default 127.0.0.1; port 0: any)")

/*
 * Parse --start-at: RFC 3339 with a zone (Z or +hh:mm) and an optional
 * fraction, or Unix seconds with an optional fraction.  0 and *ns (ns since
 * the epoch, CLOCK_REALTIME), or -EINVAL with the reason in err.
 */
int salvo_cli_start_at_parse(const char *s, uint64_t *ns, char *err, size_t errlen);
/*
 * Refuse a bad --start-at (unparsable or not in the future), --run-id,
 * --label or --metrics address.  0, or 2 after one line on stderr.
 */
int salvo_cli_fleet_check(const struct salvo_cli_fleet *f);
/* The instant --start-at names (0: none given); call after salvo_cli_fleet_check. */
uint64_t salvo_cli_fleet_start_ns(const struct salvo_cli_fleet *f);
/*
 * Every JSON record this process prints from now on names it: host, pid,
 * run id, labels, the --start-at instant (0: none), the host clock's
 * state (the driver calls this once a run is set up; cli/report.c).
 */
void salvo_cli_fleet_identity(const struct salvo_cli_fleet *f, uint64_t start_at_ns);

/* Options every traffic command takes; embed first in a command's option struct. */
struct salvo_cli_common {
	const char *backend;
	unsigned int threads;
	unsigned int burst;
	uint64_t count;
	uint64_t duration_ns;
	uint64_t interval_ns;
	struct salvo_opt_rate rate;
	bool json;
	bool json_stream;
	bool verbose;
	bool quiet;
	unsigned int clock;	/* 0 monotonic, 1 realtime */
	unsigned int cpu;
	uint64_t timeout_ns;
	bool cpu_seen;
	struct salvo_cli_fleet fleet;
};

extern const struct salvo_opt salvo_cli_run_opts[];	/* backend, threads, burst, duration, -i, json... */
extern const struct salvo_opt salvo_cli_count_opt[];	/* --count */
extern const struct salvo_opt salvo_cli_rate_opt[];	/* --rate */
void salvo_cli_common_defaults(struct salvo_cli_common *c);
/*
 * Refuse what the parser alone cannot see: --json with --json-stream, an
 * unknown --backend, --cpu naming CPUs this process cannot use.  Returns 0,
 * or 2 after one line on stderr.  main calls it for every command whose
 * tables hold salvo_cli_run_opts (salvo_cli_has_common): their option
 * struct starts with struct salvo_cli_common.
 */
int salvo_cli_common_check(const struct salvo_cli_common *c);
bool salvo_cli_has_common(const struct salvo_cmd *cmd);
/* -ENOENT with "unknown backend 'x'; known: a, b" in err, or 0 (also for NULL). */
int salvo_cli_backend_check(const char *name, char *err, size_t errlen);
/* -EINVAL with the reason in err when CPUs cpu..cpu+threads-1 are not all usable here. */
int salvo_cli_cpu_check(unsigned int cpu, unsigned int threads, char *err, size_t errlen);
/* Copy the common options into cfg. */
void salvo_cli_common_apply(const struct salvo_cli_common *c, struct salvo_cfg *cfg);

/*
 * --busy-poll and --busy-poll-usec (udp ping, udp echo, udp recv), for a command's
 * own table: T has bool busy_poll, unsigned int busy_poll_us and bool
 * busy_poll_us_seen.  One macro, so the commands' help cannot drift.
 */
#define SALVO_CLI_BUSY_POLL_DEFAULT_US 50
#define SALVO_CLI_BUSY_POLL_OPTS(T)                                                                \
	SALVO_OPT("busy-poll", SALVO_OPT_FLAG, T, busy_poll,                                       \
		  .help = "wait for datagrams by spinning instead of sleeping in the kernel (a core at 100% for the run), with SO_BUSY_POLL/SO_PREFER_BUSY_POLL where accepted"), \
	SALVO_OPT("busy-poll-usec", SALVO_OPT_UINT, T, busy_poll_us, .metavar = "USEC",           \
		  .help = "SO_BUSY_POLL budget with --busy-poll (default 50; acts on NAPI devices only, not loopback)", \
		  .min = 1, .max = 1000000, .seen = SALVO_OPT_SEEN(T, busy_poll_us_seen))
/* Copy them into cfg; 2 after one line on stderr for --busy-poll-usec without --busy-poll. */
int salvo_cli_busy_poll_apply(bool on, unsigned int us, bool us_seen, struct salvo_cfg *cfg);
/*
 * How the receiver waited: the "wait:" text line and the JSON keys wait,
 * busy_poll_us, so_busy_poll, so_prefer_busy_poll (docs/json.md) of
 * udp ping's and udp echo's sections.
 */
void salvo_report_wait_text(FILE *f, const struct salvo_report *rep);
void salvo_report_wait_json(json_t *obj, const struct salvo_report *rep);
/* A salvo_cli_extra .json hook: a summary section named arg (a string) with those keys. */
void salvo_report_wait_section(json_t *root, const struct salvo_report *rep, void *arg);

/* Extra report pieces a command can add (ping's timeouts, tcp's retransmits...). */
struct salvo_cli_extra {
	const char *latency_label;	/* "one-way latency" (default) or "round-trip time" */
	void (*text)(FILE *f, const struct salvo_report *rep, void *arg);
	void (*json)(json_t *root, const struct salvo_report *rep, void *arg);
	/*
	 * Called once every worker's port is open (e.g. to drop privileges).
	 * Non-zero: it printed why; the run is stopped and the command exits 1.
	 */
	int (*started)(void *arg);
	/*
	 * The command's rule for a run that had no fatal error and still
	 * failed (nothing answered, every datagram refused; docs/commands.md,
	 * "Exit codes"): writes the reason into why and returns true; the
	 * command prints its summary, then that one line, and exits 1.  Not
	 * asked for a run a signal stopped (exit 0 with its summary).
	 */
	bool (*failed)(const struct salvo_report *rep, void *arg, char *why, size_t len);
	void *arg;
	/*
	 * The command's own section carries its figures (registry serve: joins,
	 * lists): no tx/rx packet lines, which would count TCP chunks.
	 */
	bool no_dirs;
};

/*
 * Signals from the first instruction on: main() calls _early() before
 * anything else, so a SIGINT/SIGTERM during start-up is remembered and ends
 * the run (interrupted, with its summary) as soon as it exists.  _dispatch()
 * hands commands that do not use the run driver back the default action
 * (and delivers a signal that already came).
 */
void salvo_cli_signals_early(void);
void salvo_cli_signals_dispatch(const struct salvo_cmd *cmd);

/*
 * The run driver, one for a command's run and for each stream of a
 * profile (`salvo run`): salvo_cli_stream_create() sets a stream up
 * (options checked, backend chosen, run created), salvo_cli_drive() starts
 * the streams together, turns SIGINT/SIGTERM into an interrupted run, waits
 * for every one to end (count, duration, signal, fatal error), prints the
 * interval reports or progress line and the final reports;
 * salvo_cli_streams_destroy() frees them.  Each returns 0 or the exit code
 * (2 bad input, 1 failure) after one line on stderr.
 */
struct salvo_cli_stream {
	const char *name;		/* the profile's stream name; NULL: a command's own run */
	struct salvo_cfg *cfg;
	const struct salvo_app *app;
	/* Set by the driver. */
	const struct salvo_backend_ops *ops;
	struct salvo_run *run;		/* NULL until created */
	bool done;			/* every worker finished */
	bool reported;			/* rep holds the final report */
	struct salvo_report rep;
};

struct salvo_cli_drive_cfg {
	const struct salvo_cli_common *c;	/* -i, --json, --json-stream, --quiet, --verbose */
	const struct salvo_cli_extra *extra;	/* may be NULL */
	/*
	 * NULL: one command's run (intervals, progress line, its summary).
	 * Else the profile command's name ("run"): errors name the stream, the
	 * summaries are one profile document (--json) or a "stream NAME:" text
	 * each, and there is no progress line and no backend fallback note.
	 */
	const char *profile;
};

int salvo_cli_stream_create(struct salvo_cli_stream *s, const struct salvo_cli_drive_cfg *d);
int salvo_cli_drive(struct salvo_cli_stream *v, unsigned int n, const struct salvo_cli_drive_cfg *d);
/* Also hands SIGINT/SIGTERM back to their default action. */
void salvo_cli_streams_destroy(struct salvo_cli_stream *v, unsigned int n);

/*
 * One command's run through the driver: create, drive, destroy.  rep_out,
 * when not NULL, receives the final report.
 */
int salvo_cli_run(const struct salvo_cli_common *c, struct salvo_cfg *cfg,
		  const struct salvo_app *app, const struct salvo_cli_extra *extra,
		  struct salvo_report *rep_out);

/*
 * The senders' failed() (udp send, raw send): nothing went out although
 * sends were tried, or every datagram that went out was refused.
 */
bool salvo_cli_tx_failed(const struct salvo_report *rep, void *arg, char *why, size_t len);

/* Reports. */
void salvo_report_text(FILE *f, const struct salvo_report *rep, const struct salvo_cli_extra *x);
void salvo_report_interval_text(FILE *f, const struct salvo_report *rep);
json_t *salvo_report_json(const struct salvo_report *rep, const struct salvo_cli_extra *x);
void salvo_json_print(FILE *f, json_t *doc, bool pretty);

/*
 * Print one received payload for --print: "<before><escaped payload>\n",
 * where before may name the peer ("%p" is replaced by the peer's address).
 * One locked, flushed write, so worker threads do not interleave lines.
 */
void salvo_print_payload(const char *before, const struct salvo_pkt *k);

/* Escape bytes for one printable line (\n, \xNN ...).  Returns out. */
char *salvo_escape(const uint8_t *d, size_t len, char *out, size_t outlen);

#endif
