// SPDX-License-Identifier: MIT
/*
 * Fuzz the option-table parser (cli/opt.c) with argument vectors cut from
 * the input at NUL bytes: exit codes 0/1/2 only, positionals within bounds,
 * values within their declared ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opt.h"

struct f_opts {
	bool flag, quiet;
	const char *str;
	unsigned int uint, bounded, choice;
	uint64_t count, size, dur;
	struct salvo_opt_rate rate;
	bool size_seen;
};

static const char *const colours[] = {"red", "green", "blue", NULL};

static const struct salvo_opt f_table[] = {
	SALVO_OPT("flag", SALVO_OPT_FLAG, struct f_opts, flag,
		  .short_name = 'f', .help = "a flag"),
	SALVO_OPT("quiet", SALVO_OPT_FLAG, struct f_opts, quiet,
		  .short_name = 'q', .help = "another flag"),
	SALVO_OPT("str", SALVO_OPT_STR, struct f_opts, str,
		  .short_name = 's', .metavar = "TEXT", .help = "a string"),
	SALVO_OPT("uint", SALVO_OPT_UINT, struct f_opts, uint,
		  .short_name = 'u', .metavar = "N", .help = "an unsigned int"),
	SALVO_OPT("bounded", SALVO_OPT_UINT, struct f_opts, bounded,
		  .short_name = 'b', .metavar = "N", .help = "1..256", .min = 1, .max = 256),
	SALVO_OPT("count", SALVO_OPT_COUNT, struct f_opts, count,
		  .short_name = 'n', .help = "a count"),
	SALVO_OPT("size", SALVO_OPT_SIZE, struct f_opts, size,
		  .short_name = 'S', .help = "a size", .min = 1, .max = 65507, .seen = SALVO_OPT_SEEN(struct f_opts, size_seen)),
	SALVO_OPT("rate", SALVO_OPT_RATE, struct f_opts, rate,
		  .short_name = 'r', .help = "a rate"),
	SALVO_OPT("duration", SALVO_OPT_DURATION, struct f_opts, dur,
		  .short_name = 'd', .help = "a duration"),
	SALVO_OPT("colour", SALVO_OPT_ENUM, struct f_opts, choice,
		  .short_name = 'c', .help = "a choice", .choices = colours),
	SALVO_OPT_END,
};

static const struct salvo_opt *const f_tables[] = {f_table, NULL};

static const struct salvo_cmd f_cmd = {
	.name = "fuzz",
	.args = "A [B]",
	.min_args = 1,
	.max_args = 2,
	.summary = "fuzz target",
	.tables = f_tables,
	.opts_size = sizeof(struct f_opts),
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The parser's messages and --help go nowhere; libFuzzer keeps its own stream. */
	stdout = fopen("/dev/null", "w");
	stderr = fopen("/dev/null", "w");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *argv[33], *pos[4];
	struct f_opts o;
	int argc = 1, npos = -1, rc;
	size_t i, start = 0;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[0] = "fuzz";
	for (i = 0; i <= size && argc < 32; i++) {
		if (buf[i] == 0) {
			argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	/*
	 * No getopt reset here: salvo_opt_parse must not carry state from the
	 * previous input's argv (freed by now: ASan catches a stale pointer).
	 */
	memset(&o, 0, sizeof(o));
	rc = salvo_opt_parse(&f_cmd, &o, argc, argv, pos, &npos);
	if (rc != 0 && rc != 1 && rc != 2)
		abort();
	if (rc == 0) {
		if (npos < 1 || npos > 2)
			abort();
		for (int k = 0; k < npos; k++)
			if (pos[k] < buf || pos[k] > buf + size)
				abort();
		if (o.bounded && (o.bounded < 1 || o.bounded > 256))
			abort();
		if (o.size_seen && (o.size < 1 || o.size > 65507))
			abort();
		if (o.choice > 2)
			abort();
		if (o.str && !(o.str >= buf && o.str <= buf + size))
			abort();
	}
	free(buf);
	return 0;
}
