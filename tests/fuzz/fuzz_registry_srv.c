// SPDX-License-Identifier: MIT
/*
 * Fuzz the registry server's connection handling (registry/registry_srv.c)
 * through the null backend: the input is a script of stream events on 8
 * connection ids (open, a name or raw bytes, FIN, reset, time passing)
 * interleaved with server loop steps.  The null backend in tx+rx mode loops
 * every packet back, so the script's events are handed to the port's tx and
 * come back through rx_burst as a real backend's would; the server's own
 * replies loop back too and arrive as more (odd) traffic, which it must
 * also survive.  After every step the server's bookkeeping must agree with
 * itself (map, wait list, send queue, counts), and after srv_fini() every
 * pool descriptor must be back: ASan and these checks are the witnesses.
 *
 * Fast by construction: one store (at most 8 names, 8 fixed names used) and
 * one port for the whole run, only the server state is made per input, and
 * steps never wait (rx timeout 0).
 */
#include "../../registry/registry_srv.c"

#include <stdarg.h>

/* engine/run.c is not linked: the worker is driven by hand. */
struct salvo_run {
	const struct salvo_app *app;
};

const struct salvo_app *salvo_run_app(const struct salvo_run *r)
{
	return r->app;
}

bool salvo_worker_stopping(const struct salvo_worker *w)
{
	(void)w;
	return false;
}

int salvo_worker_fail(struct salvo_worker *w, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	return -err;
}

#define NCONN 8
#define NAMES 8

static struct salvo_cfg cfg;
static struct salvo_registry_srv app_arg;
static struct salvo_app app = {.name = "registry-fuzz"};
static struct salvo_run run = {.app = &app};
static struct salvo_worker w;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct salvo_registry_opts o = {.max_clients = NAMES};
	const struct salvo_backend_ops *ops = salvo_backend_find("null");
	char err[256];

	(void)argc;
	(void)argv;
	salvo_registry_thread_enter();
	if (!ops || salvo_registry_create(&app_arg.reg, &o, err, sizeof(err)))
		abort();
	salvo_cfg_init(&cfg);
	cfg.proto = SALVO_PROTO_TCP;
	cfg.dir = SALVO_DIR_RX | SALVO_DIR_TX;	/* null: loop back */
	cfg.listen = true;
	cfg.burst = 8;
	cfg.size = 512;
	app_arg.max_conns = 6;	/* some opens are refused */
	app_arg.timeout_ms = 1000;
	app.arg = &app_arg;
	w.run = &run;
	w.cfg = &cfg;
	if (salvo_port_open(&w.port, ops, &cfg, 0, 1))
		abort();
	return 0;
}

/* The server's bookkeeping agrees with itself. */
static void check(struct srv *s)
{
	uint32_t i, n = 0, q = 0, wn = 0;
	struct rconn *c;

	for (i = 0; i < s->map.cap; i++) {
		if (!(c = s->map.v[i]))
			continue;
		n++;
		if (c->id != s->map.ids[i] || cmap_get(&s->map, c->id) != c || c->dead)
			abort();
		if (c->state != RC_WAIT && c->state != RC_REPLY)
			abort();
	}
	if (n != s->map.n || n != s->nlocal)
		abort();
	if (__atomic_load_n(&s->a->active, __ATOMIC_RELAXED) != s->nlocal)
		abort();
	for (c = s->shead; c; c = c->snext) {
		if (++q > n || !c->queued || c->state != RC_REPLY || cmap_get(&s->map, c->id) != c)
			abort();	/* a cycle, or a freed / retired connection queued */
		if (!c->snext && s->stail != c)
			abort();
	}
	for (c = s->whead; c; c = c->tnext) {
		if (++wn > n || c->state != RC_WAIT || cmap_get(&s->map, c->id) != c)
			abort();
		if (c->tnext && c->tnext->tprev != c)
			abort();
	}
}

/* One event for the server: a descriptor through the null port's loop. */
static void inject(struct srv *s, uint16_t flags, uint32_t conn, const uint8_t *d, size_t len)
{
	struct salvo_pkt *k;

	if (!salvo_pool_get(w.port.pool, &k, 1)) {
		srv_step(&w, s, 0);
		check(s);
		if (!salvo_pool_get(w.port.pool, &k, 1))
			return;
	}
	k->flags = flags;
	k->conn = conn;
	k->err = (flags & SALVO_PKT_F_CONN_ERROR) ? -ECONNRESET : 0;
	k->len = (uint32_t)SALVO_MIN(len, (size_t)k->buf_len);
	if (len)
		memcpy(k->data, d, k->len);
	k->peer.len = 0;
	if (flags & SALVO_PKT_F_CONN_OPEN) {
		k->peer.in4.sin_family = AF_INET;
		k->peer.in4.sin_port = htons((uint16_t)(40000 + conn));
		k->peer.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		k->peer.len = sizeof(k->peer.in4);
	}
	if (salvo_port_tx(&w.port, &k, 1) != 1)
		salvo_pool_put(w.port.pool, &k, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[NAMES] = {"a", "bb", "ccc", "\xc3\xa9t\xc3\xa9", "e",
						 "f\"q", "g\\h", "hhhhhhhh"};
	struct srv *s;
	struct salvo_pkt *v[64];
	size_t i = 0;
	int n, k;

	memset(&w.cnt, 0, sizeof(w.cnt));
	if (srv_init(&w))
		abort();
	s = w.app_priv;
	while (i < size) {
		uint8_t b = data[i++];
		uint32_t conn = (b >> 3) & (NCONN - 1);

		switch (b & 7) {
		case 0:
			inject(s, SALVO_PKT_F_CONN_OPEN, conn, NULL, 0);
			break;
		case 1: {
			const char *nm = names[(i < size ? data[i++] : 0) % NAMES];

			inject(s, 0, conn, (const uint8_t *)nm, strlen(nm));
			break;
		}
		case 2:
			inject(s, SALVO_PKT_F_CONN_CLOSE, conn, NULL, 0);
			break;
		case 3:
			inject(s, SALVO_PKT_F_CONN_ERROR, conn, NULL, 0);
			break;
		case 4: {	/* raw bytes as a chunk: bad names, later chunks */
			size_t len = i < size ? data[i++] % 32 : 0;

			len = SALVO_MIN(len, size - i);
			inject(s, 0, conn, data + i, len);
			i += len;
			break;
		}
		case 5: {	/* time passes: every waiting connection is due */
			struct rconn *c;

			for (c = s->whead; c; c = c->tnext)
				c->deadline = 0;
			break;
		}
		default:
			srv_step(&w, s, 0);
			check(s);
			break;
		}
	}
	for (k = 0; k < 8; k++) {
		srv_step(&w, s, 0);
		check(s);
	}
	srv_fini(&w);
	if (__atomic_load_n(&app_arg.active, __ATOMIC_RELAXED))
		abort();
	/* Whatever is still looping belongs to nobody now. */
	while ((n = salvo_port_rx(&w.port, v, 64)) > 0)
		salvo_pool_put(w.port.pool, v, (unsigned int)n);
	if (w.port.pool->nfree != w.port.pool->n)
		abort();	/* a descriptor was lost (or put twice: ASan first) */
	return 0;
}
