// SPDX-License-Identifier: MIT
/*
 * The client side of `salvo serve`: the sender (or, with -R, the receiver)
 * of one test, whose report carries the server's figures too, so that loss
 * is what was sent minus what arrived, the tail included.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <salvo/backend.h>
#include <salvo/units.h>

#include "serve_client.h"
#include "apps/serve.h"
#include "apps/sink.h"
#include "apps/stream.h"

#define DRAIN_IDLE_MS 500

/* Our receiver (-R, and the server -> client half of --bidir), on our end of the control connection's address. */
struct rx_side {
	struct salvo_cfg cfg;
	struct salvo_stream_arg sa;
	struct salvo_app app;
	struct salvo_run *run;
	uint16_t port;
	bool tcp;
};

struct peer_ctx {
	struct salvo_ctl_client ctl;
	bool tcp, reverse;
	const struct salvo_cli_extra *inner;
	bool exchanged;
	int rc;			/* of the exchange */
	char err[320];
	struct salvo_ctl_counts theirs;	/* the server's rx (forward) or tx (reverse) */
	uint64_t lost;
	uint32_t wait_ms;
	/* --bidir: our receiver, and the server -> client direction once counted (a reverse ctx). */
	struct rx_side *rx;
	struct peer_ctx *rev;
	struct salvo_report rev_rep;
	const char *command;
};

/* r->sa initialized by the caller (rx_close frees it whatever happened here). */
static int rx_open(struct rx_side *r, const struct salvo_cli_common *c, const struct salvo_cfg *sent_cfg,
		   const struct salvo_cli_server *srv, const struct salvo_addr *local, char *err,
		   size_t errlen)
{
	const struct salvo_backend_ops *ops;
	const char *skipped;
	char why[256];
	int rc;

	r->tcp = sent_cfg->proto == SALVO_PROTO_TCP;
	salvo_cfg_init(&r->cfg);
	salvo_cli_common_apply(c, &r->cfg);
	r->cfg.command = r->tcp ? "tcp send -R" : "udp send -R";
	r->cfg.proto = sent_cfg->proto;
	r->cfg.dir = SALVO_DIR_RX;
	r->cfg.listen = true;
	r->cfg.count = 0;
	r->cfg.duration_ns = 0;
	r->cfg.rate_pps = r->cfg.rate_bps = 0;
	r->cfg.threads = 1;
	r->cfg.rcvbuf = (unsigned int)srv->rcvbuf;
	r->cfg.local = *local;	/* where the control connection came from: the server sends there */
	if (r->tcp) {
		r->app = salvo_app_stream;
		r->sa.server = true;
		r->app.arg = &r->sa;
		r->cfg.stamp = false;
		r->cfg.size = 128 * 1024;
	} else {
		r->app = salvo_app_sink;
	}
	r->port = salvo_ctl_free_port(&r->cfg.local, r->tcp);
	salvo_addr_set_port(&r->cfg.local, r->port);
	if (!r->port) {
		snprintf(err, errlen, "no free local port to receive on");
		return -EADDRNOTAVAIL;
	}
	if ((rc = salvo_cfg_finish(&r->cfg, err, errlen)) ||
	    (rc = salvo_backend_select(&r->cfg, &ops, err, errlen, &skipped, why, sizeof(why))) ||
	    (rc = salvo_run_create(&r->run, &r->cfg, ops, &r->app, err, errlen)))
		return rc;
	rc = salvo_run_start(r->run, err, errlen);
	if (rc) {
		salvo_run_destroy(r->run);
		r->run = NULL;
	}
	return rc;
}

/*
 * Count until all the server says it sent is here, or nothing more came for
 * a while (the rest is lost); then stop and report.
 */
static void rx_finish(struct rx_side *r, const struct salvo_ctl_counts *sent, uint32_t timeout_ms,
		      struct salvo_report *rep)
{
	uint64_t idle_since = salvo_now_ns(), last = UINT64_MAX;
	uint64_t deadline = idle_since + (uint64_t)timeout_ms * NSEC_PER_MSEC;

	for (;;) {
		struct salvo_report now;
		uint64_t got, closed, t = salvo_now_ns();

		salvo_run_snapshot(r->run, &now);
		pthread_mutex_lock(&r->sa.lock);
		closed = r->sa.closed;
		pthread_mutex_unlock(&r->sa.lock);
		got = r->tcp ? now.rx.bytes : now.rx.packets;
		if (got >= (r->tcp ? sent->bytes : sent->packets) && (!r->tcp || closed >= now.conns))
			break;
		if (t >= deadline)
			break;
		/* TCP loses nothing: only the timeout ends its wait. */
		if (got != last) {
			last = got;
			idle_since = t;
		} else if (!r->tcp && t - idle_since >= DRAIN_IDLE_MS * NSEC_PER_MSEC) {
			break;
		}
		usleep(10000);
	}
	salvo_run_stop(r->run);
	salvo_run_wait(r->run, UINT64_MAX);
	salvo_run_join(r->run);
	salvo_run_report(r->run, rep);
	rep->hist = NULL;	/* the run's, freed by rx_close before the report may be printed */
}

/* Stop (if still running) and free. */
static void rx_close(struct rx_side *r)
{
	if (r->run) {
		salvo_run_stop(r->run);
		salvo_run_wait(r->run, UINT64_MAX);
		salvo_run_join(r->run);
		salvo_run_destroy(r->run);
		r->run = NULL;
	}
	salvo_stream_arg_fini(&r->sa);
}

static void peer_text(FILE *f, const struct salvo_report *rep, void *arg);
static void peer_json(json_t *root, const struct salvo_report *rep, void *arg);

/*
 * --bidir, our sender done: send our tx; the server's results bring what it
 * received (rx) and sent (tx); our receiver counts until the server's tx is
 * here (or lost), and our rx goes back to the server.
 */
static void exchange_bidir(struct peer_ctx *x, const struct salvo_report *rep)
{
	struct salvo_ctl_msg mine = {.type = SALVO_CTL_RESULTS, .has_tx = true}, theirs;
	struct peer_ctx *r = x->rev;

	x->exchanged = r->exchanged = true;
	salvo_ctl_counts_from_report(&mine.tx, rep, true);
	x->rc = salvo_ctl_client_results(&x->ctl, &mine, &theirs, x->wait_ms, x->err, sizeof(x->err));
	if (!x->rc && (!theirs.has_rx || !theirs.has_tx)) {
		snprintf(x->err, sizeof(x->err), "server results without rx and tx");
		x->rc = -EPROTO;
	}
	if (x->rc) {
		r->rc = x->rc;
		snprintf(r->err, sizeof(r->err), "%s", x->err);
		return;
	}
	x->theirs = theirs.rx;
	x->lost = mine.tx.packets - SALVO_MIN(mine.tx.packets, theirs.rx.packets);
	r->theirs = theirs.tx;
	rx_finish(x->rx, &theirs.tx, x->ctl.timeout_ms, &x->rev_rep);
	x->rev_rep.command = x->command;
	r->lost = x->tcp ? 0 : theirs.tx.packets - SALVO_MIN(theirs.tx.packets, x->rev_rep.rx.packets);
	memset(&mine, 0, sizeof(mine));
	mine.type = SALVO_CTL_RESULTS;
	mine.has_rx = true;
	salvo_ctl_counts_from_report(&mine.rx, &x->rev_rep, false);
	if (salvo_ctl_client_send(&x->ctl, &mine)) {
		r->rc = -EPIPE;
		snprintf(r->err, sizeof(r->err), "could not send our rx results to the server");
	}
}

/* Forward: our sender is done; tell the server what we sent, learn what it received. */
static void exchange(struct peer_ctx *x, const struct salvo_report *rep)
{
	struct salvo_ctl_msg mine = {.type = SALVO_CTL_RESULTS, .has_tx = true}, theirs;

	if (x->exchanged)
		return;
	if (x->rev) {
		exchange_bidir(x, rep);
		return;
	}
	x->exchanged = true;
	salvo_ctl_counts_from_report(&mine.tx, rep, true);
	x->rc = salvo_ctl_client_results(&x->ctl, &mine, &theirs, x->wait_ms, x->err, sizeof(x->err));
	if (x->rc)
		return;
	if (!theirs.has_rx) {
		snprintf(x->err, sizeof(x->err), "server results without rx");
		x->rc = -EPROTO;
		return;
	}
	x->theirs = theirs.rx;
	x->lost = mine.tx.packets - SALVO_MIN(mine.tx.packets, theirs.rx.packets);
}

static void peer_text(FILE *f, const struct salvo_report *rep, void *arg)
{
	struct peer_ctx *x = arg;
	const struct salvo_ctl_counts *t = &x->theirs;

	if (!rep->interval) {
		if (!x->reverse)
			exchange(x, rep);
		if (x->rc) {
			fprintf(f, "  server: no results (%s)\n", x->err);
		} else if (x->tcp) {
			fprintf(f, "  server: %s %" PRIu64 " bytes\n", x->reverse ? "sent" : "received",
				t->bytes);
		} else {
			uint64_t sent = x->reverse ? t->packets : rep->tx.packets;

			fprintf(f, "  server: %s %" PRIu64 " packets, %" PRIu64 " bytes; lost %" PRIu64
				   " (%.3f%%) = sent - received, tail included\n",
				x->reverse ? "sent" : "received", t->packets, t->bytes, x->lost,
				sent ? 100.0 * (double)x->lost / (double)sent : 0.0);
		}
	}
	if (x->inner && x->inner->text)
		x->inner->text(f, rep, x->inner->arg);
	if (!rep->interval && x->rev && x->rev_rep.command) {
		struct salvo_cli_extra rx = {.text = peer_text, .arg = x->rev};

		fprintf(f, "reverse direction, server -> client:\n");
		salvo_report_text(f, &x->rev_rep, &rx);
	}
}

static json_t *counts_json(const struct salvo_ctl_counts *c)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "packets", (json_int_t)c->packets,
			 "bytes", (json_int_t)c->bytes, "lost", (json_int_t)c->lost, "reordered",
			 (json_int_t)c->reordered, "duplicates", (json_int_t)c->duplicates, "errors",
			 (json_int_t)c->errors, "active_s", c->active_s);
}

static void peer_json(json_t *root, const struct salvo_report *rep, void *arg)
{
	struct peer_ctx *x = arg;

	if (!rep->interval) {
		json_t *s = json_object();
		char a[SALVO_ADDR_STRLEN];

		if (!x->reverse)
			exchange(x, rep);
		json_object_set_new(s, "address", json_string(salvo_addr_str(&x->ctl.server, a, sizeof(a))));
		/* Our end of the control connection: the "peer" of the server's record of this test. */
		json_object_set_new(s, "local", json_string(salvo_addr_str(&x->ctl.local, a, sizeof(a))));
		if (x->rc) {
			json_object_set_new(s, "error", json_string(x->err));
		} else {
			uint64_t sent = x->reverse ? x->theirs.packets : rep->tx.packets;

			json_object_set_new(s, x->reverse ? "tx" : "rx", counts_json(&x->theirs));
			if (!x->tcp) {
				json_object_set_new(s, "lost", json_integer((json_int_t)x->lost));
				json_object_set_new(s, "loss_percent",
						    json_real(sent ? 100.0 * (double)x->lost / (double)sent : 0.0));
			}
		}
		json_object_set_new(root, "server", s);
	}
	if (x->inner && x->inner->json)
		x->inner->json(root, rep, x->inner->arg);
	/* --bidir: the server -> client direction, shaped as a -R client's document. */
	if (!rep->interval && x->rev) {
		struct salvo_cli_extra rx = {.json = peer_json, .arg = x->rev};

		json_object_set_new(root, "reverse", x->rev_rep.command ?
							     salvo_report_json(&x->rev_rep, &rx) :
							     json_pack("{s:s}", "error", x->rev->err));
	}
}

/* "host" -> "host:5201", "[v6]" -> "[v6]:5201"; anything else as given. */
static int parse_server(const char *s, struct salvo_addr *a, char *err, size_t errlen)
{
	char buf[300];
	const char *colon = strrchr(s, ':');

	if (!colon || s[strlen(s) - 1] == ']' || (s[0] != '[' && strchr(s, ':') != colon)) {
		snprintf(buf, sizeof(buf), "%s%s%s:%d", colon && s[0] != '[' ? "[" : "", s,
			 colon && s[0] != '[' ? "]" : "", SALVO_CTL_DEFAULT_PORT);
		s = buf;
	}
	return salvo_addr_parse(s, a, err, errlen);
}

int salvo_cli_server_addr(const char *s, struct salvo_addr *a, char *err, size_t errlen)
{
	if (parse_server(s, a, err, errlen))
		return -EINVAL;
	if (salvo_addr_is_unix(a)) {
		snprintf(err, errlen, "%s: HOST[:PORT], not a unix path", s);
		return -EINVAL;
	}
	return 0;
}

static void propose_from(struct salvo_ctl_msg *p, const struct salvo_cfg *cfg,
			 const struct salvo_cli_server *srv)
{
	memset(p, 0, sizeof(*p));
	p->type = SALVO_CTL_PROPOSE;
	p->tcp = cfg->proto == SALVO_PROTO_TCP;
	p->reverse = srv->reverse;
	p->size = cfg->size;
	p->count = cfg->count;
	p->bytes = cfg->bytes;
	p->duration_ms = (cfg->duration_ns + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
	p->rate_pps = cfg->rate_pps;
	p->flows = cfg->flows ? cfg->flows : 1;
	p->streams = cfg->streams ? cfg->streams : 1;
	p->rcvbuf = (uint32_t)srv->rcvbuf;
	if (cfg->backend)
		snprintf(p->backend, sizeof(p->backend), "%s", cfg->backend);
}

/* -R: our receiver, run here (the server's sender ends the test). */
static int run_reverse(const struct salvo_cli_common *c, struct salvo_cfg *sent_cfg,
		       struct peer_ctx *x, const struct salvo_cli_server *srv)
{
	struct rx_side r = {0};
	struct salvo_ctl_msg prop, theirs, mine = {.type = SALVO_CTL_RESULTS, .has_rx = true};
	struct salvo_report rep;
	struct salvo_cli_extra px = {.text = peer_text, .json = peer_json, .arg = x};
	char err[320];
	uint16_t accepted;
	uint64_t wait_ms;
	int rc;

	salvo_stream_arg_init(&r.sa);
	rc = rx_open(&r, c, sent_cfg, srv, &x->ctl.local, err, sizeof(err));
	if (rc) {
		rc = salvo_runtime_error(sent_cfg->command, "%s", err);
		goto out;
	}
	propose_from(&prop, sent_cfg, srv);
	prop.port = r.port;
	if (salvo_ctl_client_propose(&x->ctl, &prop, &accepted, err, sizeof(err)) ||
	    salvo_ctl_client_start(&x->ctl, err, sizeof(err))) {
		rc = salvo_runtime_error(sent_cfg->command, "%s", err);
		goto out;
	}
	wait_ms = prop.duration_ms + 2ULL * x->ctl.timeout_ms;
	if (!prop.duration_ms)	/* count or bytes: the server's sender ends it; idle is bounded there */
		wait_ms = 3600ULL * 1000;
	rc = salvo_ctl_client_wait_results(&x->ctl, &theirs, (uint32_t)SALVO_MIN(wait_ms, UINT32_MAX),
					   err, sizeof(err));
	if (!rc && !theirs.has_tx) {
		snprintf(err, sizeof(err), "server results without tx");
		rc = -EPROTO;
	}
	if (rc) {
		rc = salvo_runtime_error(sent_cfg->command, "%s", err);
		goto out;
	}
	x->theirs = theirs.tx;
	rx_finish(&r, &theirs.tx, x->ctl.timeout_ms, &rep);
	rep.command = sent_cfg->command;
	salvo_ctl_counts_from_report(&mine.rx, &rep, false);
	x->lost = x->tcp ? 0 : theirs.tx.packets - SALVO_MIN(theirs.tx.packets, rep.rx.packets);
	x->exchanged = true;
	if (salvo_ctl_client_send(&x->ctl, &mine))
		fprintf(stderr, "salvo: %s: could not send our results to the server\n", sent_cfg->command);
	if (c->json || c->json_stream) {
		json_t *j = salvo_report_json(&rep, &px);

		salvo_json_print(stdout, j, c->json);
		json_decref(j);
	} else {
		salvo_report_text(stdout, &rep, &px);
	}
	fflush(stdout);
	rc = rep.error[0] ? salvo_runtime_error(sent_cfg->command, "%s", rep.error) : 0;
out:
	rx_close(&r);
	return rc;
}

/*
 * Our sender to the server's data port, through the run driver; the report
 * carries the server's figures (the exchange happens as it prints).
 */
static int run_forward(const struct salvo_cli_common *c, struct salvo_cfg *cfg,
		       const struct salvo_app *app, const struct salvo_cli_extra *extra,
		       struct peer_ctx *x, uint16_t port)
{
	struct salvo_cli_extra px = {.text = peer_text, .json = peer_json, .arg = x};
	int rc;

	/* Data goes to the host we reached for control, at the port it opened for us. */
	cfg->remote = x->ctl.server;
	salvo_addr_set_port(&cfg->remote, port);
	if (extra)
		px.latency_label = extra->latency_label;
	rc = salvo_cli_run(c, cfg, app, &px, NULL);
	if (!x->exchanged) {	/* no report printed (an error): still close the test properly */
		struct salvo_report none = {0};

		exchange(x, &none);
	}
	if (!rc && x->rc)
		rc = salvo_runtime_error(cfg->command, "server results: %s", x->err);
	return rc;
}

/* --bidir: our receiver first (its port goes in the proposal), then the test as forward. */
static int run_bidir(const struct salvo_cli_common *c, struct salvo_cfg *cfg, const struct salvo_cfg *probe,
		     const struct salvo_app *app, const struct salvo_cli_extra *extra,
		     struct peer_ctx *x, const struct salvo_cli_server *srv)
{
	struct rx_side *r = calloc(1, sizeof(*r));
	struct peer_ctx *rev = calloc(1, sizeof(*rev));
	struct salvo_ctl_msg prop;
	char err[320];
	uint16_t port;
	int rc;

	if (!r || !rev) {
		free(r);
		free(rev);
		return salvo_runtime_error(cfg->command, "out of memory");
	}
	salvo_stream_arg_init(&r->sa);
	rev->tcp = x->tcp;
	rev->reverse = true;
	x->rx = r;
	x->rev = rev;
	x->command = cfg->command;
	rc = rx_open(r, c, probe, srv, &x->ctl.local, err, sizeof(err));
	if (rc) {
		rc = salvo_runtime_error(cfg->command, "%s", err);
		goto out;
	}
	propose_from(&prop, probe, srv);
	prop.bidir = true;
	prop.port = r->port;
	if (salvo_ctl_client_propose(&x->ctl, &prop, &port, err, sizeof(err)) ||
	    salvo_ctl_client_start(&x->ctl, err, sizeof(err))) {
		rc = salvo_runtime_error(cfg->command, "%s", err);
		goto out;
	}
	/* The server's results wait for its own sender too, which may end after ours. */
	x->wait_ms = prop.duration_ms ? (uint32_t)SALVO_MIN(prop.duration_ms + x->wait_ms, UINT32_MAX) :
					3600u * 1000;
	rc = run_forward(c, cfg, app, extra, x, port);
	if (!rc && rev->rc)
		rc = salvo_runtime_error(cfg->command, "server -> client: %s", rev->err);
	if (!rc && x->rev_rep.error[0])
		rc = salvo_runtime_error(cfg->command, "our receiver: %s", x->rev_rep.error);
out:
	rx_close(r);
	free(r);
	free(rev);
	x->rx = NULL;
	x->rev = NULL;
	return rc;
}

int salvo_cli_run_with_server(const struct salvo_cli_common *c, struct salvo_cfg *cfg,
			      const struct salvo_app *app, const struct salvo_cli_extra *extra,
			      const struct salvo_cli_server *srv)
{
	struct peer_ctx *x;
	struct salvo_ctl_msg prop;
	struct salvo_addr server;
	struct salvo_cfg probe;
	const char *token = srv->token ? srv->token : getenv("SALVO_TOKEN");
	char err[320];
	uint16_t port;
	int rc;

	if (parse_server(srv->server, &server, err, sizeof(err)))
		return salvo_usage_error(NULL, "--server: %s", err);
	if (salvo_addr_is_unix(&server))
		return salvo_usage_error(NULL, "--server takes HOST[:PORT], not a unix path");
	if (cfg->message)
		return salvo_usage_error(NULL, "--server runs a traffic test; --message does not apply");
	if (srv->bidir && srv->reverse)
		return salvo_usage_error(NULL, "--bidir and -R exclude each other (--bidir sends both ways)");
	if (srv->bidir && (c->interval_ns || c->json_stream))
		return salvo_usage_error(NULL, "--bidir reports each direction's totals; -i and --json-stream do not apply");
	/* What the proposal says must be what salvo_cli_run() will derive (rate in pps, flows). */
	probe = *cfg;
	probe.remote = server;
	if (salvo_cfg_finish(&probe, err, sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	x = calloc(1, sizeof(*x));
	if (!x)
		return 1;
	x->tcp = cfg->proto == SALVO_PROTO_TCP;
	x->reverse = srv->reverse;
	x->inner = extra;
	/* The server drains for up to its timeout after our results; ours bounds that wait. */
	x->wait_ms = 2 * probe.timeout_ms + 1000;
	rc = salvo_ctl_client_open(&x->ctl, &server, token,
				   srv->bidir ? SALVO_CTL_VERSION_BIDIR : SALVO_CTL_VERSION_MIN,
				   probe.timeout_ms, err, sizeof(err));
	if (rc) {
		free(x);
		return salvo_runtime_error(cfg->command, "%s", err);
	}
	if (srv->reverse) {
		rc = run_reverse(c, &probe, x, srv);
		goto out;
	}
	if (srv->bidir) {
		rc = run_bidir(c, cfg, &probe, app, extra, x, srv);
		goto out;
	}
	propose_from(&prop, &probe, srv);
	if (salvo_ctl_client_propose(&x->ctl, &prop, &port, err, sizeof(err))) {
		rc = salvo_runtime_error(cfg->command, "%s", err);
		goto out;
	}
	rc = run_forward(c, cfg, app, extra, x, port);
out:
	salvo_ctl_client_close(&x->ctl);
	free(x);
	return rc;
}
