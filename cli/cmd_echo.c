// SPDX-License-Identifier: MIT
/*
 * salvo udp echo: the seed's socketserver UDPServer ("Got your message!"),
 * grown into an echo server for `udp ping` and load tests.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/units.h>

#include "cli.h"
#include "apps/echo.h"

struct echo_opts {
	struct salvo_cli_common c;	/* first: the shared tables point into it */
	const char *reply;
	bool print;
	uint64_t rcvbuf;
	bool busy_poll, busy_poll_us_seen;
	unsigned int busy_poll_us;
};

static const struct salvo_opt echo_table[] = {
	SALVO_OPT("reply", SALVO_OPT_STR, struct echo_opts, reply,
		  .metavar = "TEXT", .help = "answer every datagram with TEXT (the seed's server: \"Got your message!\") instead of its own bytes"),
	SALVO_OPT("print", SALVO_OPT_FLAG, struct echo_opts, print,
		  .short_name = 'p', .help = "print each request like the seed's server: Got connection from: ADDR / It said: TEXT"),
	SALVO_OPT("rcvbuf", SALVO_OPT_SIZE, struct echo_opts, rcvbuf,
		  .help = "socket receive buffer to ask for (default 8 MiB)", .min = 4096, .max = 1u << 30),
	SALVO_CLI_BUSY_POLL_OPTS(struct echo_opts),
	SALVO_OPT_END,
};

static const struct salvo_opt *const echo_tables[] = {
	echo_table, salvo_cli_count_opt, salvo_cli_run_opts, NULL,
};

static void echo_defaults(void *o)
{
	struct echo_opts *e = o;

	salvo_cli_common_defaults(&e->c);
}

static void print_request(const struct salvo_pkt *k, void *arg)
{
	(void)arg;
	salvo_print_payload("Got connection from: %p\nIt said: ", k);
}

/*
 * The same counts in the server's words: requests received and answered, each
 * rate over its own active time (the traffic's, not the wait for it).
 */
static void echo_text(FILE *f, const struct salvo_report *rep, void *arg)
{
	char a[32], b[32];

	(void)arg;
	if (rep->interval)
		return;
	fprintf(f, "  echo: %" PRIu64 " requests received at %s pps, %" PRIu64 " answered at %s pps",
		rep->rx.packets, salvo_fmt_si(rep->rx.pps, a, sizeof(a)), rep->tx.packets,
		salvo_fmt_si(rep->tx.pps, b, sizeof(b)));
	if (rep->rx.packets > rep->tx.packets)
		fprintf(f, ", %" PRIu64 " unanswered", rep->rx.packets - rep->tx.packets);
	fputc('\n', f);
	salvo_report_wait_text(f, rep);
}


static int echo_run(void *o, int argc, char **argv)
{
	struct echo_opts *e = o;
	struct salvo_echo_arg ea = {0};
	struct salvo_app app = salvo_app_echo;
	/* The summary's "echo" section: how the server waited. */
	struct salvo_cli_extra extra = {.text = echo_text, .json = salvo_report_wait_section, .arg = "echo"};
	struct salvo_cfg cfg;
	char err[256];
	int rc;

	salvo_cfg_init(&cfg);
	salvo_cli_common_apply(&e->c, &cfg);
	rc = salvo_cli_busy_poll_apply(e->busy_poll, e->busy_poll_us, e->busy_poll_us_seen, &cfg);
	if (rc)
		return rc;
	cfg.command = "udp echo";
	cfg.proto = SALVO_PROTO_UDP;
	cfg.dir = SALVO_DIR_RX | SALVO_DIR_TX;
	cfg.listen = true;
	cfg.rcvbuf = (unsigned int)e->rcvbuf;
	if (salvo_addr_parse_bind(argc ? argv[0] : "6667", "127.0.0.1", true, &cfg.local, err,
				  sizeof(err)))
		return salvo_usage_error(NULL, "%s", err);
	if (e->reply) {
		size_t n = strlen(e->reply);

		if (n > 65507)
			return salvo_usage_error(NULL, "a reply of %zu bytes exceeds a datagram", n);
		ea.reply = e->reply;
		ea.reply_len = (uint32_t)n;
	}
	if (e->print) {
		ea.on_packet = print_request;
		e->c.quiet = true;
	}
	app.arg = &ea;
	return salvo_cli_run(&e->c, &cfg, &app, &extra, NULL);
}

static const struct salvo_cmd echo_cmd = {
	.name = "udp echo",
	.args = "[ADDR:]PORT",
	.min_args = 0,
	.max_args = 1,
	.summary = "UDP echo server: answer every datagram with its bytes or a fixed --reply (the seed's UDPServer)",
	.description = "Binds 127.0.0.1 unless an address is given ([::1]:PORT, 0.0.0.0:PORT, unix:/path).\n"
		       "Default port 6667, as in the seed. Runs until --count requests, --duration or Ctrl-C.",
	.tables = echo_tables,
	.opts_size = sizeof(struct echo_opts),
	.defaults = echo_defaults,
	.run = echo_run,
};
SALVO_COMMAND_REGISTER(echo_cmd)
