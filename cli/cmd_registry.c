// SPDX-License-Identifier: MIT
/*
 * salvo registry serve | join | list | bench: the seed's client-list server
 * and client (client_list.py), grown into a lock-free, journalled server on
 * the engine's workers and a load generator.  docs/registry.md.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/hist.h>
#include "registry/registry.h"
#include <salvo/units.h>

#include "cli.h"
#include "registry/server.h"
#include "registry/bench.h"

#define DEFAULT_ADDR "127.0.0.1:5000"

/* "PORT" alone means 127.0.0.1:PORT, like the seed's fixed address. */
static int parse_dest(const char *s, struct salvo_addr *a, char *err, size_t errlen)
{
	char buf[64];
	const char *p;

	if (!s)
		s = DEFAULT_ADDR;
	for (p = s; *p && isdigit((unsigned char)*p); p++)
		;
	if (!*p && p != s) {
		snprintf(buf, sizeof(buf), "127.0.0.1:%s", s);
		s = buf;
	}
	return salvo_addr_parse(s, a, err, errlen);
}

/* ---- serve ------------------------------------------------------------------ */

struct serve_opts {
	struct salvo_cli_common c;	/* first: the shared tables point into it */
	const char *state;
	unsigned int max_clients;
	unsigned int max_conns;
	uint64_t sndbuf;
	uint64_t reply_timeout_ns;
};

static const struct salvo_opt serve_table[] = {
	SALVO_OPT("state", SALVO_OPT_STR, struct serve_opts, state,
		  .short_name = 's', .metavar = "FILE", .help = "journal every join to FILE (fdatasync before the reply) and reload it at start; default: in memory, like the seed"),
	SALVO_OPT("max-clients", SALVO_OPT_UINT, struct serve_opts, max_clients,
		  .metavar = "N", .help = "keep at most N names; a new name beyond that gets an error reply (default: no limit)", .min = 1, .max = 4000000000U),
	SALVO_OPT("max-conns", SALVO_OPT_UINT, struct serve_opts, max_conns,
		  .metavar = "N", .help = "concurrent connections over all threads; more get an error reply and are closed (default 1024)", .min = 1, .max = 1000000),
	SALVO_OPT("reply-timeout", SALVO_OPT_DURATION, struct serve_opts, reply_timeout_ns,
		  .help = "a reply not wholly sent this long after it started (a client that does not read) is cut with a reset, freeing its list (default 10s)"),
	SALVO_OPT("sndbuf", SALVO_OPT_SIZE, struct serve_opts, sndbuf,
		  .help = "send buffer of each accepted connection, so a whole list fits at once (default: kernel autotuning, which measured fastest on loopback)", .max = 1u << 30),
	SALVO_OPT_END,
};

static const struct salvo_opt *const serve_tables[] = {serve_table, salvo_cli_run_opts, NULL};

static void serve_defaults(void *o)
{
	struct serve_opts *s = o;

	salvo_cli_common_defaults(&s->c);
	s->max_conns = 1024;
	s->reply_timeout_ns = 10 * NSEC_PER_SEC;
}

/*
 * The figures over the active time (first connection accepted to the last
 * event of any connection, docs/json.md), not over the serve duration, which
 * holds the wait for the first client.
 */
struct serve_figures {
	struct salvo_registry_stats st;
	double active_s, joins_ps, lists_ps, reply_bps;
};

static void serve_figures(struct salvo_registry_srv *a, struct serve_figures *g)
{
	uint64_t t0 = __atomic_load_n(&a->first_ns, __ATOMIC_RELAXED);
	uint64_t t1 = __atomic_load_n(&a->last_ns, __ATOMIC_RELAXED);

	salvo_registry_stats(a->reg, &g->st);
	g->active_s = t0 && t1 > t0 ? (double)(t1 - t0) / 1e9 : 0;
	g->joins_ps = g->active_s > 0 ? (double)g->st.joins / g->active_s : 0;
	g->lists_ps = g->active_s > 0 ? (double)a->lists / g->active_s : 0;
	g->reply_bps = g->active_s > 0 ? (double)a->reply_bytes * 8 / g->active_s : 0;
}

static void serve_text(FILE *f, const struct salvo_report *rep, void *arg)
{
	struct salvo_registry_srv *a = arg;
	struct serve_figures g;
	char r1[32], r2[32], r3[32];
	const struct salvo_registry_stats *st = &g.st;

	(void)rep;
	serve_figures(a, &g);
	fprintf(f, "  registry: %llu names; active %.3f s (first connection to last reply)\n",
		(unsigned long long)st->entries, g.active_s);
	fprintf(f, "  joins %llu (%llu updates): %s joins/s; lists %llu: %s lists/s; "
		   "replies %llu bytes: %s\n",
		(unsigned long long)st->joins, (unsigned long long)st->updates,
		salvo_fmt_si(g.joins_ps, r1, sizeof(r1)), (unsigned long long)a->lists,
		salvo_fmt_si(g.lists_ps, r2, sizeof(r2)), (unsigned long long)a->reply_bytes,
		salvo_fmt_bits(g.reply_bps, r3, sizeof(r3)));
	fprintf(f, "  connections: %llu accepted, %llu over --max-conns, %llu timed out, %llu reset or "
		   "failed; %llu joins refused; %llu list rebuilds\n",
		(unsigned long long)a->conns, (unsigned long long)a->refused_conns,
		(unsigned long long)a->timeouts, (unsigned long long)a->conn_errors,
		(unsigned long long)st->refused, (unsigned long long)st->rebuilds);
	if (st->journal_records || st->compactions)
		fprintf(f, "  journal: %llu records, %llu compactions\n",
			(unsigned long long)st->journal_records, (unsigned long long)st->compactions);
	if (st->journal_error)
		fprintf(f, "  journal: fdatasync failed (%s): every join since was refused\n",
			strerror(-st->journal_error));
}

static void serve_json(json_t *root, const struct salvo_report *rep, void *arg)
{
	struct salvo_registry_srv *a = arg;
	struct serve_figures g;
	json_t *o;

	(void)rep;
	serve_figures(a, &g);
	o = json_pack("{s:I, s:f, s:I, s:I, s:f, s:I, s:f, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		      "names", (json_int_t)g.st.entries, "active_s", g.active_s,
		      "joins", (json_int_t)g.st.joins, "updates", (json_int_t)g.st.updates,
		      "joins_per_second", g.joins_ps, "lists", (json_int_t)a->lists,
		      "lists_per_second", g.lists_ps, "reply_bytes", (json_int_t)a->reply_bytes,
		      "reply_bits_per_second", g.reply_bps,
		      "connections", (json_int_t)a->conns,
		      "refused_connections", (json_int_t)a->refused_conns,
		      "timeouts", (json_int_t)a->timeouts,
		      "connection_errors", (json_int_t)a->conn_errors,
		      "refused_joins", (json_int_t)g.st.refused,
		      "rebuilds", (json_int_t)g.st.rebuilds,
		      "journal_records", (json_int_t)g.st.journal_records);
	json_object_set_new(root, "registry", o);
}

/* What replay found in the state file, one line each, before serving. */
static void report_recovery(const char *path, struct salvo_registry *reg)
{
	struct salvo_registry_recovery rv;
	uint64_t i;

	salvo_registry_recovery(reg, &rv);
	if (rv.readonly)
		fprintf(stderr, "salvo: registry serve: state file %s is not writable (%s): serving the %llu "
			"records it holds and refusing every join\n",
			path, strerror(-rv.readonly), (unsigned long long)rv.records);
	if (rv.dir_error)
		fprintf(stderr, "salvo: registry serve: the directory of state file %s is not writable (%s): "
			"the journal cannot be compacted or repaired\n", path, strerror(-rv.dir_error));
	if (rv.damaged) {
		fprintf(stderr, "salvo: registry serve: state file %s: %llu damaged span%s (%llu bytes) skipped at offset",
			path, (unsigned long long)rv.damaged, rv.damaged == 1 ? "" : "s",
			(unsigned long long)rv.damaged_bytes);
		for (i = 0; i < rv.damaged && i < SALVO_REGISTRY_SPANS; i++)
			fprintf(stderr, "%s %llu (%llu bytes)", i ? "," : "",
				(unsigned long long)rv.span_off[i], (unsigned long long)rv.span_len[i]);
		if (rv.damaged > SALVO_REGISTRY_SPANS)
			fprintf(stderr, ", ...");
		fprintf(stderr, "; %llu intact records recovered", (unsigned long long)rv.records);
		if (rv.moved_to[0])
			fprintf(stderr, "; the damaged file is kept as %s and the journal rewritten\n", rv.moved_to);
		else
			fprintf(stderr, "; not repaired (read-only)\n");
	}
	if (rv.torn_bytes)
		fprintf(stderr, "salvo: registry serve: %s: %s %llu bytes of a torn last record (never acknowledged)\n",
			path, rv.readonly ? "ignored (read-only)" : "cut", (unsigned long long)rv.torn_bytes);
}

static int serve_run(void *o, int argc, char **argv)
{
	struct serve_opts *s = o;
	struct salvo_registry_opts ro = {0};
	struct salvo_registry_srv srv = {0};
	struct salvo_cli_extra extra = {.text = serve_text, .json = serve_json, .arg = &srv,
					 .no_dirs = true};
	struct salvo_registry_stats st;
	struct salvo_app app = salvo_app_registry;
	struct salvo_cfg cfg;
	char err[320];
	int rc;

	/*
	 * Interval lines would hold only the engine's counters, which over TCP
	 * count stream chunks; the registry's figures are the summary's.
	 */
	if (s->c.interval_ns || s->c.json_stream)
		return salvo_usage_error(NULL, "no interval reports (%s): the joins, lists "
					 "and rates are in the summary, over its active time",
					 s->c.json_stream ? "--json-stream" : "-i");
	salvo_cfg_init(&cfg);
	salvo_cli_common_apply(&s->c, &cfg);
	cfg.command = "registry serve";
	cfg.proto = SALVO_PROTO_TCP;
	cfg.dir = SALVO_DIR_RX | SALVO_DIR_TX;
	cfg.listen = true;
	/*
	 * tx buffers carry error replies; a list is sent straight from the
	 * shared text in one send (SALVO_PKT_F_EXTERN), whatever its size.
	 */
	cfg.size = 1024;
	cfg.stamp = false;
	/* A descriptor per connection: clients that never read cannot take them all. */
	cfg.tx_per_conn = true;
	cfg.send_timeout_ms = (uint32_t)SALVO_MIN(SALVO_MAX(s->reply_timeout_ns / NSEC_PER_MSEC, 1U), UINT32_MAX);
	cfg.sndbuf = (unsigned int)s->sndbuf;
	if (salvo_addr_parse_bind(argc ? argv[0] : "5000", "127.0.0.1", true, &cfg.local, err,
				  sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);

	ro.state_path = s->state;
	ro.max_clients = s->max_clients;
	rc = salvo_registry_create(&srv.reg, &ro, err, sizeof(err));
	if (rc)
		return salvo_runtime_error(cfg.command, "%s", err);
	salvo_registry_stats(srv.reg, &st);
	if (s->state)
		report_recovery(s->state, srv.reg);
	if (s->state && s->c.verbose)
		fprintf(stderr, "salvo: registry serve: %llu names recovered from %s\n",
			(unsigned long long)st.recovered, s->state);
	srv.max_conns = s->max_conns;
	srv.timeout_ms = cfg.timeout_ms;
	app.arg = &srv;
	/* The seed's first line, before it binds. */
	if (!s->c.json && !s->c.json_stream) {
		printf("Starting server...\n");
		fflush(stdout);
	}
	/* A server: no progress line, the summary when it stops. */
	s->c.quiet = true;
	rc = salvo_cli_run(&s->c, &cfg, &app, &extra, NULL);
	salvo_registry_destroy(srv.reg);
	return rc;
}

static const struct salvo_cmd serve_cmd = {
	.name = "registry serve",
	.args = "[[ADDR:]PORT]",
	.min_args = 0,
	.max_args = 1,
	.summary = "the seed's client-list server: lock-free, journalled, on the engine's workers",
	.description = "Listens on ADDR:PORT (default 127.0.0.1:5000) and prints 'Starting server...'. "
		       "Each connection's first chunk is the client's name (1..255 bytes of UTF-8, no NUL); "
		       "the reply is every client as one JSON object {name: {name, address, port}}, then the "
		       "connection is closed.  A connection that half-closes without sending anything gets "
		       "the list without joining.  Refusals are {\"error\": \"...\"}.  --timeout is the "
		       "per-connection wait for the request (default 5s).  Serves until SIGINT/SIGTERM or "
		       "--duration.",
	.tables = serve_tables,
	.opts_size = sizeof(struct serve_opts),
	.defaults = serve_defaults,
	.run = serve_run,
};

SALVO_COMMAND_REGISTER(serve_cmd)

/* ---- join / list -------------------------------------------------------------- */

struct join_opts {
	const char *name;
	uint64_t timeout_ns;
	uint64_t max_reply;
	bool raw;
};

static const struct salvo_opt join_table[] = {
	SALVO_OPT("name", SALVO_OPT_STR, struct join_opts, name,
		  .short_name = 'n', .metavar = "NAME", .help = "the name to register (default \"name\", like the seed)"),
	SALVO_OPT("timeout", SALVO_OPT_DURATION, struct join_opts, timeout_ns,
		  .help = "bound on the whole exchange: connect, send and the whole reply (default 5s)"),
	SALVO_OPT("max-reply", SALVO_OPT_SIZE, struct join_opts, max_reply,
		  .help = "refuse a reply longer than this (default 64MiB)", .min = 1, .max = 1ULL << 40),
	SALVO_OPT("raw", SALVO_OPT_FLAG, struct join_opts, raw,
		  .help = "print the reply's bytes as received instead of indented"),
	SALVO_OPT_END,
};

static const struct salvo_opt list_table[] = {
	SALVO_OPT("timeout", SALVO_OPT_DURATION, struct join_opts, timeout_ns,
		  .help = "bound on the whole exchange: connect, send and the whole reply (default 5s)"),
	SALVO_OPT("max-reply", SALVO_OPT_SIZE, struct join_opts, max_reply,
		  .help = "refuse a reply longer than this (default 64MiB)", .min = 1, .max = 1ULL << 40),
	SALVO_OPT("raw", SALVO_OPT_FLAG, struct join_opts, raw,
		  .help = "print the reply's bytes as received instead of indented"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const join_tables[] = {join_table, NULL};
static const struct salvo_opt *const list_tables[] = {list_table, NULL};

static void join_defaults(void *o)
{
	struct join_opts *j = o;

	j->name = "name";
	j->timeout_ns = 5 * NSEC_PER_SEC;
	j->max_reply = SALVO_REGISTRY_MAX_REPLY;
}

/* Print a reply like the seed's client: json.dumps(result, indent=4). */
static int print_reply(const char *cmd, const char *reply, size_t len, bool raw)
{
	json_error_t jerr;
	json_t *j, *e;
	char *out;

	j = json_loadb(reply, len, 0, &jerr);
	if (!j || !json_is_object(j)) {
		json_decref(j);
		return salvo_runtime_error(cmd, "the reply (%zu bytes) is not a JSON object: %s", len,
					   j ? "another JSON value" : jerr.text);
	}
	e = json_object_get(j, "error");
	if (json_is_string(e) && json_object_size(j) == 1) {
		salvo_runtime_error(cmd, "server refused: %s", json_string_value(e));
		json_decref(j);
		return 1;
	}
	if (raw) {
		fwrite(reply, 1, len, stdout);
		putchar('\n');
	} else {
		out = json_dumps(j, JSON_INDENT(4) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
		if (!out) {
			json_decref(j);
			return salvo_runtime_error(cmd, "out of memory");
		}
		puts(out);
		free(out);
	}
	json_decref(j);
	return fflush(stdout) ? 1 : 0;
}

static int request(const char *cmd, struct join_opts *j, const char *dest, const char *name)
{
	struct salvo_addr a;
	char err[320], *reply = NULL;
	size_t len = 0, nlen = name ? strlen(name) : 0;
	uint64_t ms = j->timeout_ns / NSEC_PER_MSEC;
	uint32_t tmo = ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
	int rc;

	if (parse_dest(dest, &a, err, sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	if (name) {
		/* Checked here too: a clear message instead of the server's refusal. */
		rc = salvo_registry_name_check(name, nlen);
		if (rc)
			return salvo_usage_error(NULL, "--name: %s", salvo_registry_strerror(rc));
	}
	rc = salvo_registry_request(&a, name, nlen, tmo ? tmo : 1, (size_t)j->max_reply, &reply, &len,
				    err, sizeof(err));
	if (rc)
		return salvo_runtime_error(cmd, "%s", err);
	rc = print_reply(cmd, reply, len, j->raw);
	free(reply);
	return rc;
}

static int join_run(void *o, int argc, char **argv)
{
	struct join_opts *j = o;

	return request("registry join", j, argc ? argv[0] : NULL, j->name);
}

static int list_run(void *o, int argc, char **argv)
{
	return request("registry list", o, argc ? argv[0] : NULL, NULL);
}

static const struct salvo_cmd join_cmd = {
	.name = "registry join",
	.args = "[HOST:PORT]",
	.min_args = 0,
	.max_args = 1,
	.summary = "the seed's client (-c -n NAME): register NAME and print the client list",
	.description = "Connects to HOST:PORT (default 127.0.0.1:5000; a bare number is a port on "
		       "127.0.0.1), sends NAME, reads the reply to EOF (a list of any size up to --max-reply arrives "
		       "whole) and prints it with 4-space indentation, like the seed.  Exits 1 with the "
		       "server's reason when the join is refused, and with one line when the reply is over "
		       "--max-reply or not whole within --timeout.",
	.tables = join_tables,
	.opts_size = sizeof(struct join_opts),
	.defaults = join_defaults,
	.run = join_run,
};

static const struct salvo_cmd list_cmd = {
	.name = "registry list",
	.args = "[HOST:PORT]",
	.min_args = 0,
	.max_args = 1,
	.summary = "print the client list without joining",
	.description = "Connects, sends nothing and half-closes (a request no name can collide with: "
		       "names are at least one byte), then prints the list like 'registry join'.",
	.tables = list_tables,
	.opts_size = sizeof(struct join_opts),
	.defaults = join_defaults,
	.run = list_run,
};

SALVO_COMMAND_REGISTER(join_cmd)
SALVO_COMMAND_REGISTER(list_cmd)

/* ---- bench ------------------------------------------------------------------ */

struct bench_opts {
	unsigned int connections;
	unsigned int threads;
	uint64_t duration_ns;
	uint64_t count;
	unsigned int names;
	const char *prefix;
	uint64_t timeout_ns;
	const char *engine;
	bool json;
};

static const struct salvo_opt bench_table[] = {
	SALVO_OPT("connections", SALVO_OPT_UINT, struct bench_opts, connections,
		  .short_name = 'C', .metavar = "N", .help = "connections in flight (default 64); each is one join, then a new one", .min = 1, .max = 100000),
	SALVO_OPT("threads", SALVO_OPT_UINT, struct bench_opts, threads,
		  .short_name = 't', .metavar = "N", .help = "load generator threads (default 1)", .min = 1, .max = 256),
	SALVO_OPT("duration", SALVO_OPT_DURATION, struct bench_opts, duration_ns,
		  .short_name = 'd', .help = "run this long (default 5s unless --count)"),
	SALVO_OPT("count", SALVO_OPT_COUNT, struct bench_opts, count,
		  .short_name = 'n', .help = "stop after N joins were started and answered"),
	SALVO_OPT("names", SALVO_OPT_UINT, struct bench_opts, names,
		  .metavar = "N", .help = "distinct names to cycle through (default 1000)", .min = 1, .max = 100000000),
	SALVO_OPT("prefix", SALVO_OPT_STR, struct bench_opts, prefix,
		  .metavar = "TEXT", .help = "name prefix (default \"bench-\")"),
	SALVO_OPT("timeout", SALVO_OPT_DURATION, struct bench_opts, timeout_ns,
		  .help = "a join without a whole reply after this long fails (default 5s)"),
	SALVO_OPT("engine", SALVO_OPT_STR, struct bench_opts, engine,
		  .metavar = "BACKEND", .help = "run on the engine's workers and BACKEND's stream path (uring, syscall): the new generator, under evaluation"),
	SALVO_OPT("json", SALVO_OPT_FLAG, struct bench_opts, json,
		  .short_name = 'J', .help = "print the result as JSON"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const bench_tables[] = {bench_table, NULL};

static void bench_defaults(void *o)
{
	struct bench_opts *b = o;

	b->connections = 64;
	b->threads = 1;
	b->names = 1000;
	b->timeout_ns = 5 * NSEC_PER_SEC;
}

static int bench_stop_flag;

static void bench_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&bench_stop_flag, 1, __ATOMIC_RELAXED);
}

static int bench_run(void *o, int argc, char **argv)
{
	struct bench_opts *b = o;
	struct salvo_registry_bench_cfg cfg = {0};
	struct salvo_registry_bench_result res;
	struct sigaction sa = {.sa_handler = bench_signal};
	char err[320];
	double rate;
	int rc;

	if (parse_dest(argc ? argv[0] : NULL, &cfg.dest, err, sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	cfg.connections = b->connections;
	cfg.threads = b->threads;
	cfg.duration_ns = b->duration_ns;
	cfg.count = b->count;
	if (!cfg.duration_ns && !cfg.count)
		cfg.duration_ns = 5 * NSEC_PER_SEC;
	cfg.names = b->names;
	cfg.prefix = b->prefix;
	cfg.timeout_ms = (uint32_t)(b->timeout_ns / NSEC_PER_MSEC);
	cfg.stop = &bench_stop_flag;
	if (b->engine) {
		const struct salvo_backend_ops *ops = salvo_backend_find(b->engine);

		if (salvo_cli_backend_check(b->engine, err, sizeof(err)))
			return salvo_usage_error(NULL, "--engine: %s", err);
		if (!(ops->caps & SALVO_CAP_TCP) || (ops->caps & SALVO_CAP_TEST))
			return salvo_usage_error(NULL, "--engine: backend %s has no %s", ops->name,
						 ops->caps & SALVO_CAP_TEST ? "network (test only)" :
									      "stream path (TCP)");
		cfg.engine = b->engine;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = salvo_registry_bench(&cfg, &res, err, sizeof(err));
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (rc)
		return salvo_runtime_error("registry bench", "%s", err);
	rate = res.seconds > 0 ? (double)res.joins / res.seconds : 0;
	if (b->json) {
		/*
		 * The common names (docs/json.md): rx is the replies read whole,
		 * over the run (every connection in flight from start to end);
		 * what only a registry load has goes under "registry".
		 */
		uint64_t replies = res.joins + res.error_replies;
		double secs = res.seconds;
		json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:i, s:f, s:b}",
				      "schema", SALVO_JSON_SCHEMA, "type", "summary",
				      "command", "registry bench",
				      "backend", cfg.engine ? cfg.engine : "generator",
				      "threads", (int)cfg.threads, "duration_s", secs,
				      "interrupted", (bool)__atomic_load_n(&bench_stop_flag, __ATOMIC_RELAXED));

		json_object_set_new(j, "rx", json_pack("{s:I, s:I, s:f, s:f, s:f}",
						       "packets", (json_int_t)replies,
						       "bytes", (json_int_t)res.reply_bytes,
						       "pps", secs > 0 ? (double)replies / secs : 0.0,
						       "bits_per_second", secs > 0 ? (double)res.reply_bytes * 8 / secs : 0.0,
						       "active_s", secs));
		json_object_set_new(j, "latency_ns",
				    json_pack("{s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I}",
					      "count", (json_int_t)salvo_hist_count(res.lat),
					      "clamped", (json_int_t)salvo_hist_clamped(res.lat),
					      "min", (json_int_t)salvo_hist_min(res.lat),
					      "mean", salvo_hist_mean(res.lat),
					      "p50", (json_int_t)salvo_hist_percentile(res.lat, 50),
					      "p90", (json_int_t)salvo_hist_percentile(res.lat, 90),
					      "p99", (json_int_t)salvo_hist_percentile(res.lat, 99),
					      "p999", (json_int_t)salvo_hist_percentile(res.lat, 99.9),
					      "p9999", (json_int_t)salvo_hist_percentile(res.lat, 99.99),
					      "max", (json_int_t)salvo_hist_max(res.lat)));
		json_object_set_new(j, "registry",
				    json_pack("{s:I, s:f, s:I, s:I, s:I}",
					      "joins", (json_int_t)res.joins, "joins_per_second", rate,
					      "error_replies", (json_int_t)res.error_replies,
					      "failed", (json_int_t)res.failed,
					      "connections", (json_int_t)cfg.connections));
		if (res.first_error[0])
			json_object_set_new(json_object_get(j, "registry"), "first_error",
					    json_string(res.first_error));
		salvo_json_print(stdout, j, true);
		json_decref(j);
	} else {
		printf("joins: %llu in %.2f s = %.0f joins/s (%llu error replies, %llu failed)\n",
		       (unsigned long long)res.joins, res.seconds, rate,
		       (unsigned long long)res.error_replies, (unsigned long long)res.failed);
		if (salvo_hist_count(res.lat))
			printf("latency (connect to EOF): p50 %.1f us, p90 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
			       salvo_hist_percentile(res.lat, 50) / 1e3, salvo_hist_percentile(res.lat, 90) / 1e3,
			       salvo_hist_percentile(res.lat, 99) / 1e3,
			       salvo_hist_percentile(res.lat, 99.9) / 1e3, salvo_hist_max(res.lat) / 1e3);
		else
			printf("latency (connect to EOF): no join completed, no samples\n");
		printf("replies: %.1f MB\n", (double)res.reply_bytes / 1e6);
		if (res.first_error[0])
			printf("first failure: %s\n", res.first_error);
	}
	fflush(stdout);
	salvo_hist_destroy(res.lat);
	if (!res.joins)
		return salvo_runtime_error("registry bench", "no join completed%s%s",
					   res.first_error[0] ? ": " : "", res.first_error);
	return 0;
}

static const struct salvo_cmd bench_cmd = {
	.name = "registry bench",
	.args = "[HOST:PORT]",
	.min_args = 0,
	.max_args = 1,
	.summary = "load a registry server: concurrent short connections, one join each",
	.description = "Keeps --connections connections in flight; each connects, sends a name "
		       "(PREFIX + sequence modulo --names), reads the whole reply to EOF and closes, and a "
		       "new one takes its place.  Reports joins/s and the latency (connect to EOF) "
		       "percentiles from an HDR histogram.  Works against any server speaking the seed's "
		       "protocol (the Python seed too).  --engine BACKEND runs the same load on the engine's "
		       "workers and BACKEND's stream path instead of the generator's own threads and "
		       "io_uring loop: the new generator, under evaluation; the old one stays the default "
		       "until the new one matches its throughput.",
	.tables = bench_tables,
	.opts_size = sizeof(struct bench_opts),
	.defaults = bench_defaults,
	.run = bench_run,
};

SALVO_COMMAND_REGISTER(bench_cmd)
