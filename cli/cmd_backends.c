// SPDX-License-Identifier: MIT
/* salvo backends: every backend, whether it works here, and if not, why. */
#include <stdio.h>
#include <string.h>

#include <salvo/backend.h>

#include "cli.h"

struct backends_opts {
	bool json;
	const char *iface;
};

static const struct salvo_opt backends_table[] = {
	SALVO_OPT("json", SALVO_OPT_FLAG, struct backends_opts, json,
		  .short_name = 'J', .help = "print JSON"),
	SALVO_OPT("iface", SALVO_OPT_STR, struct backends_opts, iface,
		  .short_name = 'I', .metavar = "IF", .help = "probe raw-frame backends on this interface (default lo)"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const backends_tables[] = {backends_table, NULL};

static const char *caps_str(unsigned int caps, char *buf, size_t len)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{SALVO_CAP_UDP, "udp"}, {SALVO_CAP_TCP, "tcp"}, {SALVO_CAP_L2, "raw"},
		{SALVO_CAP_GSO, "gso"}, {SALVO_CAP_GRO, "gro"}, {SALVO_CAP_ZEROCOPY, "zerocopy"},
		{SALVO_CAP_XDP, "xdp"}, {SALVO_CAP_RXFILTER, "filter"}, {SALVO_CAP_TEST, "test-only"},
		{SALVO_CAP_DISCARD, "discard"}, {SALVO_CAP_SPLICE, "splice"},
	};
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < SALVO_ARRAY_SIZE(names); i++)
		if (caps & names[i].bit)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "", names[i].name);
	return buf;
}

/*
 * Probe every path a backend claims (datagrams, streams, raw frames) on its
 * own: one that carries datagrams but cannot carry streams here is not
 * "yes".  salvo doctor's per-path lines come from the same probe tables.
 */
static const struct {
	unsigned int cap;
	int proto;
	const char *name;
} paths[] = {
	{SALVO_CAP_UDP, SALVO_PROTO_UDP, "udp"},
	{SALVO_CAP_TCP, SALVO_PROTO_TCP, "tcp"},
	{SALVO_CAP_L2, SALVO_PROTO_L2, "raw"},
};

/*
 * The default per path, from the same salvo_backend_select a run calls (so
 * what this says is what a run without --backend uses here), the order it
 * walks and the evidence next to the chosen backend's number.  Text: one
 * line per path; JSON (json set): returns the defaults[] array, else NULL.
 */
static json_t *path_defaults(const char *iface, bool json)
{
	static const enum salvo_proto proto[SALVO_PATH_COUNT] = {
		[SALVO_PATH_UDP_TX] = SALVO_PROTO_UDP, [SALVO_PATH_UDP_RX] = SALVO_PROTO_UDP,
		[SALVO_PATH_TCP_TX] = SALVO_PROTO_TCP, [SALVO_PATH_TCP_RX] = SALVO_PROTO_TCP,
		[SALVO_PATH_L2_TX] = SALVO_PROTO_L2,   [SALVO_PATH_L2_RX] = SALVO_PROTO_L2,
	};
	json_t *defs = json ? json_array() : NULL;

	if (!json)
		printf("\nDEFAULTS (docs/backends.md: the measurements behind them)\n");
	for (unsigned int k = 0; k < SALVO_PATH_COUNT; k++) {
		const struct salvo_backend_ops *order[16], *ops = NULL;
		unsigned int n = salvo_backend_order((enum salvo_path)k, order, 16), after = 0;
		const char *skipped = NULL;
		char err[256], why[256], rest[200] = "";
		struct salvo_cfg cfg;
		json_t *oj = json_array();
		size_t ro = 0;

		salvo_cfg_init(&cfg);
		cfg.proto = proto[k];
		cfg.dir = k % 2 ? SALVO_DIR_RX : SALVO_DIR_TX;
		cfg.iface = iface;
		if (salvo_backend_select(&cfg, &ops, err, sizeof(err), &skipped, why, sizeof(why)))
			ops = NULL;
		for (unsigned int i = 0; i < n; i++) {
			json_array_append_new(oj, json_string(order[i]->name));
			if (ops && order[i] == ops)
				after = i + 1;
		}
		/* What would be tried after the default, should it fail here too. */
		for (unsigned int i = after; ops && i < n && ro < sizeof(rest); i++)
			ro += (size_t)snprintf(rest + ro, sizeof(rest) - ro, "%s%s", ro ? ", " : "",
					       order[i]->name);
		if (json) {
			json_array_append_new(defs, json_pack("{s:s, s:s?, s:o, s:s, s:s?, s:s}", "path",
							      salvo_path_names[k], "backend",
							      ops ? ops->name : NULL, "order", oj, "why",
							      ops ? ops->why_path[k] : err, "skipped",
							      skipped, "skip_reason", skipped ? why : ""));
			continue;
		}
		json_decref(oj);
		if (!ops) {
			printf("%s: none here — %s\n", salvo_path_names[k], err);
			continue;
		}
		printf("%s: %s (default%s%s%s%s) — %s; then %s\n", salvo_path_names[k], ops->name,
		       skipped ? "; " : "", skipped ? skipped : "", skipped ? " skipped: " : "",
		       skipped ? why : "", ops->why_path[k], ro ? rest : "nothing");
	}
	return defs;
}

static int backends_run(void *o, int argc, char **argv)
{
	struct backends_opts *b = o;
	const struct salvo_backend_ops *v[16];
	unsigned int n = salvo_backend_list(v, 16);
	json_t *arr = json_array(), *defs;

	(void)argc;
	(void)argv;
	if (!b->json)
		printf("%-10s %-4s %-34s %s\n", "BACKEND", "OK", "CAPS", "NOTES");
	for (unsigned int i = 0; i < n; i++) {
		char why[SALVO_ARRAY_SIZE(paths)][256], notes[800] = "", caps[96];
		unsigned int tried = 0, failed = 0, same = 1, first = 0;
		json_t *pj = json_array();
		size_t no = 0;

		for (unsigned int k = 0; k < SALVO_ARRAY_SIZE(paths); k++) {
			struct salvo_cfg cfg;
			int rc;

			why[k][0] = 0;
			if (!(v[i]->caps & paths[k].cap))
				continue;
			salvo_cfg_init(&cfg);
			cfg.proto = paths[k].proto;
			cfg.iface = b->iface ? b->iface : "lo";
			cfg.dir = SALVO_DIR_TX | SALVO_DIR_RX;
			cfg.probe_host_only = true;	/* the machine; defaults below judge a run */
			rc = salvo_backend_probe(v[i], &cfg, why[k], sizeof(why[k]));
			if (!rc)
				why[k][0] = 0;
			json_array_append_new(pj, json_pack("{s:s, s:b, s:s}", "path", paths[k].name,
							    "available", rc == 0, "reason", why[k]));
			if (rc) {
				if (failed && strcmp(why[k], why[first]))
					same = 0;
				if (!failed)
					first = k;
				failed++;
			}
			tried++;
		}
		/* One reason said once when every path fails for it (no io_uring at all). */
		for (unsigned int k = 0; k < SALVO_ARRAY_SIZE(paths) && no < sizeof(notes); k++) {
			if (!why[k][0])
				continue;
			if (failed == tried && same)
				no += (size_t)snprintf(notes + no, sizeof(notes) - no, "%s", why[k]);
			else
				no += (size_t)snprintf(notes + no, sizeof(notes) - no, "%s%s: %s",
						       no ? "; " : "", paths[k].name, why[k]);
			if (failed == tried && same)
				break;
		}
		caps_str(v[i]->caps, caps, sizeof(caps));
		if (b->json) {
			json_array_append_new(arr, json_pack("{s:s, s:b, s:s, s:o, s:s, s:s}", "name",
							     v[i]->name, "available", failed == 0,
							     "reason", notes, "paths", pj, "caps", caps,
							     "description", v[i]->desc));
		} else {
			json_decref(pj);
			printf("%-10s %-4s %-34s %s\n", v[i]->name,
			       !failed ? "yes" : failed == tried ? "no" : "some", caps,
			       failed ? notes : v[i]->desc);
		}
	}
	defs = path_defaults(b->iface ? b->iface : "lo", b->json);
	if (b->json) {
		json_t *root = json_pack("{s:i, s:o, s:o}", "schema", SALVO_JSON_SCHEMA, "backends", arr,
					 "defaults", defs);

		salvo_json_print(stdout, root, true);
		json_decref(root);
	} else {
		json_decref(arr);
	}
	return 0;
}

static const struct salvo_cmd backends_cmd = {
	.name = "backends",
	.max_args = 0,
	.summary = "list the backends, whether each works on this machine, and if not, why",
	.description = "Probes each path a backend claims (udp: datagrams, tcp: streams, raw: frames) "
		       "on its own.  OK is yes when every path works, some when only some do, no when "
		       "none does; the notes give each failing path's reason.  salvo doctor judges "
		       "from the same tables.",
	.tables = backends_tables,
	.opts_size = sizeof(struct backends_opts),
	.run = backends_run,
};
SALVO_COMMAND_REGISTER(backends_cmd)
