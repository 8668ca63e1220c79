// SPDX-License-Identifier: MIT
/* salvo udp ping: round-trip latency against `udp echo`, from the HDR histogram. */
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "apps/ping.h"

struct ping_opts {
	struct salvo_cli_common c;
	uint64_t size;
	bool size_seen;
	bool busy_poll, busy_poll_us_seen;
	unsigned int busy_poll_us;
};

static const struct salvo_opt ping_table[] = {
	SALVO_OPT("size", SALVO_OPT_SIZE, struct ping_opts, size,
		  .short_name = 's', .help = "request bytes, at least the 32-byte stamp (default 64)", .min = 32, .max = 65507, .seen = SALVO_OPT_SEEN(struct ping_opts, size_seen)),
	SALVO_CLI_BUSY_POLL_OPTS(struct ping_opts),
	SALVO_OPT_END,
};

static const struct salvo_opt *const ping_tables[] = {
	ping_table, salvo_cli_count_opt, salvo_cli_rate_opt, salvo_cli_run_opts, NULL,
};

static void ping_defaults(void *o)
{
	struct ping_opts *p = o;

	salvo_cli_common_defaults(&p->c);
	p->size = 64;
}

/*
 * Every request that went out is answered or lost (apps/ping.c), so the
 * loss is sent - answered; timeouts also count requests the kernel refused
 * to send (ECONNREFUSED from an earlier ICMP), which never went out.
 */
static void ping_text(FILE *f, const struct salvo_report *rep, void *arg)
{
	uint64_t sent = rep->tx.packets, ok = rep->has_latency ? rep->latency.count : 0;

	(void)arg;
	fprintf(f, "  pings: %" PRIu64 " sent, %" PRIu64 " answered, %" PRIu64 " lost (%.3f%%), %"
		   PRIu64 " timeouts\n",
		sent, ok, rep->lost, sent ? 100.0 * (double)rep->lost / (double)sent : 0.0,
		rep->timeouts);
	salvo_report_wait_text(f, rep);
}

static void ping_json(json_t *root, const struct salvo_report *rep, void *arg)
{
	uint64_t sent = rep->tx.packets, ok = rep->has_latency ? rep->latency.count : 0;

	json_t *o;

	(void)arg;
	o = json_pack("{s:I, s:I, s:I, s:I, s:f}", "sent", (json_int_t)sent, "answered",
		      (json_int_t)ok, "lost", (json_int_t)rep->lost, "timeouts",
		      (json_int_t)rep->timeouts, "loss_pct",
		      sent ? 100.0 * (double)rep->lost / (double)sent : 0.0);
	salvo_report_wait_json(o, rep);
	json_object_set_new(root, "ping", o);
}

/* As ping(8): nothing answered is a failure (exit 1); partial loss is a result (exit 0). */
static bool ping_failed(const struct salvo_report *rep, void *arg, char *why, size_t len)
{
	(void)arg;
	if (rep->has_latency && rep->latency.count)
		return false;
	if (rep->tx.packets)
		snprintf(why, len, "no reply to any of %" PRIu64 " requests (%" PRIu64
			 " refused: nobody listening)", rep->tx.packets, rep->tx_refused);
	else
		snprintf(why, len, "no request went out (%" PRIu64 " send errors, %" PRIu64
			 " refused: nobody listening)", rep->tx_errors, rep->tx_refused);
	return true;
}

static int ping_run(void *o, int argc, char **argv)
{
	struct ping_opts *p = o;
	struct salvo_cli_extra x = {
		.latency_label = "round-trip time",
		.text = ping_text,
		.json = ping_json,
		.failed = ping_failed,
	};
	struct salvo_cfg cfg;
	char err[256];
	int rc;

	(void)argc;
	salvo_cfg_init(&cfg);
	salvo_cli_common_apply(&p->c, &cfg);
	rc = salvo_cli_busy_poll_apply(p->busy_poll, p->busy_poll_us, p->busy_poll_us_seen, &cfg);
	if (rc)
		return rc;
	cfg.command = "udp ping";
	cfg.proto = SALVO_PROTO_UDP;
	cfg.dir = SALVO_DIR_TX | SALVO_DIR_RX;
	cfg.connect = true;
	cfg.size = (uint32_t)p->size;
	if (salvo_addr_parse(argv[0], &cfg.remote, err, sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	if (!cfg.count && !cfg.duration_ns)
		cfg.duration_ns = 10 * NSEC_PER_SEC;	/* bounded unless asked */
	return salvo_cli_run(&p->c, &cfg, &salvo_app_ping, &x, NULL);
}

static const struct salvo_cmd ping_cmd = {
	.name = "udp ping",
	.args = "DEST",
	.min_args = 1,
	.max_args = 1,
	.summary = "UDP ping-pong against `udp echo`: round-trip percentiles, loss, timeouts",
	.description = "DEST is HOST:PORT, [IPV6]:PORT or unix:/path. One request is outstanding per thread:\n"
		       "back to back, or spaced by --rate. A request without its reply within --timeout is a timeout.\n"
		       "Without --count or --duration a run lasts 10 s. --busy-poll spins on the reply\n"
		       "instead of sleeping in the kernel (lower round trip, one core busy for the run).",
	.tables = ping_tables,
	.opts_size = sizeof(struct ping_opts),
	.defaults = ping_defaults,
	.run = ping_run,
};
SALVO_COMMAND_REGISTER(ping_cmd)

/* Declared in cli.h: udp echo takes the same two options. */
int salvo_cli_busy_poll_apply(bool on, unsigned int us, bool us_seen, struct salvo_cfg *cfg)
{
	if (us_seen && !on)
		return salvo_usage_error(NULL, "--busy-poll-usec needs --busy-poll");
	cfg->busy_poll = on;
	cfg->busy_poll_us = us_seen ? us : SALVO_CLI_BUSY_POLL_DEFAULT_US;
	return 0;
}
