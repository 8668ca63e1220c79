// SPDX-License-Identifier: MIT
/*
 * Fuzz salvo_addr_parse() and salvo_addr_parse_bind(): no crash, no read
 * past the input, and every accepted address prints to a form that parses
 * back to the same bytes.
 *
 * Name resolution is cut off (getaddrinfo is forced numeric below): a fuzzer
 * must not send DNS queries, and only numeric forms round-trip anyway.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/addr.h>

/* getaddrinfo is forced numeric: tests/fuzz/numeric_dns.c. */

static void roundtrip(const struct salvo_addr *a)
{
	char buf[SALVO_ADDR_STRLEN], err[256];
	struct salvo_addr b;

	salvo_addr_str(a, buf, sizeof(buf));
	if (salvo_addr_parse(buf, &b, err, sizeof(err))) {
		/* Only a port-0 bind address has no destination form. */
		if (salvo_addr_port(a) == 0 && !salvo_addr_is_unix(a))
			return;
		abort();
	}
	if (a->len != b.len || memcmp(&a->ss, &b.ss, a->len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, err[64], dflt[64];
	struct salvo_addr a;
	size_t errlen;

	if (size < 2)
		return 0;
	/* Byte 0: options; byte 1: error buffer size; the rest: the text (exactly, no NUL). */
	errlen = (size_t)(data[1] % sizeof(err)) + 1;
	s = malloc(size - 1);
	if (!s)
		return 0;
	memcpy(s, data + 2, size - 2);
	s[size - 2] = 0;
	if (salvo_addr_parse(s, &a, err, errlen) == 0)
		roundtrip(&a);
	snprintf(dflt, sizeof(dflt), "%s", (data[0] & 2) ? "::" : "0.0.0.0");
	if (salvo_addr_parse_bind(s, (data[0] & 4) ? dflt : NULL, data[0] & 1, &a, err, errlen) == 0) {
		char buf[SALVO_ADDR_STRLEN], host[SALVO_ADDR_STRLEN];

		salvo_addr_host(&a, host, sizeof(host));
		salvo_addr_str(&a, buf, (size_t)(data[1] % sizeof(buf)) + 1);
		if (!(data[0] & 1) && !salvo_addr_is_unix(&a) && salvo_addr_port(&a) == 0)
			abort();	/* port 0 given although refused */
		roundtrip(&a);
	}
	free(s);
	return 0;
}
