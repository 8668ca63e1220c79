// SPDX-License-Identifier: MIT
/* Turning report structs into text and JSON: the only place that formats them. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>

#include <salvo/hist.h>
#include <salvo/units.h>

#include "cli.h"
#include "version.h"

static const char *fmt_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 1000000000ULL)
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
	else if (ns >= 1000000ULL)
		snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
	else if (ns >= 1000ULL)
		snprintf(buf, len, "%.1f us", (double)ns / 1e3);
	else
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	return buf;
}

static void dir_text(FILE *f, const char *what, const struct salvo_report_dir *d)
{
	char a[32], b[32];

	fprintf(f, "  %s: %" PRIu64 " packets, %" PRIu64 " bytes in %.3f s: %s pps, %s\n", what,
		d->packets, d->bytes, d->active_s, salvo_fmt_si(d->pps, a, sizeof(a)),
		salvo_fmt_bits(d->bits_per_second, b, sizeof(b)));
}

/* Per sending session, when a receiver heard more than one sender. */
static void sessions_text(FILE *f, const struct salvo_report *rep)
{
	if (rep->sessions < 2)
		return;
	fprintf(f, "  sessions %" PRIu64 ":\n", rep->sessions);
	for (unsigned int i = 0; i < rep->nsession_rows; i++) {
		const struct salvo_report_session *s = &rep->session[i];

		char a[32], b[32];

		fprintf(f, "    session %08x: %" PRIu64 " packets, flows %" PRIu64 ", lost %" PRIu64
			   ", reordered %" PRIu64 ", duplicates %" PRIu64,
			s->session, s->packets, s->flows, s->lost, s->reordered, s->duplicates);
		if (s->latency_samples)
			fprintf(f, ", latency mean %s, max %s",
				fmt_ns((uint64_t)s->latency_mean_ns, a, sizeof(a)),
				fmt_ns(s->latency_max_ns, b, sizeof(b)));
		fprintf(f, "%s\n", s->session ? "" : " (version-1 stamps)");
	}
	if (rep->sessions > rep->nsession_rows)
		fprintf(f, "    %" PRIu64 " more sessions, in the totals only\n",
			rep->sessions - rep->nsession_rows);
}

static json_t *sessions_json(const struct salvo_report *rep)
{
	json_t *a = json_array();

	for (unsigned int i = 0; i < rep->nsession_rows; i++) {
		const struct salvo_report_session *s = &rep->session[i];

		json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}",
				      "session", (json_int_t)s->session,
				      "flows", (json_int_t)s->flows,
				      "packets", (json_int_t)s->packets,
				      "lost", (json_int_t)s->lost,
				      "reordered", (json_int_t)s->reordered,
				      "duplicates", (json_int_t)s->duplicates);

		/* Only where there were samples (ping's replies, ts 0 stamps have none). */
		if (s->latency_samples)
			json_object_set_new(o, "latency_ns",
					    json_pack("{s:I, s:f, s:I}",
						      "count", (json_int_t)s->latency_samples,
						      "mean", s->latency_mean_ns,
						      "max", (json_int_t)s->latency_max_ns));
		json_array_append_new(a, o);
	}
	return a;
}

/*
 * The kernel's own counters (include/salvo/kstats.h), on a line of their own
 * that starts "kernel:", so no reader takes them for the stamps' loss.  Only
 * those the backend read: a 0 here is the kernel saying "none".
 */
static void kernel_text(FILE *f, const struct salvo_kstats *k)
{
	const char *sep = " ";

	if (!k->have)
		return;
	fputs("  kernel:", f);
	if (k->have & SALVO_KSTAT_RCVBUF) {
		fprintf(f, "%srcvbuf drops %" PRIu64, sep, k->rcvbuf_drops);
		sep = "; ";
	}
	if (k->have & SALVO_KSTAT_RING) {
		fprintf(f, "%sring drops %" PRIu64 ", ring freezes %" PRIu64, sep, k->ring_drops,
			k->ring_freezes);
		sep = "; ";
	}
	if (k->have & SALVO_KSTAT_XDP) {
		fprintf(f, "%sxdp rx dropped %" PRIu64 ", rx ring full %" PRIu64 ", fill ring empty %"
			   PRIu64 ", rx invalid descs %" PRIu64 ", tx invalid descs %" PRIu64
			   ", tx ring empty %" PRIu64, sep, k->xdp_rx_dropped, k->xdp_rx_ring_full,
			k->xdp_rx_fill_ring_empty_descs, k->xdp_rx_invalid_descs,
			k->xdp_tx_invalid_descs, k->xdp_tx_ring_empty_descs);
		sep = "; ";
	}
	if (k->have & SALVO_KSTAT_TCP)
		fprintf(f, "%stcp retransmits %" PRIu64, sep, k->tcp_retrans);
	fputc('\n', f);
}

/* The same, as the summary's "kernel" object (docs/json.md); NULL when there is none. */
static json_t *kernel_json(const struct salvo_kstats *k)
{
	json_t *o;

	if (!k->have)
		return NULL;
	o = json_object();
#define KSET(name) json_object_set_new(o, #name, json_integer((json_int_t)k->name))
	if (k->have & SALVO_KSTAT_RCVBUF)
		KSET(rcvbuf_drops);
	if (k->have & SALVO_KSTAT_RING) {
		KSET(ring_drops);
		KSET(ring_freezes);
	}
	if (k->have & SALVO_KSTAT_XDP) {
		KSET(xdp_rx_dropped);
		KSET(xdp_rx_ring_full);
		KSET(xdp_rx_fill_ring_empty_descs);
		KSET(xdp_rx_invalid_descs);
		KSET(xdp_tx_invalid_descs);
		KSET(xdp_tx_ring_empty_descs);
	}
	if (k->have & SALVO_KSTAT_TCP)
		KSET(tcp_retrans);
#undef KSET
	return o;
}

void salvo_report_text(FILE *f, const struct salvo_report *rep, const struct salvo_cli_extra *x)
{
	char a[32], b[32], c[32], d[32], e[32], g[32], h[32];

	fprintf(f, "salvo %s: %s backend, %u thread%s, %.2f s%s\n", rep->command, rep->backend,
		rep->threads, rep->threads == 1 ? "" : "s", rep->duration_s,
		rep->interrupted ? " (interrupted)" : "");
	if (rep->has_tx && !(x && x->no_dirs)) {
		dir_text(f, "tx", &rep->tx);
		if (rep->tx_errors || rep->tx_refused)
			fprintf(f, "  tx errors: %" PRIu64 " (%" PRIu64 " refused: nobody listening)\n",
				rep->tx_errors, rep->tx_refused);
	}
	if (rep->has_pacing) {
		/* Below 1 pps (--rate 0.001) the integer form would read "target 0". */
		if (rep->target_pps < 10)
			snprintf(a, sizeof(a), "%.3g", rep->target_pps);
		else
			salvo_fmt_si(rep->target_pps, a, sizeof(a));
		fprintf(f, "  pacing: target %s pps, achieved %s pps, departure error mean %s, p99 %s\n", a,
			salvo_fmt_si(rep->tx.pps, b, sizeof(b)),
			fmt_ns((uint64_t)rep->pacing_err_mean_ns, c, sizeof(c)),
			fmt_ns(rep->pacing_err_p99_ns, d, sizeof(d)));
	}
	if (rep->has_rx && !(x && x->no_dirs)) {
		uint64_t exp = rep->rx.packets - rep->unstamped - rep->duplicates + rep->lost;

		dir_text(f, "rx", &rep->rx);
		/* Stamp accounting, where the receiver looked for stamps at all. */
		if (rep->flows || rep->unstamped)
			fprintf(f, "  lost %" PRIu64 " (%.3f%%), reordered %" PRIu64 ", duplicates %" PRIu64
				   ", unstamped %" PRIu64 ", flows %" PRIu64 "\n",
				rep->lost, exp ? 100.0 * (double)rep->lost / (double)exp : 0.0,
				rep->reordered, rep->duplicates, rep->unstamped, rep->flows);
		if (rep->flow_overflow)
			fprintf(f, "  flow table full: %" PRIu64 " stamped packets of flows beyond "
				   "it not accounted for loss, reordering or duplicates\n",
				rep->flow_overflow);
		sessions_text(f, rep);
	}
	if (rep->has_latency) {
		const struct salvo_report_latency *l = &rep->latency;

		fprintf(f, "  %s: p50 %s, p90 %s, p99 %s, p99.9 %s, p99.99 %s, max %s\n",
			x && x->latency_label ? x->latency_label : "one-way latency",
			fmt_ns(l->p50, a, sizeof(a)), fmt_ns(l->p90, b, sizeof(b)),
			fmt_ns(l->p99, c, sizeof(c)), fmt_ns(l->p999, d, sizeof(d)),
			fmt_ns(l->p9999, e, sizeof(e)), fmt_ns(l->max, g, sizeof(g)));
		if (l->clamped)
			fprintf(f, "  %s: %" PRIu64 " of %" PRIu64 " samples above the histogram's "
				   "%s, counted at it (clamped)\n",
				x && x->latency_label ? x->latency_label : "one-way latency",
				l->clamped, l->count, fmt_ns(SALVO_HIST_MAX, h, sizeof(h)));
	}
	kernel_text(f, &rep->kernel);
	if (x && x->text)
		x->text(f, rep, x->arg);
	if (rep->error[0])
		fprintf(f, "  error: %s\n", rep->error);
}

void salvo_report_interval_text(FILE *f, const struct salvo_report *rep)
{
	char a[32], b[32];

	fprintf(f, "[%7.2f-%7.2f s]", rep->t_start_s, rep->t_start_s + rep->duration_s);
	if (rep->has_tx)
		fprintf(f, " tx %" PRIu64 " pkts %9s pps %14s", rep->tx.packets,
			salvo_fmt_si(rep->tx.pps, a, sizeof(a)),
			salvo_fmt_bits(rep->tx.bits_per_second, b, sizeof(b)));
	if (rep->has_rx)
		fprintf(f, " rx %" PRIu64 " pkts %9s pps %14s  lost %" PRIu64 " reord %" PRIu64
			   " dup %" PRIu64, rep->rx.packets,
			salvo_fmt_si(rep->rx.pps, a, sizeof(a)),
			salvo_fmt_bits(rep->rx.bits_per_second, b, sizeof(b)), rep->lost,
			rep->reordered, rep->duplicates);
	if (rep->has_latency)
		fprintf(f, "  lat p50 %s p99 %s", fmt_ns(rep->latency.p50, a, sizeof(a)),
			fmt_ns(rep->latency.p99, b, sizeof(b)));
	fputc('\n', f);
	/* As the summary: one row per sender when there were several. */
	if (rep->has_rx)
		sessions_text(f, rep);
}

/*
 * The process's identity for its records: one per process (the command's
 * run or a profile's streams share it), so a file-scope copy rather than a
 * parameter through every report function.
 */
static struct {
	bool set;
	char host[256];
	struct salvo_cli_fleet f;
	uint64_t start_at_ns;
} id;

void salvo_cli_fleet_identity(const struct salvo_cli_fleet *f, uint64_t start_at_ns)
{
	id.f = *f;
	id.start_at_ns = start_at_ns;
	if (gethostname(id.host, sizeof(id.host) - 1))
		snprintf(id.host, sizeof(id.host), "unknown");
	id.set = true;
}

/*
 * The host clock as the kernel's NTP discipline sees it (adjtimex(2),
 * read only): synchronised unless STA_UNSYNC is set or the state is
 * TIME_ERROR; esterror and maxerror in µs.
 */
static json_t *clock_json(void)
{
	struct timex tx = {.modes = 0};
	int state = adjtimex(&tx);
	bool sync;

	if (state < 0)
		return json_pack("{s:s, s:b}", "source", "none", "synchronized", 0);
	sync = state != TIME_ERROR && !(tx.status & STA_UNSYNC);
	return json_pack("{s:s, s:b, s:I, s:I}", "source", "adjtimex", "synchronized", sync,
			 "esterror_us", (json_int_t)tx.esterror, "maxerror_us", (json_int_t)tx.maxerror);
}

static void fleet_json(json_t *root, const struct salvo_report *rep)
{
	uint64_t start = rep->start_unix_ns;

	if (!id.set)
		return;
	json_object_set_new(root, "host", json_string(id.host));
	json_object_set_new(root, "pid", json_integer((json_int_t)getpid()));
	if (id.f.run_id)
		json_object_set_new(root, "run_id", json_string(id.f.run_id));
	if (id.f.labels.n) {
		json_t *l = json_object();

		for (unsigned int i = 0; i < id.f.labels.n; i++) {
			const char *eq = strchr(id.f.labels.v[i], '=');
			char key[128];

			snprintf(key, sizeof(key), "%.*s", (int)(eq - id.f.labels.v[i]), id.f.labels.v[i]);
			json_object_set_new(l, key, json_string(eq + 1));
		}
		json_object_set_new(root, "labels", l);
	}
	/* The record's own start: the run's, plus the interval's offset. */
	if (start) {
		if (rep->interval)
			start += (uint64_t)(rep->t_start_s * 1e9 + 0.5);
		json_object_set_new(root, "start_unix_ns", json_integer((json_int_t)start));
	}
	if (id.start_at_ns && !rep->interval)
		json_object_set_new(root, "start_at_unix_ns", json_integer((json_int_t)id.start_at_ns));
	json_object_set_new(root, "clock", clock_json());
}

/*
 * The histogram itself (docs/json.md, "hist"): the non-empty buckets as
 * [index, count] pairs, index as in include/salvo/hist.h.  With the
 * count, min, max, mean and clamped beside it, salvo merge rebuilds it exactly.
 */
static json_t *hist_json(const struct salvo_hist *h)
{
	json_t *counts = json_array();
	uint64_t n;

	for (size_t i = 0; (n = salvo_hist_bucket_next(h, &i)); i++)
		json_array_append_new(counts, json_pack("[I, I]", (json_int_t)i, (json_int_t)n));
	return json_pack("{s:s, s:i, s:i, s:o}", "unit", "ns", "sub_bucket_bits", SALVO_HIST_SUB_BITS,
			 "max_bits", SALVO_HIST_MAX_BITS, "counts", counts);
}

static json_t *dir_json(const struct salvo_report_dir *d)
{
	return json_pack("{s:I, s:I, s:f, s:f, s:f}", "packets", (json_int_t)d->packets, "bytes",
			 (json_int_t)d->bytes, "pps", d->pps, "bits_per_second", d->bits_per_second,
			 "active_s", d->active_s);
}

json_t *salvo_report_json(const struct salvo_report *rep, const struct salvo_cli_extra *x)
{
	json_t *root = json_object();

	json_object_set_new(root, "schema", json_integer(SALVO_JSON_SCHEMA));
	json_object_set_new(root, "type", json_string(rep->interval ? "interval" : "summary"));
	json_object_set_new(root, "command", json_string(rep->command ? rep->command : ""));
	json_object_set_new(root, "backend", json_string(rep->backend ? rep->backend : ""));
	json_object_set_new(root, "threads", json_integer(rep->threads));
	if (rep->interval)
		json_object_set_new(root, "start_s", json_real(rep->t_start_s));
	json_object_set_new(root, "duration_s", json_real(rep->duration_s));
	if (!rep->interval)
		json_object_set_new(root, "interrupted", json_boolean(rep->interrupted));
	if (rep->has_tx && !(x && x->no_dirs)) {
		json_t *tx = dir_json(&rep->tx);

		json_object_set_new(tx, "errors", json_integer((json_int_t)rep->tx_errors));
		json_object_set_new(tx, "refused", json_integer((json_int_t)rep->tx_refused));
		json_object_set_new(tx, "submissions", json_integer((json_int_t)rep->submissions));
		if (!rep->interval && rep->tx_session)
			json_object_set_new(tx, "session", json_integer((json_int_t)rep->tx_session));
		json_object_set_new(root, "tx", tx);
	}
	if (rep->has_rx && !(x && x->no_dirs)) {
		json_t *rx = dir_json(&rep->rx);

		json_object_set_new(rx, "lost", json_integer((json_int_t)rep->lost));
		json_object_set_new(rx, "reordered", json_integer((json_int_t)rep->reordered));
		json_object_set_new(rx, "duplicates", json_integer((json_int_t)rep->duplicates));
		json_object_set_new(rx, "unstamped", json_integer((json_int_t)rep->unstamped));
		json_object_set_new(rx, "flows", json_integer((json_int_t)rep->flows));
		json_object_set_new(rx, "flow_overflow", json_integer((json_int_t)rep->flow_overflow));
		/* Intervals too: their rows are the interval's own counts (summing to the summary's). */
		json_object_set_new(rx, "session_count", json_integer((json_int_t)rep->sessions));
		json_object_set_new(rx, "sessions", sessions_json(rep));
		json_object_set_new(root, "rx", rx);
	}
	if (rep->has_latency) {
		const struct salvo_report_latency *l = &rep->latency;

		json_object_set_new(root, "latency_ns",
				    json_pack("{s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I}",
					      "count", (json_int_t)l->count,
					      "clamped", (json_int_t)l->clamped, "min", (json_int_t)l->min,
					      "mean", l->mean, "p50", (json_int_t)l->p50, "p90",
					      (json_int_t)l->p90, "p99", (json_int_t)l->p99, "p999",
					      (json_int_t)l->p999, "p9999", (json_int_t)l->p9999, "max",
					      (json_int_t)l->max));
		if (rep->hist)
			json_object_set_new(json_object_get(root, "latency_ns"), "hist",
					    hist_json(rep->hist));
	}
	if (rep->has_pacing && !rep->interval)
		json_object_set_new(root, "pacing",
				    json_pack("{s:f, s:f, s:f, s:I}", "target_pps", rep->target_pps,
					      "achieved_pps", rep->tx.pps, "error_mean_ns",
					      rep->pacing_err_mean_ns, "error_p99_ns",
					      (json_int_t)rep->pacing_err_p99_ns));
	if (!rep->interval && rep->kernel.have)
		json_object_set_new(root, "kernel", kernel_json(&rep->kernel));
	if (x && x->json)
		x->json(root, rep, x->arg);
	if (rep->error[0])
		json_object_set_new(root, "error", json_string(rep->error));
	fleet_json(root, rep);
	return root;
}

void salvo_json_print(FILE *f, json_t *doc, bool pretty)
{
	char *s;

	/*
	 * Every document salvo prints goes out through here, so this is the one
	 * place that stamps it with the build that made it (a bug report's
	 * JSON says which salvo and libraries produced it).
	 */
	if (json_is_object(doc) && !json_object_get(doc, "version"))
		json_object_set_new(doc, "version", salvo_version_json());
	s = json_dumps(doc, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER |
					  JSON_REAL_PRECISION(10));
	if (s) {
		fprintf(f, "%s\n", s);
		free(s);
	}
	fflush(f);
}

void salvo_print_payload(const char *before, const struct salvo_pkt *k)
{
	char from[SALVO_ADDR_STRLEN];
	const char *mark = strstr(before, "%p");
	size_t n = (size_t)k->len * 4 + 1;	/* every byte escapes to at most 4 */
	char *buf = malloc(n);

	if (!buf)
		return;
	salvo_escape(k->data, k->len, buf, n);
	flockfile(stdout);
	if (mark)
		printf("%.*s%s%s%s\n", (int)(mark - before), before,
		       salvo_addr_str(&k->peer, from, sizeof(from)), mark + 2, buf);
	else
		printf("%s%s\n", before, buf);
	fflush(stdout);
	funlockfile(stdout);
	free(buf);
}

char *salvo_escape(const uint8_t *d, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (!outlen)
		return out;
	for (size_t i = 0; i < len; i++) {
		uint8_t ch = d[i];
		char tmp[5];
		size_t n;

		if (ch == '\\')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\\\");
		else if (ch == '\n')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
		else if (ch == '\t')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
		else if (ch == '\r')
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\r");
		else if (ch >= 0x20 && ch < 0x7f)
			tmp[0] = (char)ch, tmp[1] = 0, n = 1;
		else
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", ch);
		/* Whole escapes only, and always room for the NUL: 4 * len + 1 always fits. */
		if (o + n >= outlen)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	out[o] = 0;
	return out;
}

/* "accepted", "refused (why)", or "accepted by N, refused by M (why)" over the run's sockets. */
static const char *sockopt_verdict(uint32_t ok, uint32_t refused, int err, char *buf, size_t len)
{
	if (!refused)
		snprintf(buf, len, "accepted");
	else if (!ok)
		snprintf(buf, len, "refused (%s)", strerror(err));
	else
		snprintf(buf, len, "accepted by %u sockets, refused by %u (%s)", ok, refused,
			 strerror(err));
	return buf;
}

void salvo_report_wait_text(FILE *f, const struct salvo_report *rep)
{
	char a[96], b[96];

	if (!rep->busy_poll) {
		fprintf(f, "  wait: sleep (in the kernel until a datagram arrives)\n");
		return;
	}
	fprintf(f, "  wait: busy-poll (SO_BUSY_POLL %u us: %s; SO_PREFER_BUSY_POLL: %s)\n",
		rep->busy_poll_us,
		sockopt_verdict(rep->busy_poll_ok, rep->busy_poll_refused, rep->busy_poll_errno, a,
				sizeof(a)),
		sockopt_verdict(rep->prefer_busy_poll_ok, rep->prefer_busy_poll_refused,
				rep->busy_poll_errno, b, sizeof(b)));
}

void salvo_report_wait_section(json_t *root, const struct salvo_report *rep, void *arg)
{
	json_t *o;

	if (rep->interval)
		return;	/* intervals have no such section */
	o = json_object();
	salvo_report_wait_json(o, rep);
	json_object_set_new(root, arg, o);
}

void salvo_report_wait_json(json_t *obj, const struct salvo_report *rep)
{
	bool bp = rep->busy_poll;

	json_object_set_new(obj, "wait", json_string(bp ? "busy-poll" : "sleep"));
	json_object_set_new(obj, "busy_poll_us", json_integer(bp ? rep->busy_poll_us : 0));
	/* Every receiving socket took it (none refused, at least one asked). */
	json_object_set_new(obj, "so_busy_poll",
			    json_boolean(bp && rep->busy_poll_ok && !rep->busy_poll_refused));
	json_object_set_new(obj, "so_prefer_busy_poll",
			    json_boolean(bp && rep->prefer_busy_poll_ok &&
					 !rep->prefer_busy_poll_refused));
}
