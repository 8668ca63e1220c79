// SPDX-License-Identifier: MIT
/*
 * Minimal liburing sender: one connected UDP socket registered as a fixed
 * file, IORING_OP_SEND (no msghdr) of one fixed payload, DEPTH SQEs per
 * io_uring_submit_and_wait, ring set up with SINGLE_ISSUER|DEFER_TASKRUN
 * (6.1) when the kernel takes them, else without.  A LOWER BOUND of the
 * work an io_uring UDP sender must do: salvo's uring sender ÷ this = R2.
 * With --gso SEGS, UDP_SEGMENT is set once on the socket and each SEND
 * carries SEGS segments.
 *
 *   send_uring ADDR:PORT SECONDS [SIZE (64)] [DEPTH (64)] [--gso SEGS]
 *
 * Prints one JSON line: segments the kernel accepted (CQE res > 0), the
 * failed completions, and the set-up flags the ring got.
 */
#include <errno.h>
#include <liburing.h>
#include <netinet/udp.h>
#include <unistd.h>

#include "probe.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static char payload[65536];

int main(int argc, char **argv)
{
	struct io_uring ring;
	struct sockaddr_in a;
	unsigned int size = 64, depth = 64, segs = 1, inflight = 0, flags;
	uint64_t pkts = 0, bytes = 0, errs = 0, start, end;
	char extra[128];
	double secs;
	int fd, i, pos = 0, ret;
	size_t len;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--gso") && i + 1 < argc)
			segs = (unsigned int)atoi(argv[++i]);
		else
			argv[++pos] = argv[i];
	}
	if (pos < 2 || probe_addr(argv[1], &a) || (secs = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: send_uring 127.x.y.z:PORT SECONDS [SIZE] [DEPTH] [--gso SEGS]\n");
		return 2;
	}
	if (pos >= 3)
		size = (unsigned int)atoi(argv[3]);
	if (pos >= 4)
		depth = (unsigned int)atoi(argv[4]);
	if (!size || size > 1472 || depth < 1 || depth > 4096 || !segs || segs > 64 ||
	    (uint64_t)size * segs > sizeof(payload)) {
		fprintf(stderr, "send_uring: size 1..1472, depth 1..4096, segs 1..64\n");
		return 2;
	}
	len = (size_t)size * segs;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("send_uring: connect");
		return 1;
	}
	if (segs > 1) {
		int gs = (int)size;

		if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &gs, sizeof(gs))) {
			perror("send_uring: UDP_SEGMENT");
			return 1;
		}
	}
	flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	ret = io_uring_queue_init(depth, &ring, flags);
	if (ret == -EINVAL) {	/* before 6.1 */
		flags = 0;
		ret = io_uring_queue_init(depth, &ring, 0);
	}
	if (ret) {
		fprintf(stderr, "send_uring: io_uring_queue_init: %s\n", strerror(-ret));
		return 1;
	}
	ret = io_uring_register_files(&ring, &fd, 1);
	if (ret) {
		fprintf(stderr, "send_uring: io_uring_register_files: %s\n", strerror(-ret));
		return 1;
	}
	start = probe_now();
	end = start + (uint64_t)(secs * 1e9);
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		bool more = probe_now() < end;

		while (more && inflight < depth) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			if (!sqe)
				break;
			io_uring_prep_send(sqe, 0, payload, len, 0);
			sqe->flags |= IOSQE_FIXED_FILE;
			inflight++;
		}
		if (!inflight)
			break;
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			fprintf(stderr, "send_uring: io_uring_submit_and_wait: %s\n", strerror(-ret));
			return 1;
		}
		io_uring_for_each_cqe(&ring, head, cqe) {
			seen++;
			if (cqe->res > 0) {
				pkts += segs;
				bytes += (uint64_t)cqe->res;
			} else {
				errs++;
			}
		}
		io_uring_cq_advance(&ring, seen);
		inflight -= seen;
	}
	snprintf(extra, sizeof(extra), "\"errors\":%llu,\"segs\":%u,\"defer_taskrun\":%s",
		 (unsigned long long)errs, segs, flags ? "true" : "false");
	probe_report(segs > 1 ? "send_uring_gso" : "send_uring", pkts, bytes, probe_now() - start, extra);
	io_uring_queue_exit(&ring);
	close(fd);
	return 0;
}
