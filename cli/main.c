// SPDX-License-Identifier: MIT
/* salvo: dispatch to the subcommand named on the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef SALVO_VERSION
#define SALVO_VERSION "0.1.0"
#endif

static void usage(FILE *f)
{
	const struct salvo_cmd *v[64];
	unsigned int n = salvo_cmd_list(v, 64);

	fprintf(f, "salvo %s: a batched packet engine for network benchmarks and traffic generation\n\n"
		   "Usage: salvo COMMAND [OPTIONS] [ARGS]\n\nCommands:\n", SALVO_VERSION);
	for (unsigned int i = 0; i < n; i++)
		fprintf(f, "  %-16s %s\n", v[i]->name, v[i]->summary);
	fprintf(f, "\n'salvo COMMAND --help' describes a command. Traffic defaults to loopback.\n");
}

int main(int argc, char **argv)
{
	const struct salvo_cmd *cmd;
	char *pos[16];
	int words = 0, npos = 0, rc;
	void *opts;

	salvo_cli_signals_early();	/* first: a signal during start-up ends the run cleanly */
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("salvo %s\n", SALVO_VERSION);
		return 0;
	}
	cmd = salvo_cmd_find(argv[1], argc > 2 ? argv[2] : NULL, &words);
	if (!cmd) {
		fprintf(stderr, "salvo: unknown command '%s%s%s' (see 'salvo --help')\n", argv[1],
			argc > 2 && argv[2][0] != '-' ? " " : "",
			argc > 2 && argv[2][0] != '-' ? argv[2] : "");
		return 2;
	}
	salvo_current_cmd = cmd;
	opts = calloc(1, cmd->opts_size ? cmd->opts_size : 1);
	if (!opts)
		return 1;
	if (cmd->defaults)
		cmd->defaults(opts);
	/* getopt sees argv[0] = command name, then the rest. */
	rc = salvo_opt_parse(cmd, opts, argc - words, argv + words, pos, &npos);
	if (rc == 1)
		rc = 0;
	else if (rc == 0) {
		salvo_cli_signals_dispatch(cmd);
		rc = cmd->run(opts, npos, pos);
	}
	free(opts);
	return rc;
}
