/* SPDX-License-Identifier: MIT */
/*
 * The request/response and stream apps behind `udp echo`, `udp ping`,
 * `tcp send` and `tcp sink` (engine/echo.c, ping.c, stream.c).  They run on
 * any backend with the caps (UDP: datagrams with SALVO_PKT_F_PEER replies;
 * TCP: SALVO_PKT_F_CONN_* events and pkt->conn).
 */
#ifndef SALVO_NETAPPS_H
#define SALVO_NETAPPS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <salvo/addr.h>
#include <salvo/pkt.h>
#include <salvo/run.h>

/* udp echo: app.arg points to one of these (or NULL: echo the bytes, print nothing). */
struct salvo_echo_arg {
	const void *reply;	/* fixed reply (--reply), NULL: the datagram itself */
	uint32_t reply_len;
	/* Called for each request (from a worker), e.g. --print. */
	void (*on_packet)(const struct salvo_pkt *pkt, void *arg);
	void *arg;
};

/*
 * udp ping: no arg.  Every request carries a stamp (cfg->size >= 32 bytes);
 * a reply whose stamp matches the outstanding request records its round
 * trip in w->lat; no matching reply within cfg->timeout_ms is a timeout.
 * One request is outstanding per worker; --rate spaces them.
 */

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

extern const struct salvo_app salvo_app_echo;
extern const struct salvo_app salvo_app_ping;
extern const struct salvo_app salvo_app_stream;

void salvo_stream_arg_init(struct salvo_stream_arg *a);
void salvo_stream_arg_fini(struct salvo_stream_arg *a);

#endif
