// SPDX-License-Identifier: MIT
/* salvo merge: the records of many processes (files or stdin) as one report. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <salvo/hist.h>
#include <salvo/units.h>

#include "apps/merge.h"
#include "cli.h"

#define MERGE_MAX_FILES 256
#define MERGE_MAX_BYTES (256u << 20)	/* a file beyond this is refused, not half read */

struct merge_opts {
	bool json;
	uint64_t interval_ns;
};

static const struct salvo_opt merge_table[] = {
	SALVO_OPT("json", SALVO_OPT_FLAG, struct merge_opts, json,
		  .short_name = 'J', .help = "print one JSON document (docs/json.md, \"merge\")"),
	SALVO_OPT("interval", SALVO_OPT_DURATION, struct merge_opts, interval_ns,
		  .short_name = 'i', .help = "the timeline's step (default: the records' own -i, to the ms)"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const merge_tables[] = {merge_table, NULL};

/* The whole of f into *buf: 0, -EFBIG beyond MERGE_MAX_BYTES, or -errno. */
static int slurp(FILE *f, char **buf, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *b = malloc(cap), *nb;

	if (!b)
		return -ENOMEM;
	for (;;) {
		size_t r;

		if (n == cap) {
			if (cap >= MERGE_MAX_BYTES) {
				free(b);
				return -EFBIG;
			}
			cap *= 2;
			nb = realloc(b, cap);
			if (!nb) {
				free(b);
				return -ENOMEM;
			}
			b = nb;
		}
		r = fread(b + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f)) {
				free(b);
				return -EIO;
			}
			break;
		}
	}
	*buf = b;
	*len = n;
	return 0;
}

static void utc(uint64_t ns, char *out, size_t len)
{
	time_t t = (time_t)(ns / NSEC_PER_SEC);
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm)) {
		snprintf(out, len, "-");
		return;
	}
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(ns % NSEC_PER_SEC / 1000000));
}

struct pct {
	bool have;
	struct salvo_report_latency l;	/* the run report's percentile set */
};

/* Percentiles of the merged histogram: those of all samples, to its precision. */
static int percentiles(const struct salvo_merge_hist *s, struct salvo_hist *h, struct pct *p)
{
	memset(p, 0, sizeof(*p));
	if (!s->count)
		return 0;
	if (salvo_merge_hist_build(s, h))
		return -EINVAL;
	p->have = true;
	salvo_report_latency_fill(&p->l, h);
	return 0;
}

static json_t *sum_json(const struct salvo_merge_sum *s, struct salvo_hist *h)
{
	json_t *o = json_pack("{s:I}", "records", (json_int_t)s->records);
	struct pct p;

	if (s->start_unix_ns)
		json_object_set_new(o, "start_unix_ns", json_integer((json_int_t)s->start_unix_ns));
	if (s->end_unix_ns)
		json_object_set_new(o, "end_unix_ns", json_integer((json_int_t)s->end_unix_ns));
	if (s->has_tx)
		json_object_set_new(o, "tx", json_pack("{s:I, s:I, s:I}", "packets",
						       (json_int_t)s->tx_packets, "bytes",
						       (json_int_t)s->tx_bytes, "errors",
						       (json_int_t)s->tx_errors));
	if (s->has_rx)
		json_object_set_new(o, "rx", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "packets",
						       (json_int_t)s->rx_packets, "bytes",
						       (json_int_t)s->rx_bytes, "lost", (json_int_t)s->lost,
						       "reordered", (json_int_t)s->reordered,
						       "duplicates", (json_int_t)s->duplicates,
						       "unstamped", (json_int_t)s->unstamped));
	if (!percentiles(&s->lat, h, &p) && p.have)
		json_object_set_new(o, "latency_ns",
				    json_pack("{s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I}",
					      "count", (json_int_t)p.l.count, "clamped", (json_int_t)p.l.clamped,
					      "min", (json_int_t)p.l.min, "mean", p.l.mean, "p50",
					      (json_int_t)p.l.p50, "p90", (json_int_t)p.l.p90, "p99",
					      (json_int_t)p.l.p99, "p999", (json_int_t)p.l.p999, "p9999",
					      (json_int_t)p.l.p9999, "max", (json_int_t)p.l.max));
	if (s->lat_without_hist)
		json_object_set_new(o, "latency_records_without_hist",
				    json_integer((json_int_t)s->lat_without_hist));
	if (s->unsynced)
		json_object_set_new(o, "unsynchronized_records", json_integer((json_int_t)s->unsynced));
	return o;
}

static void sum_text(const char *what, const struct salvo_merge_sum *s, struct salvo_hist *h)
{
	struct pct p;

	printf("%s: %" PRIu64 " record%s", what, s->records, s->records == 1 ? "" : "s");
	if (s->has_tx)
		printf(", tx %" PRIu64 " packets %" PRIu64 " bytes (errors %" PRIu64 ")", s->tx_packets,
		       s->tx_bytes, s->tx_errors);
	if (s->has_rx)
		printf(", rx %" PRIu64 " packets %" PRIu64 " bytes, lost %" PRIu64 ", reordered %" PRIu64
		       ", duplicates %" PRIu64, s->rx_packets, s->rx_bytes, s->lost, s->reordered,
		       s->duplicates);
	if (!percentiles(&s->lat, h, &p) && p.have)
		printf(", latency p50 %" PRIu64 " ns, p99 %" PRIu64 " ns, p99.9 %" PRIu64 " ns, max %"
		       PRIu64 " ns (%" PRIu64 " samples)", p.l.p50, p.l.p99, p.l.p999, p.l.max, p.l.count);
	if (s->lat_without_hist)
		printf(" [%" PRIu64 " with latency but no histogram: not in the percentiles]",
		       s->lat_without_hist);
	putchar('\n');
}

static void report(const struct salvo_merge *m, const struct merge_opts *mo, unsigned int files,
		   struct salvo_hist *h)
{
	const struct salvo_merge_sum *t = salvo_merge_total(m);
	const struct salvo_merge_group *g;
	const struct salvo_merge_bin *b;
	unsigned int ng = salvo_merge_groups(m, &g);
	uint64_t step;
	size_t nb = salvo_merge_bins(m, &b, &step);
	bool valid = salvo_merge_latency_valid(m);
	char a[96];

	if (mo->json) {
		json_t *root = json_object(), *groups = json_array(), *bins = json_array();

		json_object_set_new(root, "schema", json_integer(SALVO_JSON_SCHEMA));
		json_object_set_new(root, "type", json_string("merge"));
		json_object_set_new(root, "files", json_integer(files));
		json_object_set_new(root, "hosts", json_integer(salvo_merge_hosts(m)));
		json_object_set_new(root, "latency_valid", json_boolean(valid));
		json_object_set_new(root, "total", sum_json(t, h));
		for (unsigned int i = 0; i < ng; i++) {
			json_t *o = sum_json(&g[i].s, h);

			if (g[i].label)
				json_object_set_new(o, "label", json_pack("{s:s}", g[i].key, g[i].value));
			else
				json_object_set_new(o, "host", json_string(g[i].value));
			json_array_append_new(groups, o);
		}
		json_object_set_new(root, "groups", groups);
		if (nb)
			json_object_set_new(root, "interval_s", json_real((double)step / 1e9));
		for (size_t i = 0; i < nb; i++) {
			json_t *o = sum_json(&b[i].s, h);

			/* The step's own start and length, not its records' (those are start_unix_ns/end_unix_ns). */
			json_object_set_new(o, "step_start_unix_ns", json_integer((json_int_t)b[i].start_unix_ns));
			json_object_set_new(o, "start_s", json_real((double)(b[i].start_unix_ns - b[0].start_unix_ns) / 1e9));
			json_array_append_new(bins, o);
		}
		json_object_set_new(root, "intervals", bins);
		salvo_json_print(stdout, root, true);
		json_decref(root);
		return;
	}
	utc(t->start_unix_ns, a, sizeof(a));
	printf("salvo merge: %u file%s, %u host%s, from %s, %.3f s\n", files, files == 1 ? "" : "s",
	       salvo_merge_hosts(m), salvo_merge_hosts(m) == 1 ? "" : "s", a,
	       t->end_unix_ns > t->start_unix_ns && t->start_unix_ns ?
	       (double)(t->end_unix_ns - t->start_unix_ns) / 1e9 : 0.0);
	sum_text("  total", t, h);
	if (t->lat.count && !valid)
		printf("  one-way latency across hosts is not valid: %" PRIu64 " record%s from a host whose clock was not synchronised\n",
		       t->unsynced, t->unsynced == 1 ? "" : "s");
	for (unsigned int i = 0; i < ng; i++) {
		char what[400];

		snprintf(what, sizeof(what), "  %s %s%s%s", g[i].label ? "label" : "host",
			 g[i].label ? g[i].key : "", g[i].label ? "=" : "", g[i].value);
		sum_text(what, &g[i].s, h);
	}
	for (size_t i = 0; i < nb; i++) {
		char what[64];
		double t0 = (double)(b[i].start_unix_ns - b[0].start_unix_ns) / 1e9;

		snprintf(what, sizeof(what), "  [%7.2f-%7.2f s]", t0, t0 + (double)step / 1e9);
		sum_text(what, &b[i].s, h);
	}
}

static int merge_run(void *o, int argc, char **argv)
{
	struct merge_opts *mo = o;
	struct salvo_merge *m = NULL;
	struct salvo_hist *h = NULL;
	int rc = 0;

	if (salvo_merge_create(&m, mo->interval_ns) || salvo_hist_create(&h)) {
		salvo_merge_destroy(m);
		return salvo_runtime_error("merge", "out of memory");
	}
	for (int i = 0; i < argc && !rc; i++) {
		bool in = !strcmp(argv[i], "-");
		const char *name = in ? "stdin" : argv[i];
		FILE *f = in ? stdin : fopen(argv[i], "r");
		char err[512], *buf = NULL;
		size_t len = 0;
		int r;

		if (!f) {
			rc = salvo_usage_error(NULL, "%s: %s", name, strerror(errno));
			break;
		}
		r = slurp(f, &buf, &len);
		if (!in)
			fclose(f);
		if (r == -ENOMEM) {
			rc = salvo_runtime_error("merge", "%s: out of memory", name);
			break;
		}
		if (r) {
			rc = salvo_usage_error(NULL, "%s: %s", name, r == -EFBIG ? "larger than 256 MiB" : strerror(-r));
			break;
		}
		r = salvo_merge_add(m, buf, len, err, sizeof(err));
		free(buf);
		if (r == -ENOMEM)
			rc = salvo_runtime_error("merge", "%s: %s", name, err);
		else if (r)
			rc = salvo_usage_error(NULL, "%s: %s", name, err);
	}
	if (!rc && salvo_merge_finish(m))
		rc = salvo_runtime_error("merge", "the timeline does not add up (out of memory or a counter overflows)");
	if (!rc)
		report(m, mo, (unsigned int)argc, h);
	salvo_hist_destroy(h);
	salvo_merge_destroy(m);
	return rc;
}

static const struct salvo_cmd merge_cmd = {
	.name = "merge",
	.args = "FILE...|-",
	.min_args = 1,
	.max_args = MERGE_MAX_FILES,
	.summary = "fold the JSON/NDJSON records of many salvo processes into one report",
	.description = "Counters are summed and latency histograms added, so the percentiles are those\n"
		       "of all samples; intervals are laid on absolute time; totals per host and label.\n"
		       "'-' reads stdin (concatenated files too). See docs/fleet.md.",
	.tables = merge_tables,
	.opts_size = sizeof(struct merge_opts),
	.run = merge_run,
};
SALVO_COMMAND_REGISTER(merge_cmd)
