// SPDX-License-Identifier: MIT
/*
 * Linked into the fuzz targets that parse addresses: every getaddrinfo() is
 * forced numeric (AI_NUMERICHOST), so no input ever makes a fuzzer send a
 * DNS query.  It interposes the C library's getaddrinfo and calls it.
 */
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
	struct addrinfo h;

	if (!real)
		real = (int (*)(const char *, const char *, const struct addrinfo *,
				struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");
	if (hints)
		h = *hints;
	else
		memset(&h, 0, sizeof(h));
	h.ai_flags |= AI_NUMERICHOST;
	return real(node, service, &h, res);
}
