// SPDX-License-Identifier: MIT
/*
 * Fuzz the profile parser of `salvo run` (cli/profile.c, docs/profiles.md)
 * on any bytes, loaded as the command loads a file (same jansson flags).
 *
 * Oracles, against the document itself and docs/profiles.md rather than the
 * parser's own helpers:
 *  - every refusal (jansson's, the top level's, a stream's) carries a
 *    non-empty reason inside its buffer that `salvo run` prints as one line, and a stream's is one of
 *    the bad-input codes cmd_run.c turns into exit 2 (nothing here touches
 *    the machine, so nothing may look like a runtime failure);
 *  - an accepted profile has 1..64 streams, a duplicate key never passes,
 *    no accepted stream holds a null (docs/profiles.md: leave the key out),
 *    and each accepted stream has its fields within the documented ranges:
 *    threads 1..256 and burst 1..1024 (as written when given), a count > 0
 *    or a duration, at most one of a frame rate and a bit rate (one exactly
 *    when "rate" is given), a
 *    documented and registered backend, its name (printable, 1..64 bytes)
 *    and type as written, "name"/"type"/"backend"/"iface"/"pcap" strings, raw
 *    vlan 0..4094, priority 0..7, flows 1..65535; a udp stream, once
 *    salvo_cfg_finish() accepts it as `salvo run` does, sends 1..65507-byte
 *    payloads of exactly the size written, to a port;
 *  - ASan/LSan: no leak of what an accepted or refused stream allocated.
 * No printer of profiles exists, so there is no round-trip oracle.
 *
 * Name resolution is forced numeric (getaddrinfo is wrapped): a fuzzer must
 * not send DNS queries.  A "pcap" path is only recorded here (the capture is
 * loaded by salvo__raw_setup, which this target does not call).
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/addr.h>
#include <salvo/backend.h>
#include <salvo/units.h>

#include "cli/opt.h"
#include "cli/profile.h"

/* getaddrinfo is forced numeric: tests/fuzz/numeric_dns.c. */

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "fuzz_profile: %s:%d: oracle failed: %s\n", __FILE__, \
				__LINE__, #c);                                            \
			abort();                                                          \
		}                                                                         \
	} while (0)

/* The backends salvo has (STYLE.md, the ops struct); this target registers only null. */
static const char *const documented_backends[] = {
	"uring", "syscall", "af_packet", "af_xdp", "null", NULL,
};

/* docs/profiles.md: the keys whose values are names or paths. */
static const char *const string_keys[] = { "name", "type", "backend", "iface", "pcap", NULL };

/*
 * Not empty, ended inside its buffer, and one line as `salvo run` prints it:
 * a reason may quote the input verbatim ("vl\n" as a key), and the CLI's one
 * printer (salvo__msg_clean) is what keeps the line one line.
 */
static void check_reason(const char *err, size_t errlen)
{
	size_t n = strnlen(err, errlen), plen = 0;
	char *line = NULL;
	FILE *f;

	CHECK(n > 0 && n < errlen);
	f = open_memstream(&line, &plen);
	CHECK(f);
	salvo__msg_clean(f, err);
	CHECK(fclose(f) == 0);
	CHECK(plen > 0 && plen <= 4 * n + 8);	/* "\xNN" per byte at worst, plus "…" */
	for (size_t i = 0; i < plen; i++)
		CHECK((unsigned char)line[i] >= ' ' && line[i] != 127);
	free(line);
}

static int has_key(json_t *o, const char *key)
{
	return json_object_get(o, key) != NULL;
}

static void check_udp(struct salvo__profile_stream *s, json_t *o)
{
	char err[512];
	json_t *sz = json_object_get(o, "size");
	uint64_t want = 64;

	CHECK(!strcmp(s->cfg.command, "udp send"));
	CHECK(s->cfg.proto == SALVO_PROTO_UDP && s->cfg.dir == SALVO_DIR_TX);
	CHECK(s->cfg.remote.len > 0);
	CHECK(salvo_addr_is_unix(&s->cfg.remote) || salvo_addr_port(&s->cfg.remote) >= 1);
	CHECK(s->cfg.flows <= 65535);
	/* As `salvo run` does next: what it refuses there exits 2 with a reason. */
	err[0] = 0;
	if (salvo_cfg_finish(&s->cfg, err, sizeof(err))) {
		check_reason(err, sizeof(err));
		return;
	}
	CHECK(s->cfg.size >= 1 && s->cfg.size <= 65507);
	CHECK(s->cfg.threads >= 1 && s->cfg.threads <= 256);
	CHECK(s->cfg.flows >= 1 && s->cfg.flows <= 65536);
	/* The size sent is the size written, never a truncation of it. */
	if (sz && json_is_integer(sz))
		want = (uint64_t)json_integer_value(sz);
	else if (sz && json_is_string(sz))
		CHECK(salvo_parse_size(json_string_value(sz), &want, err, sizeof(err)) == 0);
	CHECK(!sz || json_is_integer(sz) || json_is_string(sz) || json_is_real(sz));
	if (!sz || !json_is_real(sz))
		CHECK(s->cfg.size == want);
}

static void check_raw(struct salvo__profile_stream *s, json_t *o)
{
	json_t *v;

	CHECK(!strcmp(s->cfg.command, "raw send"));
	v = json_object_get(o, "iface");
	CHECK(s->cfg.iface == (json_is_string(v) ? json_string_value(v) : NULL));
	CHECK(s->l2.vlan <= 4094 && s->l2.vlan_prio <= 7);
	CHECK(s->l2.flows >= 1 && s->l2.flows <= 65535);
	if (has_key(o, "frame_hex")) {
		CHECK(s->l2.src == SALVO_FRAMES_HEX);
		CHECK(s->l2.frame && s->l2.frame_len > 0);
	} else if (json_is_string(v = json_object_get(o, "pcap"))) {
		CHECK(s->l2.src == SALVO_FRAMES_PCAP);
		CHECK(s->l2.pcap_path == json_string_value(v));
	} else {
		CHECK(s->l2.src == SALVO_FRAMES_BUILD);
		CHECK(has_key(o, "dst"));
	}
	if (json_is_integer(v = json_object_get(o, "vlan")))
		CHECK(s->l2.vlan == json_integer_value(v) || s->l2.src != SALVO_FRAMES_BUILD);
}

static void check_stream(struct salvo__profile_stream *s, const struct salvo__profile *p,
			 unsigned int i)
{
	json_t *o = json_array_get(p->streams, i), *v;
	char name[32];

	CHECK(json_is_object(o));
	/* null is refused for every key, never read as absent by some and refused by others. */
	{
		const char *key;

		json_object_foreach(o, key, v)
			CHECK(!json_is_null(v));
	}
	v = json_object_get(o, "name");
	snprintf(name, sizeof(name), "stream%u", i);
	CHECK(!strcmp(s->name, json_is_string(v) ? json_string_value(v) : name));
	/* The name heads a report: printable, one line, 1..64 bytes. */
	CHECK(strlen(s->name) >= 1 && strlen(s->name) <= 64);
	for (const char *c = s->name; *c; c++)
		CHECK((unsigned char)*c >= ' ' && *c != 127);
	/* Keys only a string fills: any other type was refused, never taken as absent. */
	for (unsigned int k = 0; string_keys[k]; k++)
		CHECK(!has_key(o, string_keys[k]) || json_is_string(json_object_get(o, string_keys[k])));
	CHECK(s->cfg.threads >= 1 && s->cfg.threads <= 256);
	CHECK(s->cfg.burst >= 1 && s->cfg.burst <= 1024);
	/* Given, they are what was written: never a default in place of a 0 or of the value. */
	if (has_key(o, "threads"))
		CHECK(s->cfg.threads == json_integer_value(json_object_get(o, "threads")));
	if (has_key(o, "burst"))
		CHECK(s->cfg.burst == json_integer_value(json_object_get(o, "burst")));
	/* Bounded: a count > 0, or a duration (the stream's, the profile's or --duration). */
	CHECK(s->cfg.count > 0 || s->cfg.duration_ns > 0);
	if (has_key(o, "count"))
		CHECK(s->cfg.count > 0);
	if (p->duration_ns)
		CHECK(s->cfg.duration_ns == p->duration_ns);
	CHECK(isfinite(s->cfg.rate_pps) && isfinite(s->cfg.rate_bps));
	CHECK(s->cfg.rate_pps >= 0 && s->cfg.rate_bps >= 0);
	CHECK(!(s->cfg.rate_pps > 0 && s->cfg.rate_bps > 0));
	if (has_key(o, "rate"))
		CHECK(s->cfg.rate_pps > 0 || s->cfg.rate_bps > 0);
	else
		CHECK(s->cfg.rate_pps == 0 && s->cfg.rate_bps == 0);
	v = json_object_get(o, "backend");
	if (!v) {
		CHECK(!s->cfg.backend);
	} else {
		unsigned int k;

		CHECK(json_is_string(v) && s->cfg.backend == json_string_value(v));
		for (k = 0; documented_backends[k] && strcmp(documented_backends[k], s->cfg.backend);
		     k++)
			;
		CHECK(documented_backends[k] && salvo_backend_find(s->cfg.backend));
	}
	v = json_object_get(o, "type");
	if (!v || !strcmp(json_string_value(v) ? json_string_value(v) : "raw", "raw")) {
		CHECK(s->raw);
		check_raw(s, o);
	} else {
		CHECK(!s->raw && json_is_string(v) && !strcmp(json_string_value(v), "udp"));
		check_udp(s, o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct salvo__profile_stream *s;
	struct salvo__profile p;
	json_error_t jerr;
	json_t *doc;
	char err[512];
	uint64_t dur = 0;

	/* Byte 0, bit 0: a --duration of 2 s on the command line; the rest: the file. */
	if (size < 1)
		return 0;
	if (data[0] & 1)
		dur = 2 * NSEC_PER_SEC;
	data++, size--;
	doc = json_loadb((const char *)data, size, SALVO__PROFILE_JSON_FLAGS, &jerr);
	if (!doc) {
		check_reason(jerr.text, sizeof(jerr.text));
		return 0;
	}
	err[0] = 0;
	if (salvo__profile_doc(&p, doc, dur, err, sizeof(err))) {
		check_reason(err, sizeof(err));
		json_decref(doc);
		return 0;
	}
	CHECK(p.n >= 1 && p.n <= SALVO__PROFILE_MAX_STREAMS && p.n == json_array_size(p.streams));
	CHECK(dur ? p.duration_ns == dur : (p.duration_ns > 0) == has_key(doc, "duration"));
	s = calloc(p.n, sizeof(*s));
	CHECK(s);
	/* As `salvo run`: stream by stream, stopping at the first refusal. */
	for (unsigned int i = 0; i < p.n; i++) {
		int rc;

		err[0] = 0;
		rc = salvo__profile_stream(&s[i], &p, i, err, sizeof(err));
		CHECK(s[i].name && s[i].name[0]);
		if (rc) {
			CHECK(rc == -EINVAL || rc == -EDESTADDRREQ || rc == -EMSGSIZE);
			check_reason(err, sizeof(err));
			break;
		}
		check_stream(&s[i], &p, i);
	}
	for (unsigned int i = 0; i < p.n; i++)
		if (s[i].raw)
			salvo_l2_cfg_free(&s[i].l2);
	free(s);
	json_decref(doc);
	return 0;
}
