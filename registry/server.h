/* SPDX-License-Identifier: MIT */
/*
 * The registry server app behind `salvo registry serve`, and one request as
 * a client (`registry join` / `list`): registry/registry_srv.c.
 */
#ifndef SALVO_REGISTRY_SERVER_H
#define SALVO_REGISTRY_SERVER_H

#include <stddef.h>
#include <stdint.h>

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
	uint64_t reply_bytes;	/* handed to the kernel: every reply, lists and errors */
	uint64_t conn_errors;	/* connections reset or failed before their reply went out */
	/*
	 * The report's active time: the first connection accepted, the last
	 * event of any connection (request, reply handed over, close, reset,
	 * timeout).  Monotonic ns, 0: none yet.
	 */
	uint64_t first_ns, last_ns;
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

#endif
