/* SPDX-License-Identifier: MIT */
/*
 * io_uring backend internals that the unit tests reach: ring set-up with
 * flag fallback, and the capability check behind probe().  The kernel
 * calls go through a table so a test can play a kernel that refuses a flag,
 * an op, or io_uring altogether.
 */
#ifndef SALVO_URING_INTERNAL_H
#define SALVO_URING_INTERNAL_H

#include <stddef.h>

#include <liburing.h>

#include <salvo/cfg.h>

struct salvo__uring_sys {
	const char *disabled_path;	/* /proc/sys/kernel/io_uring_disabled */
	int (*queue_init)(unsigned int entries, struct io_uring *ring, struct io_uring_params *prm);
	void (*queue_exit)(struct io_uring *ring);
	struct io_uring_probe *(*get_probe)(struct io_uring *ring);
	int (*register_buf_ring)(struct io_uring *ring, struct io_uring_buf_reg *reg,
				 unsigned int flags);
	int (*unregister_buf_ring)(struct io_uring *ring, int bgid);
	/*
	 * Arm op (IORING_OP_RECVMSG, _ACCEPT or _RECV) as multishot on a test
	 * socket and cancel it: 0 when the kernel kept it armed, else -errno
	 * (-EINVAL: the kernel does not know multishot for op).
	 */
	int (*multishot)(struct io_uring *ring, int op);
};

extern const struct salvo__uring_sys salvo__uring_sys_default;

/*
 * Create a ring with sq entries and a CQ of cq entries, asking for
 * SUBMIT_ALL | SINGLE_ISSUER | DEFER_TASKRUN and dropping what the kernel
 * refuses (EINVAL) one step at a time: DEFER_TASKRUN (COOP_TASKRUN instead),
 * then SINGLE_ISSUER, then everything but CQSIZE.  The calling thread must
 * be the one that submits.  Flags obtained in *flags.  -errno from the last
 * attempt (EPERM, ENOMEM... stop at once).
 */
int salvo__uring_setup(const struct salvo__uring_sys *sys, struct io_uring *ring, unsigned int sq,
		       unsigned int cq, unsigned int *flags);

/*
 * Can this machine run cfg on io_uring?  0, or -errno with one line in why:
 * io_uring_disabled, setup refused (seccomp, EPERM), an op or a multishot
 * flavour the kernel lacks, no provided buffer rings.
 */
int salvo__uring_check(const struct salvo__uring_sys *sys, const struct salvo_cfg *cfg, char *why,
		       size_t len);

/*
 * salvo doctor's io_uring lines, judged from the same feature table as
 * salvo__uring_check: the sysctl, the test ring, one line per feature, and
 * io_uring.datagrams / io_uring.streams whose detail carries the probe's
 * reason word for word.
 */
struct salvo_doctor_report;
void salvo__uring_doctor(const struct salvo__uring_sys *sys, struct salvo_doctor_report *r);

/* "single_issuer,defer_taskrun" for p->info. */
const char *salvo__uring_flags_str(unsigned int flags, char *buf, size_t len);

#endif
