// SPDX-License-Identifier: MIT
/*
 * RFC 2544 (with RFC 1242's terms) on two ports of one host: throughput
 * (NDR/PDR binary search), frame loss rate, back-to-back, and the trials the
 * latency test reads.  Every trial is the engine's two ordinary runs, the
 * raw sender and the counting receiver, started and read in the order
 * RFC 2544 section 23 asks for: the receiver is ready before the first frame
 * leaves, and its counters are read only after the sender ended and the
 * drain time passed, so frames still queued in the DUT when the sender
 * stops are counted as received, not lost.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <salvo/common.h>
#include <salvo/hist.h>

#include "rfc2544.h"
#include "apps/serve.h"

static bool stopped(const struct salvo_rfc2544 *t)
{
	return t->stop && *t->stop;
}

/* Sleep ns, in slices short enough that a stop request ends it; -EINTR then. */
static int nap(const struct salvo_rfc2544 *t, uint64_t ns)
{
	uint64_t end = salvo_now_ns() + ns, now;

	while ((now = salvo_now_ns()) < end) {
		uint64_t d = SALVO_MIN(end - now, 10 * NSEC_PER_MSEC);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)d};

		if (stopped(t))
			return -EINTR;
		nanosleep(&ts, NULL);
	}
	return stopped(t) ? -EINTR : 0;
}

/* lost and loss_ratio from tx and rx; more back than sent is background, not a gain. */
static void loss_from_counts(struct salvo_rfc2544_trial *out)
{
	if (out->rx > out->tx) {
		out->extra = out->rx - out->tx;
		out->rx = out->tx;
	}
	out->lost = out->tx - out->rx;
	out->loss_ratio = out->tx ? (double)out->lost / (double)out->tx : 0;
}

/* The receiver's view of this trial's frames, from its session row or its frame count. */
static void trial_count(const struct salvo_rfc2544 *t, const struct salvo_report *tr,
			const struct salvo_report *rr, struct salvo_rfc2544_trial *out)
{
	out->tx = tr->tx.packets;
	out->tx_fps = tr->tx.active_s > 0 ? tr->tx.pps : 0;
	out->ring_drops = rr->kernel.ring_drops;
	out->stamped = t->stamped;
	if (t->stamped || t->some_stamped) {
		/* Only this trial's session counts: a frame of an earlier trial arriving late is not ours. */
		for (unsigned int i = 0; i < rr->nsession_rows; i++) {
			const struct salvo_report_session *s = &rr->session[i];

			if (s->session != tr->tx_session)
				continue;
			out->rx = s->packets - SALVO_MIN(s->duplicates, s->packets);
			out->reordered = s->reordered;
			out->duplicates = s->duplicates;
		}
		out->has_latency = rr->has_latency && rr->latency.count;
		out->latency = rr->latency;
	}
	if (!t->stamped) {
		/* Not every frame holds a stamp: every frame that came back counts, background frames too. */
		out->rx = rr->rx.packets;
	}
	loss_from_counts(out);
}

int salvo_rfc2544_trial(struct salvo_rfc2544 *t, double fps, uint64_t count,
			struct salvo_rfc2544_trial *out, char *err, size_t errlen)
{
	struct salvo_cfg tx = *t->tx;
	int rc;

	memset(out, 0, sizeof(*out));
	out->offered_fps = fps;
	out->count = count;
	rc = nap(t, t->settle_ns);
	if (rc) {
		snprintf(err, errlen, "interrupted");
		return rc;
	}
	tx.rate_pps = fps;
	tx.rate_bps = 0;
	tx.count = count;
	tx.duration_ns = count ? 0 : t->trial_ns;
	tx.session = 0;		/* a new session per trial: late frames of the last one are not counted */
	rc = t->run(t, &tx, out, err, errlen);
	if (!rc)
		t->trials++;
	return rc;
}

/* Run the sender to its end (or a stop request) and read its report. */
static void run_sender(const struct salvo_rfc2544 *t, struct salvo_run *tr, struct salvo_report *rep)
{
	while (!salvo_run_wait(tr, salvo_now_ns() + 10 * NSEC_PER_MSEC)) {
		if (stopped(t))
			salvo_run_stop(tr);
	}
	salvo_run_join(tr);
	salvo_run_report(tr, rep);
}

int salvo_rfc2544_run_raw(struct salvo_rfc2544 *t, struct salvo_cfg *txc,
			  struct salvo_rfc2544_trial *out, char *err, size_t errlen)
{
	struct salvo_cfg tx = *txc, rx = *t->rx;
	struct salvo_run *tr = NULL, *rr = NULL;
	struct salvo_report trep, rrep;
	int rc;

	rx.count = 0;
	rx.duration_ns = 0;	/* until this trial stops it */
	rc = salvo_run_create(&rr, &rx, t->rx_ops, t->rx_app, err, errlen);
	if (!rc)
		rc = salvo_run_start(rr, err, errlen);
	if (!rc)
		rc = salvo_run_create(&tr, &tx, t->tx_ops, t->tx_app, err, errlen);
	if (!rc)
		rc = salvo_run_start(tr, err, errlen);
	if (rc)
		goto out;
	run_sender(t, tr, &trep);
	/* Frames still in the DUT's queues when the sender ended are on their way: wait for them. */
	if (!stopped(t))
		nap(t, t->drain_ns);
	salvo_run_stop(rr);
	salvo_run_wait(rr, UINT64_MAX);
	salvo_run_join(rr);
	salvo_run_report(rr, &rrep);
	if (trep.error[0] || rrep.error[0]) {
		snprintf(err, errlen, "%s", trep.error[0] ? trep.error : rrep.error);
		rc = -EIO;
		goto out;
	}
	if (stopped(t))
		goto interrupted;
	trial_count(t, &trep, &rrep, out);
	if (t->hist && rrep.hist)	/* the run's, valid until its destroy below */
		salvo_hist_merge(t->hist, rrep.hist);
	goto out;
interrupted:
	snprintf(err, errlen, "interrupted");
	rc = -EINTR;
out:
	/* A run that started and was not joined (a failed start) stops and joins in destroy. */
	if (tr)
		salvo_run_destroy(tr);
	if (rr)
		salvo_run_destroy(rr);
	return rc;
}

int salvo_rfc2544_run_sock(struct salvo_rfc2544 *t, struct salvo_cfg *txc,
			   struct salvo_rfc2544_trial *out, char *err, size_t errlen)
{
	struct salvo_cfg tx = *txc;
	struct salvo_ctl_client ctl;
	struct salvo_ctl_msg prop = {.type = SALVO_CTL_PROPOSE}, theirs;
	struct salvo_ctl_msg mine = {.type = SALVO_CTL_RESULTS, .has_tx = true};
	struct salvo_run *tr = NULL;
	struct salvo_report rep;
	uint16_t port;
	int rc;

	rc = salvo_ctl_client_open(&ctl, &t->server, t->token, SALVO_CTL_VERSION_MIN, t->ctl_timeout_ms,
				   err, errlen);
	if (rc)
		return rc;
	prop.size = tx.size;
	prop.count = tx.count;
	prop.duration_ms = (tx.duration_ns + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
	prop.rate_pps = tx.rate_pps;
	prop.flows = tx.flows ? tx.flows : 1;
	prop.streams = 1;
	rc = salvo_ctl_client_propose(&ctl, &prop, &port, err, errlen);
	if (rc)
		goto out;
	/* Data goes to the host we reached for control, at the port it opened for this trial. */
	tx.remote = ctl.server;
	salvo_addr_set_port(&tx.remote, port);
	rc = salvo_run_create(&tr, &tx, t->tx_ops, t->tx_app, err, errlen);
	if (!rc)
		rc = salvo_run_start(tr, err, errlen);
	if (rc)
		goto out;
	run_sender(t, tr, &rep);
	if (rep.error[0]) {
		snprintf(err, errlen, "%s", rep.error);
		rc = -EIO;
		goto out;
	}
	if (stopped(t)) {
		snprintf(err, errlen, "interrupted");
		rc = -EINTR;
		goto out;
	}
	/*
	 * The server counts until it has all we sent or its receiver idles
	 * (docs/protocol.md): its answer is read after the tail arrived, so
	 * no drain time of ours is needed.
	 */
	salvo_ctl_counts_from_report(&mine.tx, &rep, true);
	rc = salvo_ctl_client_results(&ctl, &mine, &theirs, 2 * t->ctl_timeout_ms + 1000, err, errlen);
	if (!rc && !theirs.has_rx) {
		snprintf(err, errlen, "server results without rx");
		rc = -EPROTO;
	}
	if (rc)
		goto out;
	out->tx = rep.tx.packets;
	out->tx_fps = rep.tx.active_s > 0 ? rep.tx.pps : 0;
	out->stamped = true;
	out->rx = theirs.rx.packets - SALVO_MIN(theirs.rx.duplicates, theirs.rx.packets);
	out->reordered = theirs.rx.reordered;
	out->duplicates = theirs.rx.duplicates;
	out->ring_drops = theirs.rx.errors;	/* the server's socket dropped them, not the DUT */
	out->has_latency = theirs.rx.has_latency;
	out->latency = theirs.rx.latency;
	loss_from_counts(out);
out:
	if (tr)
		salvo_run_destroy(tr);
	salvo_ctl_client_close(&ctl);
	return rc;
}

static void tell(struct salvo_rfc2544 *t, const char *what, const struct salvo_rfc2544_trial *r)
{
	if (t->on_trial)
		t->on_trial(what, r, t->arg);
}

static bool passes(const struct salvo_rfc2544_trial *r, double tolerance)
{
	if (!r->tx)
		return false;
	return tolerance <= 0 ? r->lost == 0 : r->loss_ratio <= tolerance;
}

static void note_order(struct salvo_rfc2544_search *s, const struct salvo_rfc2544_trial *r)
{
	s->trials++;
	s->reordered_trials += r->reordered > 0;
	s->duplicate_trials += r->duplicates > 0;
}

int salvo_rfc2544_throughput(struct salvo_rfc2544 *t, double *max_fps, double tolerance,
			     struct salvo_rfc2544_search *out, char *err, size_t errlen)
{
	struct salvo_rfc2544_trial r;
	const char *what = tolerance > 0 ? "pdr" : "ndr";
	double lo = 0, hi;
	int rc;

	memset(out, 0, sizeof(*out));
	out->tolerance = tolerance;
	/* The first trial at the upper bound: the tester's own ceiling when none is given. */
	rc = salvo_rfc2544_trial(t, *max_fps, 0, &r, err, errlen);
	if (rc)
		return rc;
	tell(t, what, &r);
	note_order(out, &r);
	if (*max_fps <= 0) {
		if (!r.tx_fps) {
			snprintf(err, errlen, "the sender sent nothing in a whole trial");
			return -EIO;
		}
		*max_fps = r.tx_fps;
	}
	hi = *max_fps;
	out->floor_fps = t->min_fps > 0 ? t->min_fps : hi / 1000;
	if (passes(&r, tolerance)) {
		out->found = out->at_max = true;
		out->rate_fps = hi;
		out->best = r;
		return 0;
	}
	/*
	 * The precision is relative to the rate found, so a DUT far below the
	 * tester's ceiling is measured as closely as one near it: halve until
	 * a trial passes (lo stays 0 until then), then bisect.
	 */
	while (lo > 0 ? hi - lo > t->resolution * hi : hi / 2 >= out->floor_fps) {
		double mid = (lo + hi) / 2;

		for (unsigned int k = 0; k <= t->retries; k++) {
			if (k)
				out->retried++;
			rc = salvo_rfc2544_trial(t, mid, 0, &r, err, errlen);
			if (rc)
				return rc;
			tell(t, what, &r);
			note_order(out, &r);
			if (passes(&r, tolerance))
				break;
		}
		if (passes(&r, tolerance)) {
			lo = mid;
			out->found = true;
			out->rate_fps = mid;
			out->best = r;
		} else {
			hi = mid;
		}
	}
	return 0;
}

int salvo_rfc2544_latency(struct salvo_rfc2544 *t, double fps, unsigned int trials,
			  struct salvo_rfc2544_latency *out, char *err, size_t errlen)
{
	struct salvo_hist *h;
	double p50_sum = 0, w[6] = {0}, mean_sum = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	out->offered_fps = fps;
	if (trials < 1 || trials > SALVO_RFC2544_LAT_MAX_TRIALS) {
		snprintf(err, errlen, "latency: trials must be 1..%u", SALVO_RFC2544_LAT_MAX_TRIALS);
		return -EINVAL;
	}
	rc = salvo_hist_create(&h);
	if (rc) {
		snprintf(err, errlen, "latency: no memory for the histogram");
		return rc;
	}
	t->hist = h;
	for (unsigned int k = 0; k < trials; k++) {
		struct salvo_rfc2544_trial r;
		const struct salvo_report_latency *l = &r.latency;

		rc = salvo_rfc2544_trial(t, fps, 0, &r, err, errlen);
		if (rc)
			break;
		tell(t, "latency", &r);
		out->trials++;
		out->tx += r.tx;
		out->rx += r.rx;
		out->lost += r.lost;
		out->lossy_trials += r.lost > 0;
		out->reordered_trials += r.reordered > 0;
		out->duplicate_trials += r.duplicates > 0;
		if (!r.has_latency)
			continue;
		if (!out->latency_trials++) {
			out->p50_min = out->p50_max = l->p50;
			out->latency.min = l->min;
		}
		p50_sum += (double)l->p50;
		out->p50_min = SALVO_MIN(out->p50_min, l->p50);
		out->p50_max = SALVO_MAX(out->p50_max, l->p50);
		/* Without a histogram (socket mode): exact totals and extremes, percentiles weighted by samples. */
		out->latency.count += l->count;
		out->latency.clamped += l->clamped;
		out->latency.min = SALVO_MIN(out->latency.min, l->min);
		out->latency.max = SALVO_MAX(out->latency.max, l->max);
		mean_sum += l->mean * (double)l->count;
		w[0] += (double)l->p50 * (double)l->count;
		w[1] += (double)l->p90 * (double)l->count;
		w[2] += (double)l->p99 * (double)l->count;
		w[3] += (double)l->p999 * (double)l->count;
		w[4] += (double)l->p9999 * (double)l->count;
	}
	t->hist = NULL;
	if (!rc && out->latency_trials) {
		struct salvo_report_latency *l = &out->latency;

		out->has_latency = true;
		out->p50_mean = p50_sum / out->latency_trials;
		out->merged = salvo_hist_count(h) > 0;
		if (out->merged) {
			salvo_report_latency_fill(l, h);
		} else if (l->count) {
			double n = (double)l->count;

			l->mean = mean_sum / n;
			/* Rounded means of ordered values stay ordered; max bounds them all. */
			l->p50 = SALVO_MIN((uint64_t)llround(w[0] / n), l->max);
			l->p90 = SALVO_MIN((uint64_t)llround(w[1] / n), l->max);
			l->p99 = SALVO_MIN((uint64_t)llround(w[2] / n), l->max);
			l->p999 = SALVO_MIN((uint64_t)llround(w[3] / n), l->max);
			l->p9999 = SALVO_MIN((uint64_t)llround(w[4] / n), l->max);
		}
	}
	salvo_hist_destroy(h);
	return rc;
}

int salvo_rfc2544_loss_rate(struct salvo_rfc2544 *t, double max_fps, struct salvo_rfc2544_loss *out,
			    char *err, size_t errlen)
{
	unsigned int clean = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	/* RFC 2544 section 26.3: 100%, 90%, ... until two trials in a row lose no frame. */
	for (unsigned int i = 0; i < SALVO_RFC2544_LOSS_STEPS && clean < 2; i++) {
		struct salvo_rfc2544_trial *r = &out->step[out->n];

		rc = salvo_rfc2544_trial(t, max_fps * (double)(10 - i) / 10.0, 0, r, err, errlen);
		if (rc)
			return rc;
		tell(t, "loss", r);
		out->n++;
		clean = r->lost ? 0 : clean + 1;
	}
	return 0;
}

/* One burst of n frames as fast as the tester goes: 1 came back whole, 0 not, or -errno. */
static int burst_ok(struct salvo_rfc2544 *t, uint64_t n, unsigned int *reordered, char *err,
		    size_t errlen)
{
	struct salvo_rfc2544_trial r;
	int rc = salvo_rfc2544_trial(t, 0, n, &r, err, errlen);

	if (rc)
		return rc;
	tell(t, "b2b", &r);
	*reordered += r.reordered > 0;
	return r.tx == n && r.lost == 0;
}

int salvo_rfc2544_b2b(struct salvo_rfc2544 *t, uint64_t max_frames, unsigned int repeat,
		      struct salvo_rfc2544_b2b *out, char *err, size_t errlen)
{
	double sum = 0, sq = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (repeat < 1 || repeat > SALVO_RFC2544_B2B_MAX_REPEAT || max_frames < 1) {
		snprintf(err, errlen, "back-to-back: repeat must be 1..%u", SALVO_RFC2544_B2B_MAX_REPEAT);
		return -EINVAL;
	}
	for (unsigned int k = 0; k < repeat; k++) {
		uint64_t lo = 0, hi = 0, n = 1;

		/* Double until a burst loses frames (or the cap), then bisect between the two. */
		for (;;) {
			rc = burst_ok(t, n, &out->reordered_trials, err, errlen);
			if (rc < 0)
				return rc;
			if (!rc) {
				hi = n;
				break;
			}
			lo = n;
			if (n >= max_frames) {
				out->capped = true;
				break;
			}
			n = SALVO_MIN(n * 2, max_frames);
		}
		while (hi && hi - lo > SALVO_MAX((uint64_t)1, (uint64_t)((double)lo * t->resolution))) {
			n = lo + (hi - lo) / 2;
			rc = burst_ok(t, n, &out->reordered_trials, err, errlen);
			if (rc < 0)
				return rc;
			if (rc)
				lo = n;
			else
				hi = n;
		}
		out->frames[k] = lo;
		out->repeat = k + 1;
	}
	out->min = UINT64_MAX;
	for (unsigned int k = 0; k < out->repeat; k++) {
		sum += (double)out->frames[k];
		sq += (double)out->frames[k] * (double)out->frames[k];
		out->min = SALVO_MIN(out->min, out->frames[k]);
		out->max = SALVO_MAX(out->max, out->frames[k]);
	}
	out->mean = sum / out->repeat;
	/* Sample standard deviation (n - 1): the spread of the repetitions. */
	out->stddev = out->repeat > 1 ?
		sqrt(SALVO_MAX(0.0, (sq - sum * sum / out->repeat) / (out->repeat - 1))) : 0;
	return 0;
}
