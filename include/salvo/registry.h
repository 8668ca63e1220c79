/* SPDX-License-Identifier: MIT */
/*
 * The client-list registry: the store behind `salvo registry serve`.
 *
 * A name (1..255 bytes of UTF-8, no NUL) maps to the address and port it
 * last joined from.  The table is liburcu's lock-free hash table
 * (cds_lfht): joins and lookups from any number of threads take no lock.
 * The reply that clients receive - the whole list as one JSON object, the
 * seed's format - is a refcounted, immutable text published with RCU and
 * rebuilt only when the list has changed since it was built.  With a state
 * file every join is journalled (appended and fdatasync'ed) before it is
 * acknowledged.  Design and memory reclamation: docs/registry.md.
 *
 * Threads that call salvo_registry_join*() or salvo_registry_list() must be
 * registered with salvo_registry_thread_enter() first (liburcu's reader
 * registration; the urcu-memb flavour).
 */
#ifndef SALVO_REGISTRY_H
#define SALVO_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SALVO_REGISTRY_NAME_MAX 255
#define SALVO_REGISTRY_HOST_MAX 127
#define SALVO_REGISTRY_PORT 5000	/* the seed's */

struct salvo_registry;
struct salvo_registry_reply;

struct salvo_registry_opts {
	const char *state_path;	/* journal file; NULL: in memory only (the seed) */
	uint32_t max_clients;	/* distinct names kept; 0: unbounded */
	/* Compact when the journal holds more than compact_factor x live entries
	 * (and at least compact_min records); 0: defaults 2 and 1024. */
	uint32_t compact_factor;
	uint32_t compact_min;
};

struct salvo_registry_stats {
	uint64_t entries;	/* distinct names now */
	uint64_t joins;		/* acknowledged joins (new + updates) */
	uint64_t updates;	/* joins of a name already present */
	uint64_t refused;	/* joins refused: invalid name, full, journal error */
	uint64_t rebuilds;	/* reply texts built */
	uint64_t recovered;	/* entries loaded from the journal at create */
	uint64_t journal_records;	/* records in the journal file now */
	uint64_t journal_dropped;	/* bytes of a torn tail cut off at create */
	uint64_t compactions;
	int journal_error;	/* -errno of a failed fdatasync: joins refused until restart */
};

/*
 * What create found in the state file.  Replay keeps every intact record
 * (magic, CRC-32 over everything after it, reserved bytes zero, a valid
 * name); a damaged span is skipped and replay resumes at the next intact
 * record.  A file with a damaged span is kept as moved_to and the journal
 * rewritten (durably) from what was recovered.  Only an incomplete record
 * at the very end (a crash mid-append: never acknowledged) is a torn tail,
 * cut off in place.
 */
#define SALVO_REGISTRY_SPANS 8
struct salvo_registry_recovery {
	uint64_t records;	/* intact records replayed */
	uint64_t damaged;	/* damaged spans skipped (a span: one or more records, or the header) */
	uint64_t damaged_bytes;
	uint64_t span_off[SALVO_REGISTRY_SPANS];	/* the first spans: offset and length */
	uint64_t span_len[SALVO_REGISTRY_SPANS];
	uint64_t torn_bytes;	/* the torn tail cut off */
	int readonly;		/* -errno: the file cannot be opened for writing; joins are refused */
	int dir_error;		/* -errno: its directory is not writable; no compaction */
	char moved_to[4096];	/* the damaged file's new name; "" when none */
};

/*
 * Create the store; with opts->state_path, replay (and if needed repair) the
 * journal.  -errno with one line in err on failure (unreadable or corrupt
 * state file, ...).
 */
int salvo_registry_create(struct salvo_registry **out, const struct salvo_registry_opts *opts,
			  char *err, size_t errlen);
/* What create's replay found (all zero without a state file). */
void salvo_registry_recovery(struct salvo_registry *r, struct salvo_registry_recovery *out);
/* No thread may use r any more. */
void salvo_registry_destroy(struct salvo_registry *r);

/* Register / unregister the calling thread as an RCU reader. */
void salvo_registry_thread_enter(void);
void salvo_registry_thread_leave(void);

/*
 * 0 if name can be stored; -EINVAL empty, -ENAMETOOLONG over 255 bytes,
 * -EILSEQ not valid UTF-8 or contains NUL.
 */
int salvo_registry_name_check(const void *name, size_t len);

struct salvo_registry_join {
	const void *name;
	size_t name_len;
	const char *host;	/* peer address as text ("127.0.0.1", "::1", "") */
	unsigned int port;
	int rc;			/* out: 0, or -errno (name_check's, -EUSERS max clients,
				 * or the journal's write/fdatasync error) */
	uint64_t gen;		/* out: any reply of generation >= gen contains this join */
};

/*
 * Join n names at once: validate each, journal all valid ones with one
 * append and one fdatasync, then insert or update them.  Each v[i].rc says
 * how that one went.  Returns how many were acknowledged.
 */
int salvo_registry_join_batch(struct salvo_registry *r, struct salvo_registry_join *v, unsigned int n);
/* One join; returns 0 or -errno as v.rc above, *gen (may be NULL) as v.gen. */
int salvo_registry_join(struct salvo_registry *r, const void *name, size_t len, const char *host,
			unsigned int port, uint64_t *gen);

/* Current generation: every acknowledged join so far is <= it. */
uint64_t salvo_registry_gen(struct salvo_registry *r);

/*
 * A reference to the list as JSON text containing at least every join of
 * generation <= min_gen (pass salvo_registry_gen() for "now").  Cheap when
 * the cached text is recent enough; otherwise it is rebuilt once and
 * published for everyone.  Release with salvo_registry_reply_put().
 */
int salvo_registry_list(struct salvo_registry *r, uint64_t min_gen, struct salvo_registry_reply **out);
const char *salvo_registry_reply_data(const struct salvo_registry_reply *rep, size_t *len);
uint64_t salvo_registry_reply_gen(const struct salvo_registry_reply *rep);
void salvo_registry_reply_get(struct salvo_registry_reply *rep);
void salvo_registry_reply_put(struct salvo_registry_reply *rep);

/*
 * The error reply for a refused request: {"error": "<reason>"} (a string
 * value, so it cannot be mistaken for a list, whose values are objects).
 * Writes at most len bytes; returns the length (snprintf-like).
 */
int salvo_registry_error_json(int err, char *buf, size_t len);
/* One-line reason for a join's -errno. */
const char *salvo_registry_strerror(int err);

/* Rewrite the journal as one record per live entry.  0 without a state file. */
int salvo_registry_compact(struct salvo_registry *r);
void salvo_registry_stats(struct salvo_registry *r, struct salvo_registry_stats *out);

/* ---- the server app (engine/registry_srv.c), the load generator (engine/registry_bench.c) */

#include <salvo/addr.h>
#include <salvo/run.h>

/*
 * `registry serve`: app.arg points to one of these, shared by the workers.
 * Runs on any backend with SALVO_CAP_TCP: accepts, takes each connection's
 * first chunk as its name, joins it (a connection that half-closes without
 * sending anything asks for the list), sends the list and closes.
 */
struct salvo_registry_srv {
	struct salvo_registry *reg;
	uint32_t max_conns;	/* concurrent connections over all workers; 0: 1024 */
	uint32_t timeout_ms;	/* from accept to the request; 0: cfg->timeout_ms */
	/* counters, relaxed atomics, read any time */
	uint64_t conns;		/* accepted */
	uint64_t refused_conns;	/* over max_conns: error reply and close */
	uint64_t timeouts;	/* no request within timeout_ms */
	uint64_t lists;		/* list requests answered */
	uint64_t join_errors;	/* joins answered with an error */
	uint64_t reply_bytes;
	uint32_t active;	/* connections open now */
};

extern const struct salvo_app salvo_app_registry;

/*
 * One request as a client: connect to dest, send name (name_len 0: a list
 * request, which half-closes without sending anything), read the reply to
 * EOF.  *reply is malloc'ed (caller frees), NUL-terminated.  timeout_ms
 * bounds the whole exchange (connect, send and the whole reply: -ETIMEDOUT);
 * a reply over max_reply bytes is refused (-EMSGSIZE) once max_reply + 1
 * bytes have arrived, so a hostile server holds at most that much memory.
 * -errno with one line in err.
 */
#define SALVO_REGISTRY_MAX_REPLY (64u << 20)	/* default for max_reply */
int salvo_registry_request(const struct salvo_addr *dest, const void *name, size_t name_len,
			   uint32_t timeout_ms, size_t max_reply, char **reply, size_t *reply_len,
			   char *err, size_t errlen);

/* `registry bench`: concurrent short connections, each one join. */
struct salvo_registry_bench_cfg {
	struct salvo_addr dest;
	unsigned int connections;	/* in flight, over all threads */
	unsigned int threads;
	uint64_t duration_ns;		/* 0: until count */
	uint64_t count;			/* joins to complete; 0: until duration */
	unsigned int names;		/* distinct names cycled through (default 1000) */
	const char *prefix;		/* name prefix, default "bench-" */
	uint32_t timeout_ms;		/* per connection */
	int *stop;			/* set (atomically) to stop early, e.g. from SIGINT */
	/*
	 * Backend name ("uring", "syscall", any with SALVO_CAP_TCP): run on the
	 * engine's workers and that backend's stream path (the generator under
	 * evaluation, --engine).  NULL: the generator's own threads and loops.
	 */
	const char *engine;
};

struct salvo_registry_bench_result {
	uint64_t joins;		/* replies that were a whole JSON list */
	uint64_t error_replies;	/* replies that were {"error": ...} */
	uint64_t failed;	/* connect/read errors, timeouts, short replies */
	uint64_t reply_bytes;
	double seconds;
	struct salvo_hist *lat;	/* join latency, connect to EOF, ns; caller destroys */
	char first_error[256];
};

int salvo_registry_bench(const struct salvo_registry_bench_cfg *cfg,
			 struct salvo_registry_bench_result *res, char *err, size_t errlen);

#endif
