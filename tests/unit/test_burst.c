// SPDX-License-Identifier: MIT
/*
 * The burst step (engine/burst.c, include/salvo/burst.h) under every
 * sender: the generator (plain and GSO), the raw-frame generator and the
 * stream client run against a fake backend that refuses submissions
 * (-EAGAIN, -ENOBUFS, and a -ECONNREFUSED) and takes only part of others.
 * The witness is the fake backend itself: it reads the stamp of every
 * packet it accepted (frames: at the fixed Ethernet + IPv4 + UDP offset,
 * not through the frame decoder) and checks that each flow's sequence
 * numbers are contiguous from 0, with no gap and no repeat, and that the
 * run's counters equal what it accepted.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <salvo/backend.h>
#include "frames/pktgen.h"
#include <salvo/run.h>
#include <salvo/stamp.h>

#include "apps/gen.h"
#include "apps/stream.h"
#include "frames/rawgen.h"

#define BOUND_NS (120 * NSEC_PER_SEC)
#define MAXFLOWS 64
#define L2_PAYLOAD_OFF (14 + 20 + 8)	/* untagged Ethernet, IPv4 without options, UDP */

/* What the fake backend saw; one worker, so one writer. */
static struct fake {
	unsigned int calls, refused, partial;
	uint64_t rng;
	uint64_t pkts, bytes, stamped, unstamped;
	uint64_t next[MAXFLOWS];	/* per flow: the next sequence number expected */
	uint64_t gaps, repeats, bad;
	unsigned int conns_told;
	uint64_t conn_bytes[MAXFLOWS];	/* streams: per connection */
	uint32_t closing[MAXFLOWS];	/* connections closed by the sender, events not yet told */
	unsigned int nclosing;
} F;

static void see_stamp(const uint8_t *d, uint32_t len)
{
	struct salvo_stamp st;

	if (len < SALVO_STAMP_SIZE || salvo_stamp_decode(d, len, &st)) {
		F.unstamped++;
		return;
	}
	F.stamped++;
	if (st.flow >= MAXFLOWS) {
		F.bad++;
		return;
	}
	if (st.seq > F.next[st.flow])
		F.gaps++;
	else if (st.seq < F.next[st.flow])
		F.repeats++;
	F.next[st.flow] = st.seq + 1;
}

static void see(const struct salvo_cfg *cfg, const struct salvo_pkt *k)
{
	switch (cfg->proto) {
	case SALVO_PROTO_L2:
		F.pkts++;
		F.bytes += k->len;
		if (k->len > L2_PAYLOAD_OFF)
			see_stamp(k->data + L2_PAYLOAD_OFF, k->len - L2_PAYLOAD_OFF);
		else
			F.unstamped++;
		break;
	case SALVO_PROTO_TCP:
		F.pkts++;
		F.bytes += k->len;
		if (k->conn < MAXFLOWS)
			F.conn_bytes[k->conn] += k->len;
		see_stamp(k->data, k->len);
		break;
	default:
		if (k->gso_size) {
			for (uint32_t off = 0; off < k->len; off += k->gso_size) {
				uint32_t l = SALVO_MIN((uint32_t)k->gso_size, k->len - off);

				F.pkts++;
				F.bytes += l;
				see_stamp(k->data + off, l);
			}
		} else {
			F.pkts++;
			F.bytes += k->len;
			see_stamp(k->data, k->len);
		}
	}
}

static int fake_open(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	uint32_t sz = SALVO_MAX(SALVO_MAX(cfg->size, cfg->message_len), 2048u);

	if (cfg->gso)
		sz = 65536;
	p->conn_slots = 64;
	return salvo_pool_create(&p->pool, SALVO_MAX(4 * cfg->burst, 256u), sz, NULL);
}

/*
 * About one submission in 3 refused outright (EAGAIN, ENOBUFS,
 * ECONNREFUSED in turn), one in 5 of the others half taken; chosen by a
 * fixed pseudo-random sequence, so no flow's turn always meets a refusal.
 */
static int fake_tx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	static const int errs[] = {-EAGAIN, -ENOBUFS, -EAGAIN, -ECONNREFUSED, -ENOBUFS};
	unsigned int take = n;

	if (p->cfg->proto == SALVO_PROTO_TCP && n == 1 && !v[0]->len) {
		/* close_all's empty message: outside the burst step, always taken. */
		if ((v[0]->flags & SALVO_PKT_F_CONN_CLOSE) && F.nclosing < MAXFLOWS)
			F.closing[F.nclosing++] = v[0]->conn;
		salvo_pool_put(p->pool, v, 1);
		return 1;
	}
	F.calls++;
	F.rng = F.rng * 6364136223846793005ULL + 1442695040888963407ULL;
	if ((F.rng >> 33) % 3 == 0) {
		F.refused++;
		return errs[F.refused % SALVO_ARRAY_SIZE(errs)];
	}
	if ((F.rng >> 40) % 5 == 0 && n > 1) {
		take = n / 2;
		F.partial++;
	}
	for (unsigned int i = 0; i < take; i++)
		see(p->cfg, v[i]);
	salvo_pool_put(p->pool, v, take);	/* synchronous: sent at once */
	return (int)take;
}

/* Streams: every connection opens at once; then nothing more arrives. */
static int fake_rx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	unsigned int i = 0;

	while (p->cfg->proto == SALVO_PROTO_TCP && F.conns_told < p->cfg->streams && i < n) {
		if (salvo_pool_get(p->pool, &v[i], 1) != 1)
			break;
		v[i]->flags = SALVO_PKT_F_CONN_OPEN;
		v[i]->conn = F.conns_told++;
		i++;
	}
	/* A closed connection's event: the client keeps its record (bytes) for the report. */
	while (F.nclosing && i < n) {
		if (salvo_pool_get(p->pool, &v[i], 1) != 1)
			break;
		v[i]->flags = SALVO_PKT_F_CONN_CLOSE;
		v[i]->conn = F.closing[--F.nclosing];
		i++;
	}
	if (!i && p->rx_timeout_ms)
		poll(NULL, 0, 1);
	return (int)i;
}

static void fake_close(struct salvo_port *p)
{
	salvo_pool_destroy(p->pool);
	p->pool = NULL;
}

static const struct salvo_backend_ops fake_ops = {
	.name = "refusing",
	.desc = "test: refuses every 3rd submission, takes half of every 5th",
	.caps = SALVO_CAP_UDP | SALVO_CAP_TCP | SALVO_CAP_L2 | SALVO_CAP_GSO | SALVO_CAP_TEST,
	.open = fake_open,
	.tx_burst = fake_tx,
	.rx_burst = fake_rx,
	.close = fake_close,
};

static void base_cfg(struct salvo_cfg *cfg, enum salvo_proto proto)
{
	salvo_cfg_init(cfg);
	cfg->command = "test";
	cfg->backend = "null";	/* the name only; the run gets fake_ops */
	cfg->proto = proto;
	cfg->dir = SALVO_DIR_TX;
	cfg->threads = 1;
	cfg->cpu_base = -1;
}

static void run_to_end(struct salvo_cfg *cfg, const struct salvo_app *app,
		       struct salvo_report *rep)
{
	struct salvo_run *r;
	char err[256] = "";

	if (salvo_cfg_finish(cfg, err, sizeof(err)))
		fail_msg("cfg: %s", err);
	memset(&F, 0, sizeof(F));
	assert_int_equal(salvo_run_create(&r, cfg, &fake_ops, app, err, sizeof(err)), 0);
	if (salvo_run_start(r, err, sizeof(err)))
		fail_msg("start: %s", err);
	if (!salvo_run_wait(r, salvo_now_ns() + BOUND_NS))
		fail_msg("run did not end by itself");
	salvo_run_join(r);
	salvo_run_report(r, rep);
	salvo_run_destroy(r);
	if (rep->error[0])
		fail_msg("run failed: %s", rep->error);
}

/* The witness's verdict, shared by every sender. */
static void check_seen(const struct salvo_report *rep, unsigned int flows, uint64_t stamped,
		       bool stream)
{
	uint64_t sum = 0;

	assert_true(F.refused > 0);	/* the test refused something */
	assert_true(F.partial > 0);
	if (F.gaps || F.repeats || F.bad)
		fail_msg("sequence numbers: %llu gaps, %llu repeats, %llu bad",
			 (unsigned long long)F.gaps, (unsigned long long)F.repeats,
			 (unsigned long long)F.bad);
	for (unsigned int f = 0; f < MAXFLOWS; f++)
		sum += F.next[f];
	assert_true(sum == F.stamped);	/* 0..n-1 in each flow, nothing else */
	assert_true(F.stamped == stamped);
	for (unsigned int f = 0; f < flows; f++)
		if (!F.next[f])
			fail_msg("flow %u: nothing (%llu %llu %llu %llu)", f,
				 (unsigned long long)F.next[0], (unsigned long long)F.next[1],
				 (unsigned long long)F.next[2], (unsigned long long)F.next[3]);
	/* The counters are what the backend took, no more, no less. */
	assert_true(rep->tx.packets == F.pkts);
	assert_true(rep->tx.bytes == F.bytes);
	assert_true(rep->submissions == F.calls);
	/* A stream's refusal is a connection event, not a tx error (include/salvo/burst.h). */
	assert_true(rep->tx_errors == (stream ? 0 : F.refused));
}

static void test_gen_refusals(void **state)
{
	struct salvo_cfg cfg;
	struct salvo_report rep;

	(void)state;
	base_cfg(&cfg, SALVO_PROTO_UDP);
	cfg.count = 5003;
	cfg.flows = 3;
	cfg.size = 64;
	run_to_end(&cfg, &salvo_app_gen, &rep);
	assert_true(F.pkts == 5003);
	check_seen(&rep, 3, 5003, false);
}

static void test_gen_gso_refusals(void **state)
{
	struct salvo_cfg cfg;
	struct salvo_report rep;

	(void)state;
	base_cfg(&cfg, SALVO_PROTO_UDP);
	cfg.count = 20011;
	cfg.flows = 2;
	cfg.size = 1000;	/* 64 segments per descriptor */
	cfg.gso = true;
	cfg.burst = 200;	/* 4 descriptors per burst, the last one short */
	run_to_end(&cfg, &salvo_app_gen, &rep);
	assert_true(F.pkts == 20011);
	check_seen(&rep, 2, 20011, false);
}

static void set_field(struct salvo_field *f, enum salvo_field_kind k, const char *s, int *fam)
{
	char err[256] = "";

	if (salvo_field_parse(f, k, s, fam, err, sizeof(err)))
		fail_msg("parse %s: %s", s, err);
}

static void test_rawgen_refusals(void **state)
{
	struct salvo_l2_cfg l2;
	struct salvo_cfg cfg;
	struct salvo_report rep;
	char err[256] = "";

	(void)state;
	salvo_l2_cfg_init(&l2);
	set_field(&l2.src_mac, SALVO_FK_MAC, "02:00:00:00:00:01", NULL);
	set_field(&l2.dst_mac, SALVO_FK_MAC, "02:00:00:00:00:02", NULL);
	set_field(&l2.src_ip, SALVO_FK_IP4, "10.0.0.1", &l2.family);
	set_field(&l2.dst_ip, SALVO_FK_IP4, "10.0.0.2", &l2.family);
	l2.flows = 3;	/* not a divisor of the size cycle (4): every flow gets stamped frames */
	/* Some frames too short for a stamp: they take no number, given back or not. */
	if (salvo_size_parse(&l2.size, "60:1,128:3", err, sizeof(err)))
		fail_msg("size: %s", err);
	if (salvo_l2_check(&l2, 1500, err, sizeof(err)))
		fail_msg("l2: %s", err);
	base_cfg(&cfg, SALVO_PROTO_L2);
	cfg.count = 4007;
	cfg.l2 = &l2;
	run_to_end(&cfg, &salvo_app_rawgen, &rep);
	assert_true(F.pkts == 4007);
	assert_true(F.unstamped > 0);
	check_seen(&rep, 3, F.pkts - F.unstamped, false);
	salvo_l2_cfg_free(&l2);
}

static void test_stream_refusals(void **state)
{
	struct salvo_stream_arg a;
	struct salvo_app app = salvo_app_stream;
	struct salvo_cfg cfg;
	struct salvo_report rep;
	uint64_t sum = 0;

	(void)state;
	salvo_stream_arg_init(&a);
	app.arg = &a;
	base_cfg(&cfg, SALVO_PROTO_TCP);
	cfg.streams = 3;
	cfg.size = 100;
	cfg.bytes = 100 * 3001 + 50;	/* the last message is short (and still stamped) */
	run_to_end(&cfg, &app, &rep);
	assert_true(F.bytes == cfg.bytes);
	assert_true(F.pkts == 3002);
	check_seen(&rep, 3, 3002, true);
	/* Per connection: the records hold what the backend took on each, refusals not counted. */
	assert_int_equal(a.nrecs, 3);
	for (unsigned int i = 0; i < a.nrecs; i++) {
		assert_true(a.recs[i].conn < 3);
		assert_true(a.recs[i].bytes > 0);
		assert_true(a.recs[i].bytes == F.conn_bytes[a.recs[i].conn]);
		sum += a.recs[i].bytes;
	}
	assert_true(sum == F.bytes);
	salvo_stream_arg_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gen_refusals),
		cmocka_unit_test(test_gen_gso_refusals),
		cmocka_unit_test(test_rawgen_refusals),
		cmocka_unit_test(test_stream_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
