// SPDX-License-Identifier: MIT
/*
 * salvo serve [ADDR:]PORT: the control-channel server (docs/protocol.md),
 * iperf3 -s for many clients at once.  One line (or one JSON object) per
 * client test, a total line at the end.
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/units.h>

#include "cli.h"
#include "apps/serve.h"

struct serve_opts {
	const char *backend;
	const char *token;
	unsigned int max_clients;
	uint64_t timeout_ns;
	bool json;
};

static const struct salvo_opt serve_table[] = {
	SALVO_OPT("backend", SALVO_OPT_STR, struct serve_opts, backend,
		  .short_name = 'b', .metavar = "NAME", .help = "backend of every data side (default: the client's preference, else the best here)"),
	SALVO_OPT("token", SALVO_OPT_STR, struct serve_opts, token,
		  .metavar = "SECRET", .help = "shared secret clients must present (default: $SALVO_TOKEN); required to bind beyond loopback"),
	SALVO_OPT("max-clients", SALVO_OPT_UINT, struct serve_opts, max_clients,
		  .metavar = "N", .help = "clients served at once; more are refused with an error (default 16)", .min = 1, .max = 1024),
	SALVO_OPT("timeout", SALVO_OPT_DURATION, struct serve_opts, timeout_ns,
		  .help = "longest wait of any step of a client (default 5s)"),
	SALVO_OPT("json", SALVO_OPT_FLAG, struct serve_opts, json,
		  .short_name = 'J', .help = "one JSON object per client test (NDJSON) and one for the totals"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const serve_tables[] = {serve_table, NULL};

static void serve_defaults(void *o)
{
	struct serve_opts *s = o;

	s->max_clients = 16;
	s->timeout_ns = 5 * NSEC_PER_SEC;
}

struct serve_state {
	bool json;
	pthread_mutex_t lock;	/* one line at a time from the client threads, and the totals */
	uint64_t tests, ok, failed;
};

static struct salvo_serve *volatile the_server;

static void on_stop_signal(int sig)
{
	(void)sig;
	if (the_server)
		salvo_serve_stop(the_server);
}

static json_t *counts_json(const struct salvo_ctl_counts *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "packets", (json_int_t)c->packets,
			 "bytes", (json_int_t)c->bytes, "lost", (json_int_t)c->lost, "reordered",
			 (json_int_t)c->reordered, "duplicates", (json_int_t)c->duplicates, "errors",
			 (json_int_t)c->errors, "active_s", c->active_s);
}

static const char *test_kind(const struct salvo_serve_test *t)
{
	if (!t->has_proposal)
		return "-";
	if (t->proposal.bidir)
		return t->proposal.tcp ? "tcp-bidir" : "udp-bidir";
	return t->proposal.tcp ? (t->proposal.reverse ? "tcp-reverse" : "tcp") :
				 (t->proposal.reverse ? "udp-reverse" : "udp");
}

/* bidir: the server -> client direction, as a reverse test's record would show it. */
static json_t *reverse_json(const struct salvo_serve_test *t)
{
	json_t *o = t->has_rev_report ? salvo_report_json(&t->rev_rep, NULL) : json_object();

	if (t->has_rev_client) {
		json_object_set_new(o, "client", json_pack("{s:o}", "rx", counts_json(&t->rev_client)));
		if (!t->proposal.tcp)
			json_object_set_new(o, "lost_exact", json_integer((json_int_t)t->rev_lost));
	}
	return o;
}

/* One text line for one direction: the server's side d, the client's figures c. */
static void direction_text(const struct salvo_serve_test *t, const char *peer, const char *label,
			   bool tx, const struct salvo_report_dir *d, const struct salvo_ctl_counts *c,
			   uint64_t lost)
{
	if (t->proposal.tcp) {
		printf("client %lu %s %s%s: %s %" PRIu64 " bytes, client %s %" PRIu64 " bytes\n", t->id,
		       peer, test_kind(t), label, tx ? "sent" : "received", d->bytes,
		       tx ? "received" : "sent", c->bytes);
	} else {
		uint64_t sent = tx ? d->packets : c->packets;

		printf("client %lu %s %s%s: %s %" PRIu64 " packets, client %s %" PRIu64
		       ", lost %" PRIu64 " (%.3f%%)\n",
		       t->id, peer, test_kind(t), label, tx ? "sent" : "received", d->packets,
		       tx ? "received" : "sent", c->packets, lost,
		       sent ? 100.0 * (double)lost / (double)sent : 0.0);
	}
}

static void on_test(const struct salvo_serve_test *t, void *arg)
{
	struct serve_state *st = arg;
	char peer[SALVO_ADDR_STRLEN];
	bool tx = t->has_proposal && t->proposal.reverse;

	salvo_addr_str(&t->peer, peer, sizeof(peer));
	pthread_mutex_lock(&st->lock);
	st->tests++;
	if (t->rc)
		st->failed++;
	else
		st->ok++;
	if (st->json) {
		json_t *o = t->has_report ? salvo_report_json(&t->rep, NULL) : json_object();

		json_object_set_new(o, "client_id", json_integer((json_int_t)t->id));
		json_object_set_new(o, "peer", json_string(peer));
		json_object_set_new(o, "test", json_string(test_kind(t)));
		if (t->has_client) {
			json_t *c = json_object();

			json_object_set_new(c, tx ? "rx" : "tx", counts_json(&t->client));
			json_object_set_new(o, "client", c);
			if (!t->proposal.tcp)
				json_object_set_new(o, "lost_exact", json_integer((json_int_t)t->lost));
		}
		if (t->has_proposal && t->proposal.bidir)
			json_object_set_new(o, "reverse", reverse_json(t));
		if (t->rc)
			json_object_set_new(o, "error", json_string(t->error));
		salvo_json_print(stdout, o, false);
		json_decref(o);
	} else if (t->rc) {
		printf("client %lu %s %s: error: %s\n", t->id, peer, test_kind(t), t->error);
	} else {
		direction_text(t, peer, t->proposal.bidir ? " client->server" : "", tx,
			       tx ? &t->rep.tx : &t->rep.rx, &t->client, t->lost);
		if (t->proposal.bidir)
			direction_text(t, peer, " server->client", true, &t->rev_rep.tx, &t->rev_client,
				       t->rev_lost);
	}
	fflush(stdout);
	pthread_mutex_unlock(&st->lock);
}

static int serve_run(void *o, int argc, char **argv)
{
	struct serve_opts *so = o;
	struct serve_state st = {.json = so->json};
	struct salvo_serve_cfg cfg = {0};
	struct salvo_serve *srv;
	struct sigaction sa = {.sa_handler = on_stop_signal};
	char err[320], a[SALVO_ADDR_STRLEN], port[8];
	const char *token = so->token ? so->token : getenv("SALVO_TOKEN");
	int rc;

	snprintf(port, sizeof(port), "%d", SALVO_CTL_DEFAULT_PORT);
	if (salvo_addr_parse_bind(argc ? argv[0] : port, "127.0.0.1", true, &cfg.listen, err,
				  sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	if (salvo_addr_is_unix(&cfg.listen))
		return salvo_usage_error(NULL, "serve listens on TCP: give [ADDR:]PORT");
	if (token && !token[0])
		token = NULL;
	if (token && strlen(token) > SALVO_CTL_TOKEN_MAX)
		return salvo_usage_error(NULL, "--token is longer than %d bytes", SALVO_CTL_TOKEN_MAX);
	if (!token && !salvo_addr_is_loopback(&cfg.listen))
		return salvo_usage_error(NULL, "binding %s beyond loopback needs --token (or SALVO_TOKEN)",
					 salvo_addr_str(&cfg.listen, a, sizeof(a)));
	if (salvo_cli_backend_check(so->backend, err, sizeof(err)))
		return salvo_usage_error(NULL, "--backend: %s", err);
	cfg.token = token;
	cfg.max_clients = so->max_clients;
	cfg.timeout_ms = (uint32_t)SALVO_MAX(so->timeout_ns / NSEC_PER_MSEC, 1);
	cfg.backend = so->backend;
	cfg.on_test = on_test;
	cfg.arg = &st;
	pthread_mutex_init(&st.lock, NULL);
	/* A client that resets mid-send must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	rc = salvo_serve_create(&srv, &cfg, err, sizeof(err));
	if (rc)
		return salvo_runtime_error("serve", "%s", err);
	sigemptyset(&sa.sa_mask);
	the_server = srv;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!so->json)
		printf("serving on %s (up to %u clients)\n",
		       salvo_addr_str(salvo_serve_addr(srv), a, sizeof(a)), cfg.max_clients);
	else
		fprintf(stderr, "salvo: serving on %s\n",
			salvo_addr_str(salvo_serve_addr(srv), a, sizeof(a)));
	fflush(stdout);
	rc = salvo_serve_run(srv, err, sizeof(err));
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	the_server = NULL;
	salvo_serve_destroy(srv);
	if (so->json) {
		json_t *t = json_pack("{s:s, s:I, s:I, s:I}", "summary", "serve", "tests",
				      (json_int_t)st.tests, "ok", (json_int_t)st.ok, "failed",
				      (json_int_t)st.failed);

		salvo_json_print(stdout, t, false);
		json_decref(t);
	} else {
		printf("served %" PRIu64 " client tests: %" PRIu64 " complete, %" PRIu64 " failed or refused\n",
		       st.tests, st.ok, st.failed);
	}
	fflush(stdout);
	pthread_mutex_destroy(&st.lock);
	if (rc)
		return salvo_runtime_error("serve", "%s", err);
	return 0;
}

static const struct salvo_cmd serve_cmd = {
	.name = "serve",
	.args = "[ADDR:]PORT",
	.min_args = 0,
	.max_args = 1,
	.summary = "control-channel server for 'udp send --server' / 'tcp send --server': many clients at once",
	.description = "Binds 127.0.0.1:5201 unless told otherwise; a non-loopback address needs --token.\n"
		       "Runs until SIGINT/SIGTERM. Protocol: docs/protocol.md.",
	.tables = serve_tables,
	.opts_size = sizeof(struct serve_opts),
	.defaults = serve_defaults,
	.run = serve_run,
};
SALVO_COMMAND_REGISTER(serve_cmd)
