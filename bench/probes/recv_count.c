// SPDX-License-Identifier: MIT
/*
 * Bare counting receiver: recvmmsg in batches into fixed buffers, counts
 * datagrams and bytes, looks at nothing.  A LOWER BOUND of the work a UDP
 * receiver must do on this kernel path: salvo udp recv ÷ this = R1.
 *
 *   recv_count ADDR:PORT SECONDS [BATCH (default 256)] [--gro]
 *
 * Stops SECONDS after the first datagram, or 1 s after traffic stops, or
 * at SECONDS + 10 whatever happens; prints one JSON line.  With --gro it
 * counts the segments of each coalesced datagram (UDP_GRO cmsg).
 */
#include <errno.h>
#include <netinet/udp.h>
#include <unistd.h>

#include "probe.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#define MAXB 1024
#define BUFSZ 65536

static char bufs[MAXB][BUFSZ];
static char ctrl[MAXB][CMSG_SPACE(sizeof(int))];

int main(int argc, char **argv)
{
	static struct mmsghdr m[MAXB];
	static struct iovec iov[MAXB];
	struct sockaddr_in a;
	struct timeval tv = { .tv_usec = 100000 };
	uint64_t pkts = 0, bytes = 0, first = 0, last = 0, start, limit;
	unsigned int batch = 256;
	int fd, gro = 0, one = 1, rcvbuf = 8 << 20;
	double secs;

	if (argc < 3 || probe_addr(argv[1], &a) || (secs = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: recv_count 127.x.y.z:PORT SECONDS [BATCH] [--gro]\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--gro"))
			gro = 1;
		else if ((batch = (unsigned int)atoi(argv[i])) < 1 || batch > MAXB) {
			fprintf(stderr, "recv_count: batch 1..%d\n", MAXB);
			return 2;
		}
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("recv_count: bind");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (gro && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one))) {
		perror("recv_count: UDP_GRO");
		return 1;
	}
	for (unsigned int i = 0; i < batch; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = BUFSZ;
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	start = probe_now();
	limit = start + (uint64_t)((secs + 10) * 1e9);
	for (;;) {
		uint64_t now;
		int n;

		if (gro)
			for (unsigned int i = 0; i < batch; i++) {
				m[i].msg_hdr.msg_control = ctrl[i];
				m[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
			}
		n = recvmmsg(fd, m, batch, MSG_WAITFORONE, NULL);
		now = probe_now();
		if (n > 0) {
			if (!first)
				first = now;
			last = now;
			for (int i = 0; i < n; i++) {
				unsigned int len = m[i].msg_len, seg = 0;

				bytes += len;
				if (gro) {
					struct cmsghdr *c = CMSG_FIRSTHDR(&m[i].msg_hdr);

					if (c && c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO)
						memcpy(&seg, CMSG_DATA(c), sizeof(int));
				}
				pkts += seg && len > seg ? (len + seg - 1) / seg : 1;
			}
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			perror("recv_count: recvmmsg");
			return 1;
		}
		if (now >= limit || (first && (now - first >= (uint64_t)(secs * 1e9) ||
					       now - last >= 1000000000ULL)))
			break;
	}
	probe_report("recv_count", pkts, bytes, first ? last - first : 0, NULL);
	return 0;
}
