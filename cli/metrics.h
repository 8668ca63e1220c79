/* SPDX-License-Identifier: MIT */
/*
 * --metrics [ADDR:]PORT: a Prometheus endpoint (text exposition format
 * 0.0.4, GET /metrics) while a command runs (docs/fleet.md, "Prometheus").
 * The HTTP side is libmicrohttpd on its own thread; the run driver hands
 * it the cumulative snapshots it takes at its ticks anyway, so workers
 * see nothing of it.
 */
#ifndef SALVO_CLI_METRICS_H
#define SALVO_CLI_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <salvo/addr.h>
#include <salvo/hist.h>
#include <salvo/report.h>

/* Who the series are: every sample carries these labels. */
struct salvo_metrics_labels {
	const char *host;
	const char *run_id;		/* NULL: no run_id label */
	const char *const *kv;		/* --label KEY=VALUE, as given */
	unsigned int nkv;
};

/* One run's figures (a command's run, or one stream of a profile). */
struct salvo_metrics_series {
	const char *stream;		/* a profile's stream name (label "stream"); NULL: none */
	const struct salvo_report *rep;	/* cumulative counters, as salvo_run_snapshot() gives them */
	const struct salvo_hist *lat;	/* every latency sample so far; NULL: no histogram */
	/* Rates over the last window (docs/fleet.md); NAN-free, 0 before the first window closed. */
	double tx_pps, rx_pps, tx_bps, rx_bps;
};

/*
 * The latency histogram's fixed upper bounds, in ns (1-2-5 from 1 µs to
 * 10 s, then +Inf); a sample counts below a bound when its HDR bucket's low
 * edge is at or below it (to 1/2048 of the value, the histogram's precision).
 */
#define SALVO_METRICS_NBOUNDS 22
extern const uint64_t salvo_metrics_bounds_ns[SALVO_METRICS_NBOUNDS];

/*
 * The exposition text of n series: HELP and TYPE lines, then samples.
 * A pure function (no clock, no I/O but the buffer): *out is malloc'ed,
 * NUL-terminated, *len its length.  0 or -ENOMEM.
 */
int salvo_metrics_format(char **out, size_t *len, const struct salvo_metrics_labels *l,
			 const struct salvo_metrics_series *s, unsigned int n);

/*
 * Parse --metrics: "PORT", "ADDR:PORT", "[V6]:PORT"; a bare port binds
 * 127.0.0.1, port 0 asks for any free one.  0, or -EINVAL with the reason.
 */
int salvo_metrics_parse(const char *spec, struct salvo_addr *out, char *err, size_t errlen);

struct salvo_metrics;

/*
 * Bind addr and serve /metrics for n series (names[i]: stream label, or
 * NULL; the strings must outlive the endpoint, the array need not) on
 * libmicrohttpd's own thread.  *bound receives the address
 * bound (the port picked for port 0).  -errno with the reason in err
 * (-EADDRINUSE: the port is taken).
 */
int salvo_metrics_start(struct salvo_metrics **out, const struct salvo_addr *addr,
			const struct salvo_metrics_labels *l, const char *const *names,
			unsigned int n, struct salvo_addr *bound, char *err, size_t errlen);
/*
 * Series i's cumulative snapshot taken at now_ns (monotonic), on the
 * driver's thread: the counters replace the last ones, the snapshot's
 * latency (the samples since the previous snapshot, rep->hist) is added.
 * Takes the endpoint's lock once; never called by a worker.
 */
void salvo_metrics_update(struct salvo_metrics *m, unsigned int i, const struct salvo_report *snap,
			  uint64_t now_ns);
/* Close the endpoint (open scrapes are cut) and free it; NULL is fine. */
void salvo_metrics_stop(struct salvo_metrics *m);

#endif
