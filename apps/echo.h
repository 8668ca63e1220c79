/* SPDX-License-Identifier: MIT */
/*
 * `udp echo` (apps/echo.c): answers each datagram to its sender, on any
 * backend with SALVO_PKT_F_PEER replies.
 */
#ifndef SALVO_APPS_ECHO_H
#define SALVO_APPS_ECHO_H

#include <stdint.h>

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

extern const struct salvo_app salvo_app_echo;

#endif
