// SPDX-License-Identifier: MIT
/* Address parsing and formatting. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/addr.h>

static int parse_port(const char *s, bool allow0, unsigned int *port, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	if (!*s || strspn(s, "0123456789") != strlen(s)) {
		snprintf(err, errlen, "port '%s' is not a number in 1..65535", s);
		return -EINVAL;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535 || (v == 0 && !allow0)) {
		snprintf(err, errlen, "port '%s' is not in 1..65535", s);
		return -EINVAL;
	}
	*port = (unsigned int)v;
	return 0;
}

static int parse_unix(const char *path, struct salvo_addr *out, char *err, size_t errlen)
{
	size_t n = strlen(path);

	memset(out, 0, sizeof(*out));
	if (n == 0) {
		snprintf(err, errlen, "unix: address needs a path");
		return -EINVAL;
	}
	if (n >= sizeof(out->un.sun_path)) {
		snprintf(err, errlen, "unix path is %zu bytes, longer than the limit of %zu", n,
			 sizeof(out->un.sun_path) - 1);
		return -EINVAL;
	}
	out->un.sun_family = AF_UNIX;
	memcpy(out->un.sun_path, path, n + 1);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

static int resolve(const char *host, unsigned int port, struct salvo_addr *out, char *err,
		   size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, &out->in4.sin_addr) == 1) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = htons(port);
		out->len = sizeof(out->in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &out->in6.sin6_addr) == 1) {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		out->len = sizeof(out->in6);
		return 0;
	}
	/* "localhost" resolves to loopback without asking anybody. */
	if (strcmp(host, "localhost") == 0) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		out->in4.sin_port = htons(port);
		out->len = sizeof(out->in4);
		return 0;
	}
	if (!*host) {
		snprintf(err, errlen, "missing host");
		return -EINVAL;
	}
	/*
	 * getaddrinfo() takes inet_aton()'s shorthands ("1.2.3" is 1.2.0.3,
	 * "127.1" is 127.0.0.1): a typo must not become another destination.
	 * Anything that looks numeric has to be a full dotted quad.
	 */
	hints.ai_flags = AI_NUMERICHOST;
	if (strspn(host, "0123456789.") == strlen(host) || strchr(host, ':') ||
	    getaddrinfo(host, NULL, &hints, &res) == 0) {
		if (res)
			freeaddrinfo(res);
		snprintf(err, errlen, "malformed IP address '%s'", host);
		return -EINVAL;
	}
	res = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_ADDRCONFIG;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc || !res) {
		snprintf(err, errlen, "cannot resolve host '%s': %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	salvo_addr_set_port(out, port);
	return 0;
}

/* Split "host:port" / "[v6]:port"; host may be empty when allow_bare. */
static int split(const char *s, char *host, size_t hostlen, const char **port, char *err,
		 size_t errlen)
{
	const char *colon;
	size_t n;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':') {
			snprintf(err, errlen, "malformed address '%s' (want [V6ADDR]:PORT)", s);
			return -EINVAL;
		}
		n = (size_t)(rb - s - 1);
		if (n == 0 || n >= hostlen) {
			snprintf(err, errlen, "malformed IPv6 address in '%s'", s);
			return -EINVAL;
		}
		memcpy(host, s + 1, n);
		host[n] = 0;
		*port = rb + 2;
		return 0;
	}
	colon = strrchr(s, ':');
	if (!colon) {
		host[0] = 0;
		*port = s;
		return 1; /* bare */
	}
	if (strchr(s, ':') != colon) {
		snprintf(err, errlen, "malformed address '%s' (IPv6 needs brackets: [::1]:PORT)", s);
		return -EINVAL;
	}
	n = (size_t)(colon - s);
	if (n >= hostlen) {
		snprintf(err, errlen, "host name too long in '%s'", s);
		return -EINVAL;
	}
	memcpy(host, s, n);
	host[n] = 0;
	*port = colon + 1;
	return 0;
}

/*
 * Both forms: a destination needs a host; a bind address may omit it
 * (default_host then, 127.0.0.1 when NULL) and may allow port 0.
 */
static int parse(const char *s, bool need_host, const char *default_host, bool allow_port0,
		 struct salvo_addr *out, char *err, size_t errlen)
{
	char host[256];
	const char *port_s;
	unsigned int port;
	int rc;

	if (!s || !*s) {
		snprintf(err, errlen, "empty address");
		return -EINVAL;
	}
	if (strncmp(s, "unix:", 5) == 0)
		return parse_unix(s + 5, out, err, errlen);
	rc = split(s, host, sizeof(host), &port_s, err, errlen);
	if (rc < 0)
		return rc;
	if (rc == 1 || !host[0]) {
		if (need_host) {
			snprintf(err, errlen,
				 "address '%s' needs a host: HOST:PORT, [V6]:PORT or unix:/path", s);
			return -EINVAL;
		}
		snprintf(host, sizeof(host), "%s", default_host ? default_host : "127.0.0.1");
	}
	rc = parse_port(port_s, allow_port0, &port, err, errlen);
	if (rc)
		return rc;
	return resolve(host, port, out, err, errlen);
}

int salvo_addr_parse(const char *s, struct salvo_addr *out, char *err, size_t errlen)
{
	return parse(s, true, NULL, false, out, err, errlen);
}

int salvo_addr_parse_bind(const char *s, const char *default_host, bool allow_port0,
			  struct salvo_addr *out, char *err, size_t errlen)
{
	return parse(s, false, default_host, allow_port0, out, err, errlen);
}

const char *salvo_addr_host(const struct salvo_addr *a, char *buf, size_t len)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		inet_ntop(AF_INET, &a->in4.sin_addr, buf, (socklen_t)len);
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &a->in6.sin6_addr, buf, (socklen_t)len);
		break;
	case AF_UNIX:
		if (a->len > offsetof(struct sockaddr_un, sun_path) && a->un.sun_path[0])
			snprintf(buf, len, "%.*s", (int)(a->len - offsetof(struct sockaddr_un, sun_path)),
				 a->un.sun_path);
		else
			snprintf(buf, len, "%s", "");
		break;
	default:
		snprintf(buf, len, "?");
	}
	return buf;
}

const char *salvo_addr_str(const struct salvo_addr *a, char *buf, size_t len)
{
	char host[SALVO_ADDR_STRLEN];

	salvo_addr_host(a, host, sizeof(host));
	switch (a->sa.sa_family) {
	case AF_INET:
		snprintf(buf, len, "%s:%u", host, salvo_addr_port(a));
		break;
	case AF_INET6:
		snprintf(buf, len, "[%s]:%u", host, salvo_addr_port(a));
		break;
	case AF_UNIX:
		snprintf(buf, len, "unix:%s", host);
		break;
	default:
		snprintf(buf, len, "?");
	}
	return buf;
}

unsigned int salvo_addr_port(const struct salvo_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->in4.sin_port);
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	return 0;
}

void salvo_addr_set_port(struct salvo_addr *a, unsigned int port)
{
	if (a->sa.sa_family == AF_INET)
		a->in4.sin_port = htons((uint16_t)port);
	else if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons((uint16_t)port);
}

bool salvo_addr_is_unix(const struct salvo_addr *a)
{
	return a->sa.sa_family == AF_UNIX;
}

void salvo_addr_from_sa(struct salvo_addr *a, const struct sockaddr *sa, socklen_t len)
{
	if (len > sizeof(a->ss))
		len = sizeof(a->ss);
	/*
	 * A receiver fills one per datagram: IP addresses take a fixed-size
	 * copy and clear only what an IPv6 reader could look at, not the
	 * 128-byte storage (that memset was a tenth of io_uring's receive).
	 */
	if (len == sizeof(a->in4)) {
		memcpy(&a->in4, sa, sizeof(a->in4));
		memset((char *)&a->ss + sizeof(a->in4), 0, sizeof(a->in6) - sizeof(a->in4));
	} else if (len == sizeof(a->in6)) {
		memcpy(&a->in6, sa, sizeof(a->in6));
	} else {
		memset(a, 0, sizeof(*a));
		memcpy(&a->ss, sa, len);
	}
	a->len = len;
}

bool salvo_addr_is_loopback(const struct salvo_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in4.sin_addr.s_addr) >> 24) == 127;
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr);
	return a->sa.sa_family == AF_UNIX;
}
