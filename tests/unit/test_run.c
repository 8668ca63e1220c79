// SPDX-License-Identifier: MIT
/*
 * Unit tests for runs and workers (engine/run.c) driving the generator and
 * receiver apps (apps/gen.c, sink.c) over the null backend.  Workers are
 * threads: tests/run.sh also runs this file under tsan.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <salvo/backend.h>
#include <salvo/run.h>
#include <salvo/stamp.h>
#include "apps/gen.h"
#include "apps/sink.h"

/* Generous bound for a run that must end by itself; never a speed assert. */
#define BOUND_NS (120 * NSEC_PER_SEC)

static void base_cfg(struct salvo_cfg *cfg, unsigned int dir, unsigned int threads, uint64_t count)
{
	char err[256];

	salvo_cfg_init(cfg);
	cfg->command = "test";
	cfg->backend = "null";
	cfg->proto = SALVO_PROTO_UDP;
	cfg->dir = dir;
	cfg->threads = threads;
	cfg->count = count;
	cfg->cpu_base = -1;	/* do not pin on a shared test machine */
	assert_int_equal(salvo_cfg_finish(cfg, err, sizeof(err)), 0);
}

static const struct salvo_backend_ops *null_ops(void)
{
	const struct salvo_backend_ops *ops = salvo_backend_find("null");

	assert_non_null(ops);
	return ops;
}

/* Start, wait until it ends by itself (bounded), join, report. */
static void run_to_end(const struct salvo_cfg *cfg, const struct salvo_app *app,
		       struct salvo_report *rep)
{
	struct salvo_run *r;
	char err[256] = "";

	assert_int_equal(salvo_run_create(&r, cfg, null_ops(), app, err, sizeof(err)), 0);
	if (salvo_run_start(r, err, sizeof(err)))
		fail_msg("start: %s", err);
	if (!salvo_run_wait(r, salvo_now_ns() + BOUND_NS))
		fail_msg("run did not end by itself");
	salvo_run_join(r);
	salvo_run_report(r, rep);
	salvo_run_destroy(r);
}

static void test_gen_count_exact(void **state)
{
	static const uint64_t counts[] = {1, 31, 32, 33, 1000, 100003};
	struct salvo_cfg cfg;
	struct salvo_report rep;

	(void)state;
	for (size_t i = 0; i < SALVO_ARRAY_SIZE(counts); i++) {
		base_cfg(&cfg, SALVO_DIR_TX, 1, counts[i]);
		run_to_end(&cfg, &salvo_app_gen, &rep);
		assert_true(rep.tx.packets == counts[i]);
		assert_true(rep.tx.bytes == counts[i] * cfg.size);
		assert_true(rep.has_tx);
		assert_false(rep.has_rx);
		assert_false(rep.interrupted);
		assert_string_equal(rep.backend, "null");
		assert_string_equal(rep.error, "");
		/* At most burst packets per submission. */
		assert_true(rep.submissions >= (counts[i] + cfg.burst - 1) / cfg.burst);
	}
}

/* The generator, wrapped to record what each worker sent of its share. */
struct per_worker {
	uint64_t quota[8], sent[8];
};

static int rec_loop(struct salvo_worker *w)
{
	struct per_worker *pw = salvo_run_app(w->run)->arg;
	int rc = salvo_app_gen.loop(w);

	pw->quota[w->id] = w->tx_quota;
	pw->sent[w->id] = w->cnt.tx_pkts;	/* the worker's own counter, read by itself */
	return rc;
}

static void test_threads_split_count(void **state)
{
	struct per_worker pw;
	struct salvo_app app = salvo_app_gen;
	struct salvo_cfg cfg;
	struct salvo_report rep;

	(void)state;
	app.loop = rec_loop;
	app.arg = &pw;
	for (unsigned int threads = 2; threads <= 3; threads++) {
		memset(&pw, 0, sizeof(pw));
		base_cfg(&cfg, SALVO_DIR_TX, threads, 1001);
		run_to_end(&cfg, &app, &rep);
		assert_true(rep.tx.packets == 1001);
		assert_int_equal(rep.threads, threads);
		for (unsigned int i = 0; i < threads; i++) {
			/* The first (1001 % n) workers send one more. */
			uint64_t share = 1001 / threads + (i < 1001 % threads);

			assert_true(pw.quota[i] == share);
			assert_true(pw.sent[i] == share);
		}
	}
}

/*
 * Loop-back: the generator sends its share on a TX+RX null port (which
 * loops packets back to itself), then the counting receiver reads them.
 * The run ends only because the receiver reached the run-wide --count.
 */
struct loop_state {
	/* Per flow: the next sequence expected, and how many arrived out of step. */
	uint64_t next_seq[16];
	uint64_t bad_seq[16];
	uint64_t bad_stamp;
	struct salvo_sink_hooks hooks;
};

static void check_stamp(const struct salvo_pkt *k, void *arg)
{
	struct loop_state *ls = arg;
	struct salvo_stamp st;

	/* Each flow belongs to one worker: its entries have one writer. */
	if (salvo_stamp_decode(k->data, k->len, &st) || st.flow >= 16 || st.len != k->len) {
		__atomic_add_fetch(&ls->bad_stamp, 1, __ATOMIC_RELAXED);
		return;
	}
	if (st.seq != ls->next_seq[st.flow])
		ls->bad_seq[st.flow]++;
	ls->next_seq[st.flow] = st.seq + 1;
}

struct two_apps {
	void *gen_priv, *sink_priv;
};

static int loop_init(struct salvo_worker *w)
{
	struct two_apps *t = calloc(1, sizeof(*t));
	int rc;

	if (!t)
		return -ENOMEM;
	rc = salvo_app_gen.init(w);
	t->gen_priv = w->app_priv;
	if (!rc)
		rc = salvo_app_sink.init(w);
	t->sink_priv = w->app_priv;
	w->app_priv = t;
	return rc;
}

static int loop_loop(struct salvo_worker *w)
{
	struct two_apps *t = w->app_priv;
	int rc;

	w->app_priv = t->gen_priv;
	rc = salvo_app_gen.loop(w);	/* returns after this worker's share */
	if (!rc) {
		w->app_priv = t->sink_priv;
		rc = salvo_app_sink.loop(w);
	}
	w->app_priv = t;
	return rc;
}

static void loop_fini(struct salvo_worker *w)
{
	struct two_apps *t = w->app_priv;

	w->app_priv = t->gen_priv;
	salvo_app_gen.fini(w);
	w->app_priv = t->sink_priv;
	salvo_app_sink.fini(w);
	free(t);
	w->app_priv = NULL;
}

static void run_loopback(unsigned int threads, unsigned int flows, uint64_t count)
{
	struct loop_state *ls = calloc(1, sizeof(*ls));
	struct salvo_app app = {.name = "gen+sink", .init = loop_init, .loop = loop_loop,
				.fini = loop_fini};
	struct salvo_cfg cfg;
	struct salvo_report rep;
	uint64_t sum = 0;

	assert_non_null(ls);
	ls->hooks.on_packet = check_stamp;
	ls->hooks.arg = ls;
	app.arg = &ls->hooks;
	salvo_cfg_init(&cfg);
	base_cfg(&cfg, SALVO_DIR_TX | SALVO_DIR_RX, threads, count);
	cfg.flows = flows;
	cfg.size = 100;
	run_to_end(&cfg, &app, &rep);

	assert_true(rep.tx.packets == count);
	assert_true(rep.rx.packets == count);
	assert_true(rep.rx.bytes == count * 100);
	assert_true(rep.lost == 0);
	assert_true(rep.reordered == 0);
	assert_true(rep.duplicates == 0);
	assert_true(rep.unstamped == 0);
	assert_true(rep.flows == flows);
	assert_true(rep.has_latency);
	assert_true(rep.latency.count == count);
	assert_true(rep.latency.min <= rep.latency.p50 && rep.latency.p50 <= rep.latency.max);
	assert_true(ls->bad_stamp == 0);
	for (unsigned int f = 0; f < 16; f++) {
		if (ls->bad_seq[f])
			fail_msg("flow %u: %llu packets out of sequence", f,
				 (unsigned long long)ls->bad_seq[f]);
		if (f >= flows)
			assert_true(ls->next_seq[f] == 0);
		sum += ls->next_seq[f];
	}
	assert_true(sum == count);	/* seqs 0..n-1 per flow, nothing else */
	free(ls);
}

static void test_loopback_one_worker(void **state)
{
	(void)state;
	run_loopback(1, 1, 200);	/* fits the null port's loop-back ring (256) */
	run_loopback(1, 4, 250);
}

static void test_loopback_two_workers(void **state)
{
	(void)state;
	run_loopback(2, 2, 400);
	run_loopback(2, 6, 500);
}

/*
 * Interval snapshots (an app with .intervals): snapshots taken while the
 * run goes and one after join hand out every latency sample exactly once,
 * each with the counters of the same boundary (latency count == stamped
 * packets since the previous snapshot), and the final report still holds
 * all of them.
 */
static void snapshot_run(unsigned int threads, uint64_t count)
{
	struct loop_state *ls = calloc(1, sizeof(*ls));
	struct salvo_app app = {.name = "gen+sink", .init = loop_init, .loop = loop_loop,
				.fini = loop_fini, .intervals = true};
	struct salvo_report prev, now, rep;
	struct salvo_cfg cfg;
	struct salvo_run *r;
	char err[256] = "";
	uint64_t lat = 0, end = salvo_now_ns() + BOUND_NS;
	unsigned int snaps = 0;
	bool done;

	assert_non_null(ls);
	ls->hooks.on_packet = check_stamp;
	ls->hooks.arg = ls;
	app.arg = &ls->hooks;
	base_cfg(&cfg, SALVO_DIR_TX | SALVO_DIR_RX, threads, count);
	cfg.flows = threads;
	cfg.size = 100;
	/*
	 * Paced, so the first snapshots fall inside the run: while a worker
	 * is still in the generator (which does not close intervals) the
	 * snapshot gives up waiting for it and counts it later.
	 */
	cfg.rate_pps = 20000;
	assert_int_equal(salvo_run_create(&r, &cfg, null_ops(), &app, err, sizeof(err)), 0);
	if (salvo_run_start(r, err, sizeof(err)))
		fail_msg("start: %s", err);
	memset(&prev, 0, sizeof(prev));
	do {
		done = salvo_run_wait(r, salvo_now_ns() + 2 * NSEC_PER_MSEC);
		if (done)
			salvo_run_join(r);	/* the last snapshot comes after join */
		salvo_run_snapshot(r, &now);
		snaps++;
		if ((now.rx.packets - now.unstamped) - (prev.rx.packets - prev.unstamped) !=
		    (now.has_latency ? now.latency.count : 0))
			fail_msg("snapshot %u: %llu stamped packets since the last, %llu samples", snaps,
				 (unsigned long long)((now.rx.packets - now.unstamped) -
						      (prev.rx.packets - prev.unstamped)),
				 (unsigned long long)(now.has_latency ? now.latency.count : 0));
		lat += now.has_latency ? now.latency.count : 0;
		prev = now;
	} while (!done && salvo_now_ns() < end);
	assert_true(done);
	assert_true(now.rx.packets == count);
	assert_true(lat == count);
	assert_true(snaps >= 2);
	salvo_run_report(r, &rep);
	assert_true(rep.has_latency && rep.latency.count == count);
	salvo_run_destroy(r);
	free(ls);
}

static void test_snapshot_each_sample_once(void **state)
{
	(void)state;
	snapshot_run(1, 200);
	snapshot_run(2, 400);
}

/* An unbounded run goes on until salvo_run_stop(). */
static void test_stop_unbounded(void **state)
{
	struct salvo_run *r;
	struct salvo_cfg cfg;
	struct salvo_report rep;
	char err[256];
	uint64_t until;

	(void)state;
	base_cfg(&cfg, SALVO_DIR_TX, 2, 0);
	assert_int_equal(salvo_run_create(&r, &cfg, null_ops(), &salvo_app_gen, err, sizeof(err)), 0);
	assert_int_equal(salvo_run_start(r, err, sizeof(err)), 0);
	/* Wait (bounded) until it has sent something, so the stop interrupts real work. */
	until = salvo_now_ns() + BOUND_NS;
	do {
		assert_false(salvo_run_wait(r, salvo_now_ns() + 5 * NSEC_PER_MSEC));
		salvo_run_snapshot(r, &rep);
	} while (rep.tx.packets == 0 && salvo_now_ns() < until);
	assert_true(rep.tx.packets > 0);
	salvo_run_interrupt(r);
	assert_true(salvo_run_wait(r, salvo_now_ns() + BOUND_NS));
	salvo_run_join(r);
	salvo_run_report(r, &rep);
	assert_true(rep.interrupted);
	assert_true(rep.tx.packets > 0);
	assert_true(rep.tx.bytes == rep.tx.packets * cfg.size);
	assert_string_equal(rep.error, "");
	salvo_run_destroy(r);
}

static void test_duration_ends_run(void **state)
{
	struct salvo_cfg cfg;
	struct salvo_report rep;

	(void)state;
	base_cfg(&cfg, SALVO_DIR_TX, 1, 0);
	cfg.duration_ns = 50 * NSEC_PER_MSEC;
	run_to_end(&cfg, &salvo_app_gen, &rep);
	assert_false(rep.interrupted);
	assert_true(rep.duration_s >= 0.05);
	/* Ends near its deadline: generous for a loaded machine, far from "never". */
	assert_true(rep.duration_s < 5);
}

/*
 * A departure due long after --duration (--rate 0.001: the second packet is
 * 1000 s away) does not hold the run: it ends at its deadline, and the
 * packet that was not due is not sent.
 */
static void test_duration_ends_long_wait(void **state)
{
	struct salvo_cfg cfg;
	struct salvo_report rep;
	char err[256];
	uint64_t t0, t1;

	(void)state;
	base_cfg(&cfg, SALVO_DIR_TX, 1, 0);
	cfg.rate_pps = 0.001;
	cfg.duration_ns = 100 * NSEC_PER_MSEC;
	assert_int_equal(salvo_cfg_finish(&cfg, err, sizeof(err)), 0);
	t0 = salvo_now_ns();
	run_to_end(&cfg, &salvo_app_gen, &rep);
	t1 = salvo_now_ns();
	assert_false(rep.interrupted);
	assert_true(rep.tx.packets == 1);
	assert_true(t1 - t0 < 5 * NSEC_PER_SEC);
	assert_true(rep.duration_s >= 0.1 && rep.duration_s < 5);
}

/* An interrupt during a long pacing wait ends the run at once. */
static void test_interrupt_ends_long_wait(void **state)
{
	struct salvo_run *r;
	struct salvo_cfg cfg;
	struct salvo_report rep;
	char err[256];
	uint64_t t0;

	(void)state;
	base_cfg(&cfg, SALVO_DIR_TX, 2, 0);
	cfg.rate_pps = 0.001;
	assert_int_equal(salvo_cfg_finish(&cfg, err, sizeof(err)), 0);
	assert_int_equal(salvo_run_create(&r, &cfg, null_ops(), &salvo_app_gen, err, sizeof(err)), 0);
	assert_int_equal(salvo_run_start(r, err, sizeof(err)), 0);
	/* Both workers are now in (or about to enter) a 1000 s wait. */
	assert_false(salvo_run_wait(r, salvo_now_ns() + 50 * NSEC_PER_MSEC));
	t0 = salvo_now_ns();
	salvo_run_interrupt(r);
	assert_true(salvo_run_wait(r, salvo_now_ns() + BOUND_NS));
	assert_true(salvo_now_ns() - t0 < 5 * NSEC_PER_SEC);
	salvo_run_join(r);
	salvo_run_report(r, &rep);
	assert_true(rep.interrupted);
	assert_true(rep.tx.packets == 1);	/* slot 0 only; slot 1 is 1000 s away */
	salvo_run_destroy(r);
}

/* A receiver's --count is run-wide: two workers together stop at the goal. */
static void test_rx_goal_stops(void **state)
{
	(void)state;
	run_loopback(2, 2, 255);	/* 128 + 127 */
}

/* With --rate the generator still sends exactly --count, on the pacer's budget. */
static void test_paced_count(void **state)
{
	struct salvo_cfg cfg;
	struct salvo_report rep;
	char err[256];

	(void)state;
	salvo_cfg_init(&cfg);
	base_cfg(&cfg, SALVO_DIR_TX, 2, 2000);
	cfg.rate_pps = 2e4;
	assert_int_equal(salvo_cfg_finish(&cfg, err, sizeof(err)), 0);
	run_to_end(&cfg, &salvo_app_gen, &rep);
	assert_true(rep.tx.packets == 2000);
	assert_true(rep.has_pacing);
	assert_true(rep.target_pps == 2e4);
	/*
	 * Paced, not as fast as possible: the last of 2000 slots at 20 kpps is
	 * due 99.95 ms after the start and never leaves early (the null
	 * backend unpaced sends 2000 in well under a millisecond).
	 */
	assert_true(rep.tx.active_s >= 0.0999);
	assert_true(rep.duration_s < 10);
}

/* A worker that cannot start fails the start with its reason, and nothing hangs. */
static void test_init_failure(void **state)
{
	struct salvo_run *r;
	struct salvo_cfg cfg;
	char err[256] = "";

	(void)state;
	base_cfg(&cfg, SALVO_DIR_TX, 2, 10);
	cfg.flows = 1;	/* fewer flows than workers: the second worker has none */
	assert_int_equal(salvo_run_create(&r, &cfg, null_ops(), &salvo_app_gen, err, sizeof(err)), 0);
	assert_int_equal(salvo_run_start(r, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "--flows"));
	salvo_run_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gen_count_exact),
		cmocka_unit_test(test_threads_split_count),
		cmocka_unit_test(test_loopback_one_worker),
		cmocka_unit_test(test_loopback_two_workers),
		cmocka_unit_test(test_snapshot_each_sample_once),
		cmocka_unit_test(test_stop_unbounded),
		cmocka_unit_test(test_duration_ends_run),
		cmocka_unit_test(test_duration_ends_long_wait),
		cmocka_unit_test(test_interrupt_ends_long_wait),
		cmocka_unit_test(test_rx_goal_stops),
		cmocka_unit_test(test_paced_count),
		cmocka_unit_test(test_init_failure),
	};

	return cmocka_run_group_tests_name("run", tests, NULL, NULL);
}
