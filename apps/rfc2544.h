/* SPDX-License-Identifier: MIT */
/*
 * RFC 2544 benchmarks (apps/rfc2544.c), in one of two modes chosen by the
 * trial runner (struct salvo_rfc2544's run):
 * - raw, two ports: frames leave one interface, cross the device under test
 *   and come back on the other; a trial is two runs of the engine at once,
 *   the raw sender on the tx port and the counting receiver on the rx port;
 * - socket: stamped UDP datagrams to a `salvo serve`, one control session
 *   per trial; the server counts them and sends its counts back.
 * The searches (throughput, frame loss rate, back-to-back) are series of
 * trials, the same code for both modes.  cli/ builds the runs'
 * configurations, picks their backends and prints the results.
 */
#ifndef SALVO_APPS_RFC2544_H
#define SALVO_APPS_RFC2544_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <salvo/addr.h>
#include <salvo/backend.h>
#include <salvo/cfg.h>
#include <salvo/report.h>
#include <salvo/run.h>

/* The results of one trial. */
struct salvo_rfc2544_trial {
	double offered_fps;	/* asked for; 0: as fast as the tester goes */
	uint64_t count;		/* frames asked for (back-to-back), 0: for the trial's time */
	uint64_t tx, rx;	/* frames sent; frames of this trial that came back */
	uint64_t lost;		/* tx - rx, never negative */
	uint64_t reordered, duplicates;
	uint64_t extra;		/* unstamped frames: more came back than were sent (background) */
	uint64_t ring_drops;	/* the receiver's own ring overflowed: the tester lost these, not the DUT */
	double tx_fps;		/* frames sent / the sender's active time */
	double loss_ratio;	/* lost / tx */
	bool stamped;		/* the frames carry stamps (loss per session, latency, order) */
	bool has_latency;
	struct salvo_report_latency latency;
};

struct salvo_rfc2544;

/*
 * A mode's trial: run tx (rate, count and duration set for this trial) and
 * fill out's counts.  0, or -errno with one line in err.
 */
typedef int (*salvo_rfc2544_run_fn)(struct salvo_rfc2544 *t, struct salvo_cfg *tx,
				    struct salvo_rfc2544_trial *out, char *err, size_t errlen);

/* Raw mode: rx_ops/rx_app's receiver on t->rx, the sender on tx; drain_ns before the counts. */
int salvo_rfc2544_run_raw(struct salvo_rfc2544 *t, struct salvo_cfg *tx,
			  struct salvo_rfc2544_trial *out, char *err, size_t errlen);
/*
 * Socket mode: one control connection to t->server per trial (serve runs
 * one test per connection), the proposal from tx, the sender to the port
 * the server accepts on, then both sides' counts: the server drains until
 * it has what we sent or its receiver idles, so the tail is counted.
 */
int salvo_rfc2544_run_sock(struct salvo_rfc2544 *t, struct salvo_cfg *tx,
			   struct salvo_rfc2544_trial *out, char *err, size_t errlen);

struct salvo_rfc2544 {
	/* Set by the caller. */
	salvo_rfc2544_run_fn run;	/* the mode: salvo_rfc2544_run_raw or _sock */
	struct salvo_cfg *tx;		/* the frames (one size) on the tx port; rate/count/duration per trial */
	const struct salvo_backend_ops *tx_ops;
	const struct salvo_app *tx_app;
	struct salvo_cfg *rx;		/* raw: the receiver on the rx port */
	const struct salvo_backend_ops *rx_ops;
	const struct salvo_app *rx_app;
	/* socket: the server's control address, its token (NULL: none), each step's timeout */
	struct salvo_addr server;
	const char *token;
	uint32_t ctl_timeout_ms;
	uint64_t trial_ns;		/* a throughput, latency or loss trial's sending time */
	uint64_t settle_ns;		/* quiet time before every trial */
	uint64_t drain_ns;		/* after the last frame left: time for it to come back */
	double resolution;		/* the search stops when hi - lo <= resolution * hi (a fraction) */
	double min_fps;			/* the search's floor; 0: 0.1% of its maximum */
	/*
	 * Throughput: a trial that fails is run again up to this many times
	 * and the rate passes if one of them does, for testers whose own
	 * pacing stalls now and then (a loaded host): a stalled sender
	 * catches up in one burst that a DUT with small buffers drops.
	 */
	unsigned int retries;
	bool stamped;			/* the frames hold a stamp: loss, order and latency per session */
	/*
	 * !stamped, but the larger frames of a mix (imix: 576 and 1500 of
	 * 64, 576, 1500) hold one: loss by frame count, latency and order
	 * from the stamped frames.
	 */
	bool some_stamped;
	/* Not NULL: every raw trial adds its receiver's latency histogram here (the latency test). */
	struct salvo_hist *hist;
	/* SIGINT/SIGTERM seen (set by the caller's handler): end the trial, return -EINTR. */
	volatile sig_atomic_t *stop;
	/* Called after every trial (progress, --verbose); may be NULL. */
	void (*on_trial)(const char *what, const struct salvo_rfc2544_trial *t, void *arg);
	void *arg;
	/* Set by the searches. */
	unsigned int trials;		/* trials run so far */
};

/*
 * One trial: settle_ns of quiet, then the mode's run: the sender sends at
 * fps (0: as fast as it can) for trial_ns, or count frames when count is
 * not 0, and the receiver's counts are read only once this trial's last
 * frames had time to arrive.  0, or -errno with one line in err (a run that
 * could not start, a worker's error, -EINTR on a stop request).
 */
int salvo_rfc2544_trial(struct salvo_rfc2544 *t, double fps, uint64_t count,
			struct salvo_rfc2544_trial *out, char *err, size_t errlen);

/* Throughput: the highest rate whose trial loses at most tolerance of its frames. */
struct salvo_rfc2544_search {
	double tolerance;		/* 0: NDR; else the PDR's fraction */
	bool found;			/* a rate above the floor passed */
	bool at_max;			/* the first trial, at max, passed: the DUT took all */
	double rate_fps;		/* the highest passing offered rate (0 when !found) */
	struct salvo_rfc2544_trial best;	/* its trial */
	double floor_fps;		/* no rate below this is tried (min_fps) */
	unsigned int trials, reordered_trials, duplicate_trials;
	unsigned int retried;		/* trials run again after a failure (retries) */
};

/*
 * Binary search between 0 and max_fps for the highest rate that passes: it
 * halves the rate until a trial passes (not below the floor), then bisects
 * until the bounds are within resolution of each other.  max_fps 0: the
 * first trial runs as fast as the tester can and its rate becomes the upper
 * bound (*max_fps is set).
 */
int salvo_rfc2544_throughput(struct salvo_rfc2544 *t, double *max_fps, double tolerance,
			     struct salvo_rfc2544_search *out, char *err, size_t errlen);

/*
 * Latency (RFC 2544 section 26.2): trials at fps, repeated, each of
 * trial_ns.  The RFC times one tagged frame per trial and averages 20
 * trials; here every stamped frame is timed, and a trial's p50 stands for
 * its tagged frame (the typical frame, not one draw of it): p50_mean is
 * their average.  The percentile set is of every sample of every trial:
 * from their merged histogram when the trials give one (raw mode); else
 * (socket mode: the server sends percentiles, not its histogram) count,
 * min, max and mean are exact and each percentile is the trials' mean
 * weighted by samples (merged false).
 */
#define SALVO_RFC2544_LAT_MAX_TRIALS 1000
struct salvo_rfc2544_latency {
	double offered_fps;
	unsigned int trials;		/* run */
	unsigned int latency_trials;	/* of them, with latency samples */
	uint64_t tx, rx, lost;		/* summed over the trials */
	unsigned int lossy_trials, reordered_trials, duplicate_trials;
	double p50_mean;		/* ns, over latency_trials */
	uint64_t p50_min, p50_max;
	bool has_latency, merged;
	struct salvo_report_latency latency;	/* every sample of every trial */
};
int salvo_rfc2544_latency(struct salvo_rfc2544 *t, double fps, unsigned int trials,
			  struct salvo_rfc2544_latency *out, char *err, size_t errlen);

/* Frame loss rate: from 100% of max_fps down in 10% steps until two trials in a row lose nothing. */
#define SALVO_RFC2544_LOSS_STEPS 10
struct salvo_rfc2544_loss {
	unsigned int n;
	struct salvo_rfc2544_trial step[SALVO_RFC2544_LOSS_STEPS];
};
int salvo_rfc2544_loss_rate(struct salvo_rfc2544 *t, double max_fps, struct salvo_rfc2544_loss *out,
			    char *err, size_t errlen);

/*
 * Back-to-back: the longest burst sent as fast as the tester can that
 * comes back whole, repeat times; a burst grows by doubling from 1 frame up
 * to max_frames, then is bisected to resolution.
 */
#define SALVO_RFC2544_B2B_MAX_REPEAT 1000
struct salvo_rfc2544_b2b {
	unsigned int repeat;
	uint64_t frames[SALVO_RFC2544_B2B_MAX_REPEAT];	/* per repetition */
	bool capped;			/* a repetition passed at max_frames */
	double mean, stddev;
	uint64_t min, max;
	unsigned int reordered_trials;
};
int salvo_rfc2544_b2b(struct salvo_rfc2544 *t, uint64_t max_frames, unsigned int repeat,
		      struct salvo_rfc2544_b2b *out, char *err, size_t errlen);

#endif
