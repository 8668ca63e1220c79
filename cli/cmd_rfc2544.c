// SPDX-License-Identifier: MIT
/*
 * salvo rfc2544 --tx IF --rx IF | --server HOST[:PORT] [throughput|latency|
 * loss|b2b ...]: a two-port tester, or a UDP tester against `salvo serve`
 * (docs/rfc2544.md).  This file builds the sender's and the receiver's
 * configurations as `raw send` and `raw recv` do (same frame builder, same
 * backend choice), or the sender as `udp send --server` does, runs the tests
 * of apps/rfc2544.c frame size by frame size, and prints their tables, a
 * JSON document, or a report directory (Markdown and gnuplot SVGs).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <salvo/backend.h>
#include <salvo/stamp.h>
#include <salvo/units.h>

#include "cli.h"
#include "cmd_raw.h"
#include "serve_client.h"
#include "frames/pktgen.h"
#include "frames/rawgen.h"
#include "apps/rfc2544.h"
#include "apps/gen.h"
#include "apps/sink.h"

#define MAX_SIZES 16
#define FCS 4
/* Preamble, start delimiter and the minimum inter-frame gap: the wire's per-frame overhead. */
#define WIRE_OVERHEAD 20
/* Socket mode: Ethernet header + FCS (18) + IP + UDP headers around a UDP payload. */
#define L2_OVERHEAD 18
#define IP4_UDP 28
#define IP6_UDP 48

struct rfc_opts {
	const char *tx, *rx;
	const char *server, *token;
	const char *dst, *src, *dst_mac, *src_mac, *dport, *sport;
	unsigned int flows;
	const char *sizes;
	uint64_t trial_ns, warmup_ns, settle_ns, drain_ns;
	const char *pdr, *resolution;
	struct salvo_opt_rate max_rate, min_rate, line_rate;
	unsigned int repeat, retries, latency_trials;
	uint64_t b2b_max;
	const char *backend;
	const char *report;
	bool json, verbose;
};

static const struct salvo_opt rfc_table[] = {
	SALVO_OPT("tx", SALVO_OPT_STR, struct rfc_opts, tx, .metavar = "IF",
		  .help = "port the frames leave by, towards the device under test (required)"),
	SALVO_OPT("rx", SALVO_OPT_STR, struct rfc_opts, rx, .metavar = "IF",
		  .help = "port the device under test sends them back on (required)"),
	SALVO_OPT("server", SALVO_OPT_STR, struct rfc_opts, server, .metavar = "HOST[:PORT]",
		  .help = "socket mode instead of --tx/--rx: stamped UDP to a 'salvo serve' (default port 5201), which counts"),
	SALVO_OPT("token", SALVO_OPT_STR, struct rfc_opts, token, .metavar = "SECRET",
		  .help = "with --server: the server's shared secret (default: $SALVO_TOKEN)"),
	SALVO_OPT("dst", SALVO_OPT_STR, struct rfc_opts, dst, .metavar = "IP",
		  .help = "destination address(es) the DUT routes to --rx (required); forms as raw send"),
	SALVO_OPT("src", SALVO_OPT_STR, struct rfc_opts, src, .metavar = "IP",
		  .help = "source address(es) (default: --tx's address)"),
	SALVO_OPT("dst-mac", SALVO_OPT_STR, struct rfc_opts, dst_mac, .metavar = "MAC",
		  .help = "the DUT's MAC on --tx (default: the neighbour entry of the first --dst)"),
	SALVO_OPT("src-mac", SALVO_OPT_STR, struct rfc_opts, src_mac, .metavar = "MAC",
		  .help = "source MAC(s) (default: --tx's)"),
	SALVO_OPT("dport", SALVO_OPT_STR, struct rfc_opts, dport, .metavar = "PORT",
		  .help = "destination port(s) (default 9)"),
	SALVO_OPT("sport", SALVO_OPT_STR, struct rfc_opts, sport, .metavar = "PORT",
		  .help = "source port(s) (default 9)"),
	SALVO_OPT("flows", SALVO_OPT_UINT, struct rfc_opts, flows, .short_name = 'f', .metavar = "N",
		  .help = "N flows: source ports SPORT..SPORT+N-1", .min = 1, .max = 65535),
	SALVO_OPT("sizes", SALVO_OPT_STR, struct rfc_opts, sizes, .short_name = 's', .metavar = "LIST",
		  .help = "frame sizes with FCS, comma-separated, and/or imix (default 64,128,256,512,1024,1280,1518,imix; --server: 128,...,1518)"),
	SALVO_OPT("trial", SALVO_OPT_DURATION, struct rfc_opts, trial_ns,
		  .help = "sending time of one trial (default 2s; RFC 2544: 60s)"),
	SALVO_OPT("warmup", SALVO_OPT_DURATION, struct rfc_opts, warmup_ns, .zero_ok = true,
		  .help = "learning frames at 1k frames/s before each size's tests, not counted (default 0.5s; 0: none)"),
	SALVO_OPT("settle", SALVO_OPT_DURATION, struct rfc_opts, settle_ns, .zero_ok = true,
		  .help = "quiet time before every trial (default 0.1s; 0: none)"),
	SALVO_OPT("drain", SALVO_OPT_DURATION, struct rfc_opts, drain_ns,
		  .help = "wait after a trial's last frame before reading the counters (default 0.2s; RFC 2544: 2s)"),
	SALVO_OPT("pdr", SALVO_OPT_STR, struct rfc_opts, pdr, .metavar = "PCT",
		  .help = "loss tolerated by the partial drop rate (default 0.5%)"),
	SALVO_OPT("resolution", SALVO_OPT_STR, struct rfc_opts, resolution, .metavar = "PCT",
		  .help = "the search stops when its bounds are this close, in % of the upper one (default 0.5%)"),
	SALVO_OPT("max-rate", SALVO_OPT_RATE, struct rfc_opts, max_rate,
		  .help = "upper bound of the search: frames/s (100k) or bits/s of frames without FCS (1Gbit); default: the tester's own ceiling"),
	SALVO_OPT("min-rate", SALVO_OPT_RATE, struct rfc_opts, min_rate,
		  .help = "floor of the search: no lower rate is tried (default: 0.1% of the maximum)"),
	SALVO_OPT("line-rate", SALVO_OPT_RATE, struct rfc_opts, line_rate,
		  .help = "the link's bit rate (10Gbit) when the interface does not say it; counts preamble, gap and FCS"),
	SALVO_OPT("retries", SALVO_OPT_UINT, struct rfc_opts, retries, .metavar = "N",
		  .help = "throughput: run a failed trial again up to N times; the rate passes if one does (default 0)", .max = 10),
	SALVO_OPT("latency-trials", SALVO_OPT_UINT, struct rfc_opts, latency_trials, .metavar = "N",
		  .help = "latency: trials at the NDR, each of --trial (default 20, as RFC 2544 asks)", .min = 1,
		  .max = SALVO_RFC2544_LAT_MAX_TRIALS),
	SALVO_OPT("repeat", SALVO_OPT_UINT, struct rfc_opts, repeat, .metavar = "N",
		  .help = "back-to-back repetitions (default 5; RFC 2544: 50)", .min = 1, .max = SALVO_RFC2544_B2B_MAX_REPEAT),
	SALVO_OPT("b2b-max", SALVO_OPT_COUNT, struct rfc_opts, b2b_max,
		  .help = "longest back-to-back burst tried (default: one trial's frames at the maximum rate)"),
	SALVO_OPT("backend", SALVO_OPT_STR, struct rfc_opts, backend, .short_name = 'b', .metavar = "NAME",
		  .help = "raw-frame backend for both ports (default: the fastest that works here)"),
	SALVO_OPT("report", SALVO_OPT_STR, struct rfc_opts, report, .metavar = "DIR",
		  .help = "also write DIR/report.md, DIR/*.dat and gnuplot SVG plots"),
	SALVO_OPT("json", SALVO_OPT_FLAG, struct rfc_opts, json, .short_name = 'J',
		  .help = "print one JSON document (docs/json.md)"),
	SALVO_OPT("verbose", SALVO_OPT_FLAG, struct rfc_opts, verbose, .short_name = 'v',
		  .help = "one line per trial on stderr"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const rfc_tables[] = { rfc_table, NULL };

static void rfc_defaults(void *o)
{
	struct rfc_opts *r = o;

	r->trial_ns = 2 * NSEC_PER_SEC;
	r->warmup_ns = 500 * NSEC_PER_MSEC;
	r->settle_ns = 100 * NSEC_PER_MSEC;
	r->drain_ns = 200 * NSEC_PER_MSEC;
	r->repeat = 5;
	r->latency_trials = 20;
}

enum { T_THROUGHPUT = 1, T_LATENCY = 2, T_LOSS = 4, T_B2B = 8 };

/* One frame size's results. */
struct size_res {
	char name[16];			/* "64", "imix" */
	uint32_t wire;			/* bytes with FCS, mean for imix (the RFC's frame size) */
	bool stamped;
	bool some_stamped;		/* !stamped, but a mix's larger frames hold a stamp (imix) */
	double max_fps;			/* the search's upper bound */
	bool ceiling;			/* max_fps is the tester's own measured ceiling */
	double line_fps;		/* 0: unknown */
	bool has_tp, has_lat, has_loss, has_b2b;
	struct salvo_rfc2544_search ndr, pdr;
	struct salvo_rfc2544_latency lat;
	struct salvo_rfc2544_loss loss;
	struct salvo_rfc2544_b2b b2b;
};

static volatile sig_atomic_t stop_req;

static void on_stop(int sig)
{
	stop_req = sig;
}

/* "0.5%" or "0.5" (percent) into a fraction in [0, 1). */
static int pct_parse(const char *s, const char *opt, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*end == '%')
		end++;
	if (errno || end == s || *end || !(v >= 0) || v >= 100)
		return salvo_usage_error(NULL, "%s %s: want a percentage from 0 to below 100 (0.5%%)", opt, s);
	*out = v / 100;
	return 0;
}

/* The list of --sizes: bytes with FCS (64..9022) or imix. */
static int sizes_parse(const char *s, struct size_res *v, unsigned int *n)
{
	char buf[256], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return salvo_usage_error(NULL, "--sizes: list too long");
	snprintf(buf, sizeof(buf), "%s", s);
	*n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long b;

		if (*n == MAX_SIZES)
			return salvo_usage_error(NULL, "--sizes: at most %d sizes", MAX_SIZES);
		memset(&v[*n], 0, sizeof(v[*n]));
		if (!strcmp(tok, "imix")) {
			snprintf(v[(*n)++].name, sizeof(v[0].name), "imix");
			continue;
		}
		errno = 0;
		b = strtoul(tok, &end, 10);
		if (errno || end == tok || *end || b < 64 || b > 9022)
			return salvo_usage_error(NULL, "--sizes: '%s' is not a frame size from 64 to 9022 bytes (FCS included) or imix", tok);
		snprintf(v[*n].name, sizeof(v[0].name), "%lu", b);
		v[(*n)++].wire = (uint32_t)b;
	}
	if (!*n)
		return salvo_usage_error(NULL, "--sizes: empty list");
	return 0;
}

/* Tests named on the command line; none: all four. */
static int tests_parse(int argc, char **argv, unsigned int *mask)
{
	*mask = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "throughput"))
			*mask |= T_THROUGHPUT;
		else if (!strcmp(argv[i], "latency"))
			*mask |= T_LATENCY;
		else if (!strcmp(argv[i], "loss"))
			*mask |= T_LOSS;
		else if (!strcmp(argv[i], "b2b"))
			*mask |= T_B2B;
		else
			return salvo_usage_error(NULL, "unknown test '%s': throughput, latency, loss, b2b", argv[i]);
	}
	if (!*mask)
		*mask = T_THROUGHPUT | T_LATENCY | T_LOSS | T_B2B;
	/* Latency is measured at the throughput found (RFC 2544 section 26.2). */
	if (*mask & T_LATENCY)
		*mask |= T_THROUGHPUT;
	return 0;
}

/*
 * The link's speed from the kernel (what ethtool reads), in bits/s; 0 when
 * unknown.  A virtual interface (no device behind it: veth, bridge, tun)
 * reports a nominal speed that no wire backs: note says so.
 */
static double link_bps(const char *ifname, char *note, size_t len)
{
	char path[256];
	FILE *f;
	long mbit = -1;
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/net/%s/speed", ifname);
	f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%ld", &mbit) != 1)
			mbit = -1;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/device", ifname);
	if (stat(path, &st)) {
		if (mbit > 0)
			snprintf(note, len, "%s is a virtual interface: its speed of %ld Mbit/s is nominal, not a wire's; give --line-rate", ifname, mbit);
		else
			snprintf(note, len, "%s is a virtual interface without a link speed; give --line-rate", ifname);
		return 0;
	}
	if (mbit <= 0) {
		snprintf(note, len, "%s does not report its link speed; give --line-rate", ifname);
		return 0;
	}
	snprintf(note, len, "from %s's link speed, %ld Mbit/s", ifname, mbit);
	return (double)mbit * 1e6;
}

struct ctx {
	const struct rfc_opts *o;
	bool sock;			/* --server: socket mode */
	struct salvo_rfc2544 t;
	struct salvo_cfg txc, rxc;
	struct salvo_l2_cfg l2;
	const char *txf_dst;
	double line_bps;
	char line_note[256];
	unsigned int mask;
	double pdr;
	struct salvo_sink_hooks hooks;
	struct salvo_app rx_app;
};

static void on_trial(const char *what, const struct salvo_rfc2544_trial *r, void *arg)
{
	const struct ctx *c = arg;
	char a[32], b[32];

	if (!c->o->verbose)
		return;
	fprintf(stderr, "salvo: rfc2544: %s trial: offered %s, sent %" PRIu64 " at %s fps, back %" PRIu64
		", lost %" PRIu64 " (%.3f%%)%s%s\n", what,
		r->count ? "a burst" : r->offered_fps > 0 ? salvo_fmt_si(r->offered_fps, a, sizeof(a)) : "max",
		r->tx, salvo_fmt_si(r->tx_fps, b, sizeof(b)), r->rx, r->lost, 100 * r->loss_ratio,
		r->reordered ? ", reordered" : "", r->duplicates ? ", duplicates" : "");
}

/* The search's bounds for one size, from --max-rate/--min-rate (bit rates count frame bytes without FCS). */
static void rates_setup(struct ctx *c, struct size_res *s, uint32_t frame)
{
	c->t.stamped = s->stamped;
	s->line_fps = c->line_bps > 0 ? c->line_bps / (8.0 * (s->wire + WIRE_OVERHEAD)) : 0;
	if (c->o->max_rate.pps > 0)
		s->max_fps = c->o->max_rate.pps;
	else if (c->o->max_rate.bps > 0)
		s->max_fps = c->o->max_rate.bps / (8.0 * frame);
	else
		s->max_fps = 0;
	s->ceiling = s->max_fps <= 0;
	if (c->o->min_rate.pps > 0)
		c->t.min_fps = c->o->min_rate.pps;
	else
		c->t.min_fps = c->o->min_rate.bps / (8.0 * frame);
}

/*
 * Socket mode: a frame size is the Ethernet frame the datagram makes, FCS
 * included, so the UDP payload is size - 18 - 28 (IPv4) or - 18 - 48
 * (IPv6); it must hold a stamp, the server's only source of latency,
 * reordering and duplicates.  -EMSGSIZE (a usage error) otherwise.
 */
static int size_setup_sock(struct ctx *c, struct size_res *s, char *err, size_t errlen)
{
	uint32_t hdr = L2_OVERHEAD + (c->t.server.sa.sa_family == AF_INET6 ? IP6_UDP : IP4_UDP);

	if (!strcmp(s->name, "imix")) {
		snprintf(err, errlen, "imix is raw mode's (--tx/--rx): its 64-byte frames cannot hold a stamp over UDP");
		return -EINVAL;
	}
	if (s->wire < hdr + SALVO_STAMP_SIZE) {
		snprintf(err, errlen, "a %u-byte frame leaves %d bytes of UDP payload over %s, less than the %d-byte stamp; "
			 "the smallest is %u", s->wire, (int)s->wire - (int)hdr,
			 c->t.server.sa.sa_family == AF_INET6 ? "IPv6" : "IPv4", SALVO_STAMP_SIZE,
			 hdr + SALVO_STAMP_SIZE);
		return -EMSGSIZE;
	}
	c->txc.size = s->wire - hdr;
	c->txc.duration_ns = c->o->trial_ns;
	s->stamped = true;
	rates_setup(c, s, s->wire - FCS);
	return salvo_cfg_finish(&c->txc, err, errlen);
}

/* The sender's frames for one size: raw send's set-up with --size set to it. */
static int size_setup(struct ctx *c, struct size_res *s, char *err, size_t errlen)
{
	struct salvo_pcap *pcap = NULL;
	char spec[32];
	uint32_t frame;			/* bytes without FCS: what a bit rate of --max-rate counts */
	uint32_t need, largest;
	int rc;

	c->t.some_stamped = false;
	if (c->sock)
		return size_setup_sock(c, s, err, errlen);
	if (!strcmp(s->name, "imix"))
		snprintf(spec, sizeof(spec), "imix");
	else
		snprintf(spec, sizeof(spec), "%u", s->wire - FCS);
	rc = salvo_size_parse(&c->l2.size, spec, err, errlen);
	if (rc)
		return rc;
	c->txc.duration_ns = c->o->trial_ns;
	rc = salvo__raw_setup(&c->txc, &c->l2, &pcap, err, errlen);
	if (rc)
		return rc;
	if (!strcmp(s->name, "imix"))
		s->wire = c->txc.size + FCS;
	/*
	 * imix mixes frames too short for a stamp (64 B: 60 without FCS, less
	 * than the 74 of headers + stamp): its trials count frames for loss;
	 * the frame builder stamps its frames that fit (576, 1500), which give
	 * latency and order.
	 */
	need = salvo_l2_hdr_len(&c->l2) + SALVO_STAMP_SIZE;
	largest = c->l2.size.mode == SALVO_SIZE_RANGE ? c->l2.size.hi : c->l2.size.lo;
	for (unsigned int i = 0; c->l2.size.mode == SALVO_SIZE_WEIGHTED && i < c->l2.size.n; i++)
		largest = SALVO_MAX(largest, c->l2.size.sizes[i]);
	s->stamped = c->l2.stamp && c->l2.size.mode == SALVO_SIZE_FIXED && need <= c->txc.size;
	s->some_stamped = c->l2.stamp && !s->stamped && need <= largest;
	c->t.some_stamped = s->some_stamped;
	frame = c->txc.size;
	rates_setup(c, s, frame);
	return salvo_cfg_finish(&c->txc, err, errlen);
}

static int run_size(struct ctx *c, struct size_res *s, char *err, size_t errlen)
{
	struct salvo_rfc2544_trial w;
	int rc;

	if (c->o->warmup_ns) {
		/* Learning frames (RFC 2544 section 23): fill the DUT's tables; not counted. */
		uint64_t keep = c->t.trial_ns;

		c->t.trial_ns = c->o->warmup_ns;
		rc = salvo_rfc2544_trial(&c->t, s->max_fps > 0 ? SALVO_MIN(1000.0, s->max_fps) : 1000.0, 0,
					 &w, err, errlen);
		c->t.trial_ns = keep;
		if (rc)
			return rc;
		if (w.tx && !w.rx) {
			snprintf(err, errlen, "none of the %" PRIu64 " warm-up frames came back on %s: "
				 "is the device under test forwarding them there?", w.tx,
				 c->sock ? "the server" : c->o->rx);
			return -EHOSTUNREACH;
		}
	}
	if (c->mask & T_THROUGHPUT) {
		rc = salvo_rfc2544_throughput(&c->t, &s->max_fps, 0, &s->ndr, err, errlen);
		if (!rc && c->pdr > 0) {
			rc = salvo_rfc2544_throughput(&c->t, &s->max_fps, c->pdr, &s->pdr, err, errlen);
		} else if (!rc) {
			s->pdr = s->ndr;	/* --pdr 0: the PDR is the NDR, no second search */
			s->pdr.trials = s->pdr.reordered_trials = s->pdr.duplicate_trials = s->pdr.retried = 0;
		}
		if (rc)
			return rc;
		s->has_tp = true;
	}
	if (s->max_fps <= 0) {
		/* No search ran: one trial as fast as the tester goes gives the maximum rate. */
		rc = salvo_rfc2544_trial(&c->t, 0, 0, &w, err, errlen);
		if (rc)
			return rc;
		s->max_fps = w.tx_fps;
	}
	if (c->mask & T_LATENCY) {
		if (s->ndr.found) {
			rc = salvo_rfc2544_latency(&c->t, s->ndr.rate_fps, c->o->latency_trials, &s->lat, err, errlen);
			if (rc)
				return rc;
		}
		s->has_lat = true;
	}
	if (c->mask & T_LOSS) {
		rc = salvo_rfc2544_loss_rate(&c->t, s->max_fps, &s->loss, err, errlen);
		if (rc)
			return rc;
		s->has_loss = true;
	}
	if (c->mask & T_B2B) {
		uint64_t cap = c->o->b2b_max ? c->o->b2b_max :
			(uint64_t)SALVO_MAX(1.0, s->max_fps * (double)c->o->trial_ns / 1e9);

		rc = salvo_rfc2544_b2b(&c->t, cap, c->o->repeat, &s->b2b, err, errlen);
		if (rc)
			return rc;
		s->has_b2b = true;
	}
	return 0;
}

/* --- output ----------------------------------------------------------------- */

static const char *si(double v, char *b, size_t n)
{
	return salvo_fmt_si(v, b, n);
}

static const char *pct_line(const struct size_res *s, double fps, char *b, size_t n)
{
	if (s->line_fps <= 0)
		return "-";
	snprintf(b, n, "%.1f", 100 * fps / s->line_fps);
	return b;
}

static double mbit(const struct size_res *s, double fps)
{
	/* Frame bits with FCS, as RFC 2544 quotes throughput; not the preamble or gap. */
	return fps * 8.0 * s->wire / 1e6;
}

static void search_cell(FILE *f, const struct size_res *s, const struct salvo_rfc2544_search *r)
{
	char a[32], b[32];

	if (!r->found)
		fprintf(f, "  %10s %9s %6s", "none", "-", "-");
	else
		fprintf(f, "  %10s %9.1f %6s", si(r->rate_fps, a, sizeof(a)), mbit(s, r->rate_fps),
			pct_line(s, r->rate_fps, b, sizeof(b)));
}

static void text_out(FILE *f, const struct ctx *c, const struct size_res *v, unsigned int n)
{
	char a[SALVO_ADDR_STRLEN], b[32];
	bool any;

	if (c->sock)
		fprintf(f, "rfc2544: UDP -> DUT -> salvo serve %s (socket mode), %s backend, trial %.2f s, resolution %.2f%%\n",
			salvo_addr_str(&c->t.server, a, sizeof(a)), c->t.tx_ops->name,
			(double)c->o->trial_ns / 1e9, 100 * c->t.resolution);
	else
		fprintf(f, "rfc2544: %s -> DUT -> %s, %s backend, trial %.2f s, resolution %.2f%%\n",
			c->o->tx, c->o->rx, c->t.tx_ops->name, (double)c->o->trial_ns / 1e9,
			100 * c->t.resolution);
	fprintf(f, "line rate: %s\n", c->line_note);
	if (c->mask & T_THROUGHPUT) {
		fprintf(f, "\nthroughput (frame sizes with FCS; Mbit/s of frames; %% of line rate):\n");
		fprintf(f, "  %6s  %10s %9s %6s  %10s %9s %6s  %10s  %6s  %s\n", "size", "NDR fps",
			"Mbit/s", "%line", "PDR fps", "Mbit/s", "%line", "max fps", "trials", "notes");
		for (unsigned int i = 0; i < n; i++) {
			const struct size_res *s = &v[i];

			if (!s->has_tp)
				continue;
			fprintf(f, "  %6s", s->name);
			search_cell(f, s, &s->ndr);
			search_cell(f, s, &s->pdr);
			fprintf(f, "  %10s  %6u  ", si(s->max_fps, a, sizeof(a)), s->ndr.trials + s->pdr.trials);
			if (!s->ndr.found)
				fprintf(f, "no NDR above the floor (%s fps); ", si(s->ndr.floor_fps, b, sizeof(b)));
			if (s->ndr.at_max)
				fprintf(f, "NDR at the maximum rate%s; ", s->ceiling ? " (the tester's ceiling: the DUT may do more)" : "");
			if (s->ndr.reordered_trials + s->pdr.reordered_trials)
				fprintf(f, "REORDERED in %u trials; ", s->ndr.reordered_trials + s->pdr.reordered_trials);
			if (s->ndr.duplicate_trials + s->pdr.duplicate_trials)
				fprintf(f, "DUPLICATES in %u trials; ", s->ndr.duplicate_trials + s->pdr.duplicate_trials);
			if (s->ndr.retried + s->pdr.retried)
				fprintf(f, "%u trials run again (--retries); ", s->ndr.retried + s->pdr.retried);
			if (!s->stamped)
				fprintf(f, s->some_stamped ? "loss by frame count, order from its stamped frames; " :
							     "no stamp (frame counts); ");
			fprintf(f, "\n");
		}
		fprintf(f, "  PDR: loss <= %.3f%%\n", 100 * c->pdr);
	}
	any = false;
	for (unsigned int i = 0; i < n; i++)
		any |= v[i].has_lat;
	if (any) {
		fprintf(f, "\nlatency at NDR (one-way, us; p50 of each trial: mean, min, max over the trials;\n"
			   "percentiles of every sample of every trial):\n");
		fprintf(f, "  %6s  %10s  %6s  %9s %9s %9s  %9s %9s %9s %9s %9s %9s %9s %9s  %s\n", "size", "rate fps",
			"trials", "p50 mean", "p50 min", "p50 max", "min", "mean", "p50", "p90", "p99", "p99.9",
			"p99.99", "max", "notes");
		for (unsigned int i = 0; i < n; i++) {
			const struct size_res *s = &v[i];
			const struct salvo_report_latency *l = &s->lat.latency;

			if (!s->has_lat)
				continue;
			if (!s->ndr.found || !s->lat.has_latency) {
				fprintf(f, "  %6s  %s\n", s->name, !s->ndr.found ? "no NDR: nothing to measure at" :
					"no stamps came back (frames too short for a stamp?)");
				continue;
			}
			fprintf(f, "  %6s  %10s  %6u  %9.1f %9.1f %9.1f  %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f  %s%s%s%s\n",
				s->name, si(s->lat.offered_fps, a, sizeof(a)), s->lat.trials, s->lat.p50_mean / 1e3,
				s->lat.p50_min / 1e3, s->lat.p50_max / 1e3, l->min / 1e3, l->mean / 1e3, l->p50 / 1e3,
				l->p90 / 1e3, l->p99 / 1e3, l->p999 / 1e3, l->p9999 / 1e3, l->max / 1e3,
				s->lat.lossy_trials ? "frames lost in some trials; " : "",
				s->some_stamped ? "the mix's stamped frames only; " : "",
				s->lat.merged ? "" : "percentiles: the trials' weighted mean (no histogram); ",
				s->lat.reordered_trials ? "REORDERED" : "");
		}
	}
	any = false;
	for (unsigned int i = 0; i < n; i++)
		any |= v[i].has_loss;
	if (any) {
		fprintf(f, "\nframe loss rate (from 100%% of the maximum rate down):\n");
		fprintf(f, "  %6s  %6s  %10s  %10s  %10s  %8s  %s\n", "size", "%max", "offered", "sent", "lost", "loss %", "notes");
		for (unsigned int i = 0; i < n; i++) {
			for (unsigned int k = 0; k < v[i].loss.n; k++) {
				const struct salvo_rfc2544_trial *r = &v[i].loss.step[k];

				fprintf(f, "  %6s  %6u  %10s  %10" PRIu64 "  %10" PRIu64 "  %8.3f  %s%s\n", v[i].name,
					100 - 10 * k, si(r->offered_fps, a, sizeof(a)), r->tx, r->lost,
					100 * r->loss_ratio, r->reordered ? "REORDERED " : "",
					r->duplicates ? "DUPLICATES" : "");
			}
		}
	}
	any = false;
	for (unsigned int i = 0; i < n; i++)
		any |= v[i].has_b2b;
	if (any) {
		fprintf(f, "\nback-to-back (longest burst without loss, frames):\n");
		fprintf(f, "  %6s  %10s  %10s  %10s  %10s  %6s  %s\n", "size", "mean", "stddev", "min", "max",
			"repeat", "notes");
		for (unsigned int i = 0; i < n; i++) {
			const struct salvo_rfc2544_b2b *b2 = &v[i].b2b;

			if (!v[i].has_b2b)
				continue;
			fprintf(f, "  %6s  %10.1f  %10.1f  %10" PRIu64 "  %10" PRIu64 "  %6u  %s%s\n", v[i].name,
				b2->mean, b2->stddev, b2->min, b2->max, b2->repeat,
				b2->capped ? "the longest burst tried passed (--b2b-max); " : "",
				b2->reordered_trials ? "REORDERED" : "");
		}
	}
}

static json_t *latency_ns_json(const struct salvo_report_latency *l)
{
	return json_pack("{s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "count", (json_int_t)l->count, "clamped", (json_int_t)l->clamped,
			 "min", (json_int_t)l->min, "mean", l->mean, "p50", (json_int_t)l->p50,
			 "p90", (json_int_t)l->p90, "p99", (json_int_t)l->p99,
			 "p999", (json_int_t)l->p999, "p9999", (json_int_t)l->p9999,
			 "max", (json_int_t)l->max);
}

static json_t *trial_json(const struct salvo_rfc2544_trial *r)
{
	json_t *o = json_pack("{s:f, s:I, s:I, s:I, s:f, s:f, s:I, s:I, s:I, s:b}",
			      "offered_fps", r->offered_fps, "tx", (json_int_t)r->tx, "rx", (json_int_t)r->rx,
			      "lost", (json_int_t)r->lost, "loss_ratio", r->loss_ratio, "tx_fps", r->tx_fps,
			      "reordered", (json_int_t)r->reordered, "duplicates", (json_int_t)r->duplicates,
			      "ring_drops", (json_int_t)r->ring_drops, "stamped", r->stamped);

	if (r->count)
		json_object_set_new(o, "burst", json_integer((json_int_t)r->count));
	if (r->has_latency)
		json_object_set_new(o, "latency_ns", latency_ns_json(&r->latency));
	return o;
}

static json_t *latency_json(const struct salvo_rfc2544_latency *r)
{
	json_t *o = json_pack("{s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
			      "offered_fps", r->offered_fps, "trials", (json_int_t)r->trials,
			      "latency_trials", (json_int_t)r->latency_trials, "tx", (json_int_t)r->tx,
			      "rx", (json_int_t)r->rx, "lost", (json_int_t)r->lost,
			      "lossy_trials", (json_int_t)r->lossy_trials,
			      "reordered_trials", (json_int_t)r->reordered_trials,
			      "duplicate_trials", (json_int_t)r->duplicate_trials, "merged", r->merged);

	if (r->has_latency) {
		json_object_set_new(o, "p50_mean_ns", json_real(r->p50_mean));
		json_object_set_new(o, "p50_min_ns", json_integer((json_int_t)r->p50_min));
		json_object_set_new(o, "p50_max_ns", json_integer((json_int_t)r->p50_max));
		json_object_set_new(o, "latency_ns", latency_ns_json(&r->latency));
	}
	return o;
}

static json_t *search_json(const struct size_res *s, const struct salvo_rfc2544_search *r)
{
	json_t *o = json_pack("{s:f, s:b, s:b, s:f, s:f, s:I, s:I, s:I}", "tolerance", r->tolerance,
			      "found", r->found, "at_max", r->at_max, "rate_fps", r->rate_fps,
			      "floor_fps", r->floor_fps, "trials", (json_int_t)r->trials,
			      "reordered_trials", (json_int_t)r->reordered_trials,
			      "duplicate_trials", (json_int_t)r->duplicate_trials);

	json_object_set_new(o, "retried", json_integer(r->retried));

	json_object_set_new(o, "bits_per_second", json_real(r->rate_fps * 8.0 * s->wire));
	json_object_set_new(o, "line_percent", s->line_fps > 0 ? json_real(100 * r->rate_fps / s->line_fps) : json_null());
	if (r->found)
		json_object_set_new(o, "trial", trial_json(&r->best));
	return o;
}

static json_t *doc_json(const struct ctx *c, const struct size_res *v, unsigned int n, bool interrupted)
{
	json_t *root = json_object(), *arr = json_array();
	char a[SALVO_ADDR_STRLEN];

	json_object_set_new(root, "schema", json_integer(SALVO_JSON_SCHEMA));
	json_object_set_new(root, "type", json_string("rfc2544"));
	json_object_set_new(root, "command", json_string("rfc2544"));
	json_object_set_new(root, "backend", json_string(c->t.tx_ops->name));
	json_object_set_new(root, "mode", json_string(c->sock ? "socket" : "raw"));
	json_object_set_new(root, "server", c->sock ? json_string(salvo_addr_str(&c->t.server, a, sizeof(a))) :
						       json_null());
	json_object_set_new(root, "rx_backend", c->sock ? json_null() : json_string(c->t.rx_ops->name));
	json_object_set_new(root, "tx_iface", c->sock ? json_null() : json_string(c->o->tx));
	json_object_set_new(root, "rx_iface", c->sock ? json_null() : json_string(c->o->rx));
	json_object_set_new(root, "trial_s", json_real((double)c->o->trial_ns / 1e9));
	json_object_set_new(root, "resolution", json_real(c->t.resolution));
	json_object_set_new(root, "line_rate_bps", c->line_bps > 0 ? json_real(c->line_bps) : json_null());
	json_object_set_new(root, "line_rate_note", json_string(c->line_note));
	json_object_set_new(root, "trials", json_integer(c->t.trials));
	json_object_set_new(root, "interrupted", json_boolean(interrupted));
	for (unsigned int i = 0; i < n; i++) {
		const struct size_res *s = &v[i];
		json_t *o = json_object();

		json_object_set_new(o, "size", json_string(s->name));
		json_object_set_new(o, "frame_bytes", json_integer(s->wire));
		json_object_set_new(o, "stamped", json_boolean(s->stamped));
		json_object_set_new(o, "partly_stamped", json_boolean(s->some_stamped));
		json_object_set_new(o, "max_fps", json_real(s->max_fps));
		json_object_set_new(o, "max_is_tester_ceiling", json_boolean(s->ceiling));
		json_object_set_new(o, "line_fps", s->line_fps > 0 ? json_real(s->line_fps) : json_null());
		if (s->has_tp) {
			json_object_set_new(o, "ndr", search_json(s, &s->ndr));
			json_object_set_new(o, "pdr", search_json(s, &s->pdr));
		}
		if (s->has_lat)
			json_object_set_new(o, "latency", s->ndr.found ? latency_json(&s->lat) : json_null());
		if (s->has_loss) {
			json_t *l = json_array();

			for (unsigned int k = 0; k < s->loss.n; k++) {
				json_t *t = trial_json(&s->loss.step[k]);

				json_object_set_new(t, "percent_of_max", json_integer(100 - 10 * k));
				json_array_append_new(l, t);
			}
			json_object_set_new(o, "loss", l);
		}
		if (s->has_b2b) {
			json_t *fr = json_array();

			for (unsigned int k = 0; k < s->b2b.repeat; k++)
				json_array_append_new(fr, json_integer((json_int_t)s->b2b.frames[k]));
			json_object_set_new(o, "b2b", json_pack("{s:o, s:f, s:f, s:I, s:I, s:b, s:I}", "frames", fr,
								"mean", s->b2b.mean, "stddev", s->b2b.stddev,
								"min", (json_int_t)s->b2b.min, "max", (json_int_t)s->b2b.max,
								"capped", s->b2b.capped,
								"reordered_trials", (json_int_t)s->b2b.reordered_trials));
		}
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "sizes", arr);
	return root;
}

/* --report DIR: report.md (the text tables), data files and gnuplot plots. */
static int report_write(const struct ctx *c, const struct size_res *v, unsigned int n, char *err, size_t errlen)
{
	const char *d = c->o->report;
	char path[4096];
	bool has_lat;
	FILE *f;

	if (mkdir(d, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "--report %.300s: %s", d, strerror(errno));
		return -errno;
	}
#define OPEN(name)                                                                     \
	do {                                                                           \
		snprintf(path, sizeof(path), "%s/%s", d, name);                        \
		f = fopen(path, "w");                                                  \
		if (!f) {                                                              \
			snprintf(err, errlen, "%.300s: %s", path, strerror(errno));     \
			return -errno;                                                 \
		}                                                                      \
	} while (0)
	OPEN("throughput.dat");
	fprintf(f, "# size frame_bytes ndr_fps pdr_fps ndr_line_pct pdr_line_pct\n");
	for (unsigned int i = 0; i < n; i++)
		if (v[i].has_tp)
			fprintf(f, "%s %u %.1f %.1f %.2f %.2f\n", v[i].name, v[i].wire, v[i].ndr.rate_fps,
				v[i].pdr.rate_fps,
				v[i].line_fps > 0 ? 100 * v[i].ndr.rate_fps / v[i].line_fps : 0,
				v[i].line_fps > 0 ? 100 * v[i].pdr.rate_fps / v[i].line_fps : 0);
	fclose(f);
	OPEN("loss.dat");
	fprintf(f, "# size percent_of_max offered_fps loss_percent (one block per size)\n");
	for (unsigned int i = 0; i < n; i++) {
		if (v[i].loss.n)	/* the block's header: gnuplot's columnhead(1) titles it */
			fprintf(f, "%s percent_of_max offered_fps loss_percent\n", v[i].name);
		for (unsigned int k = 0; k < v[i].loss.n; k++)
			fprintf(f, "%s %u %.1f %.4f\n", v[i].name, 100 - 10 * k, v[i].loss.step[k].offered_fps,
				100 * v[i].loss.step[k].loss_ratio);
		if (v[i].loss.n)
			fprintf(f, "\n\n");
	}
	fclose(f);
	OPEN("latency.dat");
	has_lat = false;
	fprintf(f, "# size min_us p50_us p90_us p99_us p999_us max_us\n");
	for (unsigned int i = 0; i < n; i++) {
		const struct salvo_report_latency *l = &v[i].lat.latency;

		if (v[i].has_lat && v[i].lat.has_latency && (has_lat = true))
			fprintf(f, "%s %.1f %.1f %.1f %.1f %.1f %.1f\n", v[i].name, l->min / 1e3, l->p50 / 1e3,
				l->p90 / 1e3, l->p99 / 1e3, l->p999 / 1e3, l->max / 1e3);
	}
	fclose(f);
	OPEN("plots.gp");
	/* Only the plots that have data: gnuplot fails on an empty file. */
	fprintf(f, "set terminal svg size 800,480 dynamic\nset grid\nset key outside\nset style data linespoints\n");
	if (c->mask & T_THROUGHPUT)
		fprintf(f, "set output 'throughput.svg'\nset title 'Throughput by frame size'\n"
			   "set xlabel 'frame size (bytes, FCS included)'\nset ylabel 'frames/s'\n"
			   "plot 'throughput.dat' using 0:3:xtic(1) title 'NDR', '' using 0:4:xtic(1) title 'PDR'\n"
			   "set output 'throughput_line.svg'\nset title 'Throughput, %% of line rate%s'\n"
			   "set ylabel '%% of line rate'\n"
			   "plot 'throughput.dat' using 0:5:xtic(1) title 'NDR', '' using 0:6:xtic(1) title 'PDR'\n",
			c->line_bps > 0 ? "" : " (line rate unknown: 0)");
	if (c->mask & T_LOSS)
		fprintf(f, "set output 'loss.svg'\nset title 'Frame loss rate'\nset xlabel 'offered load (%% of the maximum rate)'\n"
			   "set ylabel 'frames lost (%%)'\nplot for [i=0:%u] 'loss.dat' index i using 2:4 title columnhead(1)\n",
			n ? n - 1 : 0);
	if (has_lat)
		fprintf(f, "set output 'latency.svg'\nset title 'Latency at NDR'\nset xlabel 'frame size'\nset ylabel 'one-way latency (us)'\n"
			   "plot 'latency.dat' using 0:3:xtic(1) title 'p50', '' using 0:4:xtic(1) title 'p90', "
			   "'' using 0:5:xtic(1) title 'p99', '' using 0:6:xtic(1) title 'p99.9', '' using 0:7:xtic(1) title 'max'\n");
	fclose(f);
	OPEN("report.md");
	fprintf(f, "# RFC 2544 report\n\n```\n");
	text_out(f, c, v, n);
	fprintf(f, "```\n\n");
	if (c->mask & T_THROUGHPUT)
		fprintf(f, "![throughput](throughput.svg)\n\n![throughput, %% of line rate](throughput_line.svg)\n\n");
	if (c->mask & T_LOSS)
		fprintf(f, "![frame loss rate](loss.svg)\n\n");
	if (has_lat)
		fprintf(f, "![latency](latency.svg)\n");
	fclose(f);
#undef OPEN
	snprintf(path, sizeof(path), "cd '%s' && gnuplot plots.gp 2>/dev/null", d);
	if (strchr(d, '\'') || system(path) != 0) {
		snprintf(err, errlen, "--report %s: gnuplot could not draw the plots (is gnuplot installed?); the data and report.md are written", d);
		return -ENOENT;
	}
	return 0;
}

/*
 * Socket mode's sender: `udp send --server`'s, stamped on CLOCK_REALTIME
 * (the server is another host: one-way latency needs the two clocks
 * synchronized, PTP or NTP; within one host it is exact).  Every size is
 * checked before anything is sent.  0, or the exit code.
 */
static int sock_setup(struct ctx *c, struct size_res *v, unsigned int n, char *err, size_t errlen)
{
	const char *skipped = NULL;
	char why[256];

	salvo_cfg_init(&c->txc);
	c->txc.command = "rfc2544";
	c->txc.proto = SALVO_PROTO_UDP;
	c->txc.dir = SALVO_DIR_TX;
	c->txc.connect = true;
	c->txc.threads = 1;
	c->txc.backend = c->o->backend;
	c->txc.stamp = true;
	c->txc.stamp_clock = CLOCK_REALTIME;
	c->txc.remote = c->t.server;	/* the port is the one the server accepts on, per trial */
	for (unsigned int i = 0; i < n; i++) {
		int rc = size_setup(c, &v[i], err, errlen);

		if (rc)
			return rc == -EINVAL || rc == -EMSGSIZE ?
				salvo_usage_error(NULL, "size %s: %s", v[i].name, err) :
				salvo_runtime_error("rfc2544", "%s", err);
	}
	if (salvo_backend_select(&c->txc, &c->t.tx_ops, err, errlen, &skipped, why, sizeof(why)))
		return salvo_runtime_error("rfc2544", "%s", err);
	if (skipped && !c->o->json)
		fprintf(stderr, "salvo: backend %s unavailable (%s); using %s\n", skipped, why, c->t.tx_ops->name);
	c->t.run = salvo_rfc2544_run_sock;
	c->t.tx = &c->txc;
	c->t.tx_app = &salvo_app_gen;
	c->t.token = c->o->token ? c->o->token : getenv("SALVO_TOKEN");
	c->t.ctl_timeout_ms = c->txc.timeout_ms ? c->txc.timeout_ms : 5000;
	return 0;
}

static int rfc_run(void *o_, int argc, char **argv)
{
	struct rfc_opts *o = o_;
	struct ctx c = {.o = o};
	struct size_res *v;
	struct salvo__raw_fields fl = {
		.dst = o->dst, .src = o->src, .dst_mac = o->dst_mac, .src_mac = o->src_mac,
		.dport = o->dport, .sport = o->sport, .flows = o->flows,
	};
	const char *skipped = NULL;
	struct sigaction sa = {.sa_handler = on_stop};
	char err[512], why[256], note[256];
	unsigned int n = 0, i;
	int rc;

	c.sock = o->server != NULL;
	if (c.sock) {
		if (o->tx || o->rx)
			return salvo_usage_error(NULL, "--server (socket mode) and --tx/--rx (raw mode) exclude each other");
		if (o->dst || o->src || o->dst_mac || o->src_mac || o->dport || o->sport || o->flows)
			return salvo_usage_error(NULL, "--dst, --src, --dst-mac, --src-mac, --dport, --sport and --flows are raw mode's; --server's data port is the server's");
		if (salvo_cli_server_addr(o->server, &c.t.server, err, sizeof(err)))
			return salvo_usage_error(NULL, "--server: %s", err);
	} else {
		if (o->token)
			return salvo_usage_error(NULL, "--token needs --server");
		if (!o->tx || !o->rx)
			return salvo_usage_error(NULL, "give --tx IF and --rx IF (raw mode), or --server HOST[:PORT] (socket mode)");
		if (!strcmp(o->tx, o->rx))
			return salvo_usage_error(NULL, "--tx and --rx are the same interface (%s): the frames must cross the device under test", o->tx);
		if (!o->dst)
			return salvo_usage_error(NULL, "no destination: give --dst IP (an address the DUT routes out of its port towards --rx)");
	}
	if (!o->trial_ns)
		return salvo_usage_error(NULL, "--trial must be longer than 0");
	c.pdr = 0.005;
	if (o->pdr && pct_parse(o->pdr, "--pdr", &c.pdr))
		return 2;
	c.t.resolution = 0.005;
	if (o->resolution && pct_parse(o->resolution, "--resolution", &c.t.resolution))
		return 2;
	if (o->resolution && c.t.resolution <= 0)
		return salvo_usage_error(NULL, "--resolution must be above 0%%");
	if (rc = tests_parse(argc, argv, &c.mask), rc)
		return rc;
	if (o->line_rate.pps > 0)
		return salvo_usage_error(NULL, "--line-rate is a bit rate (10Gbit), not frames/s");
	if ((o->min_rate.pps > 0 && o->max_rate.pps > 0 && o->min_rate.pps >= o->max_rate.pps) ||
	    (o->min_rate.bps > 0 && o->max_rate.bps > 0 && o->min_rate.bps >= o->max_rate.bps))
		return salvo_usage_error(NULL, "--min-rate must be below --max-rate");
	if (salvo_cli_backend_check(o->backend, err, sizeof(err)))
		return salvo_usage_error(NULL, "--backend: %s", err);
	v = calloc(MAX_SIZES, sizeof(*v));
	if (!v)
		return salvo_runtime_error("rfc2544", "out of memory");
	rc = sizes_parse(o->sizes ? o->sizes : c.sock ? "128,256,512,1024,1280,1518" :
				 "64,128,256,512,1024,1280,1518,imix", v, &n);
	if (rc)
		goto out_free;
	salvo_l2_cfg_init(&c.l2);
	if (c.sock) {
		rc = sock_setup(&c, v, n, err, sizeof(err));
		if (rc)
			goto out;
		goto run;
	}
	salvo_cfg_init(&c.txc);
	c.txc.command = "rfc2544 tx";
	c.txc.iface = o->tx;
	c.txc.backend = o->backend;
	rc = salvo__raw_l2_fields(&c.l2, &fl, err, sizeof(err));
	if (rc) {
		rc = salvo_usage_error(NULL, "%s", err);
		goto out;
	}
	c.l2.stamp = true;
	c.l2.stamp_clock = CLOCK_MONOTONIC;	/* both ports in one process: one clock, exact one-way latency */
	for (i = 0; i < n; i++) {
		rc = size_setup(&c, &v[i], err, sizeof(err));
		if (rc) {
			rc = rc == -EINVAL || rc == -EDESTADDRREQ || rc == -EMSGSIZE ?
				salvo_usage_error(NULL, "size %s: %s", v[i].name, err) :
				salvo_runtime_error("rfc2544", "%s", err);
			goto out;
		}
	}
	salvo_cfg_init(&c.rxc);
	c.rxc.command = "rfc2544 rx";
	c.rxc.proto = SALVO_PROTO_L2;
	c.rxc.dir = SALVO_DIR_RX;
	c.rxc.listen = true;
	c.rxc.iface = o->rx;
	c.rxc.size = 60;
	c.rxc.backend = o->backend;
	if (salvo_cfg_finish(&c.rxc, err, sizeof(err))) {
		rc = salvo_usage_error(NULL, "%s", err);
		goto out;
	}
	/* Both ports on the backend a raw command would pick: the engine's own choice, by caps. */
	if (salvo_backend_select(&c.txc, &c.t.tx_ops, err, sizeof(err), &skipped, why, sizeof(why)) ||
	    salvo_backend_select(&c.rxc, &c.t.rx_ops, err, sizeof(err), &skipped, why, sizeof(why))) {
		rc = salvo_runtime_error("rfc2544", "%s", err);
		goto out;
	}
	if (skipped && !o->json)
		fprintf(stderr, "salvo: backend %s unavailable (%s); using %s\n", skipped, why, c.t.tx_ops->name);
	c.t.run = salvo_rfc2544_run_raw;
	c.t.tx = &c.txc;
	c.t.rx = &c.rxc;
	c.t.tx_app = &salvo_app_rawgen;
	/* The receiver finds each frame's stamp with the frame decoder, as raw recv does. */
	c.hooks.locate = salvo__raw_locate;
	c.rx_app = salvo_app_sink;
	c.rx_app.arg = &c.hooks;
	c.t.rx_app = &c.rx_app;
run:
	c.t.trial_ns = o->trial_ns;
	c.t.settle_ns = o->settle_ns;
	c.t.drain_ns = o->drain_ns;
	c.t.retries = o->retries;
	c.t.stop = &stop_req;
	c.t.on_trial = on_trial;
	c.t.arg = &c;
	if (o->line_rate.bps > 0 || o->line_rate.pps > 0) {
		c.line_bps = o->line_rate.bps;
		snprintf(c.line_note, sizeof(c.line_note), "--line-rate, %.0f Mbit/s", c.line_bps / 1e6);
	} else if (c.sock) {
		snprintf(c.line_note, sizeof(c.line_note), "unknown: socket mode names no interface; give --line-rate");
	} else {
		c.line_bps = link_bps(o->tx, note, sizeof(note));
		snprintf(c.line_note, sizeof(c.line_note), "%s%.200s", c.line_bps > 0 ? "" : "unknown: ", note);
	}
	for (i = 0; i < n; i++)
		v[i].line_fps = c.line_bps > 0 ? c.line_bps / (8.0 * (v[i].wire + WIRE_OVERHEAD)) : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (i = 0; i < n && !rc; i++) {
		rc = size_setup(&c, &v[i], err, sizeof(err));
		if (!rc)
			rc = run_size(&c, &v[i], err, sizeof(err));
	}
	if (rc && rc != -EINTR) {
		rc = salvo_runtime_error("rfc2544", "size %s: %s", v[i - 1].name, err);
		goto out;
	}
	n = rc == -EINTR ? i - 1 : n;
	if (o->json) {
		json_t *doc = doc_json(&c, v, n, rc == -EINTR);

		salvo_json_print(stdout, doc, true);
		json_decref(doc);
	} else {
		text_out(stdout, &c, v, n);
	}
	fflush(stdout);
	if (rc == -EINTR) {
		rc = salvo_runtime_error("rfc2544", "interrupted; the sizes finished before are reported");
		goto out;
	}
	rc = 0;
	if (o->report && report_write(&c, v, n, err, sizeof(err)))
		rc = salvo_runtime_error("rfc2544", "%s", err);
out:
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	salvo_l2_cfg_free(&c.l2);
out_free:
	free(v);
	return rc;
}

static const struct salvo_cmd rfc_cmd = {
	.name = "rfc2544",
	.args = "[throughput|latency|loss|b2b ...]",
	.min_args = 0,
	.max_args = 4,
	.summary = "benchmark a device: RFC 2544 throughput (NDR/PDR), latency, frame loss rate, back-to-back",
	.description = "Raw mode needs CAP_NET_RAW: frames leave --tx towards --dst through the device\n"
		       "under test and come back on --rx. Socket mode (--server HOST[:PORT]): stamped\n"
		       "UDP to a 'salvo serve', which counts. Without tests named, all four run, per\n"
		       "--sizes. See docs/rfc2544.md.",
	.tables = rfc_tables,
	.opts_size = sizeof(struct rfc_opts),
	.defaults = rfc_defaults,
	.run = rfc_run,
};
SALVO_COMMAND_REGISTER(rfc_cmd)
