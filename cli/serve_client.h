/* SPDX-License-Identifier: MIT */
/* `udp send --server` / `tcp send --server`: a test run with a `salvo serve` at the other end. */
#ifndef SALVO_CLI_SERVE_CLIENT_H
#define SALVO_CLI_SERVE_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"

struct salvo_cli_server {
	const char *server;	/* HOST[:PORT] of the control channel (default port 5201) */
	const char *token;	/* NULL: $SALVO_TOKEN */
	bool reverse;		/* -R: the server sends, we receive */
	bool bidir;		/* --bidir: both send at once, each direction counted apart */
	uint64_t rcvbuf;	/* the receiver's socket buffer (the server's, or ours with -R) */
};

/*
 * The options every `send` command with --server takes (T: its option
 * struct, whose `srv` is a struct salvo_cli_server), like cmd_raw.c's XDP_OPTS.
 */
#define SERVER_OPTS(T)                                                                             \
	SALVO_OPT("server", SALVO_OPT_STR, T, srv.server,                                          \
		  .metavar = "HOST[:PORT]", .help = "test against a 'salvo serve' (default port 5201) instead of DEST: both sides' figures, exact loss"), \
	SALVO_OPT("token", SALVO_OPT_STR, T, srv.token,                                            \
		  .metavar = "SECRET", .help = "with --server: the server's shared secret (default: $SALVO_TOKEN)"), \
	SALVO_OPT("reverse", SALVO_OPT_FLAG, T, srv.reverse,                                       \
		  .short_name = 'R', .help = "with --server: the server sends, this side receives and counts"), \
	SALVO_OPT("bidir", SALVO_OPT_FLAG, T, srv.bidir,                                           \
		  .help = "with --server: both sides send at once, each direction counted on its own (not with -R, -i)")

/*
 * Run cfg's test against the server: propose it, run our side (the sender
 * with app/extra as the command would, or a receiver with -R), exchange the
 * final counts, and print our report with the server's figures in it
 * ("server" in JSON).  Returns the exit code.
 */
/*
 * HOST[:PORT] of a --server (default port 5201) into *a; -EINVAL with one
 * line in err (a unix path too: the data side needs an IP host).
 */
int salvo_cli_server_addr(const char *s, struct salvo_addr *a, char *err, size_t errlen);

int salvo_cli_run_with_server(const struct salvo_cli_common *c, struct salvo_cfg *cfg,
			      const struct salvo_app *app, const struct salvo_cli_extra *extra,
			      const struct salvo_cli_server *srv);

#endif
