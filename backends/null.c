// SPDX-License-Identifier: MIT
/*
 * The null backend: no network.  A sender's packets are discarded on
 * submission (so `--backend null` measures the engine's own cost per
 * packet); a port that both sends and receives loops its packets back to
 * itself, which unit tests use to drive the engine without sockets.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <salvo/backend.h>

struct null_port {
	struct salvo_pkt **ring;	/* looped-back packets, FIFO */
	unsigned int size, head, tail;
	bool loop;
};

static int null_open(struct salvo_port *p, const struct salvo_cfg *cfg)
{
	struct null_port *n = calloc(1, sizeof(*n));
	unsigned int nbuf = SALVO_MAX(4 * cfg->burst, 256u);
	uint32_t bufsz = SALVO_MAX(cfg->size, cfg->message_len);
	int rc;

	if (!n)
		return -ENOMEM;
	if (cfg->gso)
		bufsz = 65536;
	rc = salvo_pool_create(&p->pool, nbuf, bufsz ? bufsz : 1, NULL);
	if (rc) {
		free(n);
		return rc;
	}
	n->loop = (cfg->dir & SALVO_DIR_TX) && (cfg->dir & SALVO_DIR_RX);
	n->size = nbuf + 1;
	n->ring = calloc(n->size, sizeof(*n->ring));
	if (!n->ring) {
		salvo_pool_destroy(p->pool);
		free(n);
		return -ENOMEM;
	}
	p->priv = n;
	snprintf(p->info, sizeof(p->info), "%s", n->loop ? "loopback" : "discard");
	return 0;
}

static int null_tx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct null_port *np = p->priv;
	unsigned int i;

	if (!np->loop) {
		salvo_pool_put(p->pool, v, n);
		return (int)n;
	}
	for (i = 0; i < n; i++) {
		unsigned int next = (np->tail + 1) % np->size;

		if (next == np->head)
			break;
		np->ring[np->tail] = v[i];
		np->tail = next;
	}
	return i ? (int)i : -EAGAIN;
}

static int null_rx(struct salvo_port *p, struct salvo_pkt **v, unsigned int n)
{
	struct null_port *np = p->priv;
	unsigned int i = 0;

	while (i < n && np->head != np->tail) {
		v[i++] = np->ring[np->head];
		np->head = (np->head + 1) % np->size;
	}
	if (!i && p->rx_timeout_ms)
		poll(NULL, 0, 1);	/* nothing will ever arrive: do not spin */
	return (int)i;
}

static void null_close(struct salvo_port *p)
{
	struct null_port *np = p->priv;

	if (np) {
		free(np->ring);
		free(np);
	}
	p->priv = NULL;
	salvo_pool_destroy(p->pool);
	p->pool = NULL;
}

static const struct salvo_backend_ops null_ops = {
	.name = "null",
	.desc = "no network: discards (tx) or loops back (tx+rx); measures engine cost",
	.caps = SALVO_CAP_UDP | SALVO_CAP_TCP | SALVO_CAP_L2 | SALVO_CAP_GSO | SALVO_CAP_GRO |
		SALVO_CAP_TEST,
	/* No prio_path: never chosen unless named (-b null). */
	.open = null_open,
	.tx_burst = null_tx,
	.rx_burst = null_rx,
	.close = null_close,
};

SALVO_BACKEND_REGISTER(null_ops)
