/* SPDX-License-Identifier: MIT */
/*
 * Option tables, in the manner of xdp-tools' DEFINE_OPTION: each subcommand
 * declares one table of its options (plus shared tables such as the run
 * options); parsing, validation and --help are all generated from the tables,
 * so there is no second hand-kept list.
 */
#ifndef SALVO_CLI_OPT_H
#define SALVO_CLI_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum salvo_opt_type {
	SALVO_OPT_FLAG,		/* bool */
	SALVO_OPT_STR,		/* const char * */
	SALVO_OPT_UINT,		/* unsigned int, in [min, max] */
	SALVO_OPT_COUNT,	/* uint64_t, 1 or more: 1000, 100k, 1.5M ("stop after N"; 0 refused) */
	SALVO_OPT_U64,		/* uint64_t, 0 included: a seed, a number that is not a bound */
	SALVO_OPT_SIZE,		/* uint64_t bytes: 64, 128KiB; in [min, max] */
	SALVO_OPT_RATE,		/* struct salvo_opt_rate: 100k (pps), 800Mbit (bits) */
	SALVO_OPT_DURATION,	/* uint64_t ns: 5, 5s, 250ms */
	SALVO_OPT_ENUM,		/* unsigned int index into choices */
	SALVO_OPT_STRLIST,	/* struct salvo_opt_strlist: repeatable, each use appends */
};

/* A repeatable option's values, in command-line order; more than the room is refused. */
#define SALVO_OPT_STRLIST_MAX 16
struct salvo_opt_strlist {
	const char *v[SALVO_OPT_STRLIST_MAX];
	unsigned int n;
};

struct salvo_opt_rate {
	double pps, bps;
};

/* Where an option writes: a member of the command's option struct, and its size. */
struct salvo_opt_field {
	size_t offset;
	size_t size;	/* sizeof the member; 0 for .seen: none */
};

struct salvo_opt {
	const char *name;		/* long name, without "--" */
	enum salvo_opt_type type;
	struct salvo_opt_field field;	/* the value's member (SALVO_OPT fills it) */
	int short_name;			/* 0: none */
	const char *metavar;		/* NULL: the type's ("N", "BYTES"...) */
	const char *help;
	const char *const *choices;	/* SALVO_OPT_ENUM, NULL-terminated */
	uint64_t min, max;		/* SALVO_OPT_UINT / SALVO_OPT_SIZE; 0,0: no bound */
	struct salvo_opt_field seen;	/* optional bool set when given (SALVO_OPT_SEEN) */
	bool zero_ok;			/* SALVO_OPT_DURATION: "0" is taken, meaning none */
};

/*
 * As xdp-tools' DEFINE_OPTION: the option's name and type, then the option
 * struct T and the member it writes, whose offset AND size are recorded, so
 * set_value() refuses a type that would write more or fewer bytes than the
 * member holds (a SALVO_OPT_UINT aimed at a uint64_t).  The rest are named:
 *
 *   SALVO_OPT("rate", SALVO_OPT_RATE, struct udp_send_opts, c.rate,
 *             .short_name = 'r', .help = "pace to this rate"),
 */
#define SALVO_OPT_FIELD(T, member)                                                                 \
	{ .offset = offsetof(T, member), .size = sizeof(((T *)0)->member) }
/*
 * The same check at build time for every table written with SALVO_OPT (the
 * type is a constant there): a wrong member does not compile.  set_value()
 * still checks, for tables built any other way.
 */
#define SALVO_OPT_TYPE_SIZE(t)                                                                     \
	((t) == SALVO_OPT_FLAG ? sizeof(bool) :                                                    \
	 (t) == SALVO_OPT_STR ? sizeof(const char *) :                                             \
	 (t) == SALVO_OPT_UINT || (t) == SALVO_OPT_ENUM ? sizeof(unsigned int) :                    \
	 (t) == SALVO_OPT_RATE ? sizeof(struct salvo_opt_rate) :                                   \
	 (t) == SALVO_OPT_STRLIST ? sizeof(struct salvo_opt_strlist) : sizeof(uint64_t))
#define SALVO_OPT_CHECKED(T, member, t)                                                            \
	{ .offset = offsetof(T, member) +                                                          \
		    0 * sizeof(struct { _Static_assert(sizeof(((T *)0)->member) ==                 \
							       SALVO_OPT_TYPE_SIZE(t),                  \
						       "option member is not its type's size: " #member); \
					int unused; }),                                             \
	  .size = sizeof(((T *)0)->member) }
#define SALVO_OPT(opt_name, opt_type, T, member, ...)                                              \
	{ .name = (opt_name), .type = (opt_type), .field = SALVO_OPT_CHECKED(T, member, opt_type), \
	  __VA_ARGS__ }
/* .seen = SALVO_OPT_SEEN(T, member): a bool set to true when the option is given. */
#define SALVO_OPT_SEEN(T, member) SALVO_OPT_CHECKED(T, member, SALVO_OPT_FLAG)
#define SALVO_OPT_END { .name = NULL }

/* The member size an option of type t writes. */
size_t salvo_opt_type_size(enum salvo_opt_type t);

struct salvo_cmd {
	const char *name;		/* "udp send" */
	const char *args;		/* positional arguments for the usage line: "DEST" */
	unsigned int min_args, max_args;
	const char *summary;		/* one line for `salvo --help` */
	const char *description;	/* a paragraph for `salvo CMD --help`, may be NULL */
	const struct salvo_opt *const *tables;	/* NULL-terminated list of option tables */
	size_t opts_size;		/* sizeof the command's option struct */
	void (*defaults)(void *opts);
	/* Run with parsed options and the positional arguments; returns the exit code. */
	int (*run)(void *opts, int argc, char **argv);
};

int salvo_cmd_register(const struct salvo_cmd *cmd);
const struct salvo_cmd *salvo_cmd_find(const char *w1, const char *w2, int *words);
unsigned int salvo_cmd_list(const struct salvo_cmd **v, unsigned int max);

#define SALVO_COMMAND_REGISTER(cmd)                                                                \
	static void __attribute__((constructor)) salvo__register_cmd_##cmd(void)                   \
	{                                                                                          \
		salvo_cmd_register(&(cmd));                                                        \
	}

/*
 * Parse argv (after the command words) into opts.  Positional arguments are
 * collected into pos (at most max_args).  Returns 0, 1 when --help was
 * printed, 2 after printing one line to stderr for bad input, or -EINVAL
 * after one line naming the option when the table is wrong (an option whose
 * member is not the size its type writes): nothing is written short.
 */
int salvo_opt_parse(const struct salvo_cmd *cmd, void *opts, int argc, char **argv,
		    char **pos, int *npos);
void salvo_opt_help(const struct salvo_cmd *cmd, FILE *f);
/* The value's name in help and man pages: o->metavar, else the type's ("N", "BYTES"); NULL for a flag. */
const char *salvo_opt_metavar(const struct salvo_opt *o);

/* The command being run (set by main), for errors that do not name one. */
extern const struct salvo_cmd *salvo_current_cmd;

/* One line "salvo: CMD: message" on stderr; returns 2 (bad input) for `return salvo_usage_error(...)`. */
int salvo_usage_error(const struct salvo_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One line on stderr; returns 1 (runtime failure). */
int salvo_runtime_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Write message m as both printers do: control bytes escaped, any word over
 * 64 bytes shown as its first 64 and "…".  For tests.
 */
void salvo__msg_clean(FILE *f, const char *m);

#endif
