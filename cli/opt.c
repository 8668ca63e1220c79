// SPDX-License-Identifier: MIT
/* Option-table parsing and generated help. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/units.h>

#include "opt.h"

#define MAX_CMDS 64
#define MAX_OPTS 128

static const struct salvo_cmd *cmds[MAX_CMDS];
static unsigned int ncmds;

int salvo_cmd_register(const struct salvo_cmd *cmd)
{
	unsigned int i;

	if (ncmds == MAX_CMDS)
		return -ENOSPC;
	for (i = ncmds; i > 0 && strcmp(cmds[i - 1]->name, cmd->name) > 0; i--)
		cmds[i] = cmds[i - 1];
	cmds[i] = cmd;
	ncmds++;
	return 0;
}

const struct salvo_cmd *salvo_cmd_find(const char *w1, const char *w2, int *words)
{
	char two[128];

	if (!w1)
		return NULL;
	if (w2) {
		snprintf(two, sizeof(two), "%s %s", w1, w2);
		for (unsigned int i = 0; i < ncmds; i++) {
			if (strcmp(cmds[i]->name, two) == 0) {
				*words = 2;
				return cmds[i];
			}
		}
	}
	for (unsigned int i = 0; i < ncmds; i++) {
		if (strcmp(cmds[i]->name, w1) == 0) {
			*words = 1;
			return cmds[i];
		}
	}
	return NULL;
}

unsigned int salvo_cmd_list(const struct salvo_cmd **v, unsigned int max)
{
	unsigned int i;

	for (i = 0; i < ncmds && i < max; i++)
		v[i] = cmds[i];
	return i;
}

const struct salvo_cmd *salvo_current_cmd;

/*
 * User input reaches error messages verbatim ("port '...' is not a number"),
 * and an argument can be 100 kB long or hold a newline.  Every message goes
 * out through here: control bytes escaped (one line stays one line), and
 * any word longer than SHOWN_MAX cut to its first SHOWN_MAX bytes plus "…"
 * (a closing quote kept), so a refusal never floods the terminal.
 */
#define SHOWN_MAX 64

void salvo__msg_clean(FILE *f, const char *m)
{
	size_t i = 0, n = strlen(m);

	while (i < n) {
		size_t w = i, cut;

		while (w < n && m[w] != ' ')
			w++;
		/* m[i..w) is one word */
		cut = w - i > SHOWN_MAX + 8 ? i + SHOWN_MAX : w;
		while (cut > i && cut < w && ((unsigned char)m[cut] & 0xc0) == 0x80)
			cut--;	/* not in the middle of a UTF-8 character */
		for (size_t j = i; j < cut; j++) {
			unsigned char c = (unsigned char)m[j];

			if (c == '\n')
				fputs("\\n", f);
			else if (c < ' ' || c == 127)
				fprintf(f, "\\x%02x", c);
			else
				fputc(c, f);
		}
		if (cut < w) {
			char last = m[w - 1];

			fputs("\xe2\x80\xa6", f);	/* … */
			if (last == '\'' || last == '"')
				fputc(last, f);
		}
		i = w;
		while (i < n && m[i] == ' ')
			fputc(m[i++], f);
	}
}

static void msg_print(const char *prefix, const char *fmt, va_list ap, const char *suffix)
{
	char small[512], *m = small;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, aq);
	va_end(aq);
	if (n >= (int)sizeof(small) && !(m = malloc((size_t)n + 1)))
		m = small;	/* out of memory: the cut message, still one line */
	else if (m != small)
		vsnprintf(m, (size_t)n + 1, fmt, ap);
	fputs(prefix, stderr);
	salvo__msg_clean(stderr, n < 0 ? fmt : m);
	fputs(suffix, stderr);
	fputc('\n', stderr);
	if (m != small)
		free(m);
}

int salvo_usage_error(const struct salvo_cmd *cmd, const char *fmt, ...)
{
	char prefix[80], suffix[80];
	va_list ap;

	if (!cmd)
		cmd = salvo_current_cmd;
	snprintf(prefix, sizeof(prefix), "salvo: %s%s", cmd ? cmd->name : "", cmd ? ": " : "");
	snprintf(suffix, sizeof(suffix), " (see 'salvo %s%s--help')", cmd ? cmd->name : "",
		 cmd ? " " : "");
	va_start(ap, fmt);
	msg_print(prefix, fmt, ap, suffix);
	va_end(ap);
	return 2;
}

int salvo_runtime_error(const char *cmd, const char *fmt, ...)
{
	char prefix[80];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "salvo: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	msg_print(prefix, fmt, ap, "");
	va_end(ap);
	return 1;
}

const char *salvo_opt_metavar(const struct salvo_opt *o)
{
	if (o->metavar)
		return o->metavar;
	switch (o->type) {
	case SALVO_OPT_FLAG: return NULL;
	case SALVO_OPT_STR: return "TEXT";
	case SALVO_OPT_UINT: return "N";
	case SALVO_OPT_COUNT: return "N";
	case SALVO_OPT_U64: return "N";
	case SALVO_OPT_SIZE: return "BYTES";
	case SALVO_OPT_RATE: return "RATE";
	case SALVO_OPT_DURATION: return "SECONDS";
	case SALVO_OPT_ENUM: return "CHOICE";
	case SALVO_OPT_STRLIST: return "TEXT";
	}
	return "X";
}

void salvo_opt_help(const struct salvo_cmd *cmd, FILE *f)
{
	fprintf(f, "Usage: salvo %s [OPTIONS]%s%s\n\n%s\n", cmd->name, cmd->args ? " " : "",
		cmd->args ? cmd->args : "", cmd->summary);
	if (cmd->description)
		fprintf(f, "\n%s\n", cmd->description);
	fprintf(f, "\nOptions:\n");
	for (const struct salvo_opt *const *t = cmd->tables; t && *t; t++) {
		for (const struct salvo_opt *o = *t; o->name; o++) {
			char left[64];
			const char *mv = salvo_opt_metavar(o);
			int n;

			if (o->short_name)
				n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->short_name, o->name,
					     mv ? " " : "", mv ? mv : "");
			else
				n = snprintf(left, sizeof(left), "      --%s%s%s", o->name, mv ? " " : "",
					     mv ? mv : "");
			fprintf(f, "%-30s%s%s", left, n >= 30 ? "\n                              " : "",
				o->help);
			if (o->choices) {
				fprintf(f, " (");
				for (const char *const *c = o->choices; *c; c++)
					fprintf(f, "%s%s", c == o->choices ? "" : ", ", *c);
				fprintf(f, ")");
			}
			fputc('\n', f);
		}
	}
	fprintf(f, "  -h, --help                  show this help\n");
}

size_t salvo_opt_type_size(enum salvo_opt_type t)
{
	switch (t) {
	case SALVO_OPT_FLAG: return sizeof(bool);
	case SALVO_OPT_STR: return sizeof(const char *);
	case SALVO_OPT_UINT: return sizeof(unsigned int);
	case SALVO_OPT_COUNT: return sizeof(uint64_t);
	case SALVO_OPT_U64: return sizeof(uint64_t);
	case SALVO_OPT_SIZE: return sizeof(uint64_t);
	case SALVO_OPT_RATE: return sizeof(struct salvo_opt_rate);
	case SALVO_OPT_DURATION: return sizeof(uint64_t);
	case SALVO_OPT_ENUM: return sizeof(unsigned int);
	case SALVO_OPT_STRLIST: return sizeof(struct salvo_opt_strlist);
	}
	return 0;
}

static const char *const type_names[] = {
	[SALVO_OPT_FLAG] = "FLAG", [SALVO_OPT_STR] = "STR", [SALVO_OPT_UINT] = "UINT",
	[SALVO_OPT_COUNT] = "COUNT", [SALVO_OPT_U64] = "U64", [SALVO_OPT_SIZE] = "SIZE",
	[SALVO_OPT_RATE] = "RATE", [SALVO_OPT_DURATION] = "DURATION", [SALVO_OPT_ENUM] = "ENUM",
	[SALVO_OPT_STRLIST] = "STRLIST",
};

/*
 * The table, not the user, is wrong when a member is not the size its type
 * writes (a UINT aimed at a uint64_t would fill half of it, a U64 aimed at
 * an unsigned int would overwrite its neighbour): say which option, write
 * nothing.
 */
static int check_field(const struct salvo_cmd *cmd, const struct salvo_opt *o)
{
	size_t want = salvo_opt_type_size(o->type);

	if (o->field.size != want) {
		salvo_runtime_error(cmd ? cmd->name : NULL,
				    "option table: --%s is SALVO_OPT_%s, which writes %zu bytes, but its member has %zu; nothing written",
				    o->name, (unsigned int)o->type < sizeof(type_names) / sizeof(type_names[0]) ?
				    type_names[o->type] : "?", want, o->field.size);
		return -EINVAL;
	}
	if (o->seen.size && o->seen.size != sizeof(bool)) {
		salvo_runtime_error(cmd ? cmd->name : NULL,
				    "option table: --%s: its seen member has %zu bytes, not a bool's %zu; nothing written",
				    o->name, o->seen.size, sizeof(bool));
		return -EINVAL;
	}
	return 0;
}

/* 0, 2 after a usage error, or -EINVAL (check_field) when the table is wrong. */
static int set_value(const struct salvo_cmd *cmd, const struct salvo_opt *o, void *opts,
		     const char *arg)
{
	char *base = opts, err[160];
	uint64_t u;
	int rc;

	rc = check_field(cmd, o);
	if (rc)
		return rc;
	err[0] = 0;
	switch (o->type) {
	case SALVO_OPT_FLAG:
		*(bool *)(base + o->field.offset) = true;
		break;
	case SALVO_OPT_STR:
		*(const char **)(base + o->field.offset) = arg;
		break;
	case SALVO_OPT_UINT:
	case SALVO_OPT_SIZE:
		rc = o->type == SALVO_OPT_UINT ? salvo_parse_count(arg, &u, err, sizeof(err))
					       : salvo_parse_size(arg, &u, err, sizeof(err));
		if (!rc && (o->min || o->max) && (u < o->min || u > o->max)) {
			snprintf(err, sizeof(err), "%s must be %llu..%llu", arg,
				 (unsigned long long)o->min, (unsigned long long)o->max);
			rc = -ERANGE;
		}
		if (!rc && o->type == SALVO_OPT_UINT && u > UINT32_MAX) {
			snprintf(err, sizeof(err), "%s is too large", arg);
			rc = -ERANGE;
		}
		if (!rc) {
			if (o->type == SALVO_OPT_UINT)
				*(unsigned int *)(base + o->field.offset) = (unsigned int)u;
			else
				*(uint64_t *)(base + o->field.offset) = u;
		}
		break;
	case SALVO_OPT_COUNT:
	case SALVO_OPT_U64:
		rc = salvo_parse_count(arg, &u, err, sizeof(err));
		/*
		 * "Stop after 0" would either end at once or, as the unset default,
		 * mean no limit: neither is what was asked, so it is refused, and
		 * leaving the option out is the way to say "no limit".
		 */
		if (!rc && o->type == SALVO_OPT_COUNT && u == 0) {
			snprintf(err, sizeof(err), "0 is not a count: give 1 or more, or leave --%s out for no limit",
				 o->name);
			rc = -ERANGE;
		}
		if (!rc)
			*(uint64_t *)(base + o->field.offset) = u;
		break;
	case SALVO_OPT_RATE: {
		struct salvo_opt_rate *r = (struct salvo_opt_rate *)(base + o->field.offset);

		rc = salvo_parse_rate(arg, &r->pps, &r->bps, err, sizeof(err));
		break;
	}
	case SALVO_OPT_DURATION:
		if (o->zero_ok && strcmp(arg, "0") == 0) {
			*(uint64_t *)(base + o->field.offset) = 0;
			rc = 0;
			break;
		}
		rc = salvo_parse_duration(arg, (uint64_t *)(base + o->field.offset), err, sizeof(err));
		break;
	case SALVO_OPT_ENUM:
		rc = -EINVAL;
		for (unsigned int i = 0; o->choices[i]; i++) {
			if (strcmp(o->choices[i], arg) == 0) {
				*(unsigned int *)(base + o->field.offset) = i;
				rc = 0;
			}
		}
		if (rc) {
			int n = snprintf(err, sizeof(err), "'%s' is not one of", arg);

			for (unsigned int i = 0; o->choices[i] && n < (int)sizeof(err); i++)
				n += snprintf(err + n, sizeof(err) - (size_t)n, "%s %s", i ? "," : "",
					      o->choices[i]);
		}
		break;
	case SALVO_OPT_STRLIST: {
		struct salvo_opt_strlist *l = (struct salvo_opt_strlist *)(base + o->field.offset);

		if (l->n == SALVO_OPT_STRLIST_MAX) {
			snprintf(err, sizeof(err), "at most %d times", SALVO_OPT_STRLIST_MAX);
			rc = -E2BIG;
		} else {
			l->v[l->n++] = arg;
		}
		break;
	}
	}
	if (rc)
		return salvo_usage_error(cmd, "--%s: %s", o->name, err);
	if (o->seen.size)
		*(bool *)(base + o->seen.offset) = true;
	return 0;
}

int salvo_opt_parse(const struct salvo_cmd *cmd, void *opts, int argc, char **argv,
		    char **pos, int *npos)
{
	struct option lopts[MAX_OPTS + 2];
	const struct salvo_opt *index[MAX_OPTS];
	char shorts[MAX_OPTS * 2 + 4];
	int n = 0, ns = 0, c, li, rc;

	shorts[ns++] = ':';	/* report a missing value as ':' (GNU getopt permutes positionals) */
	for (const struct salvo_opt *const *t = cmd->tables; t && *t; t++) {
		for (const struct salvo_opt *o = *t; o->name && n < MAX_OPTS; o++) {
			lopts[n] = (struct option){o->name,
						   o->type == SALVO_OPT_FLAG ? no_argument : required_argument,
						   NULL, 256 + n};
			index[n] = o;
			if (o->short_name) {
				shorts[ns++] = (char)o->short_name;
				if (o->type != SALVO_OPT_FLAG)
					shorts[ns++] = ':';
			}
			n++;
		}
	}
	lopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	lopts[n] = (struct option){NULL, 0, NULL, 0};
	shorts[ns++] = 'h';
	shorts[ns] = 0;

	*npos = 0;
	optind = 0;	/* 0, not 1: GNU getopt then forgets a previous parse's state */
	opterr = 0;
	for (;;) {
		li = -1;
		c = getopt_long(argc, argv, shorts, lopts, &li);
		if (c == -1)
			break;
		if (c == 'h') {
			salvo_opt_help(cmd, stdout);
			return 1;
		}
		if (c == '?') {
			const char *arg = argv[optind - 1];

			if (optopt >= 256 || (arg[0] == '-' && arg[1] == '-' && strchr(arg, '=')))
				return salvo_usage_error(cmd, "option '%.*s' takes no value",
							 (int)strcspn(arg, "="), arg);
			if (optopt > ' ' && optopt < 127)
				return salvo_usage_error(cmd, "unknown option -%c", optopt);
			return salvo_usage_error(cmd, "unknown option '%s'", arg);
		}
		if (c == ':')
			return salvo_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		if (c >= 256) {
			rc = set_value(cmd, index[c - 256], opts, optarg);
			if (rc)
				return rc;
			continue;
		}
		for (int i = 0; i < n - 1; i++) {
			if (index[i]->short_name == c) {
				rc = set_value(cmd, index[i], opts, optarg);
				if (rc)
					return rc;
				break;
			}
		}
	}
	for (int i = optind; i < argc; i++) {
		if ((unsigned int)*npos >= cmd->max_args)
			return salvo_usage_error(cmd, "unexpected argument '%s'", argv[i]);
		pos[(*npos)++] = argv[i];
	}
	if ((unsigned int)*npos < cmd->min_args)
		return salvo_usage_error(cmd, "missing %s", cmd->args ? cmd->args : "argument");
	return 0;
}
