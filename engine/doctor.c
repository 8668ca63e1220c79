// SPDX-License-Identifier: MIT
/*
 * salvo doctor's checks that every backend shares: capabilities, memlock,
 * socket buffer limits, UDP offloads.  Each asks the kernel directly (a
 * socket option, a capability flag) rather than guessing from versions, and
 * nothing here sends a packet.  What one backend needs (io_uring ops and
 * multishot, AF_PACKET, AF_XDP, bpffs) is judged by that backend's doctor
 * op, from the same table as its probe.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <sys/capability.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <salvo/backend.h>
#include <salvo/doctor.h>
#include <salvo/udp.h>
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* Socket buffers below this cap a receiver at high rates (bursts overflow). */
#define WANT_SOCKBUF (4u << 20)
/* AF_XDP UMEM and registered io_uring buffers are locked memory. */
#define WANT_MEMLOCK (64ull << 20)

void salvo_doctor_add(struct salvo_doctor_report *r, const char *name, enum salvo_doctor_status st,
		      const char *needed_by, const char *fix, const char *fmt, ...)
{
	struct salvo_doctor_check *k;
	va_list ap;

	if (r->n >= r->max)
		return;
	k = &r->v[r->n++];
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

static void check_caps(struct salvo_doctor_report *c)
{
	static const char *setcap = "run as root, or: sudo setcap cap_net_raw,cap_net_admin,cap_bpf,cap_ipc_lock+ep \"$(command -v salvo)\"";

	salvo_doctor_add(c, "cap_net_raw", have_cap(CAP_NET_RAW) ? SALVO_DOCTOR_OK : SALVO_DOCTOR_FAIL,
			 "af_packet af_xdp", setcap, "CAP_NET_RAW %s",
			 have_cap(CAP_NET_RAW) ? "held" : "missing: no raw sockets");
	salvo_doctor_add(c, "cap_net_admin", have_cap(CAP_NET_ADMIN) ? SALVO_DOCTOR_OK : SALVO_DOCTOR_FAIL,
			 "af_xdp", setcap, "CAP_NET_ADMIN %s",
			 have_cap(CAP_NET_ADMIN) ? "held" : "missing: cannot attach XDP programs");
	if (have_cap(CAP_BPF) || have_cap(CAP_SYS_ADMIN))
		salvo_doctor_add(c, "cap_bpf", SALVO_DOCTOR_OK, "af_xdp", "", "%s held",
				 have_cap(CAP_BPF) ? "CAP_BPF" : "CAP_SYS_ADMIN (covers BPF)");
	else
		salvo_doctor_add(c, "cap_bpf", SALVO_DOCTOR_FAIL, "af_xdp", setcap,
				 "neither CAP_BPF nor CAP_SYS_ADMIN: cannot load the XDP program");
}

static void check_memlock(struct salvo_doctor_report *c)
{
	struct rlimit rl;
	char buf[64];

	if (getrlimit(RLIMIT_MEMLOCK, &rl)) {
		salvo_doctor_add(c, "rlimit_memlock", SALVO_DOCTOR_WARN, "af_xdp uring", "ulimit -l unlimited",
				 "getrlimit: %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(buf, sizeof(buf), "unlimited");
	else
		snprintf(buf, sizeof(buf), "%llu KiB", (unsigned long long)rl.rlim_cur / 1024);
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= WANT_MEMLOCK)
		salvo_doctor_add(c, "rlimit_memlock", SALVO_DOCTOR_OK, "af_xdp uring", "",
				 "RLIMIT_MEMLOCK %s", buf);
	else if (have_cap(CAP_IPC_LOCK))
		salvo_doctor_add(c, "rlimit_memlock", SALVO_DOCTOR_OK, "af_xdp uring", "",
				 "RLIMIT_MEMLOCK %s, but CAP_IPC_LOCK lifts it", buf);
	else
		salvo_doctor_add(c, "rlimit_memlock", SALVO_DOCTOR_WARN, "af_xdp uring",
				 "ulimit -l unlimited (or memlock in /etc/security/limits.conf)",
				 "RLIMIT_MEMLOCK %s: AF_XDP UMEM and registered buffers may not fit", buf);
}

static void check_sockbuf(struct salvo_doctor_report *c, const char *name, const char *what)
{
	char path[64], fix[96];
	long v = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/core/%s", name);
	snprintf(fix, sizeof(fix), "sysctl -w net.core.%s=%u", name, 16u << 20);
	if (read_long(path, &v))
		salvo_doctor_add(c, name, SALVO_DOCTOR_WARN, "syscall uring", fix, "cannot read %s", path);
	else if (v < (long)WANT_SOCKBUF)
		salvo_doctor_add(c, name, SALVO_DOCTOR_WARN, "syscall uring", fix,
				 "net.core.%s = %ld: --%s above %ld KiB is capped, bursts overflow %s", name, v,
				 what, v / 1024, name[0] == 'r' ? "receivers" : "senders");
	else
		salvo_doctor_add(c, name, SALVO_DOCTOR_OK, "syscall uring", "", "net.core.%s = %ld", name, v);
}

int salvo_udp_gso_probe(int family, unsigned int seg, char *why, size_t len)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), v = (int)seg, rc = 0;

	if (fd < 0) {
		rc = -errno;
		snprintf(why, len, "cannot open a UDP socket: %s", strerror(-rc));
		return rc;
	}
	if (setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof(v))) {
		rc = -errno;
		snprintf(why, len, "UDP_SEGMENT refused (%s)", strerror(-rc));
	}
	close(fd);
	return rc;
}

static void check_udp_offload(struct salvo_doctor_report *c)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), v;

	if (fd < 0) {
		salvo_doctor_add(c, "udp_gso", SALVO_DOCTOR_FAIL, "--gso --gro", "",
				 "cannot open a UDP socket: %s",
				 strerror(errno));
		return;
	}
	v = 1400;
	if (setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &v, sizeof(v)))
		salvo_doctor_add(c, "udp_gso", SALVO_DOCTOR_WARN, "udp send --gso",
				 "use a kernel of 4.18 or later",
				 "UDP_SEGMENT refused (%s): --gso unavailable", strerror(errno));
	else
		salvo_doctor_add(c, "udp_gso", SALVO_DOCTOR_OK, "udp send --gso", "",
				 "UDP GSO (UDP_SEGMENT) available");
	v = 1;
	if (setsockopt(fd, IPPROTO_UDP, UDP_GRO, &v, sizeof(v)))
		salvo_doctor_add(c, "udp_gro", SALVO_DOCTOR_WARN, "udp recv --gro",
				 "use a kernel of 5.0 or later",
				 "UDP_GRO refused (%s): --gro unavailable", strerror(errno));
	else
		salvo_doctor_add(c, "udp_gro", SALVO_DOCTOR_OK, "udp recv --gro", "",
				 "UDP GRO (UDP_GRO) available");
	close(fd);
}

unsigned int salvo_doctor_run(struct salvo_doctor_check *v, unsigned int max)
{
	struct salvo_doctor_report r = {.v = v, .max = max};
	const struct salvo_backend_ops *ops[16];
	unsigned int nops = salvo_backend_list(ops, 16);

	/* Each backend's own kernel features, from the table its probe reads. */
	for (unsigned int i = 0; i < nops; i++)
		if (ops[i]->doctor)
			ops[i]->doctor(&r);
	check_caps(&r);
	check_memlock(&r);
	check_sockbuf(&r, "rmem_max", "rcvbuf");
	check_sockbuf(&r, "wmem_max", "sndbuf");
	check_udp_offload(&r);
	return r.n;
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
