// SPDX-License-Identifier: MIT
/*
 * Bare sendmmsg sender: one connected UDP socket, BATCH messages per call
 * from one fixed payload, no stamps, no pacing.  A LOWER BOUND of the work
 * a UDP sender must do on this kernel path (salvo's syscall sender ÷ this).
 * With --gso SEGS each message carries SEGS segments of SIZE bytes, cut by
 * UDP_SEGMENT set once on the socket (the offered load of R1).
 *
 *   send_mmsg ADDR:PORT SECONDS [SIZE (64)] [BATCH (64)] [--gso SEGS]
 *
 * Prints one JSON line: datagrams (segments) the kernel accepted.
 */
#include <errno.h>
#include <netinet/udp.h>
#include <unistd.h>

#include "probe.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#define MAXB 1024

static char payload[65536];

int main(int argc, char **argv)
{
	static struct mmsghdr m[MAXB];
	static struct iovec iov;
	struct sockaddr_in a;
	unsigned int size = 64, batch = 64, segs = 1;
	uint64_t pkts = 0, bytes = 0, start, end, errs = 0;
	char extra[64];
	double secs;
	int fd, i, pos = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--gso") && i + 1 < argc)
			segs = (unsigned int)atoi(argv[++i]);
		else
			argv[++pos] = argv[i];
	}
	if (pos < 2 || probe_addr(argv[1], &a) || (secs = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: send_mmsg 127.x.y.z:PORT SECONDS [SIZE] [BATCH] [--gso SEGS]\n");
		return 2;
	}
	if (pos >= 3)
		size = (unsigned int)atoi(argv[3]);
	if (pos >= 4)
		batch = (unsigned int)atoi(argv[4]);
	if (!size || size > 1472 || !batch || batch > MAXB || !segs || segs > 64 ||
	    (uint64_t)size * segs > sizeof(payload)) {
		fprintf(stderr, "send_mmsg: size 1..1472, batch 1..%d, segs 1..64\n", MAXB);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("send_mmsg: connect");
		return 1;
	}
	if (segs > 1) {
		int gs = (int)size;

		if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &gs, sizeof(gs))) {
			perror("send_mmsg: UDP_SEGMENT");
			return 1;
		}
	}
	iov.iov_base = payload;
	iov.iov_len = (size_t)size * segs;
	for (i = 0; i < (int)batch; i++) {
		m[i].msg_hdr.msg_iov = &iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	start = probe_now();
	end = start + (uint64_t)(secs * 1e9);
	do {
		int n = sendmmsg(fd, m, batch, 0);

		if (n > 0) {
			pkts += (uint64_t)n * segs;
			bytes += (uint64_t)n * iov.iov_len;
		} else if (n < 0) {
			/* ECONNREFUSED: the receiver is not up yet or gone; count and go on. */
			if (errno != ECONNREFUSED && errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
				perror("send_mmsg: sendmmsg");
				return 1;
			}
			errs++;
		}
	} while (probe_now() < end);
	snprintf(extra, sizeof(extra), "\"errors\":%llu,\"segs\":%u", (unsigned long long)errs, segs);
	probe_report(segs > 1 ? "send_mmsg_gso" : "send_mmsg", pkts, bytes, probe_now() - start, extra);
	return 0;
}
