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
};

/* Forward: our sender is done; tell the server what we sent, learn what it received. */
static void exchange(struct peer_ctx *x, const struct salvo_report *rep)
{
	struct salvo_ctl_msg mine = {.type = SALVO_CTL_RESULTS, .has_tx = true}, theirs;

	if (x->exchanged)
		return;
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
		       const struct salvo_cli_extra *extra, struct peer_ctx *x,
		       const struct salvo_cli_server *srv)
{
	struct salvo_cfg cfg;
	struct salvo_stream_arg sa;
	struct salvo_app app;
	struct salvo_ctl_msg prop, theirs, mine = {.type = SALVO_CTL_RESULTS, .has_rx = true};
	const struct salvo_backend_ops *ops;
	const char *skipped;
	struct salvo_run *run = NULL;
	struct salvo_report rep;
	struct salvo_cli_extra px = {.text = peer_text, .json = peer_json, .arg = x};
	char err[320], why[256];
	uint16_t port, accepted;
	uint64_t idle_since, deadline, last = UINT64_MAX, wait_ms;
	int rc;

	(void)extra;	/* the sender's per-connection lines do not apply to our receiver */
	salvo_cfg_init(&cfg);
	salvo_cli_common_apply(c, &cfg);
	cfg.command = x->tcp ? "tcp send -R" : "udp send -R";
	cfg.proto = sent_cfg->proto;
	cfg.dir = SALVO_DIR_RX;
	cfg.listen = true;
	cfg.count = 0;
	cfg.duration_ns = 0;
	cfg.rate_pps = cfg.rate_bps = 0;
	cfg.threads = 1;
	cfg.rcvbuf = (unsigned int)srv->rcvbuf;
	cfg.local = x->ctl.local;	/* where the control connection came from: the server sends there */
	salvo_stream_arg_init(&sa);
	if (x->tcp) {
		app = salvo_app_stream;
		sa.server = true;
		app.arg = &sa;
		cfg.stamp = false;
		cfg.size = 128 * 1024;
	} else {
		app = salvo_app_sink;
	}
	port = salvo_ctl_free_port(&cfg.local, x->tcp);
	salvo_addr_set_port(&cfg.local, port);
	if (!port || (rc = salvo_cfg_finish(&cfg, err, sizeof(err))) ||
	    (rc = salvo_backend_select(&cfg, &ops, err, sizeof(err), &skipped, why, sizeof(why))) ||
	    (rc = salvo_run_create(&run, &cfg, ops, &app, err, sizeof(err)))) {
		if (!port)
			snprintf(err, sizeof(err), "no free local port to receive on");
		rc = salvo_runtime_error(sent_cfg->command, "%s", err);
		goto out;
	}
	rc = salvo_run_start(run, err, sizeof(err));
	if (rc) {
		salvo_run_destroy(run);
		run = NULL;
		rc = salvo_runtime_error(sent_cfg->command, "%s", err);
		goto out;
	}
	propose_from(&prop, sent_cfg, srv);
	prop.port = port;
	if (salvo_ctl_client_propose(&x->ctl, &prop, &accepted, err, sizeof(err)) ||
	    salvo_ctl_client_start(&x->ctl, err, sizeof(err))) {
		rc = salvo_runtime_error(sent_cfg->command, "%s", err);
		goto stop;
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
		goto stop;
	}
	x->theirs = theirs.tx;
	/* Count until all the server sent is here, or nothing more came for a while (the rest is lost). */
	idle_since = salvo_now_ns();
	deadline = idle_since + (uint64_t)x->ctl.timeout_ms * NSEC_PER_MSEC;
	for (;;) {
		struct salvo_report now;
		uint64_t got, closed, t = salvo_now_ns();

		salvo_run_snapshot(run, &now);
		pthread_mutex_lock(&sa.lock);
		closed = sa.closed;
		pthread_mutex_unlock(&sa.lock);
		got = x->tcp ? now.rx.bytes : now.rx.packets;
		if (got >= (x->tcp ? theirs.tx.bytes : theirs.tx.packets) &&
		    (!x->tcp || closed >= now.conns))
			break;
		if (t >= deadline)
			break;
		/* TCP loses nothing: only the timeout ends its wait. */
		if (got != last) {
			last = got;
			idle_since = t;
		} else if (!x->tcp && t - idle_since >= DRAIN_IDLE_MS * NSEC_PER_MSEC) {
			break;
		}
		usleep(10000);
	}
	salvo_run_stop(run);
	salvo_run_wait(run, UINT64_MAX);
	salvo_run_join(run);
	salvo_run_report(run, &rep);
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
	salvo_run_destroy(run);
	run = NULL;
	goto out;
stop:
	salvo_run_stop(run);
	salvo_run_wait(run, UINT64_MAX);
	salvo_run_join(run);
	salvo_run_destroy(run);
out:
	salvo_stream_arg_fini(&sa);
	return rc;
}

int salvo_cli_run_with_server(const struct salvo_cli_common *c, struct salvo_cfg *cfg,
			      const struct salvo_app *app, const struct salvo_cli_extra *extra,
			      const struct salvo_cli_server *srv)
{
	struct peer_ctx *x;
	struct salvo_cli_extra px;
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
	rc = salvo_ctl_client_open(&x->ctl, &server, token, probe.timeout_ms, err, sizeof(err));
	if (rc) {
		free(x);
		return salvo_runtime_error(cfg->command, "%s", err);
	}
	if (srv->reverse) {
		rc = run_reverse(c, &probe, extra, x, srv);
		goto out;
	}
	propose_from(&prop, &probe, srv);
	if (salvo_ctl_client_propose(&x->ctl, &prop, &port, err, sizeof(err))) {
		rc = salvo_runtime_error(cfg->command, "%s", err);
		goto out;
	}
	/* Data goes to the host we reached for control, at the port it opened for us. */
	cfg->remote = server;
	salvo_addr_set_port(&cfg->remote, port);
	px = (struct salvo_cli_extra){.text = peer_text, .json = peer_json, .arg = x};
	if (extra)
		px.latency_label = extra->latency_label;
	rc = salvo_cli_run(c, cfg, app, &px, NULL);
	if (!x->exchanged) {	/* no report printed (an error): still close the test properly */
		struct salvo_report none = {0};

		exchange(x, &none);
	}
	if (!rc && x->rc)
		rc = salvo_runtime_error(cfg->command, "server results: %s", x->err);
out:
	salvo_ctl_client_close(&x->ctl);
	free(x);
	return rc;
}
