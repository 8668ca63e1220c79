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

static int parse_stream(struct salvo__profile_stream *s, json_t *o, uint64_t duration_ns,
			char *err, size_t errlen)
{
	char b[14][64];
	const char *key, *type, *v, *pcap, *iface;
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
	salvo_cfg_init(&s->cfg);
	if ((rc = str_of(o, "name", &s->name, err, errlen)))
		return rc;
	if (s->name && (rc = name_check(s->name, err, errlen))) {
		s->name = NULL;	/* the refusal names it streamN instead */
		return rc;
	}
	if ((rc = str_of(o, "type", &type, err, errlen)) ||
	    (rc = str_of(o, "backend", &s->cfg.backend, err, errlen)) ||
	    (rc = str_of(o, "iface", &iface, err, errlen)) ||
	    (rc = str_of(o, "pcap", &pcap, err, errlen)))
		return rc;
	if (!type)
		type = "raw";
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
		s->cfg.flows = flows;
		return 0;
	}
	if (strcmp(type, "raw")) {
		snprintf(err, errlen, "\"type\" is \"raw\" or \"udp\", not \"%s\"", type);
		return -EINVAL;
	}
	s->raw = true;
	s->cfg.command = "raw send";
	s->cfg.iface = iface;
	salvo_l2_cfg_init(&s->l2);
	if ((v = text(o, "frame_hex", b[9], sizeof(b[9])))) {
		s->l2.src = SALVO_FRAMES_HEX;
		rc = salvo_hex_parse(v, &s->l2.frame, &s->l2.frame_len, err, errlen);
	} else if ((v = pcap)) {
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
	s->cfg.qdisc = qdisc;
	s->l2.stamp = stamp;
	s->l2.stamp_clock = s->cfg.stamp_clock;
	if ((v = text(o, "seed", b[3], sizeof(b[3])))) {
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
