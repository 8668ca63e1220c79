// SPDX-License-Identifier: MIT
/*
 * Unit tests for option tables (cli/opt.c): every option type, the exit
 * codes (0 parsed, 1 --help, 2 bad input) and the generated help.  cli/ is
 * not part of the library the unit tests link, so opt.c is compiled in.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../cli/opt.c"

struct t_opts {
	bool flag, quiet;
	const char *str;
	unsigned int uint, bounded, choice;
	uint64_t count, size, dur;
	struct salvo_opt_rate rate;
	bool size_seen;
};

static const char *const colours[] = {"red", "green", "blue", NULL};

static const struct salvo_opt t_table[] = {
	SALVO_OPT("flag", SALVO_OPT_FLAG, struct t_opts, flag,
		  .short_name = 'f', .help = "a flag"),
	SALVO_OPT("quiet", SALVO_OPT_FLAG, struct t_opts, quiet,
		  .short_name = 'q', .help = "another flag"),
	SALVO_OPT("str", SALVO_OPT_STR, struct t_opts, str,
		  .short_name = 's', .metavar = "TEXT", .help = "a string"),
	SALVO_OPT("uint", SALVO_OPT_UINT, struct t_opts, uint,
		  .short_name = 'u', .metavar = "N", .help = "any unsigned int"),
	SALVO_OPT("bounded", SALVO_OPT_UINT, struct t_opts, bounded,
		  .metavar = "N", .help = "1..256", .min = 1, .max = 256),
	SALVO_OPT_END,
};

static const struct salvo_opt t_table2[] = {
	SALVO_OPT("count", SALVO_OPT_COUNT, struct t_opts, count,
		  .short_name = 'n', .help = "a count"),
	SALVO_OPT("size", SALVO_OPT_SIZE, struct t_opts, size,
		  .short_name = 'S', .help = "a size", .min = 1, .max = 65507, .seen = SALVO_OPT_SEEN(struct t_opts, size_seen)),
	SALVO_OPT("rate", SALVO_OPT_RATE, struct t_opts, rate,
		  .short_name = 'r', .help = "a rate"),
	SALVO_OPT("duration", SALVO_OPT_DURATION, struct t_opts, dur,
		  .short_name = 'd', .help = "a duration"),
	SALVO_OPT("colour", SALVO_OPT_ENUM, struct t_opts, choice,
		  .help = "a choice", .choices = colours),
	SALVO_OPT("a-very-long-option-name-for-wrapping", SALVO_OPT_STR, struct t_opts, str,
		  .metavar = "SOMETHING-LONG", .help = "wraps to the next line"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const t_tables[] = {t_table, t_table2, NULL};

static const struct salvo_cmd t_cmd = {
	.name = "test cmd",
	.args = "DEST",
	.min_args = 1,
	.max_args = 2,
	.summary = "a command for tests",
	.description = "It tests.",
	.tables = t_tables,
	.opts_size = sizeof(struct t_opts),
};

/* What the last parse wrote to stderr. */
static char errtext[1024];
static size_t errlen;

/* Parse argv with cmd into o, keeping what it writes to stderr in errtext. */
static int parse_cmd(const struct salvo_cmd *cmd, void *o, int argc, char **argv, char **pos,
		     int *npos)
{
	int rc, saved = dup(1), saved_err = dup(2);
	FILE *tmp = tmpfile();

	/* --help writes to stdout: keep the TAP stream clean. */
	fflush(stdout);
	freopen("/dev/null", "w", stdout);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	rc = salvo_opt_parse(cmd, o, argc, argv, pos, npos);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 1);
	dup2(saved_err, 2);
	close(saved);
	close(saved_err);
	rewind(tmp);
	errlen = fread(errtext, 1, sizeof(errtext) - 1, tmp);
	errtext[errlen] = 0;
	fclose(tmp);
	return rc;
}

/* Parse a NULL-terminated argument list (argv[0] is the command). */
static int parse_v(struct t_opts *o, char **pos, int *npos, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;

	va_start(ap, npos);
	argv[argc++] = "test";
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	memset(o, 0, sizeof(*o));
	return parse_cmd(&t_cmd, o, argc, argv, pos, npos);
}

#define PARSE(...) parse_v(&o, pos, &npos, __VA_ARGS__, (char *)NULL)

static void test_every_type(void **state)
{
	struct t_opts o;
	char *pos[4];
	int npos;

	(void)state;
	assert_int_equal(PARSE("--flag", "--str", "hello", "--uint", "4000000000", "--bounded", "256",
			       "--count", "1.5k", "--size", "1.5k", "--rate", "800Mbit",
			       "--duration", "250ms", "--colour", "blue", "1.2.3.4:5"), 0);
	assert_true(o.flag);
	assert_false(o.quiet);
	assert_string_equal(o.str, "hello");
	assert_int_equal(o.uint, 4000000000u);
	assert_int_equal(o.bounded, 256);
	assert_true(o.count == 1500);
	assert_true(o.size == 1536);
	assert_true(o.size_seen);
	assert_true(o.rate.bps == 8e8 && o.rate.pps == 0);
	assert_true(o.dur == 250000000ULL);
	assert_int_equal(o.choice, 2);
	assert_int_equal(npos, 1);
	assert_string_equal(pos[0], "1.2.3.4:5");

	/* Short forms, attached values, --name=value, and options after positionals. */
	assert_int_equal(PARSE("A", "-fq", "-sworld", "-n", "7", "-r100k", "--duration=5", "B",
			       "--colour=red", "-d", "1m"), 0);
	assert_true(o.flag && o.quiet);
	assert_string_equal(o.str, "world");
	assert_true(o.count == 7);
	assert_true(o.rate.pps == 1e5 && o.rate.bps == 0);
	assert_true(o.dur == 60 * 1000000000ULL);
	assert_int_equal(o.choice, 0);
	assert_false(o.size_seen);
	assert_int_equal(npos, 2);
	assert_string_equal(pos[0], "A");
	assert_string_equal(pos[1], "B");

	/* "--" ends the options: what follows is positional even if it looks like one. */
	assert_int_equal(PARSE("--", "--flag"), 0);
	assert_false(o.flag);
	assert_int_equal(npos, 1);
	assert_string_equal(pos[0], "--flag");
}

static void test_bad_input_is_2(void **state)
{
	struct t_opts o;
	char *pos[4];
	int npos;

	(void)state;
	assert_int_equal(PARSE("--nope", "X"), 2);		/* unknown long */
	/* One line on stderr: "salvo: CMD: ...". */
	assert_non_null(strstr(errtext, "salvo: test cmd: "));
	assert_non_null(strstr(errtext, "--nope"));
	assert_ptr_equal(strchr(errtext, '\n'), errtext + errlen - 1);
	assert_int_equal(PARSE("-z", "X"), 2);			/* unknown short */
	assert_int_equal(PARSE("X", "--str"), 2);		/* missing value, long */
	assert_int_equal(PARSE("X", "-s"), 2);			/* missing value, short */
	assert_int_equal(PARSE("X", "--flag=yes"), 2);		/* a flag takes no value */
	assert_int_equal(PARSE("X", "--bounded", "0"), 2);	/* below min */
	assert_int_equal(PARSE("X", "--bounded", "257"), 2);	/* above max */
	assert_int_equal(PARSE("X", "--uint", "4294967296"), 2);	/* above UINT_MAX */
	assert_int_equal(PARSE("X", "--uint", "-1"), 2);
	assert_int_equal(PARSE("X", "--size", "0"), 2);
	assert_int_equal(PARSE("X", "--size", "65508"), 2);
	assert_int_equal(PARSE("X", "--count", "1.5"), 2);
	assert_int_equal(PARSE("X", "--rate", "0"), 2);
	assert_int_equal(PARSE("X", "--duration", "0"), 2);
	assert_int_equal(PARSE("X", "--colour", "purple"), 2);	/* not a choice */
	assert_int_equal(PARSE("X", "--colour", "RED"), 2);	/* choices are exact */
	assert_int_equal(PARSE("X", "--colour", ""), 2);
	assert_int_equal(PARSE(NULL), 2);			/* too few positionals */
	assert_int_equal(PARSE("A", "B", "C"), 2);		/* too many */
	/* Ambiguous abbreviation (--qu is quiet, --s... is str or size). */
	assert_int_equal(PARSE("X", "--s", "1"), 2);
}

/* A value given to a flag is refused with a message that names the flag. */
static void test_flag_value_message(void **state)
{
	struct t_opts o;
	char *pos[4];
	int npos;

	(void)state;
	assert_int_equal(PARSE("X", "--flag=yes"), 2);
	/* One line of text: no NUL byte, no garbage character for the option. */
	if (strlen(errtext) != errlen || !strstr(errtext, "--flag"))
		fail_msg("message for --flag=yes: '%s' (%zu bytes, strlen %zu)", errtext, errlen,
			 strlen(errtext));
}

static void test_help_is_1(void **state)
{
	struct t_opts o;
	char *pos[4];
	int npos;

	(void)state;
	assert_int_equal(PARSE("--help"), 1);
	assert_int_equal(PARSE("-h"), 1);
	assert_int_equal(PARSE("X", "--flag", "-h"), 1);
}

/*
 * Parsing twice in one process (tests, fuzzers, a future shell mode) must
 * not carry getopt's state over: a failed parse that stopped inside a
 * cluster of short options ("-zq") must not leak "q" into the next parse.
 */
static void test_reparse_is_clean(void **state)
{
	struct t_opts o;
	char *pos[4];
	int npos;
	char *a1[] = {"test", "-zq", "X", NULL};
	char *a2[] = {"test", "Y", NULL};

	(void)state;
	{
		char *argv[4];

		memcpy(argv, a1, sizeof(a1));
		memset(&o, 0, sizeof(o));
		assert_int_equal(salvo_opt_parse(&t_cmd, &o, 3, argv, pos, &npos), 2);
	}
	{
		char *argv[3];

		memcpy(argv, a2, sizeof(a2));
		memset(&o, 0, sizeof(o));
		assert_int_equal(salvo_opt_parse(&t_cmd, &o, 2, argv, pos, &npos), 0);
		assert_false(o.quiet);
		assert_int_equal(npos, 1);
		assert_string_equal(pos[0], "Y");
	}
}

/* The help is generated from the tables: every option, its short form, metavar and choices. */
static void test_help_lists_every_option(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	assert_non_null(f);
	salvo_opt_help(&t_cmd, f);
	fclose(f);
	assert_non_null(strstr(text, "Usage: salvo test cmd [OPTIONS] DEST"));
	assert_non_null(strstr(text, "a command for tests"));
	assert_non_null(strstr(text, "It tests."));
	for (const struct salvo_opt *const *t = t_tables; *t; t++) {
		for (const struct salvo_opt *opt = *t; opt->name; opt++) {
			char want[96];

			snprintf(want, sizeof(want), "--%s", opt->name);
			if (!strstr(text, want))
				fail_msg("help lacks %s", want);
			if (opt->short_name) {
				snprintf(want, sizeof(want), "-%c, --%s", opt->short_name, opt->name);
				if (!strstr(text, want))
					fail_msg("help lacks %s", want);
			}
			if (!strstr(text, opt->help))
				fail_msg("help lacks the text of --%s", opt->name);
			if (opt->metavar) {
				snprintf(want, sizeof(want), "--%s %s", opt->name, opt->metavar);
				if (!strstr(text, want))
					fail_msg("help lacks %s", want);
			}
		}
	}
	assert_non_null(strstr(text, "(red, green, blue)"));
	assert_non_null(strstr(text, "--help"));
	/* Default metavars by type. */
	assert_non_null(strstr(text, "--rate RATE"));
	assert_non_null(strstr(text, "--duration SECONDS"));
	assert_non_null(strstr(text, "--size BYTES"));
	free(text);
}

static void test_commands(void **state)
{
	static const struct salvo_cmd one = {.name = "zzone", .summary = "one word"};
	static const struct salvo_cmd two = {.name = "zzone two", .summary = "two words"};
	const struct salvo_cmd *v[MAX_CMDS];
	int words = 0;
	unsigned int n;

	(void)state;
	assert_int_equal(salvo_cmd_register(&two), 0);
	assert_int_equal(salvo_cmd_register(&one), 0);
	assert_ptr_equal(salvo_cmd_find("zzone", "two", &words), &two);
	assert_int_equal(words, 2);
	assert_ptr_equal(salvo_cmd_find("zzone", "other", &words), &one);
	assert_int_equal(words, 1);
	assert_ptr_equal(salvo_cmd_find("zzone", NULL, &words), &one);
	assert_null(salvo_cmd_find("nope", NULL, &words));
	assert_null(salvo_cmd_find(NULL, NULL, &words));
	n = salvo_cmd_list(v, MAX_CMDS);
	assert_true(n >= 2);
	for (unsigned int i = 1; i < n; i++)	/* sorted, for `salvo --help` */
		assert_true(strcmp(v[i - 1]->name, v[i]->name) <= 0);
}

/* --count 0 is refused (exit 2, one line naming the option); 1 is the least count. */
static void test_count_zero_refused(void **state)
{
	struct t_opts o;
	char *pos[4];
	int npos;

	(void)state;
	assert_int_equal(PARSE("X", "--count", "0"), 2);
	assert_non_null(strstr(errtext, "--count: 0 is not a count"));
	assert_non_null(strchr(errtext, '\n'));
	assert_true(strchr(errtext, '\n') == errtext + errlen - 1);	/* exactly one line */
	assert_int_equal(PARSE("X", "-n", "0k"), 2);
	assert_int_equal(PARSE("X", "--count", "1"), 0);
	assert_true(o.count == 1);
}

static char *clean(const char *m)
{
	static char out[4096];
	FILE *f = fmemopen(out, sizeof(out), "w");

	assert_non_null(f);
	salvo__msg_clean(f, m);
	fclose(f);
	return out;
}

/* Long user input is shown as 64 bytes and "…", control bytes escaped, short words untouched. */
static void test_message_clean(void **state)
{
	char *m = malloc(100040), *r;

	(void)state;
	assert_string_equal(clean("port 'abc' is bad"), "port 'abc' is bad");
	assert_string_equal(clean("a\nb\x01" "c"), "a\\nb\\x01c");
	memcpy(m, "port '", 6);
	memset(m + 6, '9', 100000);
	strcpy(m + 100006, "' is not a port");
	r = clean(m);
	/* the word "'999…9'" keeps its opening quote, 63 nines, the ellipsis and its closing quote */
	assert_int_equal(strlen(r), strlen("port ") + 64 + 3 + 1 + strlen(" is not a port"));
	assert_non_null(strstr(r, "9999\xe2\x80\xa6' is not a port"));
	/* a cut never splits a UTF-8 character: 2-byte characters from byte 1 */
	m[0] = 'x';
	for (int i = 1; i < 201; i += 2) {
		m[i] = (char)0xc3;
		m[i + 1] = (char)0xa9;
	}
	m[201] = 0;
	r = clean(m);
	assert_int_equal(strlen(r), 63 + 3);	/* 'x' + 31 characters, then the ellipsis */
	free(m);
}

/*
 * A table whose member is not the size its type writes is refused where
 * the value would be written, naming the option, and nothing is written:
 * not half a uint64_t, not past an unsigned int into its neighbour.
 */
struct bad_opts {
	uint64_t wide;		/* aimed at by a UINT (4 bytes) */
	unsigned int narrow;	/* aimed at by a U64 (8 bytes) */
	unsigned int after;	/* narrow's neighbour */
	uint64_t rate;		/* aimed at by a RATE (16 bytes) */
	unsigned int flag;	/* aimed at by a FLAG (1 byte) */
	uint64_t good;		/* a right one, with a seen member that is not a bool */
	unsigned int good_seen;
	uint64_t right;		/* right in every way */
	bool right_seen;
};

/* Built by hand: SALVO_OPT would refuse these at compile time (its _Static_assert). */
#define BAD(n, t, m, ...)                                                                          \
	{ .name = (n), .type = (t), .field = SALVO_OPT_FIELD(struct bad_opts, m), __VA_ARGS__ }

static const struct salvo_opt bad_table[] = {
	BAD("wide", SALVO_OPT_UINT, wide, .help = "UINT into uint64_t"),
	BAD("narrow", SALVO_OPT_U64, narrow, .help = "U64 into unsigned int"),
	BAD("rate", SALVO_OPT_RATE, rate, .help = "RATE into uint64_t"),
	BAD("flag", SALVO_OPT_FLAG, flag, .help = "FLAG into unsigned int"),
	BAD("good", SALVO_OPT_SIZE, good, .help = "seen is not a bool",
	    .seen = SALVO_OPT_FIELD(struct bad_opts, good_seen)),
	SALVO_OPT("right", SALVO_OPT_SIZE, struct bad_opts, right, .help = "right",
		  .seen = SALVO_OPT_SEEN(struct bad_opts, right_seen)),
	SALVO_OPT_END,
};

static const struct salvo_opt *const bad_tables[] = {bad_table, NULL};

static const struct salvo_cmd bad_cmd = {
	.name = "bad cmd",
	.summary = "a command with a wrong table",
	.tables = bad_tables,
	.opts_size = sizeof(struct bad_opts),
};

static void test_wrong_size_refused(void **state)
{
	static const struct {
		const char *opt, *val, *says;
	} cases[] = {
		{"--wide", "7", "--wide is SALVO_OPT_UINT, which writes 4 bytes, but its member has 8"},
		{"--narrow", "7", "--narrow is SALVO_OPT_U64, which writes 8 bytes, but its member has 4"},
		{"--rate", "1k", "--rate is SALVO_OPT_RATE, which writes 16 bytes, but its member has 8"},
		{"--flag", NULL, "--flag is SALVO_OPT_FLAG, which writes 1 bytes, but its member has 4"},
		{"--good", "7", "--good: its seen member has 4 bytes"},
	};
	struct bad_opts o, canary;
	char *pos[2];
	int npos;

	(void)state;
	memset(&canary, 0xa5, sizeof(canary));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = {"bad", (char *)cases[i].opt, (char *)cases[i].val, NULL};

		memcpy(&o, &canary, sizeof(o));
		assert_int_equal(parse_cmd(&bad_cmd, &o, cases[i].val ? 3 : 2, argv, pos, &npos),
				 -EINVAL);
		if (!strstr(errtext, cases[i].says))
			fail_msg("%s: message '%s' lacks '%s'", cases[i].opt, errtext, cases[i].says);
		assert_non_null(strstr(errtext, "salvo: bad cmd: option table: "));
		assert_ptr_equal(strchr(errtext, '\n'), errtext + errlen - 1);	/* one line */
		/* Not one byte written: no short value, no neighbour overwritten. */
		assert_memory_equal(&o, &canary, sizeof(o));
	}
	/* The right option in the same table still parses. */
	{
		char *argv[] = {"bad", "--right", "1k", NULL};

		memset(&o, 0, sizeof(o));
		assert_int_equal(parse_cmd(&bad_cmd, &o, 3, argv, pos, &npos), 0);
		assert_true(o.right == 1024 && o.right_seen);
	}
}

/* salvo_opt_type_size() is each type's member size, independently spelled here. */
static void test_type_sizes(void **state)
{
	(void)state;
	/* The compile-time twin agrees with the run-time one. */
	for (int t = SALVO_OPT_FLAG; t <= SALVO_OPT_ENUM; t++)
		assert_int_equal(SALVO_OPT_TYPE_SIZE((enum salvo_opt_type)t),
				 salvo_opt_type_size((enum salvo_opt_type)t));
	assert_int_equal(salvo_opt_type_size(SALVO_OPT_FLAG), sizeof(bool));
	assert_int_equal(salvo_opt_type_size(SALVO_OPT_STR), sizeof(char *));
	assert_int_equal(salvo_opt_type_size(SALVO_OPT_UINT), 4);
	assert_int_equal(salvo_opt_type_size(SALVO_OPT_ENUM), 4);
	assert_int_equal(salvo_opt_type_size(SALVO_OPT_COUNT), 8);
	assert_int_equal(salvo_opt_type_size(SALVO_OPT_U64), 8);
	assert_int_equal(salvo_opt_type_size(SALVO_OPT_SIZE), 8);
	assert_int_equal(salvo_opt_type_size(SALVO_OPT_DURATION), 8);
	assert_int_equal(salvo_opt_type_size(SALVO_OPT_RATE), 2 * sizeof(double));
}

/* A repeatable option (SALVO_OPT_STRLIST): each use appends, in order; one past the room is refused. */
struct l_opts {
	struct salvo_opt_strlist tags;
};

static const struct salvo_opt l_table[] = {
	SALVO_OPT("tag", SALVO_OPT_STRLIST, struct l_opts, tags, .help = "repeatable"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const l_tables[] = {l_table, NULL};

static const struct salvo_cmd l_cmd = {
	.name = "list cmd", .summary = "repeats", .tables = l_tables, .opts_size = sizeof(struct l_opts),
};

static void test_strlist(void **state)
{
	char *argv[2 + 2 * (SALVO_OPT_STRLIST_MAX + 1)], *pos[1], val[SALVO_OPT_STRLIST_MAX + 1][8];
	struct l_opts o;
	int npos, argc = 1;

	(void)state;
	argv[0] = "list cmd";
	for (int i = 0; i < SALVO_OPT_STRLIST_MAX; i++) {
		snprintf(val[i], sizeof(val[i]), "v%d", i);
		argv[argc++] = "--tag";
		argv[argc++] = val[i];
	}
	argv[argc] = NULL;
	memset(&o, 0, sizeof(o));
	assert_int_equal(parse_cmd(&l_cmd, &o, argc, argv, pos, &npos), 0);
	assert_int_equal(o.tags.n, SALVO_OPT_STRLIST_MAX);
	for (int i = 0; i < SALVO_OPT_STRLIST_MAX; i++)
		assert_string_equal(o.tags.v[i], val[i]);
	argv[argc++] = "--tag";
	argv[argc++] = "one-too-many";
	argv[argc] = NULL;
	memset(&o, 0, sizeof(o));
	assert_int_equal(parse_cmd(&l_cmd, &o, argc, argv, pos, &npos), 2);
	assert_non_null(strstr(errtext, "--tag: at most 16 times"));
	assert_int_equal(salvo_opt_type_size(SALVO_OPT_STRLIST), sizeof(struct salvo_opt_strlist));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_bad_input_is_2),
		cmocka_unit_test(test_flag_value_message),
		cmocka_unit_test(test_help_is_1),
		cmocka_unit_test(test_reparse_is_clean),
		cmocka_unit_test(test_help_lists_every_option),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_count_zero_refused),
		cmocka_unit_test(test_message_clean),
		cmocka_unit_test(test_wrong_size_refused),
		cmocka_unit_test(test_type_sizes),
		cmocka_unit_test(test_strlist),
	};

	return cmocka_run_group_tests_name("opt", tests, NULL, NULL);
}
