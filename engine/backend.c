// SPDX-License-Identifier: MIT
/* The backend registry: backends register by name at start-up; runs look them up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <salvo/backend.h>

#define MAX_BACKENDS 16

static const struct salvo_backend_ops *backends[MAX_BACKENDS];
static unsigned int nbackends;

const char *const salvo_path_names[SALVO_PATH_COUNT] = {
	[SALVO_PATH_UDP_TX] = "udp send", [SALVO_PATH_UDP_RX] = "udp recv",
	[SALVO_PATH_TCP_TX] = "tcp send", [SALVO_PATH_TCP_RX] = "tcp recv",
	[SALVO_PATH_L2_TX] = "raw send",  [SALVO_PATH_L2_RX] = "raw recv",
};

enum salvo_path salvo_path_of(const struct salvo_cfg *cfg)
{
	bool tx = cfg->dir & SALVO_DIR_TX || !cfg->dir;

	if (cfg->proto == SALVO_PROTO_TCP)
		return tx ? SALVO_PATH_TCP_TX : SALVO_PATH_TCP_RX;
	if (cfg->proto == SALVO_PROTO_L2)
		return tx ? SALVO_PATH_L2_TX : SALVO_PATH_L2_RX;
	return tx ? SALVO_PATH_UDP_TX : SALVO_PATH_UDP_RX;
}

static int best_prio(const struct salvo_backend_ops *ops)
{
	int best = 0;

	for (unsigned int k = 0; k < SALVO_PATH_COUNT; k++)
		best = SALVO_MAX(best, ops->prio_path[k]);
	return best;
}

/* Does a come before b: higher key first, then by name, so the order never depends on link order. */
static bool before(int ka, const struct salvo_backend_ops *a, int kb, const struct salvo_backend_ops *b)
{
	return ka != kb ? ka > kb : strcmp(a->name, b->name) < 0;
}

int salvo_backend_register(const struct salvo_backend_ops *ops)
{
	unsigned int i;

	if (nbackends == MAX_BACKENDS || salvo_backend_find(ops->name))
		return -EEXIST;
	for (i = nbackends; i > 0 && before(best_prio(ops), ops, best_prio(backends[i - 1]), backends[i - 1]); i--)
		backends[i] = backends[i - 1];
	backends[i] = ops;
	nbackends++;
	return 0;
}

unsigned int salvo_backend_order(enum salvo_path path, const struct salvo_backend_ops **v,
				 unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < nbackends && n < max; i++) {
		const struct salvo_backend_ops *ops = backends[i];
		unsigned int j;

		if (ops->prio_path[path] <= 0)
			continue;
		for (j = n; j > 0 && before(ops->prio_path[path], ops, v[j - 1]->prio_path[path], v[j - 1]); j--)
			v[j] = v[j - 1];
		v[j] = ops;
		n++;
	}
	return n;
}

bool salvo_env_names(const char *var, const char *name)
{
	const char *s = getenv(var);
	size_t n = strlen(name);

	while (s && *s) {
		size_t len = strcspn(s, ",");

		if (len == n && !strncmp(s, name, n))
			return true;
		s += len + (s[len] == ',');
	}
	return false;
}

int salvo_backend_probe(const struct salvo_backend_ops *ops, const struct salvo_cfg *cfg,
			char *why, size_t len)
{
	int rc;

	if (len)
		why[0] = 0;
	if (salvo_env_names("SALVO_BACKEND_REFUSE", ops->name)) {
		snprintf(why, len, "refused by SALVO_BACKEND_REFUSE (a test playing a failed probe)");
		return -EOPNOTSUPP;
	}
	rc = ops->probe ? ops->probe(cfg, why, len) : 0;
	if (rc && len && !why[0])
		snprintf(why, len, "%s", strerror(-rc));
	return rc;
}

const struct salvo_backend_ops *salvo_backend_find(const char *name)
{
	for (unsigned int i = 0; i < nbackends; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

unsigned int salvo_backend_list(const struct salvo_backend_ops **v, unsigned int max)
{
	unsigned int i;

	for (i = 0; i < nbackends && i < max; i++)
		v[i] = backends[i];
	return i;
}

unsigned int salvo_backend_caps_needed(const struct salvo_cfg *cfg)
{
	unsigned int caps = 0;

	if (cfg->proto == SALVO_PROTO_UDP)
		caps |= SALVO_CAP_UDP;
	else if (cfg->proto == SALVO_PROTO_TCP)
		caps |= SALVO_CAP_TCP;
	else if (cfg->proto == SALVO_PROTO_L2)
		caps |= SALVO_CAP_L2;
	if (cfg->gso)
		caps |= SALVO_CAP_GSO;
	if (cfg->gro)
		caps |= SALVO_CAP_GRO;
	if (cfg->zerocopy || cfg->zc_mode == SALVO_ZC_ON)
		caps |= SALVO_CAP_ZEROCOPY;
	if (cfg->xdp_mode != SALVO_XDP_MODE_AUTO || cfg->force)
		caps |= SALVO_CAP_XDP;
	if (cfg->filter_udp_port)
		caps |= SALVO_CAP_RXFILTER;
	if (cfg->discard)
		caps |= SALVO_CAP_DISCARD;
	if (cfg->splice)
		caps |= SALVO_CAP_SPLICE;
	return caps;
}

static const char *cap_name(unsigned int missing)
{
	if (missing & (SALVO_CAP_UDP | SALVO_CAP_TCP | SALVO_CAP_L2))
		return missing & SALVO_CAP_L2 ? "raw frames" : missing & SALVO_CAP_TCP ? "streams (TCP)" : "datagrams (UDP)";
	if (missing & SALVO_CAP_GSO)
		return "--gso";
	if (missing & SALVO_CAP_GRO)
		return "--gro";
	if (missing & SALVO_CAP_XDP)
		return "--xdp-mode/--force";
	if (missing & SALVO_CAP_RXFILTER)
		return "--filter";
	if (missing & SALVO_CAP_DISCARD)
		return "--discard";
	if (missing & SALVO_CAP_SPLICE)
		return "--splice";
	return "--zerocopy";
}

int salvo_backend_select(const struct salvo_cfg *cfg, const struct salvo_backend_ops **out,
			 char *err, size_t errlen, const char **skipped, char *why, size_t whylen)
{
	unsigned int need = salvo_backend_caps_needed(cfg);
	const struct salvo_backend_ops *order[MAX_BACKENDS];
	char reason[256];
	unsigned int n;
	int rc;

	if (skipped)
		*skipped = NULL;
	if (cfg->backend) {
		const struct salvo_backend_ops *ops = salvo_backend_find(cfg->backend);

		if (!ops) {
			snprintf(err, errlen, "unknown backend '%s' (see 'salvo backends')", cfg->backend);
			return -ENOENT;
		}
		if ((ops->caps & need) != need) {
			snprintf(err, errlen, "backend %s does not support %s", ops->name,
				 cap_name(need & ~ops->caps));
			return -EOPNOTSUPP;
		}
		rc = salvo_backend_probe(ops, cfg, reason, sizeof(reason));
		if (rc) {
			snprintf(err, errlen, "backend %s unavailable: %s", ops->name, reason);
			return rc;
		}
		*out = ops;
		return 0;
	}
	n = salvo_backend_order(salvo_path_of(cfg), order, MAX_BACKENDS);
	for (unsigned int i = 0; i < n; i++) {
		const struct salvo_backend_ops *ops = order[i];

		if ((ops->caps & need) != need)
			continue;
		rc = salvo_backend_probe(ops, cfg, reason, sizeof(reason));
		if (rc == 0) {
			*out = ops;
			return 0;
		}
		if (skipped && !*skipped) {
			*skipped = ops->name;
			snprintf(why, whylen, "%s", reason);
		}
	}
	snprintf(err, errlen, "no backend can run this here%s%s", skipped && *skipped ? ": " : "",
		 skipped && *skipped ? why : "");
	return -EOPNOTSUPP;
}

int salvo_port_open(struct salvo_port *p, const struct salvo_backend_ops *ops,
		    const struct salvo_cfg *cfg, unsigned int worker, unsigned int nworkers)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->ops = ops;
	p->cfg = cfg;
	p->worker = worker;
	p->nworkers = nworkers;
	p->rx_timeout_ms = 100;
	rc = ops->open(p, cfg);
	if (rc && !p->err[0])
		snprintf(p->err, sizeof(p->err), "%s: %s", ops->name, strerror(-rc));
	return rc;
}

int salvo_port_fail(struct salvo_port *p, int err, const char *what, const struct salvo_addr *a)
{
	char b[SALVO_ADDR_STRLEN];

	if (a)
		snprintf(p->err, sizeof(p->err), "%s %s: %s", what, salvo_addr_str(a, b, sizeof(b)),
			 strerror(-err));
	else
		snprintf(p->err, sizeof(p->err), "%s: %s", what, strerror(-err));
	return err;
}

void salvo_port_close(struct salvo_port *p)
{
	if (p->ops && p->ops->close)
		p->ops->close(p);
	p->ops = NULL;
}
