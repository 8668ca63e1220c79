// SPDX-License-Identifier: MIT
/*
 * The af_xdp backend: raw frames through AF_XDP sockets (libxdp's xsk API
 * over libbpf), one UMEM and one socket per worker, worker w bound to queue
 * cfg->queue + w.
 *
 * Transmit: the port's pool *is* the UMEM (salvo_pool_create over the
 * mmapped area), so the generator writes each frame in place, once, and
 * tx_burst only posts descriptors (address, length) for the whole burst and
 * kicks the kernel with one sendto when the ring asks for a wakeup
 * (XDP_USE_NEED_WAKEUP).  reap() takes the completion ring in bulk and puts
 * those buffers back in the pool.
 *
 * Receive: salvo's XDP program (afxdp.bpf.c, embedded in the binary) is
 * attached through a bpf_link, so it goes away when the last descriptor
 * closes, even if salvo is killed; it redirects frames to the socket of
 * their queue through an XSKMAP (all frames, or UDP to one port with
 * --filter) and passes the rest to the kernel.  Every UMEM frame of a
 * receiver starts in the fill ring; rx_burst hands out the descriptor of
 * the frame the kernel wrote (no copy) and release() puts it back in the
 * fill ring.
 *
 * The program is shared by the workers of a run: the first port to open on
 * an interface loads and attaches it, each port adds its socket to the map,
 * the last to close detaches it.  After its socket is set up a worker
 * drops every capability (per thread, as af_packet does).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include <salvo/backend.h>
#include <salvo/caps.h>
#include <salvo/doctor.h>

#include "afxdp_internal.h"
#include "doctor_raw.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#ifndef SOL_XDP
#define SOL_XDP 283
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9	/* Linux 6.17: frames one copy-mode sendto may send */
#endif

#define XSK_RING_DEFAULT 4096
#define XSK_MAX_QUEUES 256	/* the XSKMAP's size in afxdp.bpf.c */
#define XSK_MAX_BURST 1024

extern const char salvo_bpf_afxdp[], salvo_bpf_afxdp_end[];

static pthread_mutex_t xdp_lock = PTHREAD_MUTEX_INITIALIZER;

void salvo_afxdp_opts_from_cfg(struct salvo_afxdp_opts *o, const struct salvo_cfg *cfg)
{
	memset(o, 0, sizeof(*o));
	o->ring_size = XSK_RING_DEFAULT;
	o->mode = cfg->xdp_mode;
	o->zc = cfg->zerocopy ? SALVO_ZC_ON : cfg->zc_mode;
	o->force = cfg->force;
	o->udp_port = cfg->filter_udp_port;
}

/* One line in p->err (vsnprintf: a long interface or driver name is cut, never overflows). */
static int __attribute__((format(printf, 3, 4))) port_err(struct salvo_port *p, int rc,
							   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return rc;
}

static void __attribute__((format(printf, 3, 4))) strfmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* --- the XDP program, one per interface, shared by the run's ports ---------- */

struct xdp_attach {
	int ifindex;
	unsigned int refs;
	struct bpf_object *obj;
	int link_fd;
	int xsks_fd;
	uint32_t prog_id;
	bool native;
	char how[64];		/* "native XDP", "skb mode (driver veth: no native XDP)" */
};

static struct xdp_attach attaches[8];	/* under xdp_lock */
static char libbpf_last[256];		/* libbpf's last warning, for error lines */

static char libbpf_verifier[160];	/* the verifier's reason, when it refused the program */

/* libbpf speaks only through err lines: keep its last warning and the verifier's verdict. */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[4096], *l, *save = NULL;
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "PROG LOAD LOG")) {
		/* The verdict is the last line before "processed N insns". */
		for (l = strtok_r(msg, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(l, "processed ", 10))
				break;
			if (l[0] && strncmp(l, "--", 2))
				strncpy(libbpf_verifier, l, sizeof(libbpf_verifier) - 1);
		}
		return 0;
	}
	memcpy(libbpf_last, msg, sizeof(libbpf_last) - 1);
	n = strlen(libbpf_last);
	while (n && libbpf_last[n - 1] == '\n')
		libbpf_last[--n] = 0;
	return 0;
}

static void driver_name(const char *iface, char *buf, size_t len)
{
	struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(buf, len, "?");
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	ifr.ifr_data = (void *)&di;
	if (!ioctl(fd, SIOCETHTOOL, &ifr) && di.driver[0])
		snprintf(buf, len, "%s", di.driver);
	close(fd);
}

static const char *prog_name(uint32_t id, char *buf, size_t len)
{
	struct bpf_prog_info info = {0};
	uint32_t ilen = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	snprintf(buf, len, "?");
	if (fd < 0)
		return buf;
	if (!bpf_obj_get_info_by_fd(fd, &info, &ilen) && info.name[0])
		snprintf(buf, len, "%s", info.name);
	close(fd);
	return buf;
}

/* Another XDP program on ifindex: refuse, or with --force detach it (netlink-attached only). */
static int check_existing(struct salvo_port *p, const char *iface, int ifindex, bool force)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	uint32_t id, flags;
	char name[32];
	int rc;

	rc = bpf_xdp_query(ifindex, 0, &q);
	if (rc) {
		port_err(p, 0, "af_xdp: cannot query XDP on %s: %s", iface,
			 strerror(-rc));
		return rc;
	}
	id = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id : q.hw_prog_id;
	if (!id)
		return 0;
	prog_name(id, name, sizeof(name));
	if (!force) {
		/* The name needs CAP_SYS_ADMIN (prog_get_fd_by_id), which salvo does not keep. */
		port_err(p, 0, "af_xdp: %s already has an XDP program (id %u%s%s%s): not replacing "
			 "it (--force to detach it)", iface, id, name[0] != '?' ? ", \"" : "",
			 name[0] != '?' ? name : "", name[0] != '?' ? "\"" : "");
		return -EBUSY;
	}
	flags = q.drv_prog_id ? XDP_FLAGS_DRV_MODE : q.skb_prog_id ? XDP_FLAGS_SKB_MODE :
		XDP_FLAGS_HW_MODE;
	rc = bpf_xdp_detach(ifindex, flags, NULL);
	if (rc) {
		port_err(p, 0,
			 "af_xdp: --force: cannot detach XDP program %u (\"%s\") from %s: %s%s", id,
			 name, iface, strerror(-rc),
			 rc == -EBUSY ? " (it is held by a bpf_link; stop its owner)" : "");
		return rc;
	}
	return 0;
}

static int load_prog(struct salvo_port *p, struct xdp_attach *a, const struct salvo_afxdp_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "salvo_afxdp");
	struct bpf_program *prog;
	struct bpf_map *m;
	struct {
		uint16_t udp_port;
		uint16_t pad;
	} conf = {.udp_port = htons(o->udp_port)};
	uint32_t zero = 0;
	int rc;

	libbpf_set_print(libbpf_quiet);
	a->obj = bpf_object__open_mem(salvo_bpf_afxdp,
				      (size_t)(salvo_bpf_afxdp_end - salvo_bpf_afxdp), &oo);
	if (!a->obj) {
		rc = -errno;
		a->obj = NULL;
		port_err(p, 0, "af_xdp: opening the XDP object: %s",
			 strerror(-rc));
		return rc;
	}
	rc = bpf_object__load(a->obj);
	if (rc) {
		if (rc == -EPERM)
			port_err(p, 0, "af_xdp: loading the XDP program needs "
				 "CAP_BPF and CAP_NET_ADMIN (run as root)");
		else if (rc == -EACCES && libbpf_verifier[0])
			port_err(p, 0, "af_xdp: the kernel's verifier refused the XDP program: %s",
				 libbpf_verifier);
		else
			port_err(p, 0, "af_xdp: loading the XDP program: %s%s%s",
				 strerror(-rc), libbpf_last[0] ? ": " : "", libbpf_last);
		return rc;
	}
	m = bpf_object__find_map_by_name(a->obj, "salvo_xsks");
	a->xsks_fd = m ? bpf_map__fd(m) : -1;
	m = bpf_object__find_map_by_name(a->obj, "salvo_conf");
	prog = bpf_object__find_program_by_name(a->obj, "salvo_xsk_redirect");
	if (a->xsks_fd < 0 || !m || !prog) {
		port_err(p, 0, "af_xdp: the embedded XDP object lacks its maps");
		return -ENOENT;
	}
	if (bpf_map_update_elem(bpf_map__fd(m), &zero, &conf, BPF_ANY)) {
		rc = -errno;
		port_err(p, 0, "af_xdp: setting the filter: %s", strerror(-rc));
		return rc;
	}
	return bpf_program__fd(prog);
}

static int link_xdp(int prog_fd, int ifindex, uint32_t flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = flags);
	int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);

	return fd < 0 ? -errno : fd;
}

static void attach_free(struct xdp_attach *a)
{
	if (a->link_fd >= 0)
		close(a->link_fd);	/* the kernel detaches the program with its last link */
	bpf_object__close(a->obj);
	memset(a, 0, sizeof(*a));
}

/* Under xdp_lock: the interface's program, loaded and attached by the first caller. */
static int attach_get(struct salvo_port *p, const char *iface, int ifindex,
		      const struct salvo_afxdp_opts *o, struct xdp_attach **out)
{
	struct xdp_attach *a = NULL;
	struct bpf_prog_info info = {0};
	uint32_t ilen = sizeof(info);
	char drv[32];
	int prog_fd, fd, rc;

	for (size_t i = 0; i < SALVO_ARRAY_SIZE(attaches); i++) {
		if (attaches[i].refs && attaches[i].ifindex == ifindex) {
			attaches[i].refs++;
			*out = &attaches[i];
			return 0;
		}
		if (!a && !attaches[i].refs)
			a = &attaches[i];
	}
	if (!a) {
		port_err(p, 0, "af_xdp: too many interfaces in one run");
		return -ENOSPC;
	}
	memset(a, 0, sizeof(*a));
	a->link_fd = -1;
	rc = check_existing(p, iface, ifindex, o->force);
	if (rc)
		return rc;
	prog_fd = load_prog(p, a, o);
	if (prog_fd < 0) {
		attach_free(a);
		return prog_fd;
	}
	driver_name(iface, drv, sizeof(drv));
	if (o->mode == SALVO_XDP_MODE_SKB) {
		fd = link_xdp(prog_fd, ifindex, XDP_FLAGS_SKB_MODE);
		strfmt(a->how, sizeof(a->how), "XDP skb mode (asked)");
	} else {
		fd = link_xdp(prog_fd, ifindex, XDP_FLAGS_DRV_MODE);
		a->native = fd >= 0;
		strfmt(a->how, sizeof(a->how), "XDP native mode (driver %s)", drv);
		if (fd == -EOPNOTSUPP && o->mode == SALVO_XDP_MODE_AUTO) {
			fd = link_xdp(prog_fd, ifindex, XDP_FLAGS_SKB_MODE);
			strfmt(a->how, sizeof(a->how), "XDP skb mode (driver %s has no native XDP)",
				 drv);
		} else if (fd == -EOPNOTSUPP) {
			port_err(p, 0, "af_xdp: %s (driver %s) has no native XDP "
				 "support: use --xdp-mode skb", iface, drv);
			attach_free(a);
			return fd;
		}
	}
	if (fd < 0) {
		if (fd == -EPERM || fd == -EACCES)
			port_err(p, 0, "af_xdp: attaching XDP to %s needs "
				 "CAP_NET_ADMIN (run as root)", iface);
		else if (fd == -EBUSY || fd == -EEXIST)
			port_err(p, 0, "af_xdp: %s: another XDP program was attached "
				 "meanwhile (%s)", iface, strerror(-fd));
		else if (fd == -EINVAL && o->mode != SALVO_XDP_MODE_SKB)
			port_err(p, 0, "af_xdp: native XDP on %s (driver %s) refused "
				 "the program (MTU too large for XDP? queue counts?); try --xdp-mode skb",
				 iface, drv);
		else
			port_err(p, 0, "af_xdp: attaching XDP to %s: %s", iface,
				 strerror(-fd));
		attach_free(a);
		return fd;
	}
	a->link_fd = fd;
	if (!bpf_obj_get_info_by_fd(prog_fd, &info, &ilen))
		a->prog_id = info.id;
	a->ifindex = ifindex;
	a->refs = 1;
	*out = a;
	return 0;
}

static void attach_put(struct xdp_attach *a)
{
	pthread_mutex_lock(&xdp_lock);
	if (a->refs && --a->refs == 0)
		attach_free(a);
	pthread_mutex_unlock(&xdp_lock);
}

/* --- ports ------------------------------------------------------------------- */

struct xsk_port {
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq, tx;
	struct xsk_ring_cons cq, rx;
	uint8_t *area;
	size_t area_len;
	uint32_t frame_size;
	uint32_t nframes;
	uint32_t ring;		/* descriptors per ring */
	uint32_t tx_outstanding;	/* posted to the tx ring, not completed */
	int fd;
	unsigned int queue;
	bool zc;
	bool txq, rxq;
	struct xdp_attach *att;
	uint64_t kicks;
	const char *iface;
	int down;		/* -ENETDOWN/-ENXIO: the interface went down or away */
};

static unsigned int count_queues(const char *iface, const char *prefix)
{
	char path[128];
	unsigned int n = 0;

	/* /sys/class/net/IF/queues/{rx,tx}-N exist for every real queue. */
	for (;;) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/%s%u", iface, prefix, n);
		if (access(path, F_OK))
			return n;
		n++;
	}
}

static int iface_flags(const char *iface, short *flags)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr) ? -errno : 0;
	*flags = ifr.ifr_flags;
	close(fd);
	return rc;
}

static int iface_mtu(const char *iface)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	mtu = ioctl(fd, SIOCGIFMTU, &ifr) ? -errno : ifr.ifr_mtu;
	close(fd);
	return mtu;
}

static bool have_cap(cap_value_t v)
{
	cap_flag_value_t f = CAP_CLEAR;
	cap_t c = cap_get_proc();

	if (!c)
		return false;
	cap_get_flag(c, v, CAP_EFFECTIVE, &f);
	cap_free(c);
	return f == CAP_SET;
}

/*
 * The kernel feature af_xdp cannot run without: an AF_XDP socket
 * (CONFIG_XDP_SOCKETS and CAP_NET_RAW).  The probe and the doctor op both
 * ask here.  0, or -errno with one line in why.
 */
static int afxdp_socket_check(char *why, size_t len)
{
	int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		int e = errno;

		if (e == EAFNOSUPPORT)
			snprintf(why, len, "this kernel has no AF_XDP (CONFIG_XDP_SOCKETS)");
		else if (e == EPERM || e == EACCES)
			snprintf(why, len, "af_xdp needs CAP_NET_RAW (run as root)");
		else
			snprintf(why, len, "AF_XDP socket: %s", strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

/* A frame of this MTU (with a VLAN tag) plus the kernel's XDP headroom fits a 4 KiB chunk. */
static bool frame_fits(int mtu)
{
	return (uint32_t)mtu + 18 + XDP_PACKET_HEADROOM <= 4096;
}

static int afxdp_probe(const struct salvo_cfg *cfg, char *why, size_t len)
{
	int rc;

	if (cfg->proto != SALVO_PROTO_L2) {
		snprintf(why, len, "af_xdp sends raw frames only (salvo raw ...)");
		return -EOPNOTSUPP;
	}
	if (!cfg->iface) {
		snprintf(why, len, "af_xdp needs an interface (--iface)");
		return -EINVAL;
	}
	if (!if_nametoindex(cfg->iface)) {
		snprintf(why, len, "no interface %s", cfg->iface);
		return -ENODEV;
	}
	rc = afxdp_socket_check(why, len);
	if (rc)
		return rc;
	/*
	 * open_queue_frame's own limit, asked here so the automatic choice
	 * (af_xdp first for raw send) falls back to af_packet on lo and jumbo
	 * interfaces instead of failing the run at open.  Not for a host-only
	 * probe: AF_XDP itself works on this machine.
	 */
	rc = cfg->probe_host_only ? 0 : iface_mtu(cfg->iface);
	if (rc > 0 && !frame_fits(rc)) {
		snprintf(why, len, "af_xdp: %s: MTU %d does not fit a 4 KiB UMEM frame "
			 "(multi-buffer frames are not supported)", cfg->iface, rc);
		return -EMSGSIZE;
	}
	if ((cfg->dir & SALVO_DIR_RX) && !(have_cap(CAP_NET_ADMIN) &&
					  (have_cap(CAP_BPF) || have_cap(CAP_SYS_ADMIN)))) {
		snprintf(why, len, "af_xdp receive needs CAP_NET_ADMIN and CAP_BPF for its XDP "
			 "program (run as root)");
		return -EPERM;
	}
	return 0;
}

/*
 * salvo doctor: the socket (from the probe's own check), bpffs (libxdp pins
 * its multi-program dispatcher there; without it one XDP program per
 * interface), and the verdict for raw frames on lo, which is what
 * `salvo backends` probes.
 */
static void afxdp_doctor(struct salvo_doctor_report *r)
{
	struct statfs sf;
	char why[256];
	int rc = afxdp_socket_check(why, sizeof(why));

	if (rc)
		salvo_doctor_add(r, "af_xdp_socket", SALVO_DOCTOR_FAIL, "af_xdp",
				 rc == -EPERM || rc == -EACCES ?
				 "run as root or grant CAP_NET_RAW (see cap_net_raw)" :
				 "use a kernel with CONFIG_XDP_SOCKETS=y", "%s", why);
	else
		salvo_doctor_add(r, "af_xdp_socket", SALVO_DOCTOR_OK, "af_xdp", "",
				 "AF_XDP sockets available");
	if (statfs("/sys/fs/bpf", &sf) == 0 && (unsigned long)sf.f_type == BPF_FS_MAGIC)
		salvo_doctor_add(r, "bpffs", SALVO_DOCTOR_OK, "af_xdp", "", "bpffs mounted at /sys/fs/bpf");
	else
		salvo_doctor_add(r, "bpffs", SALVO_DOCTOR_WARN, "af_xdp (libxdp multi-program)",
				 "mount -t bpf bpf /sys/fs/bpf",
				 "no bpffs at /sys/fs/bpf: libxdp cannot pin its dispatcher (one XDP program per interface)");
	salvo__doctor_raw_lo(r, "af_xdp", afxdp_probe,
			     "run as root, or: sudo setcap cap_net_raw,cap_net_admin,cap_bpf,cap_ipc_lock+ep \"$(command -v salvo)\"");
}

/* The UMEM is pinned: without CAP_IPC_LOCK it counts against RLIMIT_MEMLOCK. */
static int memlock_fit(struct salvo_port *p, size_t bytes)
{
	struct rlimit rl;

	if (have_cap(CAP_IPC_LOCK) || getrlimit(RLIMIT_MEMLOCK, &rl))
		return 0;
	if (rl.rlim_cur == RLIM_INFINITY)
		return 0;
	/* Each worker's UMEM adds up; ask for room for all of them. */
	bytes *= p->nworkers;
	if (rl.rlim_cur >= bytes + (1u << 20))
		return 0;
	{
		struct rlimit want = {RLIM_INFINITY, RLIM_INFINITY};

		if (!setrlimit(RLIMIT_MEMLOCK, &want))
			return 0;
		if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= bytes + (1u << 20)) {
			want.rlim_cur = rl.rlim_max;
			want.rlim_max = rl.rlim_max;
			if (!setrlimit(RLIMIT_MEMLOCK, &want))
				return 0;
		}
	}
	port_err(p, 0,
		 "af_xdp: the UMEMs need %zu KiB of locked memory but ulimit -l is %llu KiB and "
		 "cannot be raised: raise it, or run as root (CAP_IPC_LOCK)", bytes >> 10,
		 (unsigned long long)(rl.rlim_cur >> 10));
	return -ENOBUFS;
}

static void afxdp_close(struct salvo_port *p);

static int socket_error(struct salvo_port *p, const struct salvo_cfg *cfg, struct xsk_port *x,
			int rc, const char *drv, const struct salvo_afxdp_opts *o)
{
	if (rc == -EBUSY)
		port_err(p, 0, "af_xdp: queue %u of %s is already used by "
			 "another AF_XDP socket", x->queue, cfg->iface);
	else if (rc == -EPERM || rc == -EACCES)
		port_err(p, 0, "af_xdp: AF_XDP sockets need CAP_NET_RAW (run as "
			 "root)");
	else if (rc == -ENOBUFS || rc == -ENOMEM)
		port_err(p, 0, "af_xdp: cannot pin the %zu KiB UMEM: locked-memory "
			 "limit (ulimit -l) too low; raise it or run as root", x->area_len >> 10);
	else if ((rc == -EOPNOTSUPP || rc == -EINVAL) && o->zc == SALVO_ZC_ON)
		port_err(p, 0, "af_xdp: %s (driver %s) offers no zero-copy AF_XDP "
			 "on queue %u: use --zerocopy auto or off", cfg->iface, drv, x->queue);
	else if (rc == -EINVAL)
		port_err(p, 0, "af_xdp: binding to %s queue %u: %s", cfg->iface,
			 x->queue, strerror(-rc));
	else
		port_err(p, 0, "af_xdp: socket on %s queue %u: %s", cfg->iface,
			 x->queue, strerror(-rc));
	return rc;
}

/* The interface must exist and be up, the ring size a power of 2. Its ifindex, or -errno. */
static int open_check_iface(struct salvo_port *p, const struct salvo_cfg *cfg,
			    const struct salvo_afxdp_opts *o)
{
	int ifindex, rc;
	short flags = 0;

	if (!cfg->iface) {
		port_err(p, 0, "af_xdp: no interface (--iface)");
		return -EINVAL;
	}
	ifindex = (int)if_nametoindex(cfg->iface);
	if (!ifindex) {
		port_err(p, 0, "af_xdp: no interface %s", cfg->iface);
		return -ENODEV;
	}
	rc = iface_flags(cfg->iface, &flags);
	if (rc || !(flags & IFF_UP)) {
		port_err(p, 0, "af_xdp: %s is down (ip link set %s up)",
			 cfg->iface, cfg->iface);
		return -ENETDOWN;
	}
	if (o->ring_size < 64 || (o->ring_size & (o->ring_size - 1))) {
		port_err(p, 0, "af_xdp: ring size %u is not a power of 2 >= 64",
			 o->ring_size);
		return -EINVAL;
	}
	return ifindex;
}

/* This worker's queue must exist; the MTU picks the UMEM frame size. */
static int open_queue_frame(struct salvo_port *p, const struct salvo_cfg *cfg, struct xsk_port *x)
{
	unsigned int nrxq, ntxq;
	int mtu;

	nrxq = count_queues(cfg->iface, "rx-");
	ntxq = count_queues(cfg->iface, "tx-");
	if ((nrxq && x->queue >= nrxq) || (ntxq && x->queue >= ntxq) || x->queue >= XSK_MAX_QUEUES) {
		port_err(p, 0, "af_xdp: queue %u out of range: %s has %u rx and %u "
			 "tx queues (--queue Q with --threads N needs Q+N-1 < %u)", x->queue,
			 cfg->iface, nrxq, ntxq, SALVO_MIN(nrxq, ntxq));
		return -EINVAL;
	}
	mtu = iface_mtu(cfg->iface);
	if (mtu < 0) {
		port_err(p, 0, "af_xdp: %s: MTU: %s", cfg->iface, strerror(-mtu));
		return mtu;
	}
	/* A frame (with a VLAN tag) plus the kernel's XDP headroom must fit a chunk. */
	x->frame_size = (uint32_t)mtu + 18 + XDP_PACKET_HEADROOM <= 2048 ? 2048 : 4096;
	if (!frame_fits(mtu)) {
		port_err(p, 0, "af_xdp: %s: MTU %d does not fit a 4 KiB UMEM "
			 "frame (multi-buffer frames are not supported)", cfg->iface, mtu);
		return -EMSGSIZE;
	}
	return 0;
}

/* The UMEM: locked memory checked, mapped, carved into the pool, registered. */
static int open_umem(struct salvo_port *p, const struct salvo_cfg *cfg, struct xsk_port *x,
		     uint32_t nfill, const char *drv, const struct salvo_afxdp_opts *o)
{
	struct xsk_umem_config uc = {0};
	int rc;

	x->nframes = nfill + (x->txq ? x->ring : 0);
	x->area_len = (size_t)x->nframes * x->frame_size;
	rc = memlock_fit(p, x->area_len);
	if (rc)
		return rc;
	x->area = mmap(NULL, x->area_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		rc = -errno;
		port_err(p, 0, "af_xdp: UMEM of %zu KiB: %s", x->area_len >> 10,
			 strerror(-rc));
		return rc;
	}
	rc = salvo_pool_create(&p->pool, x->nframes, x->frame_size, x->area);
	if (rc) {
		port_err(p, 0, "af_xdp: pool: %s", strerror(-rc));
		return rc;
	}
	if (p->pool->buf_size != x->frame_size) {
		port_err(p, 0, "af_xdp: pool stride %u != UMEM frame %u",
			 p->pool->buf_size, x->frame_size);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < x->nframes; i++)
		p->pool->pkts[i].bid = i;
	uc.fill_size = x->ring;
	uc.comp_size = x->ring;
	uc.frame_size = x->frame_size;
	uc.frame_headroom = 0;
	rc = xsk_umem__create(&x->umem, x->area, x->area_len, &x->fq, &x->cq, &uc);
	if (rc) {
		x->umem = NULL;
		return socket_error(p, cfg, x, rc, drv, o);
	}
	return 0;
}

/* The XDP program (receivers), then the AF_XDP socket bound to the queue. */
static int open_socket(struct salvo_port *p, const struct salvo_cfg *cfg, struct xsk_port *x,
		       int ifindex, const char *drv, const struct salvo_afxdp_opts *o)
{
	struct xsk_socket_config sc = {0};
	struct xdp_options xo = {0};
	socklen_t xolen = sizeof(xo);
	int rc;

	if (x->rxq) {
		pthread_mutex_lock(&xdp_lock);
		rc = attach_get(p, cfg->iface, ifindex, o, &x->att);
		pthread_mutex_unlock(&xdp_lock);
		if (rc) {
			x->att = NULL;
			return rc;
		}
	}
	sc.rx_size = x->rxq ? x->ring : 0;
	sc.tx_size = x->txq ? x->ring : 0;
	sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;	/* ours is attached above */
	sc.bind_flags = XDP_USE_NEED_WAKEUP;
	if (o->zc == SALVO_ZC_ON)
		sc.bind_flags |= XDP_ZEROCOPY;
	else if (o->zc == SALVO_ZC_OFF)
		sc.bind_flags |= XDP_COPY;
	/* Neither flag: the kernel tries zero-copy and falls back to copy mode by itself. */
	/*
	 * EBUSY: the queue has a socket.  It may be one that is just going
	 * away: the kernel releases a closed socket's buffer pool, and with it
	 * the queue, from a workqueue after close() returned, so a salvo started
	 * right after another exited finds the queue busy for a few ms.  Wait
	 * for that, briefly, before calling the queue taken.
	 */
	for (int tries = 0;; tries++) {
		rc = xsk_socket__create(&x->xsk, cfg->iface, x->queue, x->umem,
					x->rxq ? &x->rx : NULL, x->txq ? &x->tx : NULL, &sc);
		if (rc != -EBUSY || tries >= 50)
			break;
		usleep(20 * 1000);
	}
	if (rc) {
		x->xsk = NULL;
		return socket_error(p, cfg, x, rc, drv, o);
	}
	x->fd = xsk_socket__fd(x->xsk);
	if (!getsockopt(x->fd, SOL_XDP, XDP_OPTIONS, &xo, &xolen))
		x->zc = xo.flags & XDP_OPTIONS_ZEROCOPY;
	if (x->txq) {
		/* Copy mode sends at most this many frames per sendto (32 before Linux 6.17). */
		int budget = (int)x->ring;

		setsockopt(x->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof(budget));
	}
	return 0;
}

/* Receivers: the first nfill frames go to the kernel's fill ring, the socket into the XSKMAP. */
static int open_fill(struct salvo_port *p, struct xsk_port *x, uint32_t nfill)
{
	struct salvo_pkt *k;
	uint32_t idx;
	int rc;

	/* The first nfill frames belong to the kernel (fill ring) from now on. */
	if (xsk_ring_prod__reserve(&x->fq, nfill, &idx) != nfill) {
		port_err(p, 0, "af_xdp: fill ring smaller than %u", nfill);
		return -ENOSPC;
	}
	for (uint32_t i = 0; i < nfill; i++) {
		if (!salvo_pool_get(p->pool, &k, 1))
			break;
		*xsk_ring_prod__fill_addr(&x->fq, idx++) =
			(uint64_t)(k->data - x->area);
	}
	xsk_ring_prod__submit(&x->fq, nfill);
	rc = xsk_socket__update_xskmap(x->xsk, x->att->xsks_fd);
	if (rc)
		port_err(p, 0, "af_xdp: adding the socket to the XSKMAP: %s", strerror(-rc));
	return rc;
}

static int afxdp_open(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct salvo_afxdp_opts o;
	struct xsk_port *x;
	char drv[32], filt[32] = "";
	int ifindex, rc, caps;
	uint32_t nfill;

	salvo_afxdp_opts_from_cfg(&o, cfg);
	ifindex = open_check_iface(p, cfg, &o);
	if (ifindex < 0)
		return ifindex;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	p->priv = x;
	x->fd = -1;
	x->iface = cfg->iface;
	x->queue = cfg->queue + p->worker;
	x->txq = cfg->dir & SALVO_DIR_TX;
	x->rxq = cfg->dir & SALVO_DIR_RX;
	x->ring = o.ring_size;
	driver_name(cfg->iface, drv, sizeof(drv));
	/* Receive: every frame in the fill ring.  Transmit: a ring's worth for the pool. */
	nfill = x->rxq ? x->ring : 0;
	rc = open_queue_frame(p, cfg, x);
	if (!rc)
		rc = open_umem(p, cfg, x, nfill, drv, &o);
	if (!rc)
		rc = open_socket(p, cfg, x, ifindex, drv, &o);
	if (!rc && x->rxq)
		rc = open_fill(p, x, nfill);
	if (rc)
		goto fail;
	caps = salvo_caps_drop_thread(cfg->keep_setid);
	if (o.udp_port && x->att)
		snprintf(filt, sizeof(filt), ", filter udp-port %u", o.udp_port);
	strfmt(p->info, sizeof(p->info), "queue %u, %s, %s%s%s", x->queue,
	       x->zc ? "zero-copy" : o.zc == SALVO_ZC_OFF ? "copy mode (asked)" :
	       "copy mode (driver: no zero-copy)",
	       x->att ? x->att->how : "send only (no XDP program)", filt,
	       caps ? ", caps kept" : "");
	return 0;
fail:
	afxdp_close(p);
	return rc;
}

/*
 * Tell the kernel there is something to send.  In copy mode one sendto
 * sends at most the socket's budget and says EAGAIN when frames remain, so
 * kick until the ring is consumed, a bounded number of times.
 */
static void tx_kick(struct salvo_port *p, struct xsk_port *x)
{
	unsigned int tries = x->zc ? 1 : x->ring / 32 + 1;

	if (!xsk_ring_prod__needs_wakeup(&x->tx))
		return;
	while (tries--) {
		x->kicks++;
		if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			return;
		if (errno == EAGAIN) {
			/* Acquire pairs with the kernel's release of the consumer index. */
			if (__atomic_load_n(x->tx.consumer, __ATOMIC_ACQUIRE) == x->tx.cached_prod)
				return;
			continue;
		}
		if (errno == ENXIO) {
			x->down = -ENXIO;	/* unbound: the device went away */
		} else if (errno == ENETDOWN) {
			short flags = 0;

			/* Only a device that is really down ends the run, not a busy one. */
			if (!iface_flags(x->iface, &flags) && !(flags & IFF_UP))
				x->down = -ENETDOWN;
		}
		if (errno != ENOBUFS && errno != EBUSY && errno != ENETDOWN && errno != EINTR)
			salvo_cnt_add(&p->stats.tx_errors, 1);
		return;
	}
}

static int afxdp_tx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct xsk_port *x = p->priv;
	uint32_t idx, got;

	if (x->down)
		return x->down;	/* before reserving: the caller keeps all n */
	got = xsk_ring_prod__reserve(&x->tx, n, &idx);
	if (!got) {
		tx_kick(p, x);
		return -EAGAIN;
	}
	for (uint32_t i = 0; i < got; i++) {
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&x->tx, idx + i);

		d->addr = (uint64_t)(v[i]->data - x->area);
		d->len = v[i]->len;
		d->options = 0;
	}
	/* submit() publishes the descriptors with a release store of the producer index. */
	xsk_ring_prod__submit(&x->tx, got);
	x->tx_outstanding += got;
	tx_kick(p, x);
	return (int)got;
}

static int reap_now(struct salvo_port *p, struct xsk_port *x)
{
	struct salvo_pkt *done[XSK_MAX_BURST];
	uint32_t idx, n;

	n = xsk_ring_cons__peek(&x->cq, XSK_MAX_BURST, &idx);
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t addr = *xsk_ring_cons__comp_addr(&x->cq, idx + i);

		done[i] = &p->pool->pkts[addr / x->frame_size];
	}
	xsk_ring_cons__release(&x->cq, n);
	x->tx_outstanding -= n;
	salvo_pool_put(p->pool, done, n);
	return (int)n;
}

static int afxdp_reap(struct salvo_port *p)
{
	struct xsk_port *x = p->priv;
	int total = 0, n;

	if (!x->txq || !x->tx_outstanding)
		return 0;
	while ((n = reap_now(p, x)) > 0)
		total += n;
	/* Nothing came back but frames wait in the ring: a kick met a busy device. */
	if (!total && __atomic_load_n(x->tx.consumer, __ATOMIC_ACQUIRE) != x->tx.cached_prod)
		tx_kick(p, x);
	return total;
}

static int afxdp_flush(struct salvo_port *p)
{
	struct xsk_port *x = p->priv;

	if (x->txq && x->tx_outstanding)
		tx_kick(p, x);
	return 0;
}

static int afxdp_drain(struct salvo_port *p, unsigned int timeout_ms)
{
	struct xsk_port *x = p->priv;
	uint64_t end = salvo_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;

	if (!x->txq)
		return 0;
	while (x->tx_outstanding) {
		if (xsk_ring_prod__needs_wakeup(&x->tx))
			tx_kick(p, x);
		while (reap_now(p, x) > 0)
			;
		if (!x->tx_outstanding)
			break;
		if (x->down)
			return x->down;	/* the rest will not go out: no use waiting */
		if (salvo_now_ns() > end)
			return -ETIMEDOUT;
		usleep(100);
	}
	return 0;
}

static void rx_stats(struct salvo_port *p, struct xsk_port *x)
{
	struct xdp_statistics st = {0};
	socklen_t len = sizeof(st);
	struct salvo_kstats *k = &p->stats.kernel;

	/* Cumulative over the socket's life: assign, do not add. */
	if (x->fd >= 0 && !getsockopt(x->fd, SOL_XDP, XDP_STATISTICS, &st, &len)) {
		p->stats.rx_nobufs = st.rx_fill_ring_empty_descs;
		if (x->txq)
			p->stats.tx_errors = SALVO_MAX(p->stats.tx_errors, st.tx_invalid_descs);
		/*
		 * The kernel's own figures, as it names them: the report's "kernel"
		 * section.  Relaxed stores, one writer (this worker): they pair with
		 * the report thread's relaxed salvo_cnt_read (salvo_kstats_add).
		 */
		__atomic_store_n(&k->xdp_rx_dropped, st.rx_dropped, __ATOMIC_RELAXED);
		__atomic_store_n(&k->xdp_rx_invalid_descs, st.rx_invalid_descs, __ATOMIC_RELAXED);
		__atomic_store_n(&k->xdp_tx_invalid_descs, st.tx_invalid_descs, __ATOMIC_RELAXED);
		/* Older kernels return only the first three (len says so): those stay 0. */
		if (len >= sizeof(st)) {
			__atomic_store_n(&k->xdp_rx_ring_full, st.rx_ring_full, __ATOMIC_RELAXED);
			__atomic_store_n(&k->xdp_rx_fill_ring_empty_descs,
					 st.rx_fill_ring_empty_descs, __ATOMIC_RELAXED);
			__atomic_store_n(&k->xdp_tx_ring_empty_descs, st.tx_ring_empty_descs,
					 __ATOMIC_RELAXED);
		}
		__atomic_store_n(&k->have, SALVO_KSTAT_XDP, __ATOMIC_RELAXED);
	}
}

static int afxdp_rx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct xsk_port *x = p->priv;
	uint32_t idx, got;

	if (!x->rxq)
		return -EOPNOTSUPP;
	got = xsk_ring_cons__peek(&x->rx, n, &idx);
	if (!got) {
		struct pollfd pfd = {.fd = x->fd, .events = POLLIN};

		/* poll also wakes a driver that waits for fill ring entries (need_wakeup). */
		if (poll(&pfd, 1, (int)p->rx_timeout_ms) < 0 && errno != EINTR)
			return -errno;
		rx_stats(p, x);
		got = xsk_ring_cons__peek(&x->rx, n, &idx);
		if (!got)
			return 0;
	}
	for (uint32_t i = 0; i < got; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);
		uint64_t addr = xsk_umem__extract_addr(d->addr);
		struct salvo_pkt *k = &p->pool->pkts[addr / x->frame_size];

		/* In aligned mode addr is the chunk's base plus the kernel's headroom. */
		k->data = x->area + xsk_umem__add_offset_to_addr(d->addr);
		k->len = d->len;
		k->buf_len = d->len;
		k->ts_ns = 0;
		k->flags = 0;
		v[i] = k;
	}
	xsk_ring_cons__release(&x->rx, got);
	return (int)got;
}

static void afxdp_release(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct xsk_port *x = p->priv;
	uint32_t idx, got;

	/* The fill ring holds every receive frame, so it always has room for these. */
	got = xsk_ring_prod__reserve(&x->fq, n, &idx);
	for (uint32_t i = 0; i < n; i++) {
		struct salvo_pkt *k = v[i];
		uint64_t base = (uint64_t)k->bid * x->frame_size;

		k->data = x->area + base;
		k->buf_len = x->frame_size;
		if (i < got)
			*xsk_ring_prod__fill_addr(&x->fq, idx + i) = base;
		else
			salvo_pool_put(p->pool, &k, 1);
	}
	xsk_ring_prod__submit(&x->fq, got);
}

static void afxdp_close(struct salvo_port *p)
{
	struct xsk_port *x = p->priv;

	if (!x)
		return;
	rx_stats(p, x);	/* tx-only sockets too: their XDP_STATISTICS count tx ring faults */
	if (x->xsk)
		xsk_socket__delete(x->xsk);	/* its XSKMAP entry goes with it */
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->att)
		attach_put(x->att);
	salvo_pool_destroy(p->pool);
	p->pool = NULL;
	if (x->area)
		munmap(x->area, x->area_len);
	free(x);
	p->priv = NULL;
}

static const struct salvo_backend_ops afxdp_ops = {
	.name = "af_xdp",
	.desc = "raw frames through AF_XDP sockets (UMEM rings, XDP redirect; zero-copy where the driver has it)",
	.caps = SALVO_CAP_L2 | SALVO_CAP_ZEROCOPY | SALVO_CAP_XDP | SALVO_CAP_RXFILTER,
	/*
	 * raw send: the fastest measured (docs/backends.md), yet second: its
	 * socket takes the queue for itself, so a second raw sender on the
	 * interface (a profile's second raw stream) failed at open.  First
	 * (20) once open falls back or senders share the queue.  raw recv:
	 * 0.49x af_packet on a veth (raw_rx), and it attaches an XDP program.
	 */
	.prio_path[SALVO_PATH_L2_TX] = 10,
	.why_path[SALVO_PATH_L2_TX] = "1.17x af_packet's frames/s on a veth, 1.22x with 2 threads (raw_veth, "
				      "2026-11-30), but one socket per queue: a second sender on the interface fails",
	.prio_path[SALVO_PATH_L2_RX] = 10,
	.why_path[SALVO_PATH_L2_RX] = "0.49x af_packet's frames/s received on a veth (raw_rx; XDP redirect and copy into the "
				      "UMEM on the veth path); 2026-11-30 13:21",
	.probe = afxdp_probe,
	.doctor = afxdp_doctor,
	.open = afxdp_open,
	.tx_burst = afxdp_tx,
	.rx_burst = afxdp_rx,
	.release = afxdp_release,
	.flush = afxdp_flush,
	.reap = afxdp_reap,
	.drain = afxdp_drain,
	.close = afxdp_close,
};

SALVO_BACKEND_REGISTER(afxdp_ops)
