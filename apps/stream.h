/* SPDX-License-Identifier: MIT */
/*
 * The stream app behind `tcp send` and `tcp sink` (apps/stream.c): runs on
 * any backend with SALVO_PKT_F_CONN_* events and pkt->conn.
 */
#ifndef SALVO_APPS_STREAM_H
#define SALVO_APPS_STREAM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <salvo/addr.h>
#include <salvo/pkt.h>
#include <salvo/run.h>

/* One connection's totals, kept by the stream apps for the report. */
struct salvo_conn_rec {
	struct salvo_addr peer;
	unsigned int worker;
	uint32_t conn;
	uint64_t bytes;		/* received (sink) or sent (send) */
	uint64_t open_ns, close_ns;
	int err;		/* -errno if it failed */
};

/*
 * The process's CPU time (getrusage RUSAGE_SELF: every thread) and the
 * monotonic clock at one point of the run.
 */
struct salvo_cpu_mark {
	double user_s, sys_s;
	uint64_t ns;
};

/* tcp send / tcp sink: app.arg points to one of these, shared by the workers. */
struct salvo_stream_arg {
	bool server;		/* tcp sink: count what arrives; else tcp send */
	bool discard;		/* tcp sink --discard (cfg->discard): for the report */
	bool splice;		/* tcp send --splice (cfg->splice): for the report */
	uint64_t max_conns;	/* server: stop after this many connections closed (0: never) */
	void (*on_open)(const struct salvo_conn_rec *c, void *arg);
	void (*on_data)(const struct salvo_conn_rec *c, const struct salvo_pkt *pkt, void *arg);
	void (*on_close)(const struct salvo_conn_rec *c, void *arg);
	void *arg;

	/* Filled by the app: every closed connection, in closing order. */
	pthread_mutex_t lock;
	struct salvo_conn_rec *recs;
	unsigned int nrecs, caprecs;
	uint64_t closed;	/* under lock */
	/*
	 * The data phase, under lock: marked when the run's first connection
	 * opens and again each time one is done (the last mark wins), so the
	 * report can count the CPU of the traffic without start-up, the wait
	 * for the peer and the exit (docs/tcp.md).  One getrusage per
	 * connection event, nothing per byte.
	 */
	bool phase_started;
	struct salvo_cpu_mark phase_start, phase_end;
};

extern const struct salvo_app salvo_app_stream;

void salvo_stream_arg_init(struct salvo_stream_arg *a);
void salvo_stream_arg_fini(struct salvo_stream_arg *a);

#endif
