// SPDX-License-Identifier: MIT
/*
 * Profiles read into streams (docs/profiles.md): the parse step of
 * `salvo run`, apart from the command so that it prints nothing, touches no
 * interface or file, and can be fuzzed (tests/fuzz/fuzz_profile.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/units.h>

#include "cli.h"
#include "cmd_raw.h"
#include "profile.h"

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

	if (!v)
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

/* An integer min..max; absent leaves *out as it is. */
static int uint_of(json_t *o, const char *key, unsigned int min, unsigned int max,
		   unsigned int *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    (uint64_t)json_integer_value(v) > max) {
		snprintf(err, errlen, "\"%s\" must be an integer %u..%u", key, min, max);
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

/*
 * A key that only a string can fill: absent is NULL, anything else but a
 * string is refused (a "type": 5 must not pass as the default "raw").
 */
static int str_of(json_t *o, const char *key, const char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

/* A name is printed as a report's heading line: 1..64 bytes, no control characters. */
static int name_check(const char *name, char *err, size_t errlen)
{
	size_t n = strlen(name);

	if (n < 1 || n > 64) {
		snprintf(err, errlen, "\"name\" must be 1 to 64 characters");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)name[i] < ' ' || name[i] == 127) {
			snprintf(err, errlen, "\"name\" must not hold control characters");
			return -EINVAL;
		}
	}
	return 0;
}

/* What the type-specific phases need from the keys every stream may have. */
struct knobs {
	const char *type, *iface, *pcap;
	unsigned int flows, vlan, prio, ttl, tos;
	bool tcp_syn, qdisc, timing;
	bool burst;	/* given */
};

/*
 * Unknown keys are refused, so a typo does not pass silently; so is null,
 * which would otherwise mean "absent" to some keys and a wrong type to others.
 */
static int check_keys(json_t *o, char *err, size_t errlen)
{
	const char *key;
	json_t *val;

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
		if (json_is_null(val)) {
			snprintf(err, errlen, "\"%s\": null is not a value: give one or leave the key out",
				 key);
			return -EINVAL;
		}
	}
	return 0;
}

/* name, type, backend and the numbers and switches any type may give. */
static int parse_common(struct salvo__profile_stream *s, json_t *o, struct knobs *k, char *err,
			size_t errlen)
{
	unsigned int threads = 1, burst = 32;
	bool stamp = true;
	int rc;

	/* Names that outlive this function must be JSON strings (they point into the document). */
	if ((rc = str_of(o, "name", &s->name, err, errlen)))
		return rc;
	if (s->name && (rc = name_check(s->name, err, errlen))) {
		s->name = NULL;	/* the refusal names it streamN instead */
		return rc;
	}
	if ((rc = str_of(o, "type", &k->type, err, errlen)) ||
	    (rc = str_of(o, "backend", &s->cfg.backend, err, errlen)) ||
	    (rc = str_of(o, "iface", &k->iface, err, errlen)) ||
	    (rc = str_of(o, "pcap", &k->pcap, err, errlen)))
		return rc;
	if (!k->type)
		k->type = "raw";
	if ((rc = salvo_cli_backend_check(s->cfg.backend, err, errlen)))
		return -EINVAL;
	/* threads and burst as --threads and --burst: 0 is refused, not a default. */
	if ((rc = uint_of(o, "threads", 1, 256, &threads, err, errlen)) ||
	    (rc = uint_of(o, "burst", 1, 1024, &burst, err, errlen)) ||
	    (rc = uint_of(o, "flows", 0, 65535, &k->flows, err, errlen)) ||
	    (rc = uint_of(o, "vlan", 0, 4094, &k->vlan, err, errlen)) ||
	    (rc = uint_of(o, "vlan_prio", 0, 7, &k->prio, err, errlen)) ||
	    (rc = uint_of(o, "ttl", 0, 255, &k->ttl, err, errlen)) ||
	    (rc = uint_of(o, "tos", 0, 255, &k->tos, err, errlen)) ||
	    (rc = bool_of(o, "tcp_syn", &k->tcp_syn, err, errlen)) ||
	    (rc = bool_of(o, "stamp", &stamp, err, errlen)) ||
	    (rc = bool_of(o, "qdisc", &k->qdisc, err, errlen)) ||
	    (rc = bool_of(o, "pcap_timing", &k->timing, err, errlen)))
		return rc;
	s->cfg.threads = threads;
	s->cfg.burst = burst;
	k->burst = json_object_get(o, "burst") != NULL;
	s->cfg.stamp = stamp;
	return 0;
}

/* rate, count, duration: every stream must end (the command line's duration wins). */
static int parse_bounds(struct salvo__profile_stream *s, json_t *o, uint64_t duration_ns,
			char *err, size_t errlen)
{
	char b[64];
	const char *v;

	if ((v = text(o, "rate", b, sizeof(b))) &&
	    salvo_parse_rate(v, &s->cfg.rate_pps, &s->cfg.rate_bps, err, errlen))
		return -EINVAL;
	if ((v = text(o, "count", b, sizeof(b)))) {
		if (salvo_parse_count(v, &s->cfg.count, err, errlen))
			return -EINVAL;
		if (!s->cfg.count) {
			/* as --count 0: refused, not read as "no limit" */
			snprintf(err, errlen, "\"count\": 0 is not a count: give 1 or more, or leave it out");
			return -EINVAL;
		}
	}
	if ((v = text(o, "duration", b, sizeof(b))) &&
	    salvo_parse_duration(v, &s->cfg.duration_ns, err, errlen))
		return -EINVAL;
	if (duration_ns)
		s->cfg.duration_ns = duration_ns;	/* the command line wins */
	if (!s->cfg.count && !s->cfg.duration_ns) {
		snprintf(err, errlen, "no \"count\" or \"duration\": a profile's streams are bounded");
		return -EINVAL;
	}
	return 0;
}

/* A udp stream: as `udp send DST --size N`. */
static int parse_udp(struct salvo__profile_stream *s, json_t *o, const struct knobs *k,
		     char *err, size_t errlen)
{
	char b[2][64];
	const char *dst = text(o, "dst", b[0], sizeof(b[0])), *v;
	uint64_t size = 64;

	if (!dst || salvo_addr_parse(dst, &s->cfg.remote, err, errlen)) {
		if (!dst)
			snprintf(err, errlen, "a udp stream needs \"dst\": \"HOST:PORT\"");
		return -EINVAL;
	}
	if ((v = text(o, "size", b[1], sizeof(b[1]))) && salvo_parse_size(v, &size, err, errlen))
		return -EINVAL;
	/* Said here, before cfg.size (32 bits) would keep only the low bits of 4 GiB + 64. */
	if (size > 65507) {
		snprintf(err, errlen, "a UDP payload of %llu bytes exceeds the maximum of 65507",
			 (unsigned long long)size);
		return -EINVAL;
	}
	s->cfg.command = "udp send";
	s->cfg.proto = SALVO_PROTO_UDP;
	s->cfg.dir = SALVO_DIR_TX;
	s->cfg.connect = true;
	s->cfg.size = (uint32_t)size;
	s->cfg.flows = k->flows;
	if (!k->burst)
		s->cfg.burst = salvo_cfg_udp_burst(&s->cfg);	/* as udp send's */
	return 0;
}

/* A raw stream's frames: a hex frame, a capture, or headers from fields (as `raw send`). */
static int parse_frames(struct salvo__profile_stream *s, json_t *o, const struct knobs *k,
			char *err, size_t errlen)
{
	/* JSON strings live as long as the document, which outlives the run. */
	char b[7][64];
	const char *v;
	struct salvo__raw_fields f;
	int rc;

	if ((v = text(o, "frame_hex", b[0], sizeof(b[0])))) {
		s->l2.src = SALVO_FRAMES_HEX;
		return salvo_hex_parse(v, &s->l2.frame, &s->l2.frame_len, err, errlen);
	}
	if (k->pcap) {
		s->l2.src = SALVO_FRAMES_PCAP;
		s->l2.pcap_path = k->pcap;
		s->l2.pcap_timing = k->timing;
		return 0;
	}
	f = (struct salvo__raw_fields){
		.dst = text(o, "dst", b[0], sizeof(b[0])),
		.src = text(o, "src", b[1], sizeof(b[1])),
		.dst_mac = text(o, "dst_mac", b[2], sizeof(b[2])),
		.src_mac = text(o, "src_mac", b[3], sizeof(b[3])),
		.dport = text(o, "dport", b[4], sizeof(b[4])),
		.sport = text(o, "sport", b[5], sizeof(b[5])),
		.size = text(o, "size", b[6], sizeof(b[6])),
		.flows = k->flows,
	};
	if (!f.dst) {
		snprintf(err, errlen, "a raw stream needs \"dst\" (or \"frame_hex\" / \"pcap\")");
		return -EDESTADDRREQ;
	}
	rc = salvo__raw_l2_fields(&s->l2, &f, err, errlen);
	s->l2.vlan = (uint16_t)k->vlan;
	s->l2.vlan_prio = (uint8_t)k->prio;
	s->l2.ttl = (uint8_t)k->ttl;
	s->l2.tos = (uint8_t)k->tos;
	s->l2.l4 = k->tcp_syn ? SALVO_L4_TCP_SYN : SALVO_L4_UDP;
	return rc;
}

/* A raw stream: its frames, then what applies to every frame source. */
static int parse_raw(struct salvo__profile_stream *s, json_t *o, const struct knobs *k,
		     char *err, size_t errlen)
{
	char b[64];
	const char *v;
	int rc;

	s->raw = true;
	s->cfg.command = "raw send";
	s->cfg.iface = k->iface;
	salvo_l2_cfg_init(&s->l2);
	rc = parse_frames(s, o, k, err, errlen);
	if (rc)
		return rc;
	s->cfg.qdisc = k->qdisc;
	s->l2.stamp = s->cfg.stamp;
	s->l2.stamp_clock = s->cfg.stamp_clock;
	if ((v = text(o, "seed", b, sizeof(b)))) {
		char *end;

		/* As `raw send --seed`: a whole number, all of it; "x" is not 0. */
		errno = 0;
		s->l2.seed = strtoull(v, &end, 0);
		if (!*v || *end || errno || strchr(v, '-')) {
			snprintf(err, errlen, "\"seed\" must be a whole number 0..18446744073709551615");
			return -EINVAL;
		}
	}
	return 0;
}

/* In this order, so the first thing wrong is the one reported: keys, common, bounds, type. */
static int parse_stream(struct salvo__profile_stream *s, json_t *o, uint64_t duration_ns,
			char *err, size_t errlen)
{
	struct knobs k = {.flows = 1, .ttl = 64};
	int rc;

	if ((rc = check_keys(o, err, errlen)))
		return rc;
	salvo_cfg_init(&s->cfg);
	s->cfg.duration_ns = duration_ns;
	if ((rc = parse_common(s, o, &k, err, errlen)) ||
	    (rc = parse_bounds(s, o, duration_ns, err, errlen)))
		return rc;
	if (!strcmp(k.type, "udp"))
		return parse_udp(s, o, &k, err, errlen);
	if (strcmp(k.type, "raw")) {
		snprintf(err, errlen, "\"type\" is \"raw\" or \"udp\", not \"%s\"", k.type);
		return -EINVAL;
	}
	return parse_raw(s, o, &k, err, errlen);
}

int salvo__profile_doc(struct salvo__profile *p, json_t *doc, uint64_t duration_ns, char *err,
		       size_t errlen)
{
	json_t *streams;
	size_t n;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(doc) || !json_is_array(streams = json_object_get(doc, "streams")) ||
	    !(n = json_array_size(streams)) || n > SALVO__PROFILE_MAX_STREAMS) {
		snprintf(err, errlen, "needs \"streams\": [ 1..%d stream objects ]",
			 SALVO__PROFILE_MAX_STREAMS);
		return -EINVAL;
	}
	if (!duration_ns && json_object_get(doc, "duration")) {
		const char *d = json_string_value(json_object_get(doc, "duration"));

		if (!d || salvo_parse_duration(d, &duration_ns, err, errlen)) {
			snprintf(err, errlen, "\"duration\": a string like \"5s\"");
			return -EINVAL;
		}
	}
	p->doc = doc;
	p->streams = streams;
	p->n = (unsigned int)n;
	p->duration_ns = duration_ns;
	return 0;
}

int salvo__profile_stream(struct salvo__profile_stream *s, const struct salvo__profile *p,
			  unsigned int i, char *err, size_t errlen)
{
	int rc = parse_stream(s, json_array_get(p->streams, i), p->duration_ns, err, errlen);

	if (!s->name) {
		snprintf(s->namebuf, sizeof(s->namebuf), "stream%u", i);
		s->name = s->namebuf;
	}
	return rc;
}
