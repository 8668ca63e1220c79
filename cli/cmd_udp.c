// SPDX-License-Identifier: MIT
/*
 * salvo udp send / udp recv: the seed's UDP sender and receiver, grown into
 * a traffic generator and a counting, stamp-checking receiver.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <salvo/backend.h>
#include <salvo/doctor.h>
#include <salvo/units.h>

#include "cli.h"

#include "apps/request.h"
#include "apps/gen.h"
#include "apps/sink.h"
#include "serve_client.h"

struct udp_send_opts {
	struct salvo_cli_common c;	/* first: the shared tables point into it */
	const char *message;
	uint64_t size;
	unsigned int flows;
	bool gso, no_gso;
	bool zerocopy;
	bool expect_reply;
	bool no_stamp;
	const char *bind;
	uint64_t sndbuf;
	bool size_seen;
	struct salvo_cli_server srv;
};

static const struct salvo_opt udp_send_table[] = {
	SALVO_OPT("message", SALVO_OPT_STR, struct udp_send_opts, message,
		  .short_name = 'm', .metavar = "TEXT", .help = "send exactly TEXT (once, unless --count/--duration); like the seed's sender"),
	SALVO_OPT("size", SALVO_OPT_SIZE, struct udp_send_opts, size,
		  .short_name = 's', .help = "payload bytes per datagram (default 64, max 65507)", .max = 65507, .seen = SALVO_OPT_SEEN(struct udp_send_opts, size_seen)),
	SALVO_OPT("flows", SALVO_OPT_UINT, struct udp_send_opts, flows,
		  .short_name = 'f', .metavar = "N", .help = "distinct flows (source ports), spread over the threads (default: one per thread)", .min = 1, .max = 65536),
	SALVO_OPT("gso", SALVO_OPT_FLAG, struct udp_send_opts, gso,
		  .help = "UDP GSO: one send carries up to 64 datagrams, each stamped (default for unpaced sends to an IP destination)"),
	SALVO_OPT("no-gso", SALVO_OPT_FLAG, struct udp_send_opts, no_gso,
		  .help = "one datagram per send, also when unpaced"),
	SALVO_OPT("zerocopy", SALVO_OPT_FLAG, struct udp_send_opts, zerocopy,
		  .help = "zero-copy sends where the backend has them"),
	SALVO_OPT("expect-reply", SALVO_OPT_FLAG, struct udp_send_opts, expect_reply,
		  .help = "with --message: wait for the reply and print it"),
	SALVO_OPT("no-stamp", SALVO_OPT_FLAG, struct udp_send_opts, no_stamp,
		  .help = "do not put a salvo stamp in the payload"),
	SALVO_OPT("bind", SALVO_OPT_STR, struct udp_send_opts, bind,
		  .metavar = "ADDR:PORT", .help = "send from this source address"),
	SALVO_OPT("sndbuf", SALVO_OPT_SIZE, struct udp_send_opts, sndbuf,
		  .help = "socket send buffer to ask for", .max = 1u << 30),
	SERVER_OPTS(struct udp_send_opts),
	SALVO_OPT("rcvbuf", SALVO_OPT_SIZE, struct udp_send_opts, srv.rcvbuf,
		  .help = "with --server: the receiver's socket buffer (the server's; ours with -R)", .min = 4096, .max = 1u << 30),
	SALVO_OPT_END,
};

static const struct salvo_opt *const udp_send_tables[] = {
	udp_send_table, salvo_cli_count_opt, salvo_cli_rate_opt, salvo_cli_run_opts, NULL,
};

static void udp_send_defaults(void *o)
{
	struct udp_send_opts *u = o;

	salvo_cli_common_defaults(&u->c);
	u->size = 64;
}

static void print_reply(const struct salvo_pkt *k, void *arg)
{
	(void)arg;
	salvo_print_payload("", k);
}

/* Whether GSO carries this run's datagrams, and why: the report says both. */
struct gso_note {
	bool on;
	char why[300];
};

/*
 * GSO by default for unpaced sends to an IP destination, measured
 * 2026-11-30 on the 2-core VM (bench/run.sh --only udp64, docs/backends.md):
 * the default udp send into udp recv delivered 605,544 datagrams/s, with
 * --gso 5,447,015/s, none lost.  Every segment leaves as an ordinary datagram
 * with its own stamp, so receivers see no difference.  Paced runs keep one
 * datagram per send (their departures are what they measure) unless --gso
 * says otherwise; a unix destination has no UDP_SEGMENT.  A backend without
 * GSO, or a kernel that refuses UDP_SEGMENT, means plain sends, said in the
 * report.
 */
static void gso_decide(const struct udp_send_opts *u, struct salvo_cfg *cfg, struct gso_note *g)
{
	const struct salvo_backend_ops *ops = NULL;
	const char *skipped;
	char err[256], why[256];

	g->on = false;
	if (u->gso) {
		g->on = true;
		snprintf(g->why, sizeof(g->why), "--gso");
	} else if (u->no_gso) {
		snprintf(g->why, sizeof(g->why), "--no-gso");
	} else if (cfg->message) {
		snprintf(g->why, sizeof(g->why), "--message: one datagram per send");
	} else if (u->srv.server) {
		snprintf(g->why, sizeof(g->why), "--server tests send plainly unless --gso");
	} else if (cfg->rate_pps > 0 || cfg->rate_bps > 0) {
		snprintf(g->why, sizeof(g->why), "paced (--rate): one datagram per send unless --gso");
	} else if (cfg->remote.sa.sa_family != AF_INET && cfg->remote.sa.sa_family != AF_INET6) {
		snprintf(g->why, sizeof(g->why), "unix destination: no UDP GSO");
	} else if (cfg->size > 65507 / 2) {
		snprintf(g->why, sizeof(g->why), "--size above %u: one datagram per send anyway", 65507 / 2);
	} else {
		/* The backend the run will use: the named one, or the path's default here. */
		if (cfg->backend)
			ops = salvo_backend_find(cfg->backend);
		else if (salvo_backend_select(cfg, &ops, err, sizeof(err), &skipped, why, sizeof(why)))
			ops = NULL;
		if (ops && !(ops->caps & SALVO_CAP_GSO))
			snprintf(g->why, sizeof(g->why), "backend %s has no GSO", ops->name);
		else if (ops && salvo_udp_gso_probe(cfg->remote.sa.sa_family, cfg->size, why, sizeof(why)))
			snprintf(g->why, sizeof(g->why), "plain sends: %s", why);
		else if (ops)
			g->on = true, snprintf(g->why, sizeof(g->why), "default for unpaced sends; --no-gso for plain ones");
		else
			snprintf(g->why, sizeof(g->why), "no backend for this run");
	}
	cfg->gso = g->on;
}

/*
 * salvo_cli_tx_failed's rule counts one refusal per datagram; a GSO send's
 * refusal comes back once per send (one ICMP error queued for the whole
 * skb), so with GSO "every datagram refused" is every send answered by an
 * error, refusals among them (syscall: 124 sends, 124 errors, 63 refused for
 * 2000 datagrams to a closed port).
 */
static bool udp_send_failed(const struct salvo_report *rep, void *arg, char *why, size_t len)
{
	const struct gso_note *g = arg;

	if (salvo_cli_tx_failed(rep, arg, why, len))
		return true;
	if (g->on && rep->tx_refused && rep->submissions && rep->tx_errors >= rep->submissions) {
		snprintf(why, len, "every datagram was refused: %" PRIu64 " sent in %" PRIu64
			 " GSO sends, each answered by an error (%" PRIu64 " refused: nobody listening)",
			 rep->tx.packets, rep->submissions, rep->tx_refused);
		return true;
	}
	return false;
}

static void gso_text(FILE *f, const struct salvo_report *rep, void *arg)
{
	const struct gso_note *g = arg;

	(void)rep;
	if (g->on)
		fprintf(f, "  gso: on (%s)\n", g->why);
}

static void gso_json(json_t *root, const struct salvo_report *rep, void *arg)
{
	const struct gso_note *g = arg;

	if (rep->interval)
		return;
	json_object_set_new(root, "gso", json_boolean(g->on));
	json_object_set_new(root, "gso_reason", json_string(g->why));
}

static int udp_send_run(void *o, int argc, char **argv)
{
	struct udp_send_opts *u = o;
	struct salvo_cfg cfg;
	struct salvo_app app;
	struct salvo_sink_hooks hooks = {.on_packet = print_reply};
	struct gso_note gso;
	char err[256];

	salvo_cfg_init(&cfg);
	salvo_cli_common_apply(&u->c, &cfg);
	cfg.command = "udp send";
	cfg.proto = SALVO_PROTO_UDP;
	cfg.dir = SALVO_DIR_TX;
	cfg.connect = true;
	if (!u->srv.server && (u->srv.token || u->srv.reverse || u->srv.bidir || u->srv.rcvbuf))
		return salvo_usage_error(NULL, "--token, --reverse, --bidir and --rcvbuf need --server");
	if (!u->srv.server && argc != 1)
		return salvo_usage_error(NULL, "missing DEST (or --server HOST[:PORT])");
	if (u->srv.server && argc)
		return salvo_usage_error(NULL, "DEST and --server exclude each other (the server opens the data port)");
	if (u->srv.server && (u->bind || u->expect_reply))
		return salvo_usage_error(NULL, "--server excludes --bind and --expect-reply");
	if (!u->srv.server && salvo_addr_parse(argv[0], &cfg.remote, err, sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	if (u->bind) {
		if (salvo_addr_parse_bind(u->bind, NULL, true, &cfg.local, err, sizeof(err)))
			return salvo_usage_error(NULL, "--bind: %s", err);
		if (cfg.local.sa.sa_family != cfg.remote.sa.sa_family)
			return salvo_usage_error(NULL, "--bind and DEST are of different address families");
		cfg.have_local = true;
	}
	cfg.size = (uint32_t)u->size;
	cfg.flows = u->flows;
	cfg.zerocopy = u->zerocopy;
	cfg.stamp = !u->no_stamp;
	cfg.sndbuf = (unsigned int)u->sndbuf;
	if (u->message) {
		size_t n = strlen(u->message);

		if (u->size_seen)
			return salvo_usage_error(NULL, "--message and --size exclude each other");
		if (n > 65507)
			return salvo_usage_error(NULL, "a message of %zu bytes exceeds the UDP maximum of 65507", n);
		if (u->gso)
			return salvo_usage_error(NULL, "--gso does not apply to --message");
		cfg.message = u->message;
		cfg.message_len = (uint32_t)n;
		cfg.size = (uint32_t)n;
		/* Like the seed: one datagram, then exit. */
		if (!cfg.count && !cfg.duration_ns)
			cfg.count = 1;
	} else if (u->expect_reply) {
		return salvo_usage_error(NULL, "--expect-reply needs --message");
	} else if (!cfg.size) {
		return salvo_usage_error(NULL, "--size must be at least 1");
	}
	if (!cfg.count && !cfg.duration_ns)
		cfg.duration_ns = 10 * NSEC_PER_SEC;	/* like iperf3: bounded unless asked */
	if (u->gso && u->no_gso)
		return salvo_usage_error(NULL, "--gso and --no-gso exclude each other");
	gso_decide(u, &cfg, &gso);
	/* Unpaced: the larger burst (cfg.h).  A pacer's bursts are its own. */
	if (!u->c.burst) {
		cfg.burst = salvo_cfg_udp_burst(&cfg);
		if (cfg.gso && cfg.burst == SALVO_UDP_TX_BURST)
			snprintf(gso.why + strlen(gso.why), sizeof(gso.why) - strlen(gso.why),
				 "; %u datagrams a submission (--burst)", SALVO_UDP_TX_BURST);
	}
	if (u->expect_reply) {
		cfg.dir |= SALVO_DIR_RX;
		if (cfg.threads != 1)
			return salvo_usage_error(NULL, "--expect-reply runs one thread");
		app = salvo_app_request;
		app.arg = &hooks;
		u->c.quiet = true;
		return salvo_cli_run(&u->c, &cfg, &app, NULL, NULL);
	}
	if (cfg.message && cfg.count == 1)
		u->c.quiet = true;
	if (u->srv.server)
		return salvo_cli_run_with_server(&u->c, &cfg, &salvo_app_gen, NULL, &u->srv);
	return salvo_cli_run(&u->c, &cfg, &salvo_app_gen,
			     &(struct salvo_cli_extra){.failed = udp_send_failed, .text = gso_text,
						       .json = gso_json, .arg = &gso}, NULL);
}

static const struct salvo_cmd udp_send_cmd = {
	.name = "udp send",
	.args = "DEST",
	.min_args = 0,
	.max_args = 1,
	.summary = "send UDP datagrams: one message (the seed's sender) or paced, stamped traffic",
	.description = "DEST is HOST:PORT, [IPV6]:PORT or unix:/path (datagram socket).\n"
		       "Without --count or --duration a traffic run lasts 10 s; --message alone sends one datagram.\n"
		       "--server HOST[:PORT] replaces DEST: a test with a 'salvo serve' (docs/protocol.md).",
	.tables = udp_send_tables,
	.opts_size = sizeof(struct udp_send_opts),
	.defaults = udp_send_defaults,
	.run = udp_send_run,
};
SALVO_COMMAND_REGISTER(udp_send_cmd)

/* --- udp recv --------------------------------------------------------------- */

struct udp_recv_opts {
	struct salvo_cli_common c;
	bool print;
	bool gro;
	uint64_t rcvbuf;
	bool busy_poll, busy_poll_us_seen;
	unsigned int busy_poll_us;
};

static const struct salvo_opt udp_recv_table[] = {
	SALVO_OPT("print", SALVO_OPT_FLAG, struct udp_recv_opts, print,
		  .short_name = 'p', .help = "print each datagram like the seed's receiver: Got message from ADDR:PORT: TEXT"),
	SALVO_OPT("gro", SALVO_OPT_FLAG, struct udp_recv_opts, gro,
		  .help = "UDP GRO: receive coalesced datagrams, count their segments"),
	SALVO_OPT("rcvbuf", SALVO_OPT_SIZE, struct udp_recv_opts, rcvbuf,
		  .help = "socket receive buffer to ask for (default 8 MiB)", .min = 4096, .max = 1u << 30),
	SALVO_CLI_BUSY_POLL_OPTS(struct udp_recv_opts),
	SALVO_OPT_END,
};

static const struct salvo_opt *const udp_recv_tables[] = {
	udp_recv_table, salvo_cli_count_opt, salvo_cli_run_opts, NULL,
};

static void udp_recv_defaults(void *o)
{
	struct udp_recv_opts *u = o;

	salvo_cli_common_defaults(&u->c);
}

static void print_datagram(const struct salvo_pkt *k, void *arg)
{
	(void)arg;
	salvo_print_payload("Got message from %p: ", k);
}

/*
 * How the receiver waited, in udp ping's and udp echo's words: the text's
 * wait: line, only with --busy-poll (the default summary stays as it was).
 */
static void udp_recv_text(FILE *f, const struct salvo_report *rep, void *arg)
{
	(void)arg;
	if (!rep->interval && rep->busy_poll)
		salvo_report_wait_text(f, rep);
}


/* The summary's "recv" section: the wait keys of echo's, and the batch. */
static void udp_recv_json(json_t *root, const struct salvo_report *rep, void *arg)
{
	const struct salvo_cfg *cfg = arg;
	json_t *o;

	if (rep->interval)
		return;
	o = json_object();
	salvo_report_wait_json(o, rep);
	json_object_set_new(o, "batch", json_integer(cfg->burst));
	json_object_set_new(root, "recv", o);
}

static int udp_recv_run(void *o, int argc, char **argv)
{
	struct udp_recv_opts *u = o;
	struct salvo_cfg cfg;
	struct salvo_app app = salvo_app_sink;
	struct salvo_sink_hooks hooks = {.on_packet = print_datagram};
	struct salvo_cli_extra extra = {.text = udp_recv_text, .json = udp_recv_json, .arg = &cfg};
	char err[256];
	int rc;

	salvo_cfg_init(&cfg);
	salvo_cli_common_apply(&u->c, &cfg);
	rc = salvo_cli_busy_poll_apply(u->busy_poll, u->busy_poll_us, u->busy_poll_us_seen, &cfg);
	if (rc)
		return rc;
	cfg.command = "udp recv";
	cfg.proto = SALVO_PROTO_UDP;
	cfg.dir = SALVO_DIR_RX;
	cfg.listen = true;
	cfg.gro = u->gro;
	cfg.rcvbuf = (unsigned int)u->rcvbuf;
	if (!u->c.burst)
		cfg.burst = salvo_cfg_udp_burst(&cfg);
	if (salvo_addr_parse_bind(argc ? argv[0] : "6667", "127.0.0.1", true, &cfg.local, err,
				  sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	if (u->print) {
		app.arg = &hooks;
		u->c.quiet = true;
	}
	return salvo_cli_run(&u->c, &cfg, &app, &extra, NULL);
}

static const struct salvo_cmd udp_recv_cmd = {
	.name = "udp recv",
	.args = "[ADDR:]PORT",
	.min_args = 0,
	.max_args = 1,
	.summary = "receive UDP datagrams: print them (the seed's receiver) or count loss, reordering, latency",
	.description = "Binds 127.0.0.1 unless an address is given ([::1]:PORT, 0.0.0.0:PORT, unix:/path).\n"
		       "Default port 6667, as in the seed. Runs until --count, --duration or Ctrl-C.\n"
		       "--busy-poll spins on the socket instead of sleeping in the kernel (one core busy\n"
		       "per thread for the run).",
	.tables = udp_recv_tables,
	.opts_size = sizeof(struct udp_recv_opts),
	.defaults = udp_recv_defaults,
	.run = udp_recv_run,
};
SALVO_COMMAND_REGISTER(udp_recv_cmd)
