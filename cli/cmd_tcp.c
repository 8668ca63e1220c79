// SPDX-License-Identifier: MIT
/*
 * salvo tcp send / tcp sink: the seed's TCP sender (connect, send, close)
 * grown into a throughput client, and the server it talks to.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <salvo/units.h>

#include "cli.h"
#include "apps/stream.h"
#include "serve_client.h"

#define MAX_CONN_LINES 32

/*
 * CPU time, two figures (docs/tcp.md):
 * - the data phase: getrusage(RUSAGE_SELF) at the run's first connection
 *   open and at its last connection done (apps/stream.h), the comparable
 *   figure: iperf3 reports getrusage over its test interval the same way;
 * - the whole process so far (RUSAGE_SELF read when the summary is printed,
 *   just after the workers ended: set-up included, what time(1) counts).
 * RUSAGE_SELF rather than the workers' RUSAGE_THREAD summed: the driver
 * thread's work during the traffic (interval reports) is part of its cost,
 * and iperf3, one thread, counts everything it does in that interval too.
 */
struct cpu_use {
	bool phase;		/* a connection opened: the phase figures are set */
	double user_s, sys_s, s, wall_s;	/* the data phase */
	double s_per_gb;	/* < 0: no payload moved (or no phase) */
	double proc_user_s, proc_sys_s, proc_s;	/* the whole process */
};

static void cpu_use_read(struct cpu_use *u, const struct salvo_stream_arg *a, uint64_t bytes)
{
	struct rusage ru;

	memset(u, 0, sizeof(*u));
	u->s_per_gb = -1;
	if (!getrusage(RUSAGE_SELF, &ru)) {
		u->proc_user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
		u->proc_sys_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		u->proc_s = u->proc_user_s + u->proc_sys_s;
	}
	/* The workers have ended: their marks are final; the lock pairs with theirs. */
	pthread_mutex_lock((pthread_mutex_t *)&a->lock);
	u->phase = a->phase_started;
	if (u->phase) {
		u->user_s = a->phase_end.user_s - a->phase_start.user_s;
		u->sys_s = a->phase_end.sys_s - a->phase_start.sys_s;
		u->wall_s = (double)(a->phase_end.ns - a->phase_start.ns) / 1e9;
	}
	pthread_mutex_unlock((pthread_mutex_t *)&a->lock);
	u->s = u->user_s + u->sys_s;
	/* GB = 1e9 bytes of payload, the unit iperf3-style rows compare in. */
	if (bytes && u->phase)
		u->s_per_gb = u->s / ((double)bytes / 1e9);
}

/* Payload this side moved: sent (tcp send) or received (tcp sink). */
static uint64_t moved_bytes(const struct salvo_report *rep, const struct salvo_stream_arg *a)
{
	return a->server ? rep->rx.bytes : rep->tx.bytes;
}

/* Per-connection lines (text) and array (JSON), shared by both commands. */
static void conns_text(FILE *f, const struct salvo_report *rep, void *arg)
{
	struct salvo_stream_arg *a = arg;
	char addr[SALVO_ADDR_STRLEN], b[32];

	fprintf(f, "  connections: %" PRIu64 ", retransmits: %" PRIu64 "\n", rep->conns,
		rep->tx_retrans);
	if (a->splice)
		fprintf(f, "  splice: payload sent from a memfd with sendfile(2); messages unstamped "
			   "(--splice implies --no-stamp)\n");
	if (a->discard)
		fprintf(f, "  discard: bytes dropped by the kernel unread (MSG_TRUNC): throughput "
			   "not comparable with copying receivers; no stamps, loss or latency\n");
	if (!rep->interval) {
		struct cpu_use u;

		cpu_use_read(&u, a, moved_bytes(rep, a));
		if (u.phase)
			fprintf(f, "  cpu: %.3f s (user %.3f, sys %.3f, data phase of %.3f s)", u.s,
				u.user_s, u.sys_s, u.wall_s);
		else
			fprintf(f, "  cpu: no connection opened");
		if (u.s_per_gb >= 0)
			fprintf(f, ", %.3f s per GB", u.s_per_gb);
		else if (u.phase)
			fprintf(f, ", no payload moved");
		fprintf(f, "; whole process %.3f s (user %.3f, sys %.3f)\n", u.proc_s,
			u.proc_user_s, u.proc_sys_s);
	}
	for (unsigned int i = 0; i < a->nrecs && i < MAX_CONN_LINES; i++) {
		const struct salvo_conn_rec *r = &a->recs[i];
		double s = r->close_ns > r->open_ns ? (double)(r->close_ns - r->open_ns) / 1e9 : 0;

		fprintf(f, "    %s: %" PRIu64 " bytes in %.3f s, %s%s%s\n",
			salvo_addr_str(&r->peer, addr, sizeof(addr)), r->bytes, s,
			salvo_fmt_bits(s > 0 ? (double)r->bytes * 8 / s : 0, b, sizeof(b)),
			r->err ? ", " : "", r->err ? strerror(-r->err) : "");
	}
	if (a->nrecs > MAX_CONN_LINES)
		fprintf(f, "    ... %u more (--json lists all)\n", a->nrecs - MAX_CONN_LINES);
}

/*
 * tcp sink --discard: the receiver read no stamps, so the stamp accounting
 * (loss, reordering, flows, sessions) and latency are absent, not zero.
 */
static void discard_json(json_t *root)
{
	static const char *const stamp_keys[] = {
		"lost", "reordered", "duplicates", "unstamped", "flows", "flow_overflow",
		"session_count", "sessions",
	};
	json_t *rx = json_object_get(root, "rx");

	for (size_t i = 0; rx && i < SALVO_ARRAY_SIZE(stamp_keys); i++)
		json_object_del(rx, stamp_keys[i]);
	json_object_del(root, "latency_ns");
}

static void mode_mark(json_t *root, const struct salvo_stream_arg *a)
{
	json_t *tcp = json_object_get(root, "tcp");

	if (a->splice && tcp)
		json_object_set_new(tcp, "splice", json_true());
	if (!a->discard || !tcp)
		return;
	json_object_set_new(tcp, "discard", json_true());
	json_object_set_new(tcp, "throughput_note",
			    json_string("bytes dropped by the kernel unread (MSG_TRUNC): "
					"not comparable with copying receivers"));
}

static void conns_json(json_t *root, const struct salvo_report *rep, void *arg)
{
	struct salvo_stream_arg *a = arg;
	json_t *arr = json_array();
	char addr[SALVO_ADDR_STRLEN];
	struct cpu_use u;

	if (a->discard)
		discard_json(root);
	if (rep->interval) {
		json_decref(arr);
		json_object_set_new(root, "tcp", json_pack("{s:I, s:I}", "connections",
							   (json_int_t)rep->conns, "retransmits",
							   (json_int_t)rep->tx_retrans));
		mode_mark(root, a);
		return;
	}
	for (unsigned int i = 0; i < a->nrecs; i++) {
		const struct salvo_conn_rec *r = &a->recs[i];
		double s = r->close_ns > r->open_ns ? (double)(r->close_ns - r->open_ns) / 1e9 : 0;

		json_array_append_new(arr, json_pack("{s:s, s:i, s:I, s:f, s:f, s:s?}", "peer",
						     salvo_addr_str(&r->peer, addr, sizeof(addr)),
						     "worker", (int)r->worker, "bytes",
						     (json_int_t)r->bytes, "duration_s", s,
						     "bits_per_second",
						     s > 0 ? (double)r->bytes * 8 / s : 0.0, "error",
						     r->err ? strerror(-r->err) : NULL));
	}
	cpu_use_read(&u, a, moved_bytes(rep, a));
	json_object_set_new(
		root, "tcp",
		json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:f, s:f, s:f}", "connections",
			  (json_int_t)rep->conns, "retransmits", (json_int_t)rep->tx_retrans,
			  "per_connection", arr, "cpu_s", u.phase ? json_real(u.s) : json_null(),
			  "cpu_user_s", u.phase ? json_real(u.user_s) : json_null(), "cpu_sys_s",
			  u.phase ? json_real(u.sys_s) : json_null(), "cpu_phase_s",
			  u.phase ? json_real(u.wall_s) : json_null(), "cpu_s_per_gb",
			  u.s_per_gb >= 0 ? json_real(u.s_per_gb) : json_null(), "cpu_process_s",
			  u.proc_s, "cpu_process_user_s", u.proc_user_s, "cpu_process_sys_s",
			  u.proc_sys_s));
	mode_mark(root, a);
}

/* --- tcp send ------------------------------------------------------------------ */

struct tcp_send_opts {
	struct salvo_cli_common c;
	const char *message;
	uint64_t size;
	uint64_t bytes;
	unsigned int streams;
	bool zerocopy;
	bool splice;
	const char *bind;
	uint64_t sndbuf;
	bool size_seen;
	bool no_stamp;
	struct salvo_cli_server srv;
};

static const struct salvo_opt tcp_send_table[] = {
	SALVO_OPT("message", SALVO_OPT_STR, struct tcp_send_opts, message,
		  .short_name = 'm', .metavar = "TEXT", .help = "send TEXT once on each connection and close (the seed's TCP sender)"),
	SALVO_OPT("size", SALVO_OPT_SIZE, struct tcp_send_opts, size,
		  .short_name = 's', .help = "bytes per message (default 128KiB); each starts with a stamp", .min = 1, .max = 64u << 20, .seen = SALVO_OPT_SEEN(struct tcp_send_opts, size_seen)),
	SALVO_OPT("no-stamp", SALVO_OPT_FLAG, struct tcp_send_opts, no_stamp,
		  .help = "do not start messages with a salvo stamp"),
	SALVO_OPT("bytes", SALVO_OPT_SIZE, struct tcp_send_opts, bytes,
		  .help = "stop after sending this many bytes in total"),
	SALVO_OPT("streams", SALVO_OPT_UINT, struct tcp_send_opts, streams,
		  .short_name = 'P', .metavar = "N", .help = "parallel connections, spread over the threads (default 1)", .min = 1, .max = 4096),
	SALVO_OPT("zerocopy", SALVO_OPT_FLAG, struct tcp_send_opts, zerocopy,
		  .help = "zero-copy sends where the backend has them"),
	SALVO_OPT("splice", SALVO_OPT_FLAG, struct tcp_send_opts, splice,
		  .help = "send the payload from a memfd with sendfile(2) (no copy from user memory); implies --no-stamp"),
	SALVO_OPT("bind", SALVO_OPT_STR, struct tcp_send_opts, bind,
		  .metavar = "ADDR:PORT", .help = "connect from this source address"),
	SALVO_OPT("sndbuf", SALVO_OPT_SIZE, struct tcp_send_opts, sndbuf,
		  .help = "socket send buffer to ask for", .max = 1u << 30),
	SERVER_OPTS(struct tcp_send_opts),
	SALVO_OPT_END,
};

static const struct salvo_opt *const tcp_send_tables[] = {
	tcp_send_table, salvo_cli_run_opts, NULL,
};

static void tcp_send_defaults(void *o)
{
	struct tcp_send_opts *t = o;

	salvo_cli_common_defaults(&t->c);
	t->size = 128 * 1024;
	t->streams = 1;
}

static int tcp_send_run(void *o, int argc, char **argv)
{
	struct tcp_send_opts *t = o;
	struct salvo_stream_arg a;
	struct salvo_app app = salvo_app_stream;
	struct salvo_cli_extra x = {.text = conns_text, .json = conns_json, .arg = &a};
	struct salvo_cfg cfg;
	char err[256];
	int rc;

	salvo_cfg_init(&cfg);
	salvo_cli_common_apply(&t->c, &cfg);
	cfg.command = "tcp send";
	cfg.proto = SALVO_PROTO_TCP;
	cfg.dir = SALVO_DIR_TX;
	cfg.connect = true;
	cfg.streams = t->streams;
	cfg.size = (uint32_t)t->size;
	cfg.bytes = t->bytes;
	cfg.zerocopy = t->zerocopy;
	cfg.sndbuf = (unsigned int)t->sndbuf;
	/* Spliced messages are one memfd's bytes: nothing is written per message. */
	cfg.stamp = !t->no_stamp && !t->splice;
	cfg.splice = t->splice;
	if (t->splice && (t->message || t->zerocopy || t->srv.server))
		return salvo_usage_error(NULL, "--splice excludes --message, --zerocopy and --server");
	if (t->streams < cfg.threads)
		return salvo_usage_error(NULL, "--streams (%u) must be at least --threads (%u)",
					 t->streams, cfg.threads);
	if (!t->srv.server && (t->srv.token || t->srv.reverse || t->srv.bidir))
		return salvo_usage_error(NULL, "--token, --reverse and --bidir need --server");
	if (!t->srv.server && argc != 1)
		return salvo_usage_error(NULL, "missing DEST (or --server HOST[:PORT])");
	if (t->srv.server && (argc || t->bind || t->message))
		return salvo_usage_error(NULL, "--server excludes DEST, --bind and --message");
	if (!t->srv.server && salvo_addr_parse(argv[0], &cfg.remote, err, sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	if (t->bind) {
		if (salvo_addr_parse_bind(t->bind, NULL, true, &cfg.local, err, sizeof(err)))
			return salvo_usage_error(NULL, "--bind: %s", err);
		if (cfg.local.sa.sa_family != cfg.remote.sa.sa_family)
			return salvo_usage_error(NULL, "--bind and DEST are of different address families");
		cfg.have_local = true;
	}
	if (t->message) {
		size_t n = strlen(t->message);

		if (t->size_seen || t->bytes || t->c.duration_ns)
			return salvo_usage_error(NULL, "--message excludes --size, --bytes and --duration");
		cfg.message = t->message;
		cfg.message_len = (uint32_t)n;
		cfg.size = (uint32_t)n;
		t->c.quiet = true;
	} else if (!cfg.bytes && !cfg.duration_ns) {
		cfg.duration_ns = 10 * NSEC_PER_SEC;	/* like iperf3: bounded unless asked */
	}
	salvo_stream_arg_init(&a);
	a.splice = t->splice;
	app.arg = &a;
	/* sendfile(2) has no MSG_NOSIGNAL: a reset peer is an EPIPE, not a signal. */
	if (t->splice)
		signal(SIGPIPE, SIG_IGN);
	if (t->srv.server)
		rc = salvo_cli_run_with_server(&t->c, &cfg, &app, &x, &t->srv);
	else
		rc = salvo_cli_run(&t->c, &cfg, &app, &x, NULL);
	salvo_stream_arg_fini(&a);
	return rc;
}

static const struct salvo_cmd tcp_send_cmd = {
	.name = "tcp send",
	.args = "DEST",
	.min_args = 0,
	.max_args = 1,
	.summary = "TCP sender: one --message (the seed's sender) or a throughput run over --streams connections",
	.description = "DEST is HOST:PORT, [IPV6]:PORT or unix:/path (stream socket).\n"
		       "Without --message, --bytes or --duration a run lasts 10 s. Retransmits come from TCP_INFO.\n"
		       "--server HOST[:PORT] replaces DEST: a test with a 'salvo serve' (docs/protocol.md).",
	.tables = tcp_send_tables,
	.opts_size = sizeof(struct tcp_send_opts),
	.defaults = tcp_send_defaults,
	.run = tcp_send_run,
};
SALVO_COMMAND_REGISTER(tcp_send_cmd)

/* --- tcp sink ------------------------------------------------------------------ */

struct tcp_sink_opts {
	struct salvo_cli_common c;
	bool print;
	bool discard;
	uint64_t conns;
	uint64_t rcvbuf;
};

static const struct salvo_opt tcp_sink_table[] = {
	SALVO_OPT("print", SALVO_OPT_FLAG, struct tcp_sink_opts, print,
		  .short_name = 'p', .help = "print connections and what arrives: Got connection from: ADDR / It said: TEXT"),
	SALVO_OPT("count", SALVO_OPT_COUNT, struct tcp_sink_opts, conns,
		  .short_name = 'n', .help = "stop after N connections have closed"),
	SALVO_OPT("rcvbuf", SALVO_OPT_SIZE, struct tcp_sink_opts, rcvbuf,
		  .help = "socket receive buffer to ask for", .max = 1u << 30),
	SALVO_OPT("discard", SALVO_OPT_FLAG, struct tcp_sink_opts, discard,
		  .help = "let the kernel drop the bytes unread (MSG_TRUNC): counts only, no stamps; throughput not comparable with copying receivers"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const tcp_sink_tables[] = {
	tcp_sink_table, salvo_cli_run_opts, NULL,
};

static void tcp_sink_defaults(void *o)
{
	struct tcp_sink_opts *t = o;

	salvo_cli_common_defaults(&t->c);
}

static void print_open(const struct salvo_conn_rec *c, void *arg)
{
	char a[SALVO_ADDR_STRLEN];

	(void)arg;
	flockfile(stdout);
	printf("Got connection from: %s\n", salvo_addr_str(&c->peer, a, sizeof(a)));
	fflush(stdout);
	funlockfile(stdout);
}

static void print_data(const struct salvo_conn_rec *c, const struct salvo_pkt *k, void *arg)
{
	(void)c;
	(void)arg;
	salvo_print_payload("It said: ", k);
}

static void print_close(const struct salvo_conn_rec *c, void *arg)
{
	char a[SALVO_ADDR_STRLEN];

	(void)arg;
	flockfile(stdout);
	printf("Connection closed: %s, %" PRIu64 " bytes%s%s\n", salvo_addr_str(&c->peer, a, sizeof(a)),
	       c->bytes, c->err ? ", " : "", c->err ? strerror(-c->err) : "");
	fflush(stdout);
	funlockfile(stdout);
}

static int tcp_sink_run(void *o, int argc, char **argv)
{
	struct tcp_sink_opts *t = o;
	struct salvo_stream_arg a;
	struct salvo_app app = salvo_app_stream;
	struct salvo_cli_extra x = {.text = conns_text, .json = conns_json, .arg = &a};
	struct salvo_cfg cfg;
	char err[256];
	int rc;

	salvo_cfg_init(&cfg);
	salvo_cli_common_apply(&t->c, &cfg);
	cfg.command = "tcp sink";
	cfg.proto = SALVO_PROTO_TCP;
	cfg.dir = SALVO_DIR_RX;
	cfg.listen = true;
	cfg.rcvbuf = (unsigned int)t->rcvbuf;
	cfg.stamp = false;
	cfg.size = 128 * 1024;
	cfg.discard = t->discard;
	if (salvo_addr_parse_bind(argc ? argv[0] : "6667", "127.0.0.1", true, &cfg.local, err,
				  sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	if (t->discard && t->print)
		return salvo_usage_error(NULL, "--discard excludes --print: the bytes are never read");
	/* unix(7) stream sockets copy whatever the flags say: MSG_TRUNC drops only on TCP. */
	if (t->discard && salvo_addr_is_unix(&cfg.local))
		return salvo_usage_error(NULL, "--discard is TCP only (a unix stream socket has no MSG_TRUNC receive)");
	salvo_stream_arg_init(&a);
	a.server = true;
	a.discard = t->discard;
	a.max_conns = t->conns;
	if (t->print) {
		a.on_open = print_open;
		a.on_data = print_data;
		a.on_close = print_close;
		t->c.quiet = true;
	}
	app.arg = &a;
	rc = salvo_cli_run(&t->c, &cfg, &app, &x, NULL);
	salvo_stream_arg_fini(&a);
	return rc;
}

static const struct salvo_cmd tcp_sink_cmd = {
	.name = "tcp sink",
	.args = "[ADDR:]PORT",
	.min_args = 0,
	.max_args = 1,
	.summary = "TCP server: accept any number of connections, count bytes per connection and in total",
	.description = "Binds 127.0.0.1 unless an address is given ([::1]:PORT, 0.0.0.0:PORT, unix:/path).\n"
		       "Default port 6667. Runs until --count connections closed, --duration or Ctrl-C.",
	.tables = tcp_sink_tables,
	.opts_size = sizeof(struct tcp_sink_opts),
	.defaults = tcp_sink_defaults,
	.run = tcp_sink_run,
};
SALVO_COMMAND_REGISTER(tcp_sink_cmd)
