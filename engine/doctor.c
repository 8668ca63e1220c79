// SPDX-License-Identifier: MIT
/*
 * salvo doctor's checks.  Each one asks the kernel directly (a test ring, a
 * socket option, a capability flag) rather than guessing from versions,
 * and nothing here sends a packet: sockets are created, maybe bound to
 * loopback port 0, and closed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/vfs.h>

#include <liburing.h>

#include <salvo/doctor.h>
#include <salvo/udp.h>
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef AF_XDP
#define AF_XDP 44
#endif

/* Socket buffers below this cap a receiver at high rates (bursts overflow). */
#define WANT_SOCKBUF (4u << 20)
/* AF_XDP UMEM and registered io_uring buffers are locked memory. */
#define WANT_MEMLOCK (64ull << 20)

struct ctx {
	struct salvo_doctor_check *v;
	unsigned int n, max;
};

static __attribute__((format(printf, 6, 7))) void add(struct ctx *c, const char *name,
						       enum salvo_doctor_status st,
						       const char *needed_by, const char *fix,
						       const char *fmt, ...)
{
	struct salvo_doctor_check *k;
	va_list ap;

	if (c->n >= c->max)
		return;
	k = &c->v[c->n++];
	memset(k, 0, sizeof(*k));
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->status = st;
	snprintf(k->needed_by, sizeof(k->needed_by), "%s", needed_by);
	snprintf(k->fix, sizeof(k->fix), "%s", st == SALVO_DOCTOR_OK ? "" : fix);
	va_start(ap, fmt);
	vsnprintf(k->detail, sizeof(k->detail), fmt, ap);
	va_end(ap);
}

static int read_long(const char *path, long *v)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (!f)
		return -errno;
	rc = fscanf(f, "%ld", v) == 1 ? 0 : -EINVAL;
	fclose(f);
	return rc;
}

static bool have_cap(cap_value_t cap)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t on = CAP_CLEAR;

	if (!caps)
		return false;
	if (cap_get_flag(caps, cap, CAP_EFFECTIVE, &on))
		on = CAP_CLEAR;
	cap_free(caps);
	return on == CAP_SET;
}

/*
 * Submit one multishot request on fd, then cancel it: a kernel that knows
 * the flag leaves it pending (-ECANCELED after the cancel), one that does
 * not fails it at once with -EINVAL.  Bounded: the cancel completes both.
 */
static int multishot_test(struct io_uring *ring, int fd, bool recv)
{
	static struct msghdr msg;
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int res = 0, seen = 0;

	if (!sqe)
		return -EBUSY;
	if (recv) {
		memset(&msg, 0, sizeof(msg));
		io_uring_prep_recvmsg_multishot(sqe, fd, &msg, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = 7;
	} else {
		io_uring_prep_multishot_accept(sqe, fd, NULL, NULL, 0);
	}
	sqe->user_data = 1;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	sqe->user_data = 2;
	if (io_uring_submit(ring) < 0)
		return -EIO;
	while (seen < 2) {
		struct __kernel_timespec ts = {.tv_sec = 1};

		if (io_uring_wait_cqe_timeout(ring, &cqe, &ts))
			break;
		if (cqe->user_data == 1)
			res = cqe->res;
		seen++;
		io_uring_cqe_seen(ring, cqe);
	}
	/*
	 * -ENOBUFS: the multishot receive was accepted and went looking for a
	 * provided buffer (group 7 has none): supported as well.
	 */
	if (res == -ECANCELED || (recv && res == -ENOBUFS))
		return 0;
	return res ? res : -EIO;
}

static void check_uring(struct ctx *c)
{
	struct io_uring ring;
	struct io_uring_probe *probe;
	long dis = 0;
	int rc, fd;

	rc = read_long("/proc/sys/kernel/io_uring_disabled", &dis);
	if (rc == -ENOENT)
		add(c, "io_uring.sysctl", SALVO_DOCTOR_OK, "uring", "",
		    "kernel.io_uring_disabled not present (kernel before 6.6: io_uring always on)");
	else if (rc)
		add(c, "io_uring.sysctl", SALVO_DOCTOR_WARN, "uring", "cat /proc/sys/kernel/io_uring_disabled",
		    "cannot read kernel.io_uring_disabled: %s", strerror(-rc));
	else if (dis == 0)
		add(c, "io_uring.sysctl", SALVO_DOCTOR_OK, "uring", "", "kernel.io_uring_disabled = 0");
	else
		add(c, "io_uring.sysctl", dis == 2 ? SALVO_DOCTOR_FAIL : SALVO_DOCTOR_WARN, "uring",
		    "sysctl -w kernel.io_uring_disabled=0",
		    "kernel.io_uring_disabled = %ld (%s)", dis,
		    dis == 2 ? "io_uring is off for everybody" :
			       "only root and kernel.io_uring_group may use io_uring");

	rc = io_uring_queue_init(4, &ring, 0);
	if (rc) {
		add(c, "io_uring.setup", SALVO_DOCTOR_FAIL, "uring",
		    rc == -EPERM ? "allow io_uring_setup in the seccomp profile (docker: --security-opt seccomp=unconfined) or sysctl -w kernel.io_uring_disabled=0" :
		    rc == -ENOSYS ? "use a kernel built with CONFIG_IO_URING=y" :
				    "ulimit -l unlimited",
		    "io_uring_setup failed: %s", strerror(-rc));
		return;
	}
	add(c, "io_uring.setup", SALVO_DOCTOR_OK, "uring", "", "a test ring was set up");

	probe = io_uring_get_probe_ring(&ring);
	if (!probe) {
		add(c, "io_uring.probe", SALVO_DOCTOR_WARN, "uring", "use a kernel of 5.6 or later",
		    "IORING_REGISTER_PROBE failed: which ops exist is unknown");
	} else {
		bool zc = io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
		bool rm = io_uring_opcode_supported(probe, IORING_OP_RECVMSG);
		bool ac = io_uring_opcode_supported(probe, IORING_OP_ACCEPT);

		add(c, "io_uring.send_zc", zc ? SALVO_DOCTOR_OK : SALVO_DOCTOR_WARN, "uring --zerocopy",
		    "use a kernel of 6.0 or later for IORING_OP_SEND_ZC",
		    "IORING_OP_SEND_ZC %s", zc ? "supported" : "missing: --zerocopy copies");
		if (!rm || !ac)
			add(c, "io_uring.ops", SALVO_DOCTOR_FAIL, "uring", "use a kernel of 5.6 or later",
			    "IORING_OP_RECVMSG %s, IORING_OP_ACCEPT %s", rm ? "ok" : "missing",
			    ac ? "ok" : "missing");
		io_uring_free_probe(probe);
	}

	/* Multishot: ask the kernel itself, on loopback sockets that never see traffic. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

		rc = bind(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : multishot_test(&ring, fd, true);
		add(c, "io_uring.recvmsg_multishot", rc ? SALVO_DOCTOR_WARN : SALVO_DOCTOR_OK,
		    "uring (udp recv)", "use a kernel of 6.0 or later",
		    rc ? "multishot RECVMSG refused (%s): one receive per submission" :
			 "multishot RECVMSG supported%s", rc ? strerror(-rc) : "");
		close(fd);
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

		rc = bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1) ? -errno :
			multishot_test(&ring, fd, false);
		add(c, "io_uring.accept_multishot", rc ? SALVO_DOCTOR_WARN : SALVO_DOCTOR_OK,
		    "uring (tcp servers)", "use a kernel of 5.19 or later",
		    rc ? "multishot ACCEPT refused (%s): one accept per submission" :
			 "multishot ACCEPT supported%s", rc ? strerror(-rc) : "");
		close(fd);
	}
	io_uring_queue_exit(&ring);
}

static void check_caps(struct ctx *c)
{
	static const char *setcap = "run as root, or: sudo setcap cap_net_raw,cap_net_admin,cap_bpf,cap_ipc_lock+ep \"$(command -v salvo)\"";

	add(c, "cap_net_raw", have_cap(CAP_NET_RAW) ? SALVO_DOCTOR_OK : SALVO_DOCTOR_FAIL,
	    "af_packet af_xdp", setcap, "CAP_NET_RAW %s",
	    have_cap(CAP_NET_RAW) ? "held" : "missing: no raw sockets");
	add(c, "cap_net_admin", have_cap(CAP_NET_ADMIN) ? SALVO_DOCTOR_OK : SALVO_DOCTOR_FAIL,
	    "af_xdp", setcap, "CAP_NET_ADMIN %s",
	    have_cap(CAP_NET_ADMIN) ? "held" : "missing: cannot attach XDP programs");
	if (have_cap(CAP_BPF) || have_cap(CAP_SYS_ADMIN))
		add(c, "cap_bpf", SALVO_DOCTOR_OK, "af_xdp", "", "%s held",
		    have_cap(CAP_BPF) ? "CAP_BPF" : "CAP_SYS_ADMIN (covers BPF)");
	else
		add(c, "cap_bpf", SALVO_DOCTOR_FAIL, "af_xdp", setcap,
		    "neither CAP_BPF nor CAP_SYS_ADMIN: cannot load the XDP program");
}

static void check_memlock(struct ctx *c)
{
	struct rlimit rl;
	char buf[64];

	if (getrlimit(RLIMIT_MEMLOCK, &rl)) {
		add(c, "rlimit_memlock", SALVO_DOCTOR_WARN, "af_xdp uring", "ulimit -l unlimited",
		    "getrlimit: %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(buf, sizeof(buf), "unlimited");
	else
		snprintf(buf, sizeof(buf), "%llu KiB", (unsigned long long)rl.rlim_cur / 1024);
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= WANT_MEMLOCK)
		add(c, "rlimit_memlock", SALVO_DOCTOR_OK, "af_xdp uring", "", "RLIMIT_MEMLOCK %s", buf);
	else if (have_cap(CAP_IPC_LOCK))
		add(c, "rlimit_memlock", SALVO_DOCTOR_OK, "af_xdp uring", "",
		    "RLIMIT_MEMLOCK %s, but CAP_IPC_LOCK lifts it", buf);
	else
		add(c, "rlimit_memlock", SALVO_DOCTOR_WARN, "af_xdp uring",
		    "ulimit -l unlimited (or memlock in /etc/security/limits.conf)",
		    "RLIMIT_MEMLOCK %s: AF_XDP UMEM and registered buffers may not fit", buf);
}

static void check_bpffs(struct ctx *c)
{
	struct statfs sf;

	if (statfs("/sys/fs/bpf", &sf) == 0 && (unsigned long)sf.f_type == BPF_FS_MAGIC)
		add(c, "bpffs", SALVO_DOCTOR_OK, "af_xdp", "", "bpffs mounted at /sys/fs/bpf");
	else
		add(c, "bpffs", SALVO_DOCTOR_WARN, "af_xdp (libxdp multi-program)",
		    "mount -t bpf bpf /sys/fs/bpf",
		    "no bpffs at /sys/fs/bpf: libxdp cannot pin its dispatcher (one XDP program per interface)");
}

static void check_packet(struct ctx *c)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), one = 1;

	/* Protocol 0: the socket receives nothing until bound; nothing is sent. */
	if (fd < 0) {
		add(c, "packet_qdisc_bypass", SALVO_DOCTOR_FAIL, "af_packet",
		    errno == EPERM ? "run as root or grant CAP_NET_RAW (see cap_net_raw)" :
				     "use a kernel with CONFIG_PACKET=y",
		    "cannot open an AF_PACKET socket: %s", strerror(errno));
	} else {
		if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
			add(c, "packet_qdisc_bypass", SALVO_DOCTOR_WARN, "af_packet",
			    "use a kernel of 3.14 or later",
			    "PACKET_QDISC_BYPASS refused (%s): frames go through the qdisc", strerror(errno));
		else
			add(c, "packet_qdisc_bypass", SALVO_DOCTOR_OK, "af_packet", "",
			    "PACKET_QDISC_BYPASS available");
		close(fd);
	}
	fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		add(c, "af_xdp_socket", SALVO_DOCTOR_OK, "af_xdp", "", "AF_XDP sockets available");
		close(fd);
	} else {
		add(c, "af_xdp_socket", SALVO_DOCTOR_FAIL, "af_xdp",
		    errno == EPERM ? "run as root or grant CAP_NET_RAW (see cap_net_raw)" :
				     "use a kernel with CONFIG_XDP_SOCKETS=y",
		    "cannot open an AF_XDP socket: %s", strerror(errno));
	}
}

static void check_sockbuf(struct ctx *c, const char *name, const char *what)
{
	char path[64], fix[96];
	long v = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/core/%s", name);
	snprintf(fix, sizeof(fix), "sysctl -w net.core.%s=%u", name, 16u << 20);
	if (read_long(path, &v))
		add(c, name, SALVO_DOCTOR_WARN, "syscall uring", fix, "cannot read %s", path);
	else if (v < (long)WANT_SOCKBUF)
		add(c, name, SALVO_DOCTOR_WARN, "syscall uring", fix,
		    "net.core.%s = %ld: --%s above %ld KiB is capped, bursts overflow %s", name, v,
		    what, v / 1024, name[0] == 'r' ? "receivers" : "senders");
	else
		add(c, name, SALVO_DOCTOR_OK, "syscall uring", "", "net.core.%s = %ld", name, v);
}

static void check_udp_offload(struct ctx *c)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), v;

	if (fd < 0) {
		add(c, "udp_gso", SALVO_DOCTOR_FAIL, "--gso --gro", "", "cannot open a UDP socket: %s",
		    strerror(errno));
		return;
	}
	v = 1400;
	if (setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof(v)))
		add(c, "udp_gso", SALVO_DOCTOR_WARN, "udp send --gso", "use a kernel of 4.18 or later",
		    "UDP_SEGMENT refused (%s): --gso unavailable", strerror(errno));
	else
		add(c, "udp_gso", SALVO_DOCTOR_OK, "udp send --gso", "", "UDP GSO (UDP_SEGMENT) available");
	v = 1;
	if (setsockopt(fd, IPPROTO_UDP, UDP_GRO, &v, sizeof(v)))
		add(c, "udp_gro", SALVO_DOCTOR_WARN, "udp recv --gro", "use a kernel of 5.0 or later",
		    "UDP_GRO refused (%s): --gro unavailable", strerror(errno));
	else
		add(c, "udp_gro", SALVO_DOCTOR_OK, "udp recv --gro", "", "UDP GRO (UDP_GRO) available");
	close(fd);
}

unsigned int salvo_doctor_run(struct salvo_doctor_check *v, unsigned int max)
{
	struct ctx c = {.v = v, .max = max};

	check_uring(&c);
	check_caps(&c);
	check_memlock(&c);
	check_bpffs(&c);
	check_packet(&c);
	check_sockbuf(&c, "rmem_max", "rcvbuf");
	check_sockbuf(&c, "wmem_max", "sndbuf");
	check_udp_offload(&c);
	return c.n;
}

const char *salvo_doctor_status_name(enum salvo_doctor_status s)
{
	switch (s) {
	case SALVO_DOCTOR_OK: return "ok";
	case SALVO_DOCTOR_WARN: return "warn";
	case SALVO_DOCTOR_FAIL: return "fail";
	}
	return "?";
}
