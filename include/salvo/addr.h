/* SPDX-License-Identifier: MIT */
/* Socket addresses as users write them: 1.2.3.4:P, [::1]:P, localhost:P, unix:/path. */
#ifndef SALVO_ADDR_H
#define SALVO_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

struct salvo_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
		struct sockaddr_un un;
		struct sockaddr_storage ss;
	};
	socklen_t len;
};

/* Longest text form of any salvo_addr, including the NUL. */
#define SALVO_ADDR_STRLEN (sizeof(((struct sockaddr_un *)0)->sun_path) + 8)

/*
 * Parse a destination: "HOST:PORT", "[V6]:PORT", "unix:/path".  HOST may be a
 * name; it is resolved (getaddrinfo, numeric first).  Port must be 1..65535.
 * Returns 0, or -EINVAL with a one-line reason in err.
 */
int salvo_addr_parse(const char *s, struct salvo_addr *out, char *err, size_t errlen);

/*
 * Parse a bind address: "[ADDR:]PORT" or "unix:/path".  A bare port binds
 * to default_host ("127.0.0.1" when NULL).  Port 0 is refused unless
 * allow_port0.
 */
int salvo_addr_parse_bind(const char *s, const char *default_host, bool allow_port0,
			  struct salvo_addr *out, char *err, size_t errlen);

/* "1.2.3.4:5", "[::1]:5", "unix:/p" (an unnamed unix peer prints "unix:"). */
const char *salvo_addr_str(const struct salvo_addr *a, char *buf, size_t len);
/* Just the host part ("1.2.3.4", "::1", "/p"), for JSON and the seed's output. */
const char *salvo_addr_host(const struct salvo_addr *a, char *buf, size_t len);
/* Port, or 0 for unix. */
unsigned int salvo_addr_port(const struct salvo_addr *a);
void salvo_addr_set_port(struct salvo_addr *a, unsigned int port);
bool salvo_addr_is_unix(const struct salvo_addr *a);
/*
 * Build from a raw sockaddr (e.g. recvmsg's msg_name).  For an IPv4 or IPv6
 * address the storage past sizeof(struct sockaddr_in6) is left as it was
 * (a per-datagram copy); read an address by its family and len only.
 */
void salvo_addr_from_sa(struct salvo_addr *a, const struct sockaddr *sa, socklen_t len);
bool salvo_addr_is_loopback(const struct salvo_addr *a);

#endif
