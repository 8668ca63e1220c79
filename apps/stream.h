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
};

extern const struct salvo_app salvo_app_stream;

void salvo_stream_arg_init(struct salvo_stream_arg *a);
void salvo_stream_arg_fini(struct salvo_stream_arg *a);

#endif
