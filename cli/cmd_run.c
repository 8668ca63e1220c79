// SPDX-License-Identifier: MIT
/*
 * salvo run PROFILE.json: several streams at once, each with its own
 * headers, variation, size, rate and backend (docs/profiles.md).  Each
 * stream is one salvo_run with its own workers and pacer; all start
 * together and the profile ends when every stream has.  This file reads
 * the profile and sets each stream up; the run driver (cli/runner.c), the
 * same as for one command's run, starts, waits for and reports them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "frames/pktgen.h"

#include "cli.h"
#include "cmd_raw.h"
#include "profile.h"
#include "frames/rawgen.h"
#include "frames/pcap.h"
#include "apps/gen.h"

struct run_opts {
	bool json;
	bool verbose;
	uint64_t duration_ns;
	struct salvo_cli_fleet fleet;
};

static const struct salvo_opt run_table[] = {
	SALVO_OPT("json", SALVO_OPT_FLAG, struct run_opts, json,
		  .short_name = 'J', .help = "print one JSON document: the profile's streams and their summaries"),
	SALVO_OPT("verbose", SALVO_OPT_FLAG, struct run_opts, verbose,
		  .short_name = 'v', .help = "say what each stream set up"),
	SALVO_OPT("duration", SALVO_OPT_DURATION, struct run_opts, duration_ns,
		  .short_name = 'd', .help = "override the profile's duration"),
	SALVO_CLI_FLEET_OPTS(struct run_opts, fleet),
	SALVO_OPT_END,
};

static const struct salvo_opt *const run_tables[] = { run_table, NULL };

/* A stream as the profile says it, and what its set-up holds until the end. */
struct stream {
	struct salvo__profile_stream p;
	struct salvo_pcap *pcap;
};

/* salvo_cli_extra.started: once every stream's ports are open, drop the main thread's capabilities. */
static int streams_started(void *arg)
{
	salvo__raw_caps_drop(arg);
	return 0;
}

/* jansson would say "'[' or '{' expected near end of file" for a directory. */
static json_t *load_profile(const char *path, int *rc)
{
	struct stat st;
	json_error_t jerr;
	json_t *doc;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		*rc = salvo_usage_error(NULL, "%s is a directory, not a profile", path);
		return NULL;
	}
	/* salvo__profile_doc() says why on a refusal; the file name goes first. */
	doc = json_load_file(path, SALVO__PROFILE_JSON_FLAGS, &jerr);
	if (!doc)
		*rc = jerr.line > 0 ?
			salvo_usage_error(NULL, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text) :
			salvo_usage_error(NULL, "%s: %s", path, jerr.text);
	return doc;
}

/* Stream i from the profile, its frames and interface (raw), then the driver's set-up. */
static int stream_setup(struct stream *s, struct salvo_cli_stream *v, const struct salvo__profile *prof,
			unsigned int i, const struct salvo_cli_drive_cfg *d)
{
	char err[512];
	int r;

	r = salvo__profile_stream(&s->p, prof, i, err, sizeof(err));
	if (!r && s->p.raw)
		r = salvo__raw_setup(&s->p.cfg, &s->p.l2, &s->pcap, err, sizeof(err));
	if (r)
		return r == -EINVAL || r == -EDESTADDRREQ || r == -EMSGSIZE ?
			salvo_usage_error(NULL, "stream %s: %s", s->p.name, err) :
			salvo_runtime_error("run", "stream %s: %s", s->p.name, err);
	s->p.cfg.l2 = s->p.raw ? &s->p.l2 : NULL;
	v->name = s->p.name;
	v->cfg = &s->p.cfg;
	v->app = s->p.raw ? &salvo_app_rawgen : &salvo_app_gen;
	return salvo_cli_stream_create(v, d);
}

static int run_run(void *o, int argc, char **argv)
{
	struct run_opts *ro = o;
	struct salvo_cli_common vc = {.json = ro->json, .verbose = ro->verbose, .fleet = ro->fleet};
	const struct salvo_cli_extra x = {.started = streams_started, .arg = &vc};
	const struct salvo_cli_drive_cfg d = {.c = &vc, .extra = &x, .profile = "run"};
	struct salvo_cli_stream *v = NULL;
	struct stream *s = NULL;
	struct salvo__profile prof;
	char err[512];
	json_t *doc;
	unsigned int n = 0, i;
	int rc = 1;

	(void)argc;
	rc = salvo_cli_fleet_check(&ro->fleet);
	if (rc)
		return rc;
	rc = 1;
	doc = load_profile(argv[0], &rc);
	if (!doc)
		return rc;
	if (salvo__profile_doc(&prof, doc, ro->duration_ns, err, sizeof(err))) {
		json_decref(doc);
		return salvo_usage_error(NULL, "%s: %s", argv[0], err);
	}
	n = prof.n;
	s = calloc(n, sizeof(*s));
	v = calloc(n, sizeof(*v));
	if (!s || !v) {
		rc = salvo_runtime_error("run", "out of memory");
		n = 0;
		goto out;
	}
	for (i = 0; i < n; i++) {
		rc = stream_setup(&s[i], &v[i], &prof, i, &d);
		if (rc)
			goto out;
	}
	rc = salvo_cli_drive(v, n, &d);
out:
	salvo_cli_streams_destroy(v, n);
	for (i = 0; i < n; i++) {
		if (s[i].p.raw)
			salvo_l2_cfg_free(&s[i].p.l2);
		salvo_pcap_free(s[i].pcap);
	}
	free(v);
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
