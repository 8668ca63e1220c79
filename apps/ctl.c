// SPDX-License-Identifier: MIT
/*
 * Control-channel messages: framing, encoding, and a decoder that
 * validates every field, because the server reads them from strangers.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include <salvo/common.h>

#include "ctl.h"
#include <salvo/report.h>

static const char *const type_names[] = {
	[SALVO_CTL_HELLO] = "hello",	 [SALVO_CTL_PROPOSE] = "propose",
	[SALVO_CTL_ACCEPT] = "accept",	 [SALVO_CTL_REFUSE] = "refuse",
	[SALVO_CTL_START] = "start",	 [SALVO_CTL_RESULTS] = "results",
	[SALVO_CTL_ERROR] = "error",	 [SALVO_CTL_BYE] = "bye",
};

#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

/* Largest values a proposal may carry: beyond them a number is a mistake or an attack. */
#define MAX_COUNT (1ULL << 48)
#define MAX_DURATION_MS (24ULL * 3600 * 1000)
#define MAX_RATE_PPS 1e9

const char *salvo_ctl_type_name(enum salvo_ctl_type t)
{
	return (unsigned int)t < NTYPES && type_names[t] ? type_names[t] : "?";
}

static json_t *counts_json(const struct salvo_ctl_counts *c)
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "packets", (json_int_t)c->packets,
			      "bytes", (json_int_t)c->bytes, "lost", (json_int_t)c->lost, "reordered",
			      (json_int_t)c->reordered, "duplicates", (json_int_t)c->duplicates, "errors",
			      (json_int_t)c->errors, "active_s", c->active_s);
	const struct salvo_report_latency *l = &c->latency;

	/* Only when there is one: a version-1 peer reads the counts as before. */
	if (c->has_latency)
		json_object_set_new(o, "latency_ns",
				    json_pack("{s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I}",
					      "count", (json_int_t)l->count, "clamped", (json_int_t)l->clamped,
					      "min", (json_int_t)l->min, "mean", l->mean, "p50", (json_int_t)l->p50,
					      "p90", (json_int_t)l->p90, "p99", (json_int_t)l->p99,
					      "p999", (json_int_t)l->p999, "p9999", (json_int_t)l->p9999,
					      "max", (json_int_t)l->max));
	return o;
}

static json_t *msg_json(const struct salvo_ctl_msg *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string(salvo_ctl_type_name(m->type)));
	switch (m->type) {
	case SALVO_CTL_HELLO:
		json_object_set_new(o, "version", json_integer(m->version));
		if (m->token[0])
			json_object_set_new(o, "token", json_string(m->token));
		break;
	case SALVO_CTL_PROPOSE:
		json_object_set_new(o, "proto", json_string(m->tcp ? "tcp" : "udp"));
		json_object_set_new(o, "reverse", json_boolean(m->reverse));
		/* Only when set: a forward or reverse proposal reads as version 1 wrote it. */
		if (m->bidir)
			json_object_set_new(o, "bidir", json_true());
		json_object_set_new(o, "size", json_integer(m->size));
		json_object_set_new(o, "count", json_integer((json_int_t)m->count));
		json_object_set_new(o, "bytes", json_integer((json_int_t)m->bytes));
		json_object_set_new(o, "duration_ms", json_integer((json_int_t)m->duration_ms));
		json_object_set_new(o, "rate_pps", json_real(m->rate_pps));
		json_object_set_new(o, "flows", json_integer(m->flows));
		json_object_set_new(o, "streams", json_integer(m->streams));
		json_object_set_new(o, "rcvbuf", json_integer(m->rcvbuf));
		json_object_set_new(o, "port", json_integer(m->port));
		if (m->backend[0])
			json_object_set_new(o, "backend", json_string(m->backend));
		break;
	case SALVO_CTL_ACCEPT:
		json_object_set_new(o, "port", json_integer(m->port));
		break;
	case SALVO_CTL_RESULTS:
		if (m->has_tx)
			json_object_set_new(o, "tx", counts_json(&m->tx));
		if (m->has_rx)
			json_object_set_new(o, "rx", counts_json(&m->rx));
		break;
	case SALVO_CTL_REFUSE:
	case SALVO_CTL_ERROR:
		json_object_set_new(o, "error", json_string(m->error));
		break;
	case SALVO_CTL_START:
	case SALVO_CTL_BYE:
		break;
	}
	return o;
}

int salvo_ctl_encode(const struct salvo_ctl_msg *m, uint8_t *buf, size_t cap)
{
	json_t *o = msg_json(m);
	char *s = json_dumps(o, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0;
	int rc;

	json_decref(o);
	if (!s)
		return -ENOMEM;
	if (n > SALVO_CTL_MAX_MSG || n + 4 > cap) {
		rc = -EMSGSIZE;
	} else {
		buf[0] = (uint8_t)(n >> 24);
		buf[1] = (uint8_t)(n >> 16);
		buf[2] = (uint8_t)(n >> 8);
		buf[3] = (uint8_t)n;
		memcpy(buf + 4, s, n);
		rc = (int)(n + 4);
	}
	free(s);
	return rc;
}

int salvo_ctl_frame_len(const uint8_t hdr[4])
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];

	if (n == 0 || n > SALVO_CTL_MAX_MSG)
		return -EMSGSIZE;
	return (int)n;
}

/* An optional unsigned integer field in [0, max]; absent leaves *v alone. */
static int get_uint(json_t *o, const char *key, uint64_t max, uint64_t *v, char *err, size_t errlen)
{
	json_t *j = json_object_get(o, key);

	if (!j)
		return 0;
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > max) {
		snprintf(err, errlen, "\"%s\" must be an integer in 0..%llu", key,
			 (unsigned long long)max);
		return -EINVAL;
	}
	*v = (uint64_t)json_integer_value(j);
	return 0;
}

static int get_real(json_t *o, const char *key, double max, double *v, char *err, size_t errlen)
{
	json_t *j = json_object_get(o, key);

	if (!j)
		return 0;
	if (!json_is_number(j) || !(json_number_value(j) >= 0 && json_number_value(j) <= max)) {
		snprintf(err, errlen, "\"%s\" must be a number in 0..%g", key, max);
		return -EINVAL;
	}
	*v = json_number_value(j);
	return 0;
}

/* An optional string of at most cap-1 bytes, without NUL or control bytes. */
static int get_str(json_t *o, const char *key, char *out, size_t cap, char *err, size_t errlen)
{
	json_t *j = json_object_get(o, key);
	const char *s;
	size_t n;

	if (!j)
		return 0;
	if (!json_is_string(j)) {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return -EINVAL;
	}
	s = json_string_value(j);
	n = json_string_length(j);
	if (n >= cap) {
		snprintf(err, errlen, "\"%s\" is longer than %zu bytes", key, cap - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			snprintf(err, errlen, "\"%s\" holds a control byte", key);
			return -EINVAL;
		}
	memcpy(out, s, n);
	out[n] = 0;
	return 0;
}

/* A receiver's optional "latency_ns": every field present, the percentiles in order. */
static int get_latency(json_t *o, struct salvo_ctl_counts *c, char *err, size_t errlen)
{
	json_t *j = json_object_get(o, "latency_ns");
	struct salvo_report_latency *l = &c->latency;
	const uint64_t max = (uint64_t)INT64_MAX;

	if (!j)
		return 0;
	if (!json_is_object(j)) {
		snprintf(err, errlen, "\"latency_ns\" must be an object");
		return -EINVAL;
	}
	l->count = UINT64_MAX;	/* a missing count is an error, not 0 */
	if (get_uint(j, "count", max, &l->count, err, errlen) ||
	    get_uint(j, "clamped", max, &l->clamped, err, errlen) ||
	    get_uint(j, "min", max, &l->min, err, errlen) ||
	    get_real(j, "mean", 1e18, &l->mean, err, errlen) ||
	    get_uint(j, "p50", max, &l->p50, err, errlen) ||
	    get_uint(j, "p90", max, &l->p90, err, errlen) ||
	    get_uint(j, "p99", max, &l->p99, err, errlen) ||
	    get_uint(j, "p999", max, &l->p999, err, errlen) ||
	    get_uint(j, "p9999", max, &l->p9999, err, errlen) ||
	    get_uint(j, "max", max, &l->max, err, errlen))
		return -EINVAL;
	if (l->count == UINT64_MAX || !(l->min <= l->p50 && l->p50 <= l->p90 && l->p90 <= l->p99 &&
					l->p99 <= l->p999 && l->p999 <= l->p9999 && l->p9999 <= l->max)) {
		snprintf(err, errlen, "\"latency_ns\" needs a count and its percentiles in order");
		return -EINVAL;
	}
	c->has_latency = true;
	return 0;
}

static int get_counts(json_t *o, const char *key, struct salvo_ctl_counts *c, bool *has, char *err,
		      size_t errlen)
{
	json_t *j = json_object_get(o, key);
	const uint64_t max = (uint64_t)INT64_MAX;

	if (!j)
		return 0;
	if (!json_is_object(j)) {
		snprintf(err, errlen, "\"%s\" must be an object", key);
		return -EINVAL;
	}
	*has = true;
	if (get_uint(j, "packets", max, &c->packets, err, errlen) ||
	    get_uint(j, "bytes", max, &c->bytes, err, errlen) ||
	    get_uint(j, "lost", max, &c->lost, err, errlen) ||
	    get_uint(j, "reordered", max, &c->reordered, err, errlen) ||
	    get_uint(j, "duplicates", max, &c->duplicates, err, errlen) ||
	    get_uint(j, "errors", max, &c->errors, err, errlen) ||
	    get_real(j, "active_s", 1e9, &c->active_s, err, errlen))
		return -EINVAL;
	return get_latency(j, c, err, errlen);
}

static int decode_propose(json_t *o, struct salvo_ctl_msg *m, char *err, size_t errlen)
{
	json_t *j = json_object_get(o, "proto");
	uint64_t v;

	if (!json_is_string(j) ||
	    (strcmp(json_string_value(j), "udp") && strcmp(json_string_value(j), "tcp"))) {
		snprintf(err, errlen, "\"proto\" must be \"udp\" or \"tcp\"");
		return -EINVAL;
	}
	m->tcp = !strcmp(json_string_value(j), "tcp");
	j = json_object_get(o, "reverse");
	if (j && !json_is_boolean(j)) {
		snprintf(err, errlen, "\"reverse\" must be true or false");
		return -EINVAL;
	}
	m->reverse = j && json_is_true(j);
	j = json_object_get(o, "bidir");
	if (j && !json_is_boolean(j)) {
		snprintf(err, errlen, "\"bidir\" must be true or false");
		return -EINVAL;
	}
	m->bidir = j && json_is_true(j);
	v = 64;
	if (get_uint(o, "size", m->tcp ? 64u << 20 : 65507, &v, err, errlen))
		return -EINVAL;
	m->size = (uint32_t)v;
	if (get_uint(o, "count", MAX_COUNT, &m->count, err, errlen) ||
	    get_uint(o, "bytes", MAX_COUNT, &m->bytes, err, errlen) ||
	    get_uint(o, "duration_ms", MAX_DURATION_MS, &m->duration_ms, err, errlen) ||
	    get_real(o, "rate_pps", MAX_RATE_PPS, &m->rate_pps, err, errlen))
		return -EINVAL;
	v = 1;
	if (get_uint(o, "flows", 65536, &v, err, errlen))
		return -EINVAL;
	m->flows = (unsigned int)v;
	v = 1;
	if (get_uint(o, "streams", 1024, &v, err, errlen))
		return -EINVAL;
	m->streams = (unsigned int)v;
	v = 0;
	if (get_uint(o, "rcvbuf", 1u << 30, &v, err, errlen))
		return -EINVAL;
	m->rcvbuf = (uint32_t)v;
	v = 0;
	if (get_uint(o, "port", 65535, &v, err, errlen))
		return -EINVAL;
	m->port = (uint16_t)v;
	if (get_str(o, "backend", m->backend, sizeof(m->backend), err, errlen))
		return -EINVAL;
	if (!m->size || !m->flows || !m->streams) {
		snprintf(err, errlen, "\"size\", \"flows\" and \"streams\" must be at least 1");
		return -EINVAL;
	}
	/* Every test ends by itself: the server never runs one without a bound. */
	if (!m->count && !m->bytes && !m->duration_ms) {
		snprintf(err, errlen, "a proposal needs \"count\", \"bytes\" or \"duration_ms\"");
		return -EINVAL;
	}
	if (m->reverse && m->bidir) {
		snprintf(err, errlen, "\"reverse\" and \"bidir\" exclude each other");
		return -EINVAL;
	}
	if ((m->reverse || m->bidir) && !m->port) {
		snprintf(err, errlen, "a %s proposal needs the client's \"port\"",
			 m->bidir ? "bidir" : "reverse");
		return -EINVAL;
	}
	return 0;
}

int salvo_ctl_decode(const uint8_t *body, size_t len, struct salvo_ctl_msg *m, char *err,
		     size_t errlen)
{
	json_error_t jerr;
	json_t *o, *t;
	const char *ts;
	uint64_t v;
	int rc = -EINVAL;

	memset(m, 0, sizeof(*m));
	if (len > SALVO_CTL_MAX_MSG) {
		snprintf(err, errlen, "message of %zu bytes exceeds %u", len, SALVO_CTL_MAX_MSG);
		return -EMSGSIZE;
	}
	o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		snprintf(err, errlen, "not JSON: %s", jerr.text);
		return -EPROTO;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "a message must be a JSON object");
		goto out;
	}
	t = json_object_get(o, "type");
	ts = json_is_string(t) ? json_string_value(t) : NULL;
	for (unsigned int i = 1; ts && i < NTYPES; i++)
		if (!strcmp(ts, type_names[i]))
			m->type = (enum salvo_ctl_type)i;
	if (!m->type) {
		snprintf(err, errlen, "missing or unknown \"type\"");
		goto out;
	}
	switch (m->type) {
	case SALVO_CTL_HELLO:
		if (!json_object_get(o, "version")) {
			snprintf(err, errlen, "hello without \"version\"");
			goto out;
		}
		if (get_uint(o, "version", 65535, &v, err, errlen) ||
		    get_str(o, "token", m->token, sizeof(m->token), err, errlen))
			goto out;
		m->version = (unsigned int)v;
		break;
	case SALVO_CTL_PROPOSE:
		if (decode_propose(o, m, err, errlen))
			goto out;
		break;
	case SALVO_CTL_ACCEPT:
		v = 0;
		if (get_uint(o, "port", 65535, &v, err, errlen))
			goto out;
		m->port = (uint16_t)v;
		if (!m->port) {
			snprintf(err, errlen, "accept without a \"port\"");
			goto out;
		}
		break;
	case SALVO_CTL_RESULTS:
		if (get_counts(o, "tx", &m->tx, &m->has_tx, err, errlen) ||
		    get_counts(o, "rx", &m->rx, &m->has_rx, err, errlen))
			goto out;
		if (!m->has_tx && !m->has_rx) {
			snprintf(err, errlen, "results without \"tx\" or \"rx\"");
			goto out;
		}
		break;
	case SALVO_CTL_REFUSE:
	case SALVO_CTL_ERROR:
		if (get_str(o, "error", m->error, sizeof(m->error), err, errlen))
			goto out;
		break;
	case SALVO_CTL_START:
	case SALVO_CTL_BYE:
		break;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = salvo_now_ns();
		struct pollfd p = {.fd = fd, .events = events};
		int n;

		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)((deadline - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int read_full(int fd, uint8_t *buf, size_t len, uint64_t deadline)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n;
		int rc = wait_fd(fd, POLLIN, deadline);

		if (rc)
			return rc;
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

int salvo_ctl_send(int fd, const struct salvo_ctl_msg *m, uint32_t timeout_ms)
{
	uint8_t buf[4096];
	uint64_t deadline = salvo_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	int len = salvo_ctl_encode(m, buf, sizeof(buf));
	size_t put = 0;

	if (len < 0)
		return len;
	while (put < (size_t)len) {
		ssize_t n;
		int rc = wait_fd(fd, POLLOUT, deadline);

		if (rc)
			return rc;
		n = send(fd, buf + put, (size_t)len - put, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		put += (size_t)n;
	}
	return 0;
}

int salvo_ctl_recv(int fd, struct salvo_ctl_msg *m, uint32_t timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline = salvo_now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC;
	uint8_t hdr[4], *body;
	int len, rc;

	rc = read_full(fd, hdr, 4, deadline);
	if (rc) {
		snprintf(err, errlen, "%s", rc == -ETIMEDOUT ? "no message within the timeout" :
					    rc == -ECONNRESET ? "peer closed the connection" :
								strerror(-rc));
		return rc;
	}
	len = salvo_ctl_frame_len(hdr);
	if (len < 0) {
		snprintf(err, errlen, "message length %u out of 1..%u",
			 (unsigned int)hdr[0] << 24 | (unsigned int)hdr[1] << 16 |
				 (unsigned int)hdr[2] << 8 | hdr[3],
			 SALVO_CTL_MAX_MSG);
		return len;
	}
	/* Allocated per message and freed here: a client can hold at most 64 KiB of ours. */
	body = malloc((size_t)len);
	if (!body) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = read_full(fd, body, (size_t)len, deadline);
	if (rc)
		snprintf(err, errlen, "%s", rc == -ETIMEDOUT ? "message incomplete within the timeout" :
					    rc == -ECONNRESET ? "peer closed the connection mid-message" :
								strerror(-rc));
	else
		rc = salvo_ctl_decode(body, (size_t)len, m, err, errlen);
	free(body);
	return rc;
}

void salvo_ctl_send_error(int fd, enum salvo_ctl_type type, const char *fmt, ...)
{
	struct salvo_ctl_msg m = {.type = type};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.error, sizeof(m.error), fmt, ap);
	va_end(ap);
	/* Control bytes would make our own message invalid to the peer's decoder. */
	for (char *p = m.error; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	salvo_ctl_send(fd, &m, 1000);
}

void salvo_ctl_counts_from_report(struct salvo_ctl_counts *c, const struct salvo_report *rep, bool tx)
{
	const struct salvo_report_dir *d = tx ? &rep->tx : &rep->rx;

	memset(c, 0, sizeof(*c));
	c->packets = d->packets;
	c->bytes = d->bytes;
	c->active_s = d->active_s;
	if (tx) {
		c->errors = rep->tx_errors;
	} else {
		c->lost = rep->lost;
		c->reordered = rep->reordered;
		c->duplicates = rep->duplicates;
		/*
		 * Drops the kernel counted for the receiving sockets (SO_MEMINFO
		 * at close, every datagram backend), plus what a backend saw
		 * itself (a stream connection dropped).
		 */
		c->errors = rep->rx_dropped;
		if (rep->kernel.have & SALVO_KSTAT_RCVBUF)
			c->errors += rep->kernel.rcvbuf_drops;
		c->has_latency = rep->has_latency && rep->latency.count;
		if (c->has_latency)
			c->latency = rep->latency;
	}
}
