/* SPDX-License-Identifier: MIT */
/*
 * `salvo serve` (apps/serve.c): the control-channel server, one thread per
 * client up to max_clients, each test's data side run by the engine; and
 * the client's steps of the same protocol (docs/protocol.md).
 */
#ifndef SALVO_APPS_SERVE_H
#define SALVO_APPS_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include <salvo/addr.h>
#include <salvo/report.h>

#include "apps/ctl.h"

/* One client's test as the server saw it, handed to on_test (from the client's thread). */
struct salvo_serve_test {
	unsigned long id;		/* connection number, from 1 */
	struct salvo_addr peer;		/* the control connection's peer */
	struct salvo_ctl_msg proposal;	/* valid when has_proposal */
	bool has_proposal;
	int rc;				/* 0: test done; -errno: refused or failed */
	char error[256];		/* why, when rc != 0 */
	bool has_report;
	struct salvo_report rep;	/* the server's own data side */
	bool has_client;
	struct salvo_ctl_counts client;	/* the client's figures (tx forward, rx reverse) */
	uint64_t lost;			/* sender's packets - receiver's packets (UDP) */
	/* bidir: the other direction (the server's sender, the client's receiver), counted apart. */
	bool has_rev_report;
	struct salvo_report rev_rep;	/* the server's sender */
	bool has_rev_client;
	struct salvo_ctl_counts rev_client;	/* the client's rx */
	uint64_t rev_lost;
};

struct salvo_serve_cfg {
	struct salvo_addr listen;
	const char *token;		/* NULL or "": no token asked */
	unsigned int max_clients;
	uint32_t timeout_ms;		/* longest single wait of any step */
	const char *backend;		/* data side; NULL: the client's preference, else the best */
	void (*on_test)(const struct salvo_serve_test *t, void *arg);
	void *arg;
};

struct salvo_serve;

/* Bind and listen.  -errno with one line in err. */
int salvo_serve_create(struct salvo_serve **out, const struct salvo_serve_cfg *cfg, char *err,
		       size_t errlen);
/* The bound address (port 0 resolved). */
const struct salvo_addr *salvo_serve_addr(const struct salvo_serve *s);
/* Accept and serve until salvo_serve_stop(); then close every client and join. 0 or -errno. */
int salvo_serve_run(struct salvo_serve *s, char *err, size_t errlen);
/* Async-signal-safe. */
void salvo_serve_stop(struct salvo_serve *s);
void salvo_serve_destroy(struct salvo_serve *s);

/* --- the client side ----------------------------------------------------------- */

struct salvo_ctl_client {
	int fd;
	uint32_t timeout_ms;
	struct salvo_addr local;	/* our end of the control connection */
	struct salvo_addr server;	/* its peer */
};

/*
 * Connect to server, exchange hellos speaking protocol version (1, or 2 for
 * a bidir test).  -errno with one line in err.
 */
int salvo_ctl_client_open(struct salvo_ctl_client *c, const struct salvo_addr *server,
			  const char *token, unsigned int version, uint32_t timeout_ms, char *err,
			  size_t errlen);
/* Send the proposal; *port is the server's data port (accept).  -errno (refused: -EPERM). */
int salvo_ctl_client_propose(struct salvo_ctl_client *c, const struct salvo_ctl_msg *prop,
			     uint16_t *port, char *err, size_t errlen);
int salvo_ctl_client_start(struct salvo_ctl_client *c, char *err, size_t errlen);
/* Send our results, wait up to wait_ms for the server's. */
int salvo_ctl_client_results(struct salvo_ctl_client *c, const struct salvo_ctl_msg *mine,
			     struct salvo_ctl_msg *theirs, uint32_t wait_ms, char *err,
			     size_t errlen);
/* Wait up to wait_ms for the server's results (reverse), without sending ours first. */
int salvo_ctl_client_wait_results(struct salvo_ctl_client *c, struct salvo_ctl_msg *theirs,
				  uint32_t wait_ms, char *err, size_t errlen);
int salvo_ctl_client_send(struct salvo_ctl_client *c, const struct salvo_ctl_msg *m);
/* Say bye (best effort) and close. */
void salvo_ctl_client_close(struct salvo_ctl_client *c);

/* A local port nothing is bound to now, for a data socket of proto on addr's host; 0 on failure. */
uint16_t salvo_ctl_free_port(const struct salvo_addr *addr, bool tcp);

#endif
