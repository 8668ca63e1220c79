// SPDX-License-Identifier: MIT
/* salvo: dispatch to the subcommand named on the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "version.h"
/* Generated into $(BUILD)/gen by tools/version.sh: SALVO_VERSION for the usage line. */
#include <salvo_build.h>

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

/*
 * "salvo udp" names a group, not a command: list the group's commands (one
 * line on stderr, exit 2; with --help the commands and their summaries on
 * stdout, exit 0).  Returns -1 when w1 is no group either.
 */
static int group_usage(const char *w1, const char *w2)
{
	const struct salvo_cmd *v[64];
	unsigned int n = salvo_cmd_list(v, 64), found = 0;
	size_t len = strlen(w1);
	char list[512];
	int w = 0;
	bool help = w2 && (!strcmp(w2, "--help") || !strcmp(w2, "-h") || !strcmp(w2, "help"));

	list[0] = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (strncmp(v[i]->name, w1, len) || v[i]->name[len] != ' ')
			continue;
		if (help) {
			if (!found)
				printf("Usage: salvo %s COMMAND [OPTIONS] [ARGS]\n\nCommands:\n", w1);
			printf("  %-16s %s\n", v[i]->name, v[i]->summary);
		} else if (w >= 0 && (size_t)w < sizeof(list)) {
			w += snprintf(list + w, sizeof(list) - (size_t)w, "%s%s", found ? ", " : "",
				      v[i]->name + len + 1);
		}
		found++;
	}
	if (!found)
		return -1;
	if (help) {
		printf("\n'salvo %s COMMAND --help' describes a command.\n", w1);
		return 0;
	}
	/* salvo_runtime_error only for its one cleaned line: this is bad input, exit 2. */
	if (w2 && w2[0] != '-')
		salvo_runtime_error(NULL, "unknown command '%s %s'; %s commands: %s (see 'salvo %s --help')",
				    w1, w2, w1, list, w1);
	else
		salvo_runtime_error(NULL, "'%s' needs a command: %s (see 'salvo %s --help')", w1, list,
				    w1);
	return 2;
}

int main(int argc, char **argv)
{
	const struct salvo_cmd *cmd;
	char *pos[256];	/* salvo merge takes up to 256 files */
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
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") || !strcmp(argv[1], "version")) {
		salvo_version_print(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	/* Hidden: the option tables for tools/gen-docs.py (man pages, completion). */
	if (!strcmp(argv[1], "__options"))
		return salvo_options_dump(stdout);
	cmd = salvo_cmd_find(argv[1], argc > 2 ? argv[2] : NULL, &words);
	if (!cmd) {
		rc = group_usage(argv[1], argc > 2 ? argv[2] : NULL);
		if (rc >= 0)
			return rc;
		return salvo_usage_error(NULL, "unknown command '%s'", argv[1]);
	}
	salvo_current_cmd = cmd;
	opts = calloc(1, cmd->opts_size ? cmd->opts_size : 1);
	if (!opts)
		return 1;
	if (cmd->defaults)
		cmd->defaults(opts);
	/* getopt sees argv[0] = command name, then the rest. */
	rc = salvo_opt_parse(cmd, opts, argc - words, argv + words, pos, &npos);
	if (rc < 0)
		rc = 1;	/* a wrong option table (it said which): salvo's failure, not the user's */
	if (rc == 0 && salvo_cli_has_common(cmd))
		rc = salvo_cli_common_check(opts);
	if (rc == 1)
		rc = 0;
	else if (rc == 0) {
		salvo_cli_signals_dispatch(cmd);
		rc = cmd->run(opts, npos, pos);
	}
	free(opts);
	return rc;
}
