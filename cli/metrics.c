// SPDX-License-Identifier: MIT
/*
 * --metrics: the Prometheus text exposition of a run's cumulative figures,
 * served by libmicrohttpd on its own thread.
 *
 * The workers never see it.  The run driver already takes a cumulative
 * snapshot at every tick (salvo_run_snapshot(), the one interval reports
 * and the progress line use) and hands it here under one mutex; a scrape
 * formats what was handed last under the same mutex.  So a scrape costs
 * the driver's thread at most the wait for one format, and no counter or
 * lock is added per packet.
 *
 * What a client sends is read for its method and URL only (GET or HEAD of
 * /metrics; 404 for another path, 405 for another method); libmicrohttpd
 * parses the request, and its limits bound what a hostile client can hold:
 * CONN_LIMIT connections, CONN_TIMEOUT_S of silence, 32 KiB of headers.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include <salvo/common.h>

#include "metrics.h"

#define CONN_LIMIT 16
#define CONN_TIMEOUT_S 5
/* Rates are over at least this long (the driver's ticks are 200 ms, or -i). */
#define RATE_WINDOW_NS NSEC_PER_SEC

const uint64_t salvo_metrics_bounds_ns[SALVO_METRICS_NBOUNDS] = {
	1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000,
	1000000, 2000000, 5000000, 10000000, 20000000, 50000000, 100000000, 200000000, 500000000,
	1000000000, 2000000000, 5000000000ULL, 10000000000ULL,
};

/* --- the text ------------------------------------------------------------ */

/* A label value as the format wants it: \ " and newline escaped. */
static void put_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/*
 * A --label key is [A-Za-z_][A-Za-z0-9_.-]* (cli/fleet.c); a Prometheus
 * label name has no '.' or '-': they become '_'.  A key that would then
 * shadow one of salvo's own labels (or Prometheus's "le") is prefixed
 * "label_".
 */
static void put_key(FILE *f, const char *k, size_t n)
{
	static const char *const own[] = {"host", "run_id", "stream", "le", NULL};

	for (const char *const *o = own; *o; o++)
		if (strlen(*o) == n && !memcmp(*o, k, n))
			fputs("label_", f);
	for (size_t i = 0; i < n; i++)
		fputc(k[i] == '.' || k[i] == '-' ? '_' : k[i], f);
}

/* {host="..",run_id="..",KEY="..",stream=".."[,le=".."]} */
static void put_labels(FILE *f, const struct salvo_metrics_labels *l, const char *stream,
		       const char *le)
{
	fputs("{host=\"", f);
	put_value(f, l->host ? l->host : "");
	fputc('"', f);
	if (l->run_id) {
		fputs(",run_id=\"", f);
		put_value(f, l->run_id);
		fputc('"', f);
	}
	for (unsigned int i = 0; i < l->nkv; i++) {
		const char *eq = strchr(l->kv[i], '=');

		if (!eq)
			continue;
		fputc(',', f);
		put_key(f, l->kv[i], (size_t)(eq - l->kv[i]));
		fputs("=\"", f);
		put_value(f, eq + 1);
		fputc('"', f);
	}
	if (stream) {
		fputs(",stream=\"", f);
		put_value(f, stream);
		fputc('"', f);
	}
	if (le)
		fprintf(f, ",le=\"%s\"", le);
	fputc('}', f);
}

static void put_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Which series a family has a sample for. */
enum want { TX, RX, ANY };

static bool wanted(const struct salvo_report *r, enum want w)
{
	return w == ANY || (w == TX ? r->has_tx : r->has_rx);
}

struct family {
	const char *name, *type, *help;
	enum want want;
	size_t off;		/* of a uint64_t in struct salvo_report, or... */
	int rate;		/* ...1-4: tx_pps, rx_pps, tx_bps, rx_bps */
};

#define U64(name, type, want, member, help) {name, type, help, want, offsetof(struct salvo_report, member), 0}
#define RATE(name, want, which, help) {name, "gauge", help, want, 0, which}

/*
 * The same figures as the summary's JSON (docs/json.md), under the names
 * of docs/fleet.md.  "lost" is a gauge: a late arrival takes a packet back
 * off it, and a counter must never go down.
 */
static const struct family families[] = {
	U64("salvo_tx_packets_total", "counter", TX, tx.packets, "Packets sent (JSON tx.packets)."),
	U64("salvo_tx_bytes_total", "counter", TX, tx.bytes, "Bytes sent (JSON tx.bytes)."),
	U64("salvo_tx_errors_total", "counter", TX, tx_errors, "Send errors (JSON tx.errors)."),
	U64("salvo_tx_refused_total", "counter", TX, tx_refused, "Sends refused by the peer (JSON tx.refused)."),
	U64("salvo_rx_packets_total", "counter", RX, rx.packets, "Packets received (JSON rx.packets)."),
	U64("salvo_rx_bytes_total", "counter", RX, rx.bytes, "Bytes received (JSON rx.bytes)."),
	U64("salvo_lost_packets", "gauge", RX, lost, "Stamped packets missing so far (JSON rx.lost)."),
	U64("salvo_reordered_packets_total", "counter", RX, reordered, "Packets that arrived out of order (JSON rx.reordered)."),
	U64("salvo_duplicate_packets_total", "counter", RX, duplicates, "Packets that arrived twice (JSON rx.duplicates)."),
	U64("salvo_unstamped_packets_total", "counter", RX, unstamped, "Packets without a salvo stamp (JSON rx.unstamped)."),
	RATE("salvo_tx_packets_per_second", TX, 1, "Send rate over the last window of at least 1 s."),
	RATE("salvo_rx_packets_per_second", RX, 2, "Receive rate over the last window of at least 1 s."),
	RATE("salvo_tx_bits_per_second", TX, 3, "Send rate in bits over the last window of at least 1 s."),
	RATE("salvo_rx_bits_per_second", RX, 4, "Receive rate in bits over the last window of at least 1 s."),
};

static double rate_of(const struct salvo_metrics_series *s, int which)
{
	switch (which) {
	case 1: return s->tx_pps;
	case 2: return s->rx_pps;
	case 3: return s->tx_bps;
	default: return s->rx_bps;
	}
}

/* The latency histogram: cumulative buckets at the fixed bounds, +Inf, sum, count. */
static void put_hist(FILE *f, const struct salvo_metrics_labels *l,
		     const struct salvo_metrics_series *s)
{
	uint64_t total = salvo_hist_count(s->lat), below = 0;
	size_t i = 0, nb = salvo_hist_nbuckets();
	char le[32];

	for (unsigned int b = 0; b < SALVO_METRICS_NBOUNDS; b++) {
		uint64_t n;

		/* Every bucket whose low edge is at or below the bound (its samples are <= bound to 1/2048). */
		while (i < nb && (n = salvo_hist_bucket_next(s->lat, &i)) &&
		       salvo_hist_bucket_lo(i) <= salvo_metrics_bounds_ns[b]) {
			below += n;
			i++;
		}
		snprintf(le, sizeof(le), "%.9g", (double)salvo_metrics_bounds_ns[b] / 1e9);
		fputs("salvo_latency_seconds_bucket", f);
		put_labels(f, l, s->stream, le);
		fprintf(f, " %" PRIu64 "\n", below);
	}
	fputs("salvo_latency_seconds_bucket", f);
	put_labels(f, l, s->stream, "+Inf");
	fprintf(f, " %" PRIu64 "\n", total);
	fputs("salvo_latency_seconds_sum", f);
	put_labels(f, l, s->stream, NULL);
	fprintf(f, " %.9g\n", total ? salvo_hist_mean(s->lat) * (double)total / 1e9 : 0.0);
	fputs("salvo_latency_seconds_count", f);
	put_labels(f, l, s->stream, NULL);
	fprintf(f, " %" PRIu64 "\n", total);
}

int salvo_metrics_format(char **out, size_t *len, const struct salvo_metrics_labels *l,
			 const struct salvo_metrics_series *s, unsigned int n)
{
	FILE *f = open_memstream(out, len);
	bool any;

	if (!f)
		return -ENOMEM;
	/* A family's HELP/TYPE once, with its samples after it (the format wants them together). */
	for (size_t k = 0; k < SALVO_ARRAY_SIZE(families); k++) {
		const struct family *fa = &families[k];

		any = false;
		for (unsigned int i = 0; i < n; i++)
			any |= wanted(s[i].rep, fa->want);
		if (!any)
			continue;
		put_head(f, fa->name, fa->type, fa->help);
		for (unsigned int i = 0; i < n; i++) {
			if (!wanted(s[i].rep, fa->want))
				continue;
			fputs(fa->name, f);
			put_labels(f, l, s[i].stream, NULL);
			if (fa->rate)
				fprintf(f, " %.9g\n", rate_of(&s[i], fa->rate));
			else
				fprintf(f, " %" PRIu64 "\n",
					*(const uint64_t *)((const char *)s[i].rep + fa->off));
		}
	}
	any = false;
	for (unsigned int i = 0; i < n; i++)
		any |= s[i].lat != NULL;
	if (any) {
		put_head(f, "salvo_latency_seconds", "histogram",
			 "One-way latency of stamped packets (the JSON latency_ns, in seconds).");
		for (unsigned int i = 0; i < n; i++)
			if (s[i].lat)
				put_hist(f, l, &s[i]);
	}
	put_head(f, "salvo_run_seconds", "gauge", "Time since the run started.");
	for (unsigned int i = 0; i < n; i++) {
		fputs("salvo_run_seconds", f);
		put_labels(f, l, s[i].stream, NULL);
		fprintf(f, " %.6f\n", s[i].rep->duration_s);
	}
	if (fclose(f)) {
		free(*out);
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int salvo_metrics_parse(const char *spec, struct salvo_addr *out, char *err, size_t errlen)
{
	if (!strncmp(spec, "unix:", 5)) {
		snprintf(err, errlen, "'%s': an HTTP endpoint needs [ADDR:]PORT, not a unix socket", spec);
		return -EINVAL;
	}
	return salvo_addr_parse_bind(spec, "127.0.0.1", true, out, err, errlen);
}

/* --- the endpoint ---------------------------------------------------------- */

struct slot {
	const char *name;		/* stream label (the caller's string, alive as long as the run) */
	struct salvo_report rep;	/* the last cumulative snapshot */
	struct salvo_hist *lat;		/* every latency sample handed so far */
	bool has_lat;
	/* The rate window: its start (time, counters) and the rates of the last one closed. */
	uint64_t win_ns, win_tx_pkts, win_tx_bytes, win_rx_pkts, win_rx_bytes;
	double tx_pps, rx_pps, tx_bps, rx_bps;
};

struct salvo_metrics {
	struct MHD_Daemon *d;
	/* Taken by the driver's update and by a scrape's format: once each, never per packet. */
	pthread_mutex_t lock;
	struct salvo_metrics_labels labels;
	char host[256];
	unsigned int n;
	struct slot slot[];
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, char *body, size_t len,
			     enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result rc;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return rc;
}

static char *scrape(struct salvo_metrics *m, size_t *len)
{
	struct salvo_metrics_series *s = calloc(m->n, sizeof(*s));
	char *text = NULL;

	if (!s)
		return NULL;
	pthread_mutex_lock(&m->lock);
	for (unsigned int i = 0; i < m->n; i++) {
		s[i] = (struct salvo_metrics_series){
			.stream = m->slot[i].name,
			.rep = &m->slot[i].rep,
			.lat = m->slot[i].has_lat ? m->slot[i].lat : NULL,
			.tx_pps = m->slot[i].tx_pps, .rx_pps = m->slot[i].rx_pps,
			.tx_bps = m->slot[i].tx_bps, .rx_bps = m->slot[i].rx_bps,
		};
	}
	if (salvo_metrics_format(&text, len, &m->labels, s, m->n))
		text = NULL;
	pthread_mutex_unlock(&m->lock);
	free(s);
	return text;
}

/* libmicrohttpd's access handler: the method and the URL are all it reads. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **con_cls)
{
	static char not_found[] = "not found: the metrics are at /metrics\n";
	static char not_allowed[] = "only GET and HEAD\n";
	static char failed[] = "out of memory\n";
	struct salvo_metrics *m = cls;
	char *text;
	size_t len;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, strlen(not_allowed),
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found),
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	text = scrape(m, &len);
	if (!text)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, failed, strlen(failed),
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	return reply(c, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_FREE,
		     "text/plain; version=0.0.4; charset=utf-8");
}

static void metrics_free(struct salvo_metrics *m)
{
	for (unsigned int i = 0; i < m->n; i++)
		salvo_hist_destroy(m->slot[i].lat);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

int salvo_metrics_start(struct salvo_metrics **out, const struct salvo_addr *addr,
			const struct salvo_metrics_labels *l, const char *const *names,
			unsigned int n, struct salvo_addr *bound, char *err, size_t errlen)
{
	struct salvo_metrics *m = calloc(1, sizeof(*m) + n * sizeof(m->slot[0]));
	char text[SALVO_ADDR_STRLEN];
	int fd = -1, one = 1, rc;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&m->lock, NULL);
	m->n = n;
	m->labels = *l;
	if (!m->labels.host) {
		if (gethostname(m->host, sizeof(m->host) - 1))
			snprintf(m->host, sizeof(m->host), "unknown");
		m->labels.host = m->host;
	}
	for (unsigned int i = 0; i < n; i++) {
		/* The array may be the caller's local: the strings are kept, not it. */
		m->slot[i].name = names ? names[i] : NULL;
		rc = salvo_hist_create(&m->slot[i].lat);
		if (rc) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	/*
	 * The socket is ours, handed to libmicrohttpd: a bind error says why
	 * (a taken port is not "could not start"), and port 0's pick is read back.
	 */
	*bound = *addr;
	fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, &addr->sa, addr->len) || listen(fd, CONN_LIMIT) ||
	    getsockname(fd, &bound->sa, &bound->len)) {
		rc = -errno;
		snprintf(err, errlen, "--metrics %s: %s", salvo_addr_str(addr, text, sizeof(text)),
			 strerror(-rc));
		goto fail;
	}
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
					(addr->sa.sa_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				0, NULL, NULL, on_request, m,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONN_LIMIT,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)CONN_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
				MHD_OPTION_END);
	if (!m->d) {
		rc = -EIO;
		snprintf(err, errlen, "--metrics %s: the HTTP server (libmicrohttpd) did not start",
			 salvo_addr_str(bound, text, sizeof(text)));
		goto fail;
	}
	*out = m;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	metrics_free(m);
	return rc;
}

void salvo_metrics_update(struct salvo_metrics *m, unsigned int i, const struct salvo_report *snap,
			  uint64_t now_ns)
{
	struct slot *s;

	if (!m || i >= m->n)
		return;
	s = &m->slot[i];
	pthread_mutex_lock(&m->lock);
	s->rep = *snap;
	s->rep.hist = NULL;	/* the run's, valid only until its next snapshot */
	if (snap->hist) {
		salvo_hist_merge(s->lat, snap->hist);
		s->has_lat = true;
	}
	if (!s->win_ns) {
		s->win_ns = now_ns;
	} else if (now_ns - s->win_ns >= RATE_WINDOW_NS) {
		double dt = (double)(now_ns - s->win_ns) / 1e9;

		s->tx_pps = (double)(snap->tx.packets - s->win_tx_pkts) / dt;
		s->rx_pps = (double)(snap->rx.packets - s->win_rx_pkts) / dt;
		s->tx_bps = (double)(snap->tx.bytes - s->win_tx_bytes) * 8 / dt;
		s->rx_bps = (double)(snap->rx.bytes - s->win_rx_bytes) * 8 / dt;
		s->win_ns = now_ns;
	} else {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	s->win_tx_pkts = snap->tx.packets;
	s->win_tx_bytes = snap->tx.bytes;
	s->win_rx_pkts = snap->rx.packets;
	s->win_rx_bytes = snap->rx.bytes;
	pthread_mutex_unlock(&m->lock);
}

void salvo_metrics_stop(struct salvo_metrics *m)
{
	if (!m)
		return;
	/* Joins libmicrohttpd's thread and closes every connection, a silent one too. */
	MHD_stop_daemon(m->d);
	metrics_free(m);
}
