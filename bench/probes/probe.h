/* SPDX-License-Identifier: MIT */
/*
 * What the benchmark probes share: argument parsing of "ADDR:PORT", the
 * clock, and the one JSON line each prints.  The probes are not salvo: they
 * are the least a program can do on each kernel path, so that salvo's rate
 * divided by a probe's says what salvo's own work costs.
 */
#ifndef PROBE_H
#define PROBE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static inline uint64_t probe_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* "127.0.0.1:PORT" (IPv4 loopback only: the probes never leave the host). */
static inline int probe_addr(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *c = strrchr(s, ':');
	long port;

	if (!c || (size_t)(c - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(c - s));
	host[c - s] = 0;
	port = strtol(c + 1, NULL, 10);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return -1;
	if ((ntohl(a->sin_addr.s_addr) >> 24) != 127)
		return -1;
	return 0;
}

static inline void probe_report(const char *probe, uint64_t pkts, uint64_t bytes, uint64_t ns,
				const char *extra)
{
	double s = (double)ns / 1e9;

	printf("{\"probe\":\"%s\",\"packets\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"pps\":%.1f%s%s}\n",
	       probe, (unsigned long long)pkts, (unsigned long long)bytes, s,
	       s > 0 ? (double)pkts / s : 0.0, extra ? "," : "", extra ? extra : "");
}

#endif
