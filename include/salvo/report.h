/* SPDX-License-Identifier: MIT */
/*
 * Plain report structs the engine fills and cli/ prints (text or JSON).
 * Field names match the JSON schema in docs/json.md.
 */
#ifndef SALVO_REPORT_H
#define SALVO_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <salvo/kstats.h>

struct salvo_hist;

#define SALVO_JSON_SCHEMA 1

struct salvo_report_dir {
	uint64_t packets;	/* datagrams, segments, messages or frames */
	uint64_t bytes;		/* payload bytes (UDP/TCP) or frame bytes (L2) */
	double pps;
	double bits_per_second;	/* bytes * 8 / active seconds */
	double active_s;	/* first to last packet */
};

struct salvo_report_latency {
	uint64_t count, min, p50, p90, p99, p999, p9999, max;
	uint64_t clamped;	/* samples above the histogram's range, counted at its top */
	double mean;
};

struct salvo_hist;

/* The percentile set of a histogram, as every report gives it (engine/run.c). */
void salvo_report_latency_fill(struct salvo_report_latency *l, const struct salvo_hist *h);

/* Rows a report lists, one per sending session; more are in the totals only. */
#define SALVO_REPORT_SESSIONS 64

/* What a receiver saw of one sending run (its stamps' session id). */
struct salvo_report_session {
	uint32_t session;	/* 0: version-1 stamps (no session) */
	uint64_t flows, packets, lost, reordered, duplicates;	/* packets: stamped, dups included */
	uint64_t latency_samples, latency_max_ns;	/* one-way latency: samples, largest */
	double latency_mean_ns;
};

struct salvo_report {
	const char *command;
	const char *backend;
	double duration_s;	/* wall time of the run (or of the interval) */
	double t_start_s;	/* intervals: start offset from the run's start */
	uint64_t start_unix_ns;	/* the run's start on CLOCK_REALTIME (ns since the epoch) */
	/*
	 * The histogram behind latency (NULL: none), owned by the run: valid
	 * until the run's next snapshot or report, or its destroy.
	 */
	const struct salvo_hist *hist;
	unsigned int threads;
	bool interval;		/* an interval line rather than the final summary */

	bool has_tx;
	struct salvo_report_dir tx;
	uint64_t tx_errors, tx_refused, tx_retrans, submissions;
	uint32_t tx_session;	/* the session id in this sender's stamps (final report only) */

	bool has_rx;
	struct salvo_report_dir rx;
	uint64_t lost, reordered, duplicates, unstamped, flows, rx_dropped;
	uint64_t flow_overflow;	/* stamped packets of flows the flow table had no room for */
	uint64_t sessions;	/* distinct sending sessions seen (final report only) */
	unsigned int nsession_rows;	/* filled rows of session[], <= SALVO_REPORT_SESSIONS */
	struct salvo_report_session session[SALVO_REPORT_SESSIONS];

	struct salvo_kstats kernel;	/* kernel witnesses (the summary's "kernel" section) */

	bool has_latency;	/* one-way (receivers) or round-trip (ping) */
	struct salvo_report_latency latency;

	bool has_pacing;
	double target_pps;
	double pacing_err_mean_ns;	/* |actual - scheduled| departure, per burst */
	uint64_t pacing_err_p99_ns;

	uint64_t conns;		/* stream commands: connections opened */
	uint64_t timeouts;	/* ping: requests without a reply */
	bool busy_poll;		/* cfg->busy_poll: receivers spun instead of sleeping */
	unsigned int busy_poll_us;	/* cfg->busy_poll_us */
	/* --busy-poll: sockets (over every port) as in salvo_port_stats */
	uint32_t busy_poll_ok, busy_poll_refused, prefer_busy_poll_ok, prefer_busy_poll_refused;
	int busy_poll_errno;	/* the first refusal's errno, 0: none */
	bool interrupted;	/* ended by SIGINT/SIGTERM */
	char error[256];	/* a worker's fatal error, "" if none */
};

#endif
