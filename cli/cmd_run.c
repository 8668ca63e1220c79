// SPDX-License-Identifier: MIT
/*
 * salvo run PROFILE.json: several streams at once, each with its own
 * headers, variation, size, rate and backend (docs/profiles.md).  Each
 * stream is one salvo_run with its own workers and pacer; all start
 * together and the profile ends when every stream has.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include <salvo/backend.h>
#include <salvo/pktgen.h>
#include <salvo/units.h>

#include "cli.h"
#include "cmd_raw.h"

#define MAX_STREAMS 64

struct run_opts {
	bool json;
	bool verbose;
	uint64_t duration_ns;
};

#define O(field) offsetof(struct run_opts, field)

static const struct salvo_opt run_table[] = {
	{"json", 'J', SALVO_OPT_FLAG, O(json), NULL, "print one JSON document: the profile's streams and their summaries"},
	{"verbose", 'v', SALVO_OPT_FLAG, O(verbose), NULL, "say what each stream set up"},
	{"duration", 'd', SALVO_OPT_DURATION, O(duration_ns), NULL, "override the profile's duration"},
	SALVO_OPT_END,
};

static const struct salvo_opt *const run_tables[] = { run_table, NULL };

struct stream {
	const char *name;
	char namebuf[32];
	struct salvo_cfg cfg;
	struct salvo_l2_cfg l2;
	struct salvo_pcap *pcap;
	bool raw;
	const struct salvo_backend_ops *ops;
	struct salvo_run *run;
	bool done;
	struct salvo_report rep;
};

static struct stream *g_streams;
static unsigned int g_nstreams;

static void on_signal(int sig)
{
	(void)sig;
	for (unsigned int i = 0; i < g_nstreams; i++)
		if (g_streams[i].run)
			salvo_run_interrupt(g_streams[i].run);
}

static const char *const stream_keys[] = {
	"name", "type", "backend", "iface", "dst", "src", "dst_mac", "src_mac", "dport", "sport",
	"flows", "size", "vlan", "vlan_prio", "ttl", "tos", "tcp_syn", "frame_hex", "pcap",
	"pcap_timing", "qdisc", "stamp", "rate", "count", "duration", "threads", "burst", "seed",
	NULL,
};

/* A value as text: strings as they are, numbers printed (so "rate": 1000 works). */
static const char *text(json_t *o, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		snprintf(buf, len, "%.17g", json_real_value(v));
		return buf;
	}
	return "";	/* wrong type: the parser below says so */
}

static int uint_of(json_t *o, const char *key, unsigned int max, unsigned int *out, char *err,
		   size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		snprintf(err, errlen, "\"%s\" must be an integer 0..%u", key, max);
		return -EINVAL;
	}
	*out = (unsigned int)json_integer_value(v);
	return 0;
}

static int bool_of(json_t *o, const char *key, bool *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "\"%s\" must be true or false", key);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

static int parse_stream(struct stream *s, json_t *o, uint64_t duration_ns, char *err,
			size_t errlen)
{
	char b[14][64];
	const char *key, *type, *v;
	json_t *val;
	unsigned int threads = 1, burst = 32, flows = 1, vlan = 0, prio = 0, ttl = 64, tos = 0;
	bool tcp_syn = false, stamp = true, qdisc = false, timing = false;
	int rc;

	if (!json_is_object(o)) {
		snprintf(err, errlen, "each stream is an object");
		return -EINVAL;
	}
	json_object_foreach(o, key, val) {
		unsigned int i;

		for (i = 0; stream_keys[i] && strcmp(stream_keys[i], key); i++)
			;
		if (!stream_keys[i]) {
			snprintf(err, errlen, "unknown key \"%s\" (docs/profiles.md lists them)", key);
			return -EINVAL;
		}
	}
	/* Names that outlive this function must be JSON strings (they point into the document). */
	s->name = json_string_value(json_object_get(o, "name"));
	type = json_string_value(json_object_get(o, "type"));
	if (!type)
		type = "raw";
	salvo_cfg_init(&s->cfg);
	s->cfg.backend = json_string_value(json_object_get(o, "backend"));
	if (json_object_get(o, "backend") && !s->cfg.backend) {
		snprintf(err, errlen, "\"backend\" must be a string");
		return -EINVAL;
	}
	if ((rc = salvo_cli_backend_check(s->cfg.backend, err, errlen)))
		return -EINVAL;
	s->cfg.duration_ns = duration_ns;
	if ((rc = uint_of(o, "threads", 256, &threads, err, errlen)) ||
	    (rc = uint_of(o, "burst", 1024, &burst, err, errlen)) ||
	    (rc = uint_of(o, "flows", 65535, &flows, err, errlen)) ||
	    (rc = uint_of(o, "vlan", 4094, &vlan, err, errlen)) ||
	    (rc = uint_of(o, "vlan_prio", 7, &prio, err, errlen)) ||
	    (rc = uint_of(o, "ttl", 255, &ttl, err, errlen)) ||
	    (rc = uint_of(o, "tos", 255, &tos, err, errlen)) ||
	    (rc = bool_of(o, "tcp_syn", &tcp_syn, err, errlen)) ||
	    (rc = bool_of(o, "stamp", &stamp, err, errlen)) ||
	    (rc = bool_of(o, "qdisc", &qdisc, err, errlen)) ||
	    (rc = bool_of(o, "pcap_timing", &timing, err, errlen)))
		return rc;
	s->cfg.threads = threads ? threads : 1;
	s->cfg.burst = burst ? burst : 32;
	s->cfg.stamp = stamp;
	if ((v = text(o, "rate", b[3], sizeof(b[3]))) &&
	    salvo_parse_rate(v, &s->cfg.rate_pps, &s->cfg.rate_bps, err, errlen))
		return -EINVAL;
	if ((v = text(o, "count", b[4], sizeof(b[4])))) {
		if (salvo_parse_count(v, &s->cfg.count, err, errlen))
			return -EINVAL;
		if (!s->cfg.count) {
			/* as --count 0: refused, not read as "no limit" */
			snprintf(err, errlen, "\"count\": 0 is not a count: give 1 or more, or leave it out");
			return -EINVAL;
		}
	}
	if ((v = text(o, "duration", b[5], sizeof(b[5]))) &&
	    salvo_parse_duration(v, &s->cfg.duration_ns, err, errlen))
		return -EINVAL;
	if (duration_ns)
		s->cfg.duration_ns = duration_ns;	/* the command line wins */
	if (!s->cfg.count && !s->cfg.duration_ns) {
		snprintf(err, errlen, "no \"count\" or \"duration\": a profile's streams are bounded");
		return -EINVAL;
	}
	if (!strcmp(type, "udp")) {
		const char *dst = text(o, "dst", b[6], sizeof(b[6]));
		uint64_t size = 64;

		if (!dst || salvo_addr_parse(dst, &s->cfg.remote, err, errlen)) {
			if (!dst)
				snprintf(err, errlen, "a udp stream needs \"dst\": \"HOST:PORT\"");
			return -EINVAL;
		}
		if ((v = text(o, "size", b[7], sizeof(b[7]))) &&
		    salvo_parse_size(v, &size, err, errlen))
			return -EINVAL;
		s->cfg.command = "udp send";
		s->cfg.proto = SALVO_PROTO_UDP;
		s->cfg.dir = SALVO_DIR_TX;
		s->cfg.connect = true;
		s->cfg.size = (uint32_t)size;
		s->cfg.flows = flows;
		return 0;
	}
	if (strcmp(type, "raw")) {
		snprintf(err, errlen, "\"type\" is \"raw\" or \"udp\", not \"%s\"", type);
		return -EINVAL;
	}
	s->raw = true;
	s->cfg.command = "raw send";
	s->cfg.iface = json_string_value(json_object_get(o, "iface"));
	salvo_l2_cfg_init(&s->l2);
	if ((v = text(o, "frame_hex", b[9], sizeof(b[9])))) {
		s->l2.src = SALVO_FRAMES_HEX;
		rc = salvo_hex_parse(v, &s->l2.frame, &s->l2.frame_len, err, errlen);
	} else if ((v = json_string_value(json_object_get(o, "pcap")))) {
		s->l2.src = SALVO_FRAMES_PCAP;
		s->l2.pcap_path = v;
		s->l2.pcap_timing = timing;
		rc = 0;
	} else {
		/* JSON strings live as long as the document, which outlives the run. */
		struct salvo__raw_fields f = {
			.dst = text(o, "dst", b[6], sizeof(b[6])),
			.src = text(o, "src", b[10], sizeof(b[10])),
			.dst_mac = text(o, "dst_mac", b[11], sizeof(b[11])),
			.src_mac = text(o, "src_mac", b[12], sizeof(b[12])),
			.dport = text(o, "dport", b[13], sizeof(b[13])),
			.sport = NULL,
			.size = NULL,
			.flows = flows,
		};
		char pb[64], sb[64];

		f.sport = text(o, "sport", pb, sizeof(pb));
		f.size = text(o, "size", sb, sizeof(sb));
		if (!f.dst) {
			snprintf(err, errlen, "a raw stream needs \"dst\" (or \"frame_hex\" / \"pcap\")");
			return -EDESTADDRREQ;
		}
		rc = salvo__raw_l2_fields(&s->l2, &f, err, errlen);
		s->l2.vlan = (uint16_t)vlan;
		s->l2.vlan_prio = (uint8_t)prio;
		s->l2.ttl = (uint8_t)ttl;
		s->l2.tos = (uint8_t)tos;
		s->l2.l4 = tcp_syn ? SALVO_L4_TCP_SYN : SALVO_L4_UDP;
	}
	if (rc)
		return rc;
	s->l2.qdisc = qdisc;
	s->l2.stamp = stamp;
	s->l2.stamp_clock = s->cfg.stamp_clock;
	if ((v = text(o, "seed", b[3], sizeof(b[3]))))
		s->l2.seed = strtoull(v, NULL, 0);
	rc = salvo__raw_setup(&s->cfg, &s->l2, &s->pcap, err, errlen);
	return rc;
}

static json_t *profile_json(struct stream *s, unsigned int n)
{
	json_t *root = json_object(), *arr = json_array();

	json_object_set_new(root, "schema", json_integer(SALVO_JSON_SCHEMA));
	json_object_set_new(root, "type", json_string("profile"));
	for (unsigned int i = 0; i < n; i++) {
		json_t *st = json_object();

		json_object_set_new(st, "name", json_string(s[i].name));
		json_object_set_new(st, "report", salvo_report_json(&s[i].rep, NULL));
		json_array_append_new(arr, st);
	}
	json_object_set_new(root, "streams", arr);
	return root;
}

static int run_run(void *o, int argc, char **argv)
{
	struct run_opts *ro = o;
	struct stream *s = NULL;
	json_error_t jerr;
	json_t *doc, *streams;
	char err[512], why[256];
	uint64_t dur = ro->duration_ns;
	unsigned int n = 0, i;
	struct sigaction sa = { .sa_handler = on_signal };
	int rc = 1;
	bool all;

	(void)argc;
	{
		struct stat st;

		/* jansson would say "'[' or '{' expected near end of file" for a directory. */
		if (stat(argv[0], &st) == 0 && S_ISDIR(st.st_mode))
			return salvo_usage_error(NULL, "%s is a directory, not a profile", argv[0]);
	}
	/*
	 * A key given twice is a mistake jansson would otherwise settle silently
	 * (the last one wins): refused, with the key and its line and column.
	 */
	doc = json_load_file(argv[0], JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return jerr.line > 0 ?
			salvo_usage_error(NULL, "%s:%d:%d: %s", argv[0], jerr.line, jerr.column, jerr.text) :
			salvo_usage_error(NULL, "%s: %s", argv[0], jerr.text);
	if (!json_is_object(doc) || !json_is_array(streams = json_object_get(doc, "streams")) ||
	    !(n = (unsigned int)json_array_size(streams)) || n > MAX_STREAMS) {
		json_decref(doc);
		return salvo_usage_error(NULL, "%s: needs \"streams\": [ 1..%d stream objects ]",
					 argv[0], MAX_STREAMS);
	}
	if (!dur && json_object_get(doc, "duration")) {
		const char *d = json_string_value(json_object_get(doc, "duration"));

		if (!d || salvo_parse_duration(d, &dur, err, sizeof(err))) {
			json_decref(doc);
			return salvo_usage_error(NULL, "%s: \"duration\": a string like \"5s\"",
						 argv[0]);
		}
	}
	s = calloc(n, sizeof(*s));
	if (!s) {
		json_decref(doc);
		return salvo_runtime_error("run", "out of memory");
	}
	for (i = 0; i < n; i++) {
		const char *skipped = NULL;
		int r;

		r = parse_stream(&s[i], json_array_get(streams, i), dur, err, sizeof(err));
		if (!s[i].name) {
			snprintf(s[i].namebuf, sizeof(s[i].namebuf), "stream%u", i);
			s[i].name = s[i].namebuf;
		}
		if (r) {
			rc = r == -EINVAL || r == -EDESTADDRREQ || r == -EMSGSIZE ?
				salvo_usage_error(NULL, "stream %s: %s", s[i].name, err) :
				salvo_runtime_error("run", "stream %s: %s", s[i].name, err);
			goto out;
		}
		if (salvo_cfg_finish(&s[i].cfg, err, sizeof(err))) {
			rc = salvo_usage_error(NULL, "stream %s: %s", s[i].name, err);
			goto out;
		}
		if (salvo_backend_select(&s[i].cfg, &s[i].ops, err, sizeof(err), &skipped, why,
					 sizeof(why))) {
			rc = salvo_runtime_error("run", "stream %s: %s", s[i].name, err);
			goto out;
		}
		s[i].cfg.l2 = s[i].raw ? &s[i].l2 : NULL;
		if (salvo_run_create(&s[i].run, &s[i].cfg, s[i].ops,
				     s[i].raw ? &salvo_app_rawgen : &salvo_app_gen, err, sizeof(err))) {
			rc = salvo_runtime_error("run", "stream %s: %s", s[i].name, err);
			goto out;
		}
	}
	g_streams = s;
	g_nstreams = n;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (i = 0; i < n; i++) {
		if (salvo_run_start(s[i].run, err, sizeof(err))) {
			salvo_run_destroy(s[i].run);
			s[i].run = NULL;
			for (unsigned int j = 0; j < i; j++)
				salvo_run_stop(s[j].run);
			for (unsigned int j = 0; j < i; j++) {
				salvo_run_wait(s[j].run, UINT64_MAX);
				salvo_run_join(s[j].run);
			}
			rc = salvo_runtime_error("run", "stream %s: %s", s[i].name, err);
			goto out;
		}
		if (ro->verbose)
			fprintf(stderr, "salvo: run: stream %s: %s on %s backend, %u worker%s\n",
				s[i].name, s[i].cfg.command, s[i].ops->name, s[i].cfg.threads,
				s[i].cfg.threads == 1 ? "" : "s");
	}
	{
		struct salvo_cli_common vc = {.verbose = ro->verbose};

		salvo__raw_caps_drop(&vc);
	}
	do {
		uint64_t until = salvo_now_ns() + 50 * NSEC_PER_MSEC;

		all = true;
		for (i = 0; i < n; i++) {
			if (!s[i].done)
				s[i].done = salvo_run_wait(s[i].run, until);
			all &= s[i].done;
		}
	} while (!all);
	rc = 0;
	for (i = 0; i < n; i++) {
		salvo_run_join(s[i].run);
		salvo_run_report(s[i].run, &s[i].rep);
		if (s[i].rep.error[0]) {
			salvo_runtime_error("run", "stream %s: %s", s[i].name, s[i].rep.error);
			rc = 1;
		}
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (ro->json) {
		json_t *j = profile_json(s, n);

		salvo_json_print(stdout, j, true);
		json_decref(j);
	} else {
		for (i = 0; i < n; i++) {
			printf("stream %s:\n", s[i].name);
			salvo_report_text(stdout, &s[i].rep, NULL);
		}
	}
	fflush(stdout);
out:
	g_nstreams = 0;
	for (i = 0; i < n; i++) {
		if (s[i].run)
			salvo_run_destroy(s[i].run);
		if (s[i].raw)
			salvo_l2_cfg_free(&s[i].l2);
		salvo_pcap_free(s[i].pcap);
	}
	free(s);
	json_decref(doc);
	return rc;
}

static const struct salvo_cmd run_cmd = {
	.name = "run",
	.args = "PROFILE.json",
	.min_args = 1,
	.max_args = 1,
	.summary = "run several streams at once from a JSON profile (headers, variation, size, rate, backend each)",
	.description = "Each stream is a raw frame stream (like raw send) or a udp stream (like udp send),\n"
		       "with its own rate and backend; all start together. See docs/profiles.md.",
	.tables = run_tables,
	.opts_size = sizeof(struct run_opts),
	.run = run_run,
};
SALVO_COMMAND_REGISTER(run_cmd)
