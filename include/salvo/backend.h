/* SPDX-License-Identifier: MIT */
/*
 * The backend interface: the only door into a backend.  Each backend is
 * one file under backends/ that fills a struct salvo_backend_ops and
 * registers it by name with SALVO_BACKEND_REGISTER(); the engine and the
 * CLI look it up at run time and never ask which one is running.
 *
 * Ownership: tx_burst(p, v, n) returns how many of v[0..n) it accepted
 * (or -errno when it accepted none); accepted packets belong to the backend
 * until it returns them to p->pool (at once for synchronous backends, from
 * reap() for asynchronous ones); the caller keeps the rest.  rx_burst fills
 * v with received packets that the caller hands back with
 * salvo_port_release() once it has read them.
 *
 * Stream connection ids: a backend does not give a connection's id to a new
 * connection while the app still holds (or has yet to read) any event
 * (CONN_OPEN, CONN_CLOSE, CONN_ERROR) of the old one, so an app that keeps
 * one of them while it tracks the connection never sends to a stranger.
 */
#ifndef SALVO_BACKEND_H
#define SALVO_BACKEND_H

#include <stddef.h>

#include <salvo/cfg.h>
#include <salvo/kstats.h>
#include <salvo/pkt.h>

struct salvo_doctor_report;

/*
 * The paths a default backend is chosen for, each measured on its own
 * (docs/backends.md): a run's protocol and direction.  A run that both
 * sends and receives (udp ping, udp echo, --expect-reply, registry) takes
 * its send path: its rate is set by how fast it turns a reply round.
 */
enum salvo_path {
	SALVO_PATH_UDP_TX,
	SALVO_PATH_UDP_RX,
	SALVO_PATH_TCP_TX,
	SALVO_PATH_TCP_RX,
	SALVO_PATH_L2_TX,
	SALVO_PATH_L2_RX,
	SALVO_PATH_COUNT,
};

/* "udp send", "udp recv", "tcp send", "tcp recv", "raw send", "raw recv"; index = enum. */
extern const char *const salvo_path_names[SALVO_PATH_COUNT];

/* The path cfg's run takes (proto and dir). */
enum salvo_path salvo_path_of(const struct salvo_cfg *cfg);

enum {
	SALVO_CAP_UDP = 1 << 0,		/* datagram sockets (UDP, unix dgram) */
	SALVO_CAP_TCP = 1 << 1,		/* stream sockets (TCP, unix stream) */
	SALVO_CAP_L2 = 1 << 2,		/* raw Ethernet frames */
	SALVO_CAP_GSO = 1 << 3,
	SALVO_CAP_GRO = 1 << 4,
	SALVO_CAP_ZEROCOPY = 1 << 5,
	SALVO_CAP_TEST = 1 << 6,	/* not a real network path (null backend) */
	SALVO_CAP_XDP = 1 << 7,		/* attaches XDP programs: --xdp-mode, --force */
	SALVO_CAP_RXFILTER = 1 << 8,	/* filters received frames itself: --filter */
	SALVO_CAP_DISCARD = 1 << 9,	/* stream receive without a copy: cfg->discard */
	SALVO_CAP_SPLICE = 1 << 10,	/* stream send from a memfd by sendfile: cfg->splice */
};

/* Backend-side counters the engine merges into reports (one writer: salvo_cnt_add). */
struct salvo_port_stats {
	uint64_t tx_errors;	/* failed submissions or completions (refused ones included) */
	uint64_t tx_refused;	/* ECONNREFUSED: nobody listening (UDP) */
	/*
	 * Asynchronous backends: packets (and bytes) tx_burst accepted whose
	 * completion then failed, so they were never sent.  The report
	 * subtracts them from what the generator counted at submission.
	 */
	uint64_t tx_failed, tx_failed_bytes;
	uint64_t tx_retrans;	/* TCP retransmits, from TCP_INFO */
	uint64_t rx_dropped;	/* kernel-reported drops (SO_RXQ_OVFL, ring drops) */
	uint64_t rx_nobufs;	/* receive buffers exhausted */
	uint64_t conns_opened;
	uint64_t conns_closed;
	uint64_t zc_copied;	/* zero-copy sends the kernel had to copy */
	/*
	 * --busy-poll: receiving sockets whose SO_BUSY_POLL (prefer_: SO_PREFER_BUSY_POLL)
	 * the kernel accepted or refused, and the first refusal's errno.
	 * Written by open, before the worker runs; read after the run.
	 */
	uint32_t busy_poll_ok, busy_poll_refused, prefer_busy_poll_ok, prefer_busy_poll_refused;
	int busy_poll_errno;
	struct salvo_kstats kernel;	/* the kernel's own drop/retransmit counters */
};

struct salvo_port {
	const struct salvo_backend_ops *ops;
	const struct salvo_cfg *cfg;
	struct salvo_pool *pool;	/* created by ops->open */
	unsigned int worker;		/* 0..nworkers-1 */
	unsigned int nworkers;
	unsigned int rx_timeout_ms;	/* how long rx_burst may block; 0: poll */
	void *priv;			/* backend state */
	struct salvo_port_stats stats;	/* written by the backend, one writer */
	unsigned int conn_slots;	/* stream backends: connection ids 0..conn_slots-1 */
	char info[160];			/* what open obtained ("copy mode", "ring: sqpoll"...) */
	char err[256];			/* one-line reason when an op fails */
};

struct salvo_backend_ops {
	const char *name;	/* "uring", "syscall", "af_packet", "af_xdp", "null" */
	const char *desc;	/* one line for `salvo backends` */
	unsigned int caps;	/* SALVO_CAP_* */
	/*
	 * Default choice per path: among the backends with the caps a run
	 * needs, the highest prio_path[path] that probes OK; 0 (unset): never
	 * the default there (an explicit --backend still works).  why_path:
	 * the measurement that set the number, one line, next to it.
	 */
	int prio_path[SALVO_PATH_COUNT];
	const char *why_path[SALVO_PATH_COUNT];
	/* 0 if it can run cfg here, else -errno with a one-line reason in why. */
	int (*probe)(const struct salvo_cfg *cfg, char *why, size_t len);
	/*
	 * Optional (salvo doctor): append one finding per kernel feature this
	 * backend needs, judged from the same table as probe, and one verdict
	 * per path (datagrams, streams, raw frames) whose detail is probe's why,
	 * so `salvo doctor` and `salvo backends` cannot tell different stories.
	 */
	void (*doctor)(struct salvo_doctor_report *r);
	/* Open sockets/rings for one worker, create p->pool.  -errno + p->err on failure. */
	int (*open)(struct salvo_port *p, const struct salvo_cfg *cfg);
	int (*tx_burst)(struct salvo_port *p, struct salvo_pkt **v, unsigned int n);
	/* Wait up to p->rx_timeout_ms for at least one packet; 0 on timeout. */
	int (*rx_burst)(struct salvo_port *p, struct salvo_pkt **v, unsigned int n);
	/* Give received packets back (to the pool or the kernel's ring).  NULL: pool put. */
	void (*release)(struct salvo_port *p, struct salvo_pkt **v, unsigned int n);
	/* Submit what tx_burst queued, kick the kernel.  NULL: tx_burst submits. */
	int (*flush)(struct salvo_port *p);
	/* Return completed tx buffers to the pool; returns how many.  NULL: nothing to reap. */
	int (*reap)(struct salvo_port *p);
	/* Wait until every accepted tx packet has completed (end of run), bounded by timeout. */
	int (*drain)(struct salvo_port *p, unsigned int timeout_ms);
	void (*close)(struct salvo_port *p);
};

int salvo_backend_register(const struct salvo_backend_ops *ops);
const struct salvo_backend_ops *salvo_backend_find(const char *name);
/* All registered backends, by their best prio_path (highest first), then name. Returns count. */
unsigned int salvo_backend_list(const struct salvo_backend_ops **v, unsigned int max);
/*
 * The automatic order for path: the backends with a prio_path there, highest
 * first (ties by name).  salvo_backend_select walks this order; `salvo
 * backends` prints it.  Returns count.
 */
unsigned int salvo_backend_order(enum salvo_path path, const struct salvo_backend_ops **v,
				 unsigned int max);
/*
 * Test seams: whether the comma-separated list in environment variable var
 * names name (SALVO_BACKEND_REFUSE=uring,af_xdp; SALVO_URING_REFUSE=cqe_skip).
 */
bool salvo_env_names(const char *var, const char *name);

/*
 * ops->probe(cfg), through the test seam SALVO_BACKEND_REFUSE=name[,name...]:
 * a named backend answers as if its probe had failed here, so the
 * integration tests can watch the automatic choice fall back.
 */
int salvo_backend_probe(const struct salvo_backend_ops *ops, const struct salvo_cfg *cfg,
			char *why, size_t len);
/* Caps a cfg needs (proto, gso, gro, zerocopy). */
unsigned int salvo_backend_caps_needed(const struct salvo_cfg *cfg);

/*
 * Pick the backend for cfg: cfg->backend if set (fails with its probe's
 * reason), else the first of salvo_backend_order(salvo_path_of(cfg)) that
 * has the caps and probes OK.
 * When a higher-priority candidate was skipped, its name and reason are
 * copied to skipped/why so the CLI can say so once.
 */
int salvo_backend_select(const struct salvo_cfg *cfg, const struct salvo_backend_ops **out,
			 char *err, size_t errlen, const char **skipped, char *why, size_t whylen);

#define SALVO_BACKEND_REGISTER(ops)                                                                \
	static void __attribute__((constructor)) salvo__register_##ops(void)                       \
	{                                                                                          \
		salvo_backend_register(&(ops));                                                    \
	}

/* Port helpers: the engine's hot path calls these, never ops-> directly. */
static inline int salvo_port_tx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	return p->ops->tx_burst(p, v, n);
}

static inline int salvo_port_rx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	return p->ops->rx_burst(p, v, n);
}

static inline void salvo_port_release(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	if (p->ops->release)
		p->ops->release(p, v, n);
	else
		salvo_pool_put(p->pool, v, n);
}

static inline int salvo_port_flush(struct salvo_port *p)
{
	return p->ops->flush ? p->ops->flush(p) : 0;
}

static inline int salvo_port_reap(struct salvo_port *p)
{
	return p->ops->reap ? p->ops->reap(p) : 0;
}

/* Worker w owns the flows w, w + n, w + 2n, ... of cfg->flows (n workers). */
static inline unsigned int salvo_worker_nflows(unsigned int flows, unsigned int worker,
					       unsigned int nworkers)
{
	return flows / nworkers + (worker < flows % nworkers ? 1 : 0);
}

static inline uint32_t salvo_worker_flow_id(unsigned int local, unsigned int worker,
					    unsigned int nworkers)
{
	return worker + local * nworkers;
}

/*
 * Fill p->err with one line, "WHAT ADDR: strerror" (or "WHAT: strerror"
 * without an address), and return err (a -errno): `return salvo_port_fail(...)`.
 */
int salvo_port_fail(struct salvo_port *p, int err, const char *what, const struct salvo_addr *a);

int salvo_port_open(struct salvo_port *p, const struct salvo_backend_ops *ops,
		    const struct salvo_cfg *cfg, unsigned int worker, unsigned int nworkers);
void salvo_port_close(struct salvo_port *p);

#endif
