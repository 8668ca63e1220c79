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
#include "profile.h"

struct run_opts {
	bool json;
	bool verbose;
	uint64_t duration_ns;
};

static const struct salvo_opt run_table[] = {
	SALVO_OPT("json", SALVO_OPT_FLAG, struct run_opts, json,
		  .short_name = 'J', .help = "print one JSON document: the profile's streams and their summaries"),
	SALVO_OPT("verbose", SALVO_OPT_FLAG, struct run_opts, verbose,
		  .short_name = 'v', .help = "say what each stream set up"),
	SALVO_OPT("duration", SALVO_OPT_DURATION, struct run_opts, duration_ns,
		  .short_name = 'd', .help = "override the profile's duration"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const run_tables[] = { run_table, NULL };

struct stream {
	struct salvo__profile_stream p;	/* as the profile says */
	struct salvo_pcap *pcap;
	const struct salvo_backend_ops *ops;
	struct salvo_run *run;
	bool done;
	struct salvo_report rep;
};

static struct stream *g_streams;
static unsigned int g_nstreams;

static void on_signal(int sig)
{
	int saved = errno;	/* the futex wake in salvo_run_interrupt() may set it */

	(void)sig;
	for (unsigned int i = 0; i < g_nstreams; i++)
		if (g_streams[i].run)
			salvo_run_interrupt(g_streams[i].run);
	errno = saved;
}

static json_t *profile_json(struct stream *s, unsigned int n)
{
	json_t *root = json_object(), *arr = json_array();

	json_object_set_new(root, "schema", json_integer(SALVO_JSON_SCHEMA));
	json_object_set_new(root, "type", json_string("profile"));
	for (unsigned int i = 0; i < n; i++) {
		json_t *st = json_object();

		json_object_set_new(st, "name", json_string(s[i].p.name));
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
	json_t *doc;
	struct salvo__profile prof;
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
	/* salvo__profile_doc() says why on a refusal; the file name goes first. */
	doc = json_load_file(argv[0], SALVO__PROFILE_JSON_FLAGS, &jerr);
	if (!doc)
		return jerr.line > 0 ?
			salvo_usage_error(NULL, "%s:%d:%d: %s", argv[0], jerr.line, jerr.column, jerr.text) :
			salvo_usage_error(NULL, "%s: %s", argv[0], jerr.text);
	if (salvo__profile_doc(&prof, doc, dur, err, sizeof(err))) {
		json_decref(doc);
		return salvo_usage_error(NULL, "%s: %s", argv[0], err);
	}
	n = prof.n;
	s = calloc(n, sizeof(*s));
	if (!s) {
		json_decref(doc);
		return salvo_runtime_error("run", "out of memory");
	}
	for (i = 0; i < n; i++) {
		const char *skipped = NULL;
		int r;

		r = salvo__profile_stream(&s[i].p, &prof, i, err, sizeof(err));
		if (!r && s[i].p.raw)
			r = salvo__raw_setup(&s[i].p.cfg, &s[i].p.l2, &s[i].pcap, err, sizeof(err));
		if (r) {
			rc = r == -EINVAL || r == -EDESTADDRREQ || r == -EMSGSIZE ?
				salvo_usage_error(NULL, "stream %s: %s", s[i].p.name, err) :
				salvo_runtime_error("run", "stream %s: %s", s[i].p.name, err);
			goto out;
		}
		if (salvo_cfg_finish(&s[i].p.cfg, err, sizeof(err))) {
			rc = salvo_usage_error(NULL, "stream %s: %s", s[i].p.name, err);
			goto out;
		}
		if (salvo_backend_select(&s[i].p.cfg, &s[i].ops, err, sizeof(err), &skipped, why,
					 sizeof(why))) {
			rc = salvo_runtime_error("run", "stream %s: %s", s[i].p.name, err);
			goto out;
		}
		s[i].p.cfg.l2 = s[i].p.raw ? &s[i].p.l2 : NULL;
		if (salvo_run_create(&s[i].run, &s[i].p.cfg, s[i].ops,
				     s[i].p.raw ? &salvo_app_rawgen : &salvo_app_gen, err, sizeof(err))) {
			rc = salvo_runtime_error("run", "stream %s: %s", s[i].p.name, err);
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
			rc = salvo_runtime_error("run", "stream %s: %s", s[i].p.name, err);
			goto out;
		}
		if (ro->verbose)
			fprintf(stderr, "salvo: run: stream %s: %s on %s backend, %u worker%s\n",
				s[i].p.name, s[i].p.cfg.command, s[i].ops->name, s[i].p.cfg.threads,
				s[i].p.cfg.threads == 1 ? "" : "s");
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
			salvo_runtime_error("run", "stream %s: %s", s[i].p.name, s[i].rep.error);
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
			printf("stream %s:\n", s[i].p.name);
			salvo_report_text(stdout, &s[i].rep, NULL);
		}
	}
	fflush(stdout);
out:
	g_nstreams = 0;
	for (i = 0; i < n; i++) {
		if (s[i].run)
			salvo_run_destroy(s[i].run);
		if (s[i].p.raw)
			salvo_l2_cfg_free(&s[i].p.l2);
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
