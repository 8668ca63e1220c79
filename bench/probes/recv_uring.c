// SPDX-License-Identifier: MIT
/*
 * Minimal liburing receiver: one UDP socket registered as a fixed file, one
 * multishot IORING_OP_RECVMSG taking its buffers from a provided buffer ring
 * (BUFS x 2 KiB), the ring set up with SINGLE_ISSUER|DEFER_TASKRUN (6.1) when
 * the kernel takes them, else without.  Completions are reaped in bulk
 * (io_uring_for_each_cqe + one io_uring_cq_advance), their buffers go back
 * with one io_uring_buf_ring_advance per batch, and the RECVMSG is armed
 * again when the kernel ends it (a CQE without IORING_CQE_F_MORE: ENOBUFS,
 * an error).  It counts datagrams and bytes and looks at nothing: no source
 * address, no cmsg (namelen and controllen 0).  A LOWER BOUND of the work an
 * io_uring UDP receiver must do on the kernel's multishot recvmsg path:
 * this ÷ recv_count is that path's own cost against recvmmsg, salvo's uring
 * receiver ÷ this is salvo's share.
 *
 *   recv_uring ADDR:PORT SECONDS [BUFS (default 4096, a power of two)]
 *
 * Stops as recv_count does (SECONDS after the first datagram, 1 s after
 * traffic stops, SECONDS + 10 at the latest) and prints the same JSON line,
 * plus how often it re-armed and whether the ring got DEFER_TASKRUN.
 */
#include <errno.h>
#include <liburing.h>
#include <unistd.h>

#include "probe.h"

#define BUFSZ 2048
#define BGID 0

int main(int argc, char **argv)
{
	struct io_uring_params par;
	struct io_uring ring;
	struct io_uring_buf_reg reg;
	struct io_uring_buf_ring *br;
	struct msghdr mh;	/* namelen, controllen 0: the kernel writes only the header */
	struct sockaddr_in a;
	uint64_t pkts = 0, bytes = 0, rearms = 0, first = 0, last = 0, start, limit;
	unsigned int nbufs = 4096, mask;
	int fd, ret, armed = 0, rcvbuf = 8 << 20;
	char *mem, extra[96];
	double secs;

	if (argc < 3 || argc > 4 || probe_addr(argv[1], &a) || (secs = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: recv_uring 127.x.y.z:PORT SECONDS [BUFS]\n");
		return 2;
	}
	if (argc == 4)
		nbufs = (unsigned int)atoi(argv[3]);
	if (nbufs < 16 || nbufs > 32768 || (nbufs & (nbufs - 1))) {
		fprintf(stderr, "recv_uring: bufs a power of two, 16..32768\n");
		return 2;
	}
	mask = nbufs - 1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("recv_uring: bind");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* The CQ holds a completion per buffer: one per datagram in flight. */
	memset(&par, 0, sizeof(par));
	par.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	par.cq_entries = 2 * nbufs;
	ret = io_uring_queue_init_params(8, &ring, &par);
	if (ret == -EINVAL) {	/* before 6.1 */
		memset(&par, 0, sizeof(par));
		par.flags = IORING_SETUP_CQSIZE;
		par.cq_entries = 2 * nbufs;
		ret = io_uring_queue_init_params(8, &ring, &par);
	}
	if (ret) {
		fprintf(stderr, "recv_uring: io_uring_queue_init: %s\n", strerror(-ret));
		return 1;
	}
	ret = io_uring_register_files(&ring, &fd, 1);
	if (ret) {
		fprintf(stderr, "recv_uring: io_uring_register_files: %s\n", strerror(-ret));
		return 1;
	}
	if (posix_memalign((void **)&br, 4096, nbufs * sizeof(struct io_uring_buf)) ||
	    !(mem = malloc((size_t)nbufs * BUFSZ))) {
		fprintf(stderr, "recv_uring: out of memory\n");
		return 1;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	reg.ring_entries = nbufs;
	reg.bgid = BGID;
	ret = io_uring_register_buf_ring(&ring, &reg, 0);
	if (ret) {
		fprintf(stderr, "recv_uring: io_uring_register_buf_ring: %s\n", strerror(-ret));
		return 1;
	}
	io_uring_buf_ring_init(br);
	for (unsigned int i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(br, mem + (size_t)i * BUFSZ, BUFSZ, (unsigned short)i, (int)mask,
				      (int)i);
	io_uring_buf_ring_advance(br, (int)nbufs);
	memset(&mh, 0, sizeof(mh));
	start = probe_now();
	limit = start + (uint64_t)((secs + 10) * 1e9);
	for (;;) {
		struct __kernel_timespec ts = { .tv_nsec = 100000000 };
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		uint64_t now, got = 0;
		int added = 0;

		if (!armed) {
			struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

			io_uring_prep_recvmsg_multishot(sqe, 0, &mh, 0);
			sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
			sqe->buf_group = BGID;
			armed = 1;
			rearms++;
		}
		ret = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			fprintf(stderr, "recv_uring: io_uring_submit_and_wait_timeout: %s\n",
				strerror(-ret));
			return 1;
		}
		io_uring_for_each_cqe(&ring, head, cqe) {
			seen++;
			if (!(cqe->flags & IORING_CQE_F_MORE))
				armed = 0;
			if (cqe->res < 0) {
				if (cqe->res != -ENOBUFS) {
					fprintf(stderr, "recv_uring: recvmsg: %s\n",
						strerror(-cqe->res));
					return 1;
				}
				continue;
			}
			if (cqe->flags & IORING_CQE_F_BUFFER) {
				unsigned short bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

				/* res is header + payload, as name and control are empty */
				bytes += (unsigned int)cqe->res - sizeof(struct io_uring_recvmsg_out);
				got++;
				io_uring_buf_ring_add(br, mem + (size_t)bid * BUFSZ, BUFSZ, bid,
						      (int)mask, added++);
			}
		}
		/* Release: the entries written above before the tail the kernel reads. */
		if (added)
			io_uring_buf_ring_advance(br, added);
		io_uring_cq_advance(&ring, seen);
		now = probe_now();
		if (got) {
			if (!first)
				first = now;
			last = now;
			pkts += got;
		}
		if (now >= limit || (first && (now - first >= (uint64_t)(secs * 1e9) ||
					       now - last >= 1000000000ULL)))
			break;
	}
	snprintf(extra, sizeof(extra), "\"bufs\":%u,\"arms\":%llu,\"defer_taskrun\":%s", nbufs,
		 (unsigned long long)rearms,
		 (par.flags & IORING_SETUP_DEFER_TASKRUN) ? "true" : "false");
	probe_report("recv_uring", pkts, bytes, first ? last - first : 0, extra);
	io_uring_queue_exit(&ring);
	close(fd);
	free(mem);
	free(br);
	return 0;
}
