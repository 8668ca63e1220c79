/* SPDX-License-Identifier: MIT */
/*
 * The load generator behind `salvo registry bench` (registry/registry_srv.c):
 * many short connections, each one join.
 */
#ifndef SALVO_REGISTRY_BENCH_H
#define SALVO_REGISTRY_BENCH_H

#include <stdint.h>

#include <salvo/addr.h>
#include <salvo/hist.h>

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
