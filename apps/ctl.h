/* SPDX-License-Identifier: MIT */
/*
 * The control channel of `salvo serve` (apps/ctl.c): JSON messages over a
 * TCP stream, each a u32 big-endian length then that many bytes of JSON
 * (docs/protocol.md).  Decoding validates every field into a plain struct,
 * so the server and the client never touch JSON.
 */
#ifndef SALVO_APPS_CTL_H
#define SALVO_APPS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <salvo/report.h>

/*
 * Version 2 adds "bidir" proposals.  A client asks for 2 only when it needs
 * it, so a version-1 server still serves every other test and answers a
 * bidir client with its clear "protocol version" error instead of running
 * half of the test.
 */
#define SALVO_CTL_VERSION 2
#define SALVO_CTL_VERSION_MIN 1
#define SALVO_CTL_VERSION_BIDIR 2
#define SALVO_CTL_MAX_MSG 65536		/* body bytes; a larger length is refused unread */
#define SALVO_CTL_DEFAULT_PORT 5201	/* iperf3's */
#define SALVO_CTL_TOKEN_MAX 128

enum salvo_ctl_type {
	SALVO_CTL_HELLO = 1,
	SALVO_CTL_PROPOSE,
	SALVO_CTL_ACCEPT,
	SALVO_CTL_REFUSE,
	SALVO_CTL_START,
	SALVO_CTL_RESULTS,
	SALVO_CTL_ERROR,
	SALVO_CTL_BYE,
};

/* One side's final figures of a test. */
struct salvo_ctl_counts {
	uint64_t packets, bytes;	/* datagrams or stream bytes' writes/reads */
	uint64_t lost, reordered, duplicates;	/* a receiver's stamp figures */
	uint64_t errors;		/* tx errors (sender) or kernel drops seen (receiver) */
	double active_s;
	/*
	 * A receiver's one-way latency from the stamps ("latency_ns", optional:
	 * a peer that does not send it, or ignores it, still speaks version 1).
	 */
	bool has_latency;
	struct salvo_report_latency latency;
};

/* One side's figures from its run's report: tx (a sender's) or rx (a receiver's). */
void salvo_ctl_counts_from_report(struct salvo_ctl_counts *c, const struct salvo_report *rep, bool tx);

struct salvo_ctl_msg {
	enum salvo_ctl_type type;
	/* hello */
	unsigned int version;
	char token[SALVO_CTL_TOKEN_MAX + 1];
	/* propose */
	bool tcp;		/* "proto": "udp" or "tcp" */
	bool reverse;		/* the server sends (-R) */
	bool bidir;		/* both send at once (version 2); port: the client's receiver */
	uint32_t size;
	uint64_t count, bytes, duration_ms;
	double rate_pps;
	unsigned int flows, streams;
	uint32_t rcvbuf;	/* the receiver's socket buffer (0: default) */
	uint16_t port;		/* propose -R/bidir: the client's data port; accept: the server's */
	char backend[32];	/* "" : the server's choice */
	/* results */
	bool has_tx, has_rx;
	struct salvo_ctl_counts tx, rx;
	/* refuse, error */
	char error[256];
};

/* Message type names ("hello", ...) for errors and logs; "?" when unknown. */
const char *salvo_ctl_type_name(enum salvo_ctl_type t);

/*
 * Encode m (header + body) into buf.  Returns the total length, or
 * -EMSGSIZE when it does not fit in cap or exceeds SALVO_CTL_MAX_MSG.
 */
int salvo_ctl_encode(const struct salvo_ctl_msg *m, uint8_t *buf, size_t cap);

/* The body length a 4-byte header announces: 1..SALVO_CTL_MAX_MSG, or -EMSGSIZE. */
int salvo_ctl_frame_len(const uint8_t hdr[4]);

/*
 * Decode and validate one body.  Returns 0 with *m filled, or -EINVAL /
 * -EPROTO with one line in err (unknown type, missing or out-of-range
 * field, a version this side does not speak is left to the caller).
 */
int salvo_ctl_decode(const uint8_t *body, size_t len, struct salvo_ctl_msg *m, char *err,
		     size_t errlen);

/*
 * Blocking socket I/O, each call bounded by timeout_ms in total.
 * salvo_ctl_send: 0 or -errno.  salvo_ctl_recv: 0, -ETIMEDOUT, -ECONNRESET
 * (peer closed), -EMSGSIZE (length out of range), -EINVAL/-EPROTO (bad
 * body), other -errno; err says which.
 */
int salvo_ctl_send(int fd, const struct salvo_ctl_msg *m, uint32_t timeout_ms);
int salvo_ctl_recv(int fd, struct salvo_ctl_msg *m, uint32_t timeout_ms, char *err, size_t errlen);

/* Send an error message (best effort, short timeout): the step before closing. */
void salvo_ctl_send_error(int fd, enum salvo_ctl_type type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
