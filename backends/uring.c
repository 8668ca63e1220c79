// SPDX-License-Identifier: MIT
/*
 * io_uring backend: one ring per worker, registered files and buffers.
 *
 * Datagrams (UDP, unix dgram): a tx burst is one batch of SEND (fixed
 * buffer) / SENDMSG (GSO cmsg, explicit peer) SQEs and one io_uring_submit;
 * --zerocopy uses SEND_ZC / SENDMSG_ZC and gives a buffer back only on its
 * notification CQE.  Receive is one multishot RECVMSG per socket drawing on
 * a provided buffer ring; rx_burst hands out descriptors pointing into those
 * buffers and release() puts them back on the ring.
 *
 * Streams (TCP, unix stream): CONNECT (with a linked timeout) and
 * multishot ACCEPT through the ring, one multishot RECV per connection into
 * the same buffer ring, and at most one send in flight per connection
 * (two sends in flight on one stream socket may interleave when the socket
 * buffer fills, so later packets wait in a per-connection queue; each send
 * carries a run of up to 8 of them, uring_stream.c).
 * Connection life is reported as SALVO_PKT_F_CONN_* events in rx_burst.
 *
 * Threads: each worker opens its own port (engine/run.c), so the ring is
 * created by the thread that submits: SINGLE_ISSUER | DEFER_TASKRUN hold.
 * Receives are armed and connects started on the worker's first call.
 *
 * This file: ring set-up and probe, the completion loop, the ops, open and
 * close.  The datagram path is in uring_dgram.c, the stream path in
 * uring_stream.c; they share struct uring_port through uring_internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <liburing.h>

#include <salvo/addr.h>
#include <salvo/backend.h>
#include <salvo/common.h>
#include <salvo/doctor.h>
#include <salvo/pkt.h>

#include "sock.h"
#include "uring_internal.h"

/* ---- ring set-up and probe ------------------------------------------------ */

/*
 * What this backend needs from the kernel, one row per feature.  The probe
 * (backend selection, `salvo backends`) and the doctor op (`salvo doctor`)
 * both judge from this table and nothing else, so they cannot disagree.
 * paths: what cannot run without the feature, SALVO_CAP_UDP (datagrams) and
 * SALVO_CAP_TCP (streams); with SALVO_CAP_ZEROCOPY, only under --zerocopy.
 * There is no single-shot fallback: every receive and every accept is
 * multishot (arm_recvmsg, arm_accept, arm_recv).
 */
enum uring_feat_kind {
	FEAT_OP,		/* IORING_REGISTER_PROBE lists the opcode */
	FEAT_MULTISHOT,		/* the opcode stays armed as multishot (test submission) */
	FEAT_BUF_RING,		/* provided buffer rings register */
};

struct uring_feat {
	const char *id;		/* token for SALVO_URING_REFUSE */
	const char *check;	/* salvo doctor's line; rows with the same one share it */
	enum uring_feat_kind kind;
	int op;			/* IORING_OP_* for FEAT_OP and FEAT_MULTISHOT */
	unsigned int paths;	/* SALVO_CAP_UDP | SALVO_CAP_TCP [| SALVO_CAP_ZEROCOPY] */
	const char *what;	/* for the reason line */
	const char *kernel;	/* the first Linux release that has it */
};

#define PATH_UDP SALVO_CAP_UDP
#define PATH_TCP SALVO_CAP_TCP
#define PATH_ZC SALVO_CAP_ZEROCOPY

static const struct uring_feat uring_feats[] = {
	{ "send", "io_uring.ops", FEAT_OP, IORING_OP_SEND, PATH_UDP | PATH_TCP, "IORING_OP_SEND", "5.6" },
	{ "sendmsg", "io_uring.ops", FEAT_OP, IORING_OP_SENDMSG, PATH_UDP, "IORING_OP_SENDMSG", "5.3" },
	{ "recvmsg", "io_uring.ops", FEAT_OP, IORING_OP_RECVMSG, PATH_UDP, "IORING_OP_RECVMSG", "5.3" },
	{ "recv", "io_uring.ops", FEAT_OP, IORING_OP_RECV, PATH_TCP, "IORING_OP_RECV", "5.6" },
	{ "accept", "io_uring.ops", FEAT_OP, IORING_OP_ACCEPT, PATH_TCP, "IORING_OP_ACCEPT", "5.5" },
	{ "connect", "io_uring.ops", FEAT_OP, IORING_OP_CONNECT, PATH_TCP, "IORING_OP_CONNECT", "5.5" },
	{ "close", "io_uring.ops", FEAT_OP, IORING_OP_CLOSE, PATH_TCP, "IORING_OP_CLOSE", "5.6" },
	{ "shutdown", "io_uring.ops", FEAT_OP, IORING_OP_SHUTDOWN, PATH_TCP, "IORING_OP_SHUTDOWN",
	  "5.11" },
	{ "async_cancel", "io_uring.ops", FEAT_OP, IORING_OP_ASYNC_CANCEL, PATH_TCP,
	  "IORING_OP_ASYNC_CANCEL", "5.5" },
	{ "link_timeout", "io_uring.ops", FEAT_OP, IORING_OP_LINK_TIMEOUT, PATH_TCP,
	  "IORING_OP_LINK_TIMEOUT", "5.5" },
	{ "buf_ring", "io_uring.buf_ring", FEAT_BUF_RING, 0, PATH_UDP | PATH_TCP, "provided buffer rings",
	  "5.19" },
	{ "recvmsg_multishot", "io_uring.recvmsg_multishot", FEAT_MULTISHOT, IORING_OP_RECVMSG, PATH_UDP,
	  "multishot RECVMSG", "6.0" },
	{ "accept_multishot", "io_uring.accept_multishot", FEAT_MULTISHOT, IORING_OP_ACCEPT, PATH_TCP,
	  "multishot ACCEPT", "5.19" },
	{ "recv_multishot", "io_uring.recv_multishot", FEAT_MULTISHOT, IORING_OP_RECV, PATH_TCP,
	  "multishot RECV", "6.0" },
	{ "send_zc", "io_uring.send_zc", FEAT_OP, IORING_OP_SEND_ZC, PATH_UDP | PATH_TCP | PATH_ZC,
	  "IORING_OP_SEND_ZC", "6.0" },
	{ "sendmsg_zc", "io_uring.send_zc", FEAT_OP, IORING_OP_SENDMSG_ZC, PATH_UDP | PATH_ZC,
	  "IORING_OP_SENDMSG_ZC", "6.1" },
};

#define NFEATS SALVO_ARRAY_SIZE(uring_feats)

/* Does a run on path (SALVO_CAP_UDP or _TCP), with or without --zerocopy, need row f? */
static bool feat_needed(const struct uring_feat *f, unsigned int path, bool zc)
{
	return (f->paths & path) && (!(f->paths & PATH_ZC) || zc);
}

static const char *path_name(unsigned int path)
{
	return path == SALVO_CAP_TCP ? "streams" : "datagrams";
}

/*
 * SALVO_URING_REFUSE=id[,id...] (ids from uring_feats): the default kernel
 * calls below answer as a kernel without those features would, so the
 * integration tests can play an older kernel on this one.  Only the probe's
 * test ring goes through them; the backend refuses before it opens a port.
 * Two ids are not in the table because nothing needs them: cqe_skip turns
 * off skipped-success sends (IORING_FEAT_CQE_SKIP, 5.17) as a kernel without
 * them would, and the port falls back to a CQE per send; waitall sends
 * streams without MSG_WAITALL, so short sends complete short (open).
 */
static bool refused(const char *id)
{
	return salvo_env_names("SALVO_URING_REFUSE", id);
}

static struct io_uring_probe *real_get_probe(struct io_uring *ring)
{
	struct io_uring_probe *pr = io_uring_get_probe_ring(ring);

	for (size_t i = 0; pr && i < NFEATS; i++)
		if (uring_feats[i].kind == FEAT_OP && uring_feats[i].op <= pr->last_op &&
		    refused(uring_feats[i].id))
			pr->ops[uring_feats[i].op].flags &= ~IO_URING_OP_SUPPORTED;
	return pr;
}

static int real_register_buf_ring(struct io_uring *ring, struct io_uring_buf_reg *reg,
				  unsigned int flags)
{
	return refused("buf_ring") ? -EINVAL : io_uring_register_buf_ring(ring, reg, flags);
}

/*
 * Submit op as multishot on a unix socket of this process that never sees
 * traffic, then cancel it: a kernel that knows the flag leaves it armed
 * (-ECANCELED after the cancel; a receive may also say -ENOBUFS, having
 * looked in the empty buffer group), one that does not fails it at once
 * with -EINVAL.  Bounded: the cancel completes both within a second.
 */
static int real_multishot(struct io_uring *ring, int op)
{
	static const struct msghdr msg;	/* read by the kernel, never written */
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int fds[2] = { -1, -1 }, res = 0, seen = 0, ret;

	for (size_t i = 0; i < NFEATS; i++)
		if (uring_feats[i].kind == FEAT_MULTISHOT && uring_feats[i].op == op &&
		    refused(uring_feats[i].id))
			return -EINVAL;
	if (op == IORING_OP_ACCEPT) {
		fds[0] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		/* An address of only the family: the kernel picks an abstract name. */
		if (fds[0] < 0 || bind(fds[0], (struct sockaddr *)&sun, sizeof(sa_family_t)) ||
		    listen(fds[0], 1)) {
			ret = -errno;
			goto out;
		}
	} else if (socketpair(AF_UNIX, (op == IORING_OP_RECV ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC,
			      0, fds)) {
		return -errno;
	}
	sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		ret = -EBUSY;
		goto out;
	}
	if (op == IORING_OP_ACCEPT) {
		io_uring_prep_multishot_accept(sqe, fds[0], NULL, NULL, 0);
	} else {
		if (op == IORING_OP_RECV)
			io_uring_prep_recv_multishot(sqe, fds[0], NULL, 0, 0);
		else
			io_uring_prep_recvmsg_multishot(sqe, fds[0], (struct msghdr *)&msg, 0);
		/* Multishot receives pick provided buffers; this group has none. */
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID + 7;
	}
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		ret = -EBUSY;
		goto out;
	}
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	ret = io_uring_submit(ring);
	if (ret < 0)
		goto out;
	while (seen < 2) {
		struct __kernel_timespec ts = { .tv_sec = 1 };

		if (io_uring_wait_cqe_timeout(ring, &cqe, &ts))
			break;
		if (cqe->user_data == 1 && !(cqe->flags & IORING_CQE_F_MORE))
			res = cqe->res;
		if (!(cqe->user_data == 1 && (cqe->flags & IORING_CQE_F_MORE)))
			seen++;
		io_uring_cqe_seen(ring, cqe);
	}
	if (res == -ECANCELED || (op != IORING_OP_ACCEPT && res == -ENOBUFS))
		ret = 0;
	else
		ret = res ? res : -EIO;
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return ret;
}

const struct salvo__uring_sys salvo__uring_sys_default = {
	.disabled_path = "/proc/sys/kernel/io_uring_disabled",
	.queue_init = io_uring_queue_init_params,
	.queue_exit = io_uring_queue_exit,
	.get_probe = real_get_probe,
	.register_buf_ring = real_register_buf_ring,
	.unregister_buf_ring = io_uring_unregister_buf_ring,
	.multishot = real_multishot,
};

int salvo__uring_setup(const struct salvo__uring_sys *sys, struct io_uring *ring, unsigned int sq,
		       unsigned int cq, unsigned int *flags)
{
	static const unsigned int tries[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
		0,
	};
	struct io_uring_params prm;
	unsigned int i;
	int ret = -EINVAL;

	for (i = 0; i < SALVO_ARRAY_SIZE(tries); i++) {
		memset(&prm, 0, sizeof(prm));
		prm.flags = tries[i] | IORING_SETUP_CQSIZE;
		prm.cq_entries = cq;
		ret = sys->queue_init(sq, ring, &prm);
		if (ret == 0) {
			*flags = prm.flags;
			return 0;
		}
		if (ret != -EINVAL)
			break;
	}
	return ret;
}

const char *salvo__uring_flags_str(unsigned int flags, char *buf, size_t len)
{
	static const struct {
		unsigned int f;
		const char *n;
	} names[] = {
		{ IORING_SETUP_SINGLE_ISSUER, "single_issuer" },
		{ IORING_SETUP_DEFER_TASKRUN, "defer_taskrun" },
		{ IORING_SETUP_COOP_TASKRUN, "coop_taskrun" },
		{ IORING_SETUP_SUBMIT_ALL, "submit_all" },
	};
	size_t off = 0;
	unsigned int i;

	if (len)
		buf[0] = 0;
	for (i = 0; i < SALVO_ARRAY_SIZE(names) && off < len; i++) {
		if (!(flags & names[i].f))
			continue;
		off += snprintf(buf + off, len - off, "%s%s", off ? "," : "", names[i].n);
	}
	if (len && !buf[0])
		snprintf(buf, len, "plain");
	return buf;
}

/* kernel.io_uring_disabled, or -errno (-ENOENT: before Linux 6.6, always on). */
static int read_disabled(const char *path)
{
	char b[16];
	ssize_t n;
	int fd;

	if (!path)
		return -ENOENT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	b[n] = 0;
	return atoi(b);
}

/* What the kernel answered for each row of uring_feats. */
struct uring_eval {
	int disabled;		/* kernel.io_uring_disabled, or -errno */
	int setup;		/* io_uring_setup: 0, -errno, or 1: not tried (disabled=2) */
	bool probed;		/* IORING_REGISTER_PROBE answered */
	int res[NFEATS];	/* 0: present, -errno: refused, 1: not checked */
};

static int buf_ring_test(const struct salvo__uring_sys *sys, struct io_uring *ring)
{
	struct io_uring_buf_reg reg;
	void *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret;

	if (mem == MAP_FAILED)
		return -errno;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)mem;
	reg.ring_entries = 1;
	reg.bgid = BGID;
	ret = sys->register_buf_ring(ring, &reg, 0);
	if (ret == 0)
		sys->unregister_buf_ring(ring, BGID);
	munmap(mem, 4096);
	return ret;
}

/*
 * Ask the kernel (through sys) about every row a run on one of paths (with
 * SALVO_CAP_ZEROCOPY: under --zerocopy) needs.  One test ring, closed again.
 */
static void uring_eval(const struct salvo__uring_sys *sys, unsigned int paths,
		       struct uring_eval *e)
{
	struct io_uring_probe *pr;
	struct io_uring ring;
	unsigned int flags;
	size_t i;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < NFEATS; i++)
		e->res[i] = 1;
	e->disabled = read_disabled(sys->disabled_path);
	if (e->disabled >= 2) {
		e->setup = 1;	/* refused for everybody: no need to try */
		return;
	}
	e->setup = salvo__uring_setup(sys, &ring, 8, 16, &flags);
	if (e->setup)
		return;
	pr = sys->get_probe(&ring);
	if (pr) {
		e->probed = true;
		for (i = 0; i < NFEATS; i++) {
			const struct uring_feat *f = &uring_feats[i];
			bool have_op = f->kind == FEAT_BUF_RING || io_uring_opcode_supported(pr, f->op);

			if (!feat_needed(f, paths & (PATH_UDP | PATH_TCP), paths & PATH_ZC))
				continue;
			if (!have_op)
				e->res[i] = -EOPNOTSUPP;
			else if (f->kind == FEAT_OP)
				e->res[i] = 0;
			else if (f->kind == FEAT_MULTISHOT)
				e->res[i] = sys->multishot(&ring, f->op);
			else
				e->res[i] = buf_ring_test(sys, &ring);
		}
		free(pr);
	}
	sys->queue_exit(&ring);
}

static void missing_reason(const struct uring_feat *f, int res, unsigned int path, bool zc,
			   char *why, size_t len)
{
	bool zc_only = zc && (f->paths & PATH_ZC);
	const char *what = zc_only ? "--zerocopy needs" : path_name(path);

	if (res == -EOPNOTSUPP)
		snprintf(why, len, "kernel lacks %s, which %s%s (Linux %s)", f->what, what,
			 zc_only ? "" : " need", f->kernel);
	else
		snprintf(why, len, "kernel refuses %s (%s), which %s%s (Linux %s)", f->what,
			 strerror(-res), what, zc_only ? "" : " need", f->kernel);
}

/*
 * The verdict for a run on path (SALVO_CAP_UDP or _TCP), with or without
 * --zerocopy: 0, or -errno with one line in why and the fix in fix.
 */
static int uring_verdict(const struct uring_eval *e, unsigned int path, bool zc, char *why,
			 size_t len, char *fix, size_t fixlen)
{
	snprintf(fix, fixlen, "use a kernel of 6.0 or later");
	if (e->disabled >= 2) {
		snprintf(why, len, "io_uring is disabled (kernel.io_uring_disabled=%d)", e->disabled);
		snprintf(fix, fixlen, "sysctl -w kernel.io_uring_disabled=0");
		return -EPERM;
	}
	if (e->setup) {
		snprintf(why, len, "io_uring_setup failed: %s%s", strerror(-e->setup),
			 e->setup != -EPERM ? "" :
			 e->disabled == 1 ? " (kernel.io_uring_disabled=1: needs CAP_SYS_ADMIN or io_uring_group)" :
					    " (blocked by seccomp or a container policy?)");
		snprintf(fix, fixlen, "%s",
			 e->setup == -EPERM ? "allow io_uring_setup in the seccomp profile (docker: --security-opt seccomp=unconfined) or sysctl -w kernel.io_uring_disabled=0" :
			 e->setup == -ENOSYS ? "use a kernel built with CONFIG_IO_URING=y" :
					       "ulimit -l unlimited");
		return e->setup;
	}
	if (!e->probed) {
		snprintf(why, len, "io_uring cannot probe its opcodes (kernel older than 5.6)");
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < NFEATS; i++) {
		if (!feat_needed(&uring_feats[i], path, zc) || !e->res[i])
			continue;
		if (e->res[i] == 1) {	/* a caller asked for a verdict it did not evaluate */
			snprintf(why, len, "%s not checked", uring_feats[i].what);
			return -EINVAL;
		}
		missing_reason(&uring_feats[i], e->res[i], path, zc, why, len);
		snprintf(fix, fixlen, "use a kernel of %s or later", uring_feats[i].kernel);
		return -EOPNOTSUPP;
	}
	return 0;
}

int salvo__uring_check(const struct salvo__uring_sys *sys, const struct salvo_cfg *cfg, char *why,
		       size_t len)
{
	unsigned int path = cfg && cfg->proto == SALVO_PROTO_TCP ? PATH_TCP : PATH_UDP;
	bool zc = cfg && cfg->zerocopy;
	struct uring_eval e;
	char fix[192];

	if (cfg && cfg->proto == SALVO_PROTO_L2) {
		snprintf(why, len, "io_uring backend carries UDP and TCP, not raw frames");
		return -EOPNOTSUPP;
	}
	uring_eval(sys, path | (zc ? PATH_ZC : 0), &e);
	return uring_verdict(&e, path, zc, why, len, fix, sizeof(fix));
}

static int uring_probe(const struct salvo_cfg *cfg, char *why, size_t len)
{
	return salvo__uring_check(&salvo__uring_sys_default, cfg, why, len);
}

/* One doctor line per check name of uring_feats (the rows that share it folded). */
static void doctor_feats(const struct uring_eval *e, struct salvo_doctor_report *r)
{
	for (size_t i = 0; i < NFEATS; i++) {
		const struct uring_feat *f = &uring_feats[i];
		char missing[128] = "", needed[64] = "uring", fix[64] = "";
		unsigned int blocked = 0, uses = 0, n = 0;
		size_t mo = 0, j;
		int first_err = 0;

		for (j = 0; j < i && strcmp(uring_feats[j].check, f->check); j++)
			;
		if (j < i)
			continue;	/* folded into an earlier line */
		for (j = i; j < NFEATS; j++) {
			const struct uring_feat *g = &uring_feats[j];

			if (strcmp(g->check, f->check))
				continue;
			n++;
			uses |= g->paths;
			if (!e->res[j])
				continue;
			blocked |= g->paths;
			if (!first_err) {
				first_err = e->res[j];
				snprintf(fix, sizeof(fix), "use a kernel of %s or later", g->kernel);
			}
			if (mo < sizeof(missing))
				mo += (size_t)snprintf(missing + mo, sizeof(missing) - mo, "%s%s",
						       mo ? ", " : "", g->what);
		}
		snprintf(needed, sizeof(needed), "uring %s",
			 uses & PATH_ZC ? "--zerocopy" :
			 (uses & PATH_UDP) && (uses & PATH_TCP) ? "datagrams streams" :
			 uses & PATH_UDP ? "datagrams" : "streams");
		if (!blocked && n > 1)
			salvo_doctor_add(r, f->check, SALVO_DOCTOR_OK, needed, "",
					 "all %u opcodes it submits are supported", n);
		else if (!blocked)
			salvo_doctor_add(r, f->check, SALVO_DOCTOR_OK, needed, "", "%s supported",
					 f->what);
		else
			salvo_doctor_add(r, f->check, blocked & PATH_ZC ? SALVO_DOCTOR_WARN : SALVO_DOCTOR_FAIL,
					 needed, fix, "%s %s%s%s: no %s on uring", missing,
					 first_err == -EOPNOTSUPP ? "missing" : "refused (",
					 first_err == -EOPNOTSUPP ? "" : strerror(-first_err),
					 first_err == -EOPNOTSUPP ? "" : ")",
					 blocked & PATH_ZC ? "--zerocopy" :
					 (blocked & PATH_UDP) && (blocked & PATH_TCP) ? "datagrams or streams" :
					 blocked & PATH_UDP ? "datagrams" : "streams");
	}
}

void salvo__uring_doctor(const struct salvo__uring_sys *sys, struct salvo_doctor_report *r)
{
	static const unsigned int paths[] = { PATH_UDP, PATH_TCP };
	struct uring_eval e;
	char why[256], fix[192];

	uring_eval(sys, PATH_UDP | PATH_TCP | PATH_ZC, &e);
	if (e.disabled == -ENOENT)
		salvo_doctor_add(r, "io_uring.sysctl", SALVO_DOCTOR_OK, "uring", "",
				 "kernel.io_uring_disabled not present (kernel before 6.6: io_uring always on)");
	else if (e.disabled < 0)
		salvo_doctor_add(r, "io_uring.sysctl", SALVO_DOCTOR_WARN, "uring",
				 "cat /proc/sys/kernel/io_uring_disabled",
				 "cannot read kernel.io_uring_disabled: %s", strerror(-e.disabled));
	else if (e.disabled == 0)
		salvo_doctor_add(r, "io_uring.sysctl", SALVO_DOCTOR_OK, "uring", "",
				 "kernel.io_uring_disabled = 0");
	else
		salvo_doctor_add(r, "io_uring.sysctl",
				 e.disabled >= 2 ? SALVO_DOCTOR_FAIL : SALVO_DOCTOR_WARN, "uring",
				 "sysctl -w kernel.io_uring_disabled=0", "kernel.io_uring_disabled = %d (%s)",
				 e.disabled, e.disabled >= 2 ? "io_uring is off for everybody" :
				 "only root and kernel.io_uring_group may use io_uring");
	if (e.setup == 0) {
		salvo_doctor_add(r, "io_uring.setup", SALVO_DOCTOR_OK, "uring", "", "a test ring was set up");
		if (e.probed)
			doctor_feats(&e, r);
		else
			salvo_doctor_add(r, "io_uring.probe", SALVO_DOCTOR_FAIL, "uring",
					 "use a kernel of 5.6 or later",
					 "IORING_REGISTER_PROBE failed: which ops exist is unknown");
	} else {
		uring_verdict(&e, PATH_UDP, false, why, sizeof(why), fix, sizeof(fix));
		salvo_doctor_add(r, "io_uring.setup", SALVO_DOCTOR_FAIL, "uring", fix, "%s", why);
	}
	/* The verdicts, word for word what the probe says in `salvo backends`. */
	for (size_t i = 0; i < SALVO_ARRAY_SIZE(paths); i++) {
		char name[32];

		snprintf(name, sizeof(name), "io_uring.%s", path_name(paths[i]));
		if (uring_verdict(&e, paths[i], false, why, sizeof(why), fix, sizeof(fix)))
			salvo_doctor_add(r, name, SALVO_DOCTOR_FAIL, "uring", fix,
					 "%s unavailable: %s", path_name(paths[i]), why);
		else
			salvo_doctor_add(r, name, SALVO_DOCTOR_OK, "uring", "", "%s available",
					 path_name(paths[i]));
	}
}

static void uring_doctor(struct salvo_doctor_report *r)
{
	salvo__uring_doctor(&salvo__uring_sys_default, r);
}

/* ---- small helpers ----------------------------------------------------------- */

static void *map_mem(size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return m == MAP_FAILED ? NULL : m;
}

/* ---- tx errors ----------------------------------------------------------- */

static bool fatal_errno(int err)
{
	switch (err) {
	case -EACCES: case -EPERM: case -ENETUNREACH: case -EHOSTUNREACH: case -EADDRNOTAVAIL:
	case -EINVAL: case -EMSGSIZE: case -EBADF: case -ENOTCONN: case -EDESTADDRREQ:
	case -ENOENT: case -EAFNOSUPPORT: case -EFAULT:
		return true;
	}
	return false;
}

void salvo__uring_tx_error(struct salvo_port *p, int res, const struct salvo_pkt *k)
{
	struct uring_port *up = p->priv;

	/* Counted as sent when submitted: take it back (empty close markers never were). */
	if (k->len) {
		salvo_cnt_add(&p->stats.tx_failed,
			      k->gso_size ? (k->len + k->gso_size - 1) / k->gso_size : 1);
		salvo_cnt_add(&p->stats.tx_failed_bytes, k->len);
	}
	salvo_cnt_add(&p->stats.tx_errors, 1);
	if (res == -ECONNREFUSED) {
		salvo_cnt_add(&p->stats.tx_refused, 1);
		return;
	}
	/*
	 * A reply to a datagram's source (SALVO_PKT_F_PEER: echo) fails for
	 * that one peer (port 0, broadcast, an unbound unix client): counted
	 * above, and the port goes on serving the others.  Only a send to the
	 * run's own destination makes every later one fail the same way.
	 */
	if (k->flags & SALVO_PKT_F_PEER)
		return;
	if (fatal_errno(res) && !up->fatal) {
		up->fatal = res;
		salvo_port_fail(p, res, "send", p->cfg->connect ? &p->cfg->remote : NULL);
	}
}

/* Re-arm what the kernel ended (ENOBUFS, errors), once buffers are back. */
static void rearm(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	unsigned int i;
	bool bufs = up->rx_out < up->br_entries;

	if (!up->stream && !up->dgram_rx)
		return;	/* a datagram sender that receives nothing: nothing to arm, ever */
	if (up->accept_paused)
		salvo__uring_adopt_pending(p);
	for (i = 0; i < up->nsocks; i++) {
		struct usock *s = &up->socks[i];

		if (s->armed || s->fd < 0)
			continue;
		if (up->listen_stream && !up->accept_paused)
			salvo__uring_arm_accept(up, i);
		else if (s->rx && bufs)
			salvo__uring_arm_recvmsg(up, i);
	}
	if (!up->stream || !bufs || !up->conn_rearm)
		return;
	up->conn_rearm = false;	/* salvo__uring_arm_recv() sets it again if it cannot */
	for (i = 0; i < up->nconns; i++) {
		struct uconn *c = &up->conns[i];

		if (c->state == C_OPEN && !c->recv_armed && !c->eof)
			salvo__uring_arm_recv(up, i);
	}
}

/* ---- the completion loop ----------------------------------------------------- */

int salvo__uring_process(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	struct io_uring_cq *cq = &up->ring.cq;
	unsigned int head = *cq->khead, seen, before = up->tx_inflight, i;
	/*
	 * Acquire pairs with the kernel's release of ktail: the CQEs below
	 * tail are written.  Read once per pass, not once per CQE as
	 * io_uring_for_each_cqe does; later ones wait for the next pass.
	 */
	unsigned int tail = io_uring_smp_load_acquire(cq->ktail);
	unsigned int shift = (up->ring.flags & IORING_SETUP_CQE32) ? 1 : 0;

	seen = tail - head;
	for (i = head; i != tail; i++) {
		struct io_uring_cqe *cqe = &cq->cqes[(i & cq->ring_mask) << shift];
		uint64_t ud = cqe->user_data;
		uint32_t x = (uint32_t)(ud >> 8);

		/* A receiver's CQEs come in runs of RECVMSG: one call takes the run. */
		if ((ud & 0xff) == UD_RECVMSG) {
			i = uring_recvmsg_run(p, i, tail, shift) - 1;	/* the loop's i++ */
			continue;
		}
		switch (ud & 0xff) {
		case UD_TX:
			salvo__uring_on_tx(p, cqe, salvo_pool_pkt(p->pool, x));
			break;
		case UD_TXS:
			salvo__uring_on_tx_skip(p, cqe);
			break;
		case UD_SEND:
			salvo__uring_on_send(p, cqe, salvo_pool_pkt(p->pool, x));
			break;
		case UD_RECV:
			salvo__uring_on_recv(p, cqe, x);
			break;
		case UD_ACCEPT:
			salvo__uring_on_accept(p, cqe, x);
			break;
		case UD_CONNECT:
			salvo__uring_on_connect(p, cqe, x);
			break;
		case UD_SOCKET:
			if (x < up->nconns)
				up->conns[x].dial_err = cqe->res < 0 ? cqe->res : -EIO;
			break;
		default:
			break;
		}
	}
	if (seen)
		io_uring_cq_advance(&up->ring, seen);
	if (io_uring_sq_ready(&up->ring))
		io_uring_submit(&up->ring);
	return (int)(before > up->tx_inflight ? before - up->tx_inflight : 0);
}

/* Whether IORING_OP_SEND takes a registered buffer on this kernel: one byte over a socketpair. */
static bool probe_fixed_send(struct uring_port *up)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int sv[2], res = -1;

	if (!up->fixed_bufs || socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		return false;
	sqe = io_uring_get_sqe(&up->ring);
	if (sqe) {
		io_uring_prep_send(sqe, sv[0], up->txmem, 1, MSG_DONTWAIT);
		sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
		sqe->buf_index = 0;
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
		if (io_uring_submit_and_wait(&up->ring, 1) >= 0 &&
		    io_uring_peek_cqe(&up->ring, &cqe) == 0) {
			res = cqe->res;
			io_uring_cqe_seen(&up->ring, cqe);
		}
	}
	close(sv[0]);
	close(sv[1]);
	return res == 1;
}

/* First call on the worker thread: become the ring's issuer, arm receives, start connects. */
static int port_enable_first(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	unsigned int i;

	up->enabled = true;
	/*
	 * The ring fd registered with this thread (5.18): every
	 * io_uring_enter skips the fd lookup.  Only this thread enters the
	 * ring (SINGLE_ISSUER); a kernel without it keeps the plain fd.
	 */
	io_uring_register_ring_fd(&up->ring);
	up->fixed_send = probe_fixed_send(up);
	if (up->skip)
		salvo__uring_skip_setup(p);
	rearm(p);
	for (i = 0; i < up->nconnect; i++) {
		struct uconn *c = &up->conns[i];
		struct io_uring_sqe *sqe = get_sqe(up);

		io_uring_prep_connect(sqe, (int)(up->conn_base + i), &c->peer.sa, c->peer.len);
		sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
		io_uring_sqe_set_data64(sqe, ud_make(UD_CONNECT, i));
		sqe = get_sqe(up);
		io_uring_prep_link_timeout(sqe, &up->conn_ts, 0);
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0));
	}
	io_uring_submit(&up->ring);
	return 0;
}

/* Inline: every tx, reap and rx call asks, and only the first does more than one load. */
static inline int port_enable(struct salvo_port *p)
{
	const struct uring_port *up = p->priv;

	return salvo_likely(up->enabled) ? 0 : port_enable_first(p);
}

/* ---- ops --------------------------------------------------------------------- */

static int uring_tx_burst(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	int ret = port_enable(p);

	if (ret)
		return ret;
	if (salvo_unlikely(up->fatal))
		return up->fatal;
	return up->stream ? salvo__uring_tx_stream(p, v, n) : salvo__uring_tx_dgram(p, v, n);
}

static int uring_reap(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	int n;

	if (port_enable(p))
		return 0;
	rearm(p);
	n = uring_process(p);
	/* DEFER_TASKRUN: completions that went async wait for us to enter the kernel. */
	if (!n && up->tx_inflight && (up->ring_flags & IORING_SETUP_DEFER_TASKRUN)) {
		io_uring_get_events(&up->ring);
		n = salvo__uring_process(p);
	}
	if (up->stream) {
		uint64_t now = salvo_now_ns();

		if (now >= up->retrans_next_ns) {
			salvo__uring_update_retrans(p);
			up->retrans_next_ns = now + 200 * NSEC_PER_MSEC;
		}
	}
	return n;
}

static int uring_rx_burst(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	unsigned int i;
	int ret;

	ret = port_enable(p);
	if (ret)
		return ret;
	rearm(p);
	salvo__uring_process(p);
	if (!up->fifo_n) {
		if (p->rx_timeout_ms) {
			struct __kernel_timespec ts = {
				.tv_sec = p->rx_timeout_ms / 1000,
				.tv_nsec = (long long)(p->rx_timeout_ms % 1000) * 1000000,
			};
			struct io_uring_cqe *cqe;

			ret = io_uring_submit_and_wait_timeout(&up->ring, &cqe, 1, &ts, NULL);
			if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN &&
			    ret != -EBUSY)
				return salvo_port_fail(p, ret, "io_uring_enter", NULL);
		} else {
			io_uring_get_events(&up->ring);
		}
		salvo__uring_process(p);
	}
	/* At most two runs of the FIFO (before and after its wrap), copied whole. */
	n = SALVO_MIN(n, up->fifo_n);
	i = SALVO_MIN(n, up->fifo_cap - up->fifo_head);
	memcpy(v, up->fifo + up->fifo_head, (size_t)i * sizeof(*v));
	memcpy(v + i, up->fifo, (size_t)(n - i) * sizeof(*v));
	up->fifo_head += n;
	if (up->fifo_head >= up->fifo_cap)
		up->fifo_head -= up->fifo_cap;
	up->fifo_n -= n;
	return (int)n;
}

static void uring_release(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct uring_port *up = p->priv;
	/* Locals: the ring stores below may alias *up as far as the compiler knows. */
	struct salvo_pkt *rxd = up->rxd;
	struct io_uring_buf_ring *br = up->br;
	unsigned int i, mask = (unsigned int)io_uring_buf_ring_mask(up->br_entries);
	unsigned short tail = br ? br->tail : 0;	/* ours alone: the kernel reads it */
	unsigned int pos = tail;	/* the next entry we write */
	uintptr_t rxlo = (uintptr_t)rxd, rxspan = (uintptr_t)up->br_entries * sizeof(*rxd);
	uint8_t *rxmem = up->rxmem;
	uint32_t size = up->rxbuf_size;
	int added;

	for (i = 0; i < n; i++) {
		struct salvo_pkt *k = v[i];

		/* One unsigned compare: below rxd wraps to a large offset */
		if ((uintptr_t)k - rxlo < rxspan) {
			unsigned int bid = (unsigned int)(k - rxd);
			struct io_uring_buf *b = &br->bufs[pos++ & mask];

			/* buf_recycle(), with the ring's tail and geometry held in registers */
			b->addr = (uintptr_t)(rxmem + (size_t)bid * size);
			b->len = size;
			b->bid = (unsigned short)bid;
		} else if (k >= up->evd && k < up->evd + up->nev) {
			if (k->conn < up->nconns && up->conns[k->conn].evout)
				up->conns[k->conn].evout--;	/* ev_push() counted it */
			if ((k->flags & SALVO_PKT_F_CONN_CLOSE) && k->conn < up->nconns) {
				struct uconn *c = &up->conns[k->conn];

				/* The app has seen the peer's FIN and queued any reply. */
				if (c->state == C_OPEN && c->eof) {
					c->close_after = true;
					salvo__uring_stream_start(p, k->conn);
				}
			}
			up->evfree[up->evfree_n++] = k;
		} else {
			salvo_pool_put(p->pool, &k, 1);
		}
	}
	added = (unsigned short)(pos - tail);
	if (added) {
		up->rx_out -= (unsigned int)added;
		io_uring_buf_ring_advance(br, added);	/* release: the entries above first */
	}
}

/*
 * A send learns of the previous datagram's ICMP port unreachable
 * (ECONNREFUSED on the next send): the last datagram's refusal has no next
 * send, so read it from the socket here.  Sockets with a multishot recvmsg
 * get it there instead.
 */
static void last_refusal(struct salvo_port *p, struct uring_port *up)
{
	for (unsigned int i = 0; i < up->nsocks; i++) {
		int e = 0;
		socklen_t l = sizeof(e);

		if (up->socks[i].rx)
			continue;
		if (!getsockopt(up->socks[i].fd, SOL_SOCKET, SO_ERROR, &e, &l) && e == ECONNREFUSED) {
			salvo_cnt_add(&p->stats.tx_errors, 1);
			salvo_cnt_add(&p->stats.tx_refused, 1);
		}
	}
}

static int uring_drain(struct salvo_port *p, unsigned int timeout_ms)
{
	struct uring_port *up = p->priv;
	uint64_t end = salvo_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;

	if (!up->enabled)
		return 0;
	salvo__uring_process(p);
	while (up->tx_inflight) {
		uint64_t now = salvo_now_ns();
		struct __kernel_timespec ts;
		struct io_uring_cqe *cqe;

		if (now >= end)
			break;
		ts.tv_sec = (long long)((end - now) / NSEC_PER_SEC);
		ts.tv_nsec = (long long)((end - now) % NSEC_PER_SEC);
		io_uring_submit_and_wait_timeout(&up->ring, &cqe, 1, &ts, NULL);
		salvo__uring_process(p);
	}
	if (up->stream)
		salvo__uring_update_retrans(p);
	else
		last_refusal(p, up);
	if (up->tx_inflight) {
		snprintf(p->err, sizeof(p->err), "%u sends still in flight after %u ms",
			 up->tx_inflight, timeout_ms);
		return -ETIMEDOUT;
	}
	return 0;
}

/* ---- open / close ---------------------------------------------------------- */

/* Sizes of one tx buffer and, for streams, of the connection table. */
static uint32_t open_sizes(struct salvo_port *p, struct uring_port *up, const struct salvo_cfg *cfg)
{
	struct rlimit rl;
	uint32_t bufsz;

	bufsz = SALVO_MAX(cfg->size, cfg->message_len);
	if (!up->stream && cfg->gso)
		bufsz = SALVO_MAX(bufsz, SALVO_MIN(64U, 65507U / SALVO_MAX(cfg->size, 1U)) *
					   SALVO_MAX(cfg->size, 1U));
	if (!up->stream && cfg->listen && (cfg->dir & SALVO_DIR_TX))
		bufsz = 65536;	/* an echo server replies with whatever came */
	bufsz = SALVO_MAX(bufsz, 64U);
	if (up->stream) {
		up->nconns = cfg->listen ? MAX_CONNS :
				SALVO_MAX(share(SALVO_MAX(cfg->streams, 1), p->worker, p->nworkers), 1U);
		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY &&
		    up->nconns + 64 > rl.rlim_cur)
			up->nconns = rl.rlim_cur > 128 ? (unsigned int)rl.rlim_cur - 64 : 64;
	}
	return bufsz;
}

/* tx pool in our own memory, registered as one fixed buffer */
static int open_tx_pool(struct salvo_port *p, struct uring_port *up, const struct salvo_cfg *cfg,
			uint32_t bufsz)
{
	struct iovec iov;
	uint32_t npool, stride;
	int ret;

	npool = up->stream ? 64 : (bufsz > 16384 ? 256 : 2048);
	/*
	 * A server whose every connection may hold a send (a reply to a peer
	 * that does not read) needs a descriptor per connection, or 64 such
	 * peers stop it for everybody until their deadlines.
	 */
	if (up->stream && ((cfg->listen && cfg->tx_per_conn) || (!cfg->listen && cfg->dial)))
		npool = up->nconns + 64;	/* a dial's packet waits for its connect too */
	stride = salvo_pool_stride(bufsz);
	up->txmem_len = (size_t)npool * stride;
	up->txmem = map_mem(up->txmem_len);
	if (!up->txmem)
		return salvo_port_fail(p, -ENOMEM, "mmap tx buffers", NULL);
	ret = salvo_pool_create(&p->pool, npool, bufsz, up->txmem);
	if (ret)
		return salvo_port_fail(p, ret, "pool", NULL);
	up->txs = calloc(npool, sizeof(*up->txs));
	up->txnext = calloc(npool, sizeof(*up->txnext));
	up->hold = calloc(npool, sizeof(*up->hold));
	up->mm = calloc(npool, sizeof(*up->mm));
	if (!up->txs || !up->txnext || !up->hold || !up->mm)
		return salvo_port_fail(p, -ENOMEM, "alloc", NULL);
	iov.iov_base = up->txmem;
	iov.iov_len = up->txmem_len;
	/* Not fatal: without it sends copy from plain user memory (RLIMIT_MEMLOCK). */
	up->fixed_bufs = io_uring_register_buffers(&up->ring, &iov, 1) == 0;
	return 0;
}

/* provided buffer ring for every receive */
static int open_rx_ring(struct salvo_port *p, struct uring_port *up, const struct salvo_cfg *cfg)
{
	struct io_uring_buf_reg reg;
	uint32_t payload;
	unsigned int i;
	int ret;

	if (up->stream) {
		/*
		 * 128 KiB, the syscall sink's read: a TCP receive fills its
		 * buffer while a sender outruns us, so the size is the bytes per
		 * CQE (64 KiB took 4107 CQEs per 256 MiB, this 2k).  128 of
		 * them keep the ring's memory at 16 MiB.
		 */
		up->br_entries = 128;
		payload = 131072;
	} else if (cfg->gro || (cfg->listen && (cfg->dir & SALVO_DIR_TX))) {
		up->br_entries = 256;
		payload = 65536;
	} else {
		up->br_entries = 1024;
		payload = SALVO_MAX(SALVO_MAX(cfg->size, cfg->message_len), 2048U);
	}
	up->rxbuf_size = salvo_pool_stride(payload + (up->stream ? 0 : RX_HDR));
	up->rxmem_len = (size_t)up->br_entries * up->rxbuf_size;
	up->rxmem = map_mem(up->rxmem_len);
	up->br_len = (size_t)up->br_entries * sizeof(struct io_uring_buf);
	up->br_len = (up->br_len + 4095) & ~(size_t)4095;
	up->br = map_mem(up->br_len);
	up->rxd = calloc(up->br_entries, sizeof(*up->rxd));
	if (!up->rxmem || !up->br || !up->rxd)
		return salvo_port_fail(p, -ENOMEM, "rx buffers", NULL);
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)up->br;
	reg.ring_entries = up->br_entries;
	reg.bgid = BGID;
	ret = io_uring_register_buf_ring(&up->ring, &reg, 0);
	if (ret)
		return salvo_port_fail(p, ret, "io_uring_register_buf_ring", NULL);
	up->br_registered = true;
	io_uring_buf_ring_init(up->br);
	for (i = 0; i < up->br_entries; i++) {
		up->rxd[i].idx = NO_IDX;
		up->rxd[i].bid = i;
		up->rxd[i].buf_len = up->rxbuf_size;
		buf_recycle(up, i, (int)i);
	}
	io_uring_buf_ring_advance(up->br, (int)up->br_entries);
	return 0;
}

/* connections, the fixed file table, the event descriptors and the rx fifo */
static int open_tables(struct salvo_port *p, struct uring_port *up, const struct salvo_cfg *cfg)
{
	unsigned int i, nfiles;
	int ret;

	if (up->stream) {
		p->conn_slots = up->nconns;
		up->conns = calloc(up->nconns, sizeof(*up->conns));
		if (!up->conns)
			return salvo_port_fail(p, -ENOMEM, "alloc", NULL);
		for (i = 0; i < up->nconns; i++) {
			up->conns[i].fd = -1;
			up->conns[i].qhead = up->conns[i].qtail = NO_IDX;
		}
		up->conn_base = 1;
		nfiles = 1 + up->nconns;
	} else {
		nfiles = SALVO_MAX(share(SALVO_MAX(cfg->flows, 1), p->worker, p->nworkers), 1U);
	}
	ret = io_uring_register_files_sparse(&up->ring, nfiles);
	if (ret)
		return salvo_port_fail(p, ret, "io_uring_register_files_sparse", NULL);
	up->nev = up->stream ? 4 * up->nconns + 64 : 1;
	up->evd = calloc(up->nev, sizeof(*up->evd));
	up->evfree = calloc(up->nev, sizeof(*up->evfree));
	up->fifo_cap = up->br_entries + up->nev;
	up->fifo = calloc(up->fifo_cap, sizeof(*up->fifo));
	if (!up->evd || !up->evfree || !up->fifo)
		return salvo_port_fail(p, -ENOMEM, "alloc", NULL);
	for (i = 0; i < up->nev; i++) {
		up->evd[i].idx = NO_IDX;
		up->evfree[up->evfree_n++] = &up->evd[up->nev - 1 - i];
	}
	return 0;
}

/* The sockets of either path, registered as fixed files. */
static int open_sockets(struct salvo_port *p, struct uring_port *up, const struct salvo_cfg *cfg)
{
	unsigned int i;
	int ret;

	ret = up->stream ? salvo__uring_open_stream(p, cfg) : salvo__uring_open_dgram(p, cfg);
	if (ret)
		return ret;
	for (i = 0; i < up->nsocks; i++) {
		ret = reg_file(up, up->socks[i].slot, up->socks[i].fd);
		if (ret)
			return salvo_port_fail(p, ret, "io_uring_register_files_update", NULL);
	}
	for (i = 0; i < up->nconnect; i++) {
		ret = reg_file(up, up->conn_base + i, up->conns[i].fd);
		if (ret)
			return salvo_port_fail(p, ret, "io_uring_register_files_update", NULL);
	}
	return 0;
}

static void uring_close(struct salvo_port *p);

static int uring_open(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct uring_port *up;
	char fl[96];
	int ret;

	up = calloc(1, sizeof(*up));
	if (!up)
		return -ENOMEM;
	p->priv = up;
	up->stream = cfg->proto == SALVO_PROTO_TCP;
	up->zc = cfg->zerocopy;

	ret = salvo__uring_setup(&salvo__uring_sys_default, &up->ring, SQ_ENTRIES, CQ_ENTRIES,
				 &up->ring_flags);
	if (ret) {
		salvo_port_fail(p, ret, "io_uring_setup", NULL);
		goto fail;
	}
	up->ring_ok = true;
	ret = open_tx_pool(p, up, cfg, open_sizes(p, up, cfg));
	if (!ret)
		ret = open_rx_ring(p, up, cfg);
	if (!ret)
		ret = open_tables(p, up, cfg);
	if (ret)
		goto fail;
	up->conn_ts.tv_sec = cfg->timeout_ms / 1000;
	up->conn_ts.tv_nsec = (long long)(cfg->timeout_ms % 1000) * 1000000;
	if (!cfg->timeout_ms)
		up->conn_ts.tv_sec = 5;
	up->send_timeout_ns = (uint64_t)cfg->send_timeout_ms * NSEC_PER_MSEC;
	/*
	 * SALVO_URING_REFUSE=waitall: stream sends without MSG_WAITALL, so a
	 * send that finds the socket buffer full completes short, as on a
	 * kernel that does not retry it; the tests drive the resume of a
	 * short run through that (uring_stream.c, send_advance).
	 */
	up->send_flags = MSG_NOSIGNAL | (refused("waitall") ? 0 : MSG_WAITALL);
	ret = open_sockets(p, up, cfg);
	if (ret)
		goto fail;
	/*
	 * Senders only: a server's replies carry their peer (SENDMSG), and
	 * the user_data of a skipped send holds a 16-bit pool index and a
	 * 17-bit length (no pool buffer is longer, so tx_skip checks none).
	 */
	up->skip = !up->stream && !up->zc && !up->unix_dgram && !cfg->listen &&
		   (up->ring.features & IORING_FEAT_CQE_SKIP) && p->pool->n <= TXS_MAX_IDX &&
		   p->pool->buf_size < TXS_MAX_LEN && !refused("cqe_skip");
	snprintf(p->info, sizeof(p->info), "ring: %s%s%s%s",
		 salvo__uring_flags_str(up->ring_flags, fl, sizeof(fl)),
		 up->fixed_bufs ? ", fixed buffers" : ", no fixed buffers (memlock)",
		 up->skip ? ", cqe skip" : "", up->zc ? ", zerocopy" : "");
	return 0;
fail:
	uring_close(p);
	return ret < 0 ? ret : -EINVAL;
}

/*
 * Let go of the sockets now.  The ring holds a reference to every socket
 * registered as a fixed file and to every one a pending request uses, and
 * io_uring_queue_exit() only starts the ring's teardown: the kernel finishes
 * it in a workqueue 10-60 ms later, and until then the sockets stay bound
 * (an immediate restart on the same port failed with EADDRINUSE).  So cancel
 * every request, run their completions (DEFER_TASKRUN queues them as task
 * work for this thread), and unregister the files; the close() that follows
 * then drops the last reference.  Best effort: on failure the deferred
 * teardown still releases them.
 */
static void release_files(struct uring_port *up)
{
	struct io_uring_sync_cancel_reg reg = {
		.flags = IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL,
		.fd = -1,
		/* Cancelling a receive or a non-blocking send does not wait on the network. */
		.timeout = {.tv_sec = 1, .tv_nsec = 0},
	};

	io_uring_register_sync_cancel(&up->ring, &reg);
	io_uring_get_events(&up->ring);
	io_uring_unregister_files(&up->ring);
}

static void uring_close(struct salvo_port *p)
{
	struct uring_port *up = p->priv;
	unsigned int i;

	if (!up)
		return;
	if (up->ring_ok)
		release_files(up);
	for (i = 0; i < up->nsocks; i++) {
		/* The kernel's exact drop count, tail included (kstats.h): UDP receivers. */
		if (up->socks[i].rx && p->cfg->proto == SALVO_PROTO_UDP &&
		    !salvo_addr_is_unix(&p->cfg->local))
			salvo_kstats_add_sock(&p->stats.kernel, up->socks[i].fd);
		if (up->socks[i].fd >= 0)
			close(up->socks[i].fd);
	}
	for (i = 0; up->conns && i < up->nconns; i++)
		if (up->conns[i].fd >= 0)
			close(up->conns[i].fd);
	for (i = 0; i < up->npend; i++)
		close(up->pend_fd[i]);
	/* The ring's exit cancels what is pending before our memory goes. */
	if (up->ring_ok)
		io_uring_queue_exit(&up->ring);
	if (up->unix_bound)
		salvo__sock_unix_unbind(&p->cfg->local);
	if (p->pool)
		salvo_pool_destroy(p->pool);
	p->pool = NULL;
	if (up->txmem)
		munmap(up->txmem, up->txmem_len);
	if (up->rxmem)
		munmap(up->rxmem, up->rxmem_len);
	if (up->br)
		munmap(up->br, up->br_len);
	free(up->txs);
	free(up->mm);
	free(up->txnext);
	free(up->hold);
	free(up->rxd);
	free(up->evd);
	free(up->evfree);
	free(up->fifo);
	free(up->socks);
	free(up->conns);
	free(up);
	p->priv = NULL;
}

static const struct salvo_backend_ops uring_ops = {
	.name = "uring",
	.desc = "io_uring: batched SQEs, registered buffers and files, multishot receive",
	.caps = SALVO_CAP_UDP | SALVO_CAP_TCP | SALVO_CAP_GSO | SALVO_CAP_GRO | SALVO_CAP_ZEROCOPY |
		SALVO_CAP_DISCARD,
	/* Second to syscall on every path measured 2026-11-30 (docs/backends.md). */
	.prio_path[SALVO_PATH_UDP_TX] = 10,
	.why_path[SALVO_PATH_UDP_TX] = "0.96x syscall at 64 B (fastpath send), 0.98x with --gso; 2026-11-30 13:34",
	.prio_path[SALVO_PATH_UDP_RX] = 10,
	.why_path[SALVO_PATH_UDP_RX] = "0.92x syscall unstamped, 0.90x stamped (fastpath recv); 2026-11-30 13:43",
	.prio_path[SALVO_PATH_TCP_TX] = 10,
	.why_path[SALVO_PATH_TCP_TX] = "0.79x syscall with 1 stream, 0.84x with 2 (tcp); 2026-11-30 13:21",
	.prio_path[SALVO_PATH_TCP_RX] = 10,
	.why_path[SALVO_PATH_TCP_RX] = "0.79x syscall at the sink with 1 stream, 0.84x with 2 (tcp); 2026-11-30 13:21",
	.probe = uring_probe,
	.doctor = uring_doctor,
	.open = uring_open,
	.tx_burst = uring_tx_burst,
	.rx_burst = uring_rx_burst,
	.release = uring_release,
	.flush = NULL,
	.reap = uring_reap,
	.drain = uring_drain,
	.close = uring_close,
};

SALVO_BACKEND_REGISTER(uring_ops)

