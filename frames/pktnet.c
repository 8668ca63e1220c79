// SPDX-License-Identifier: MIT
/*
 * What raw frames need from the interface: its MAC, MTU and address, and the
 * destination's MAC from the kernel's neighbour table (rtnetlink dump).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frames/pktgen.h"
#include "frames/pktnet.h"

int salvo_neigh_lookup(int ifindex, int family, const void *ip, uint8_t mac[6])
{
	struct {
		struct nlmsghdr nh;
		struct ndmsg nd;
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)), .nlmsg_type = RTM_GETNEIGH,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.nd = { .ndm_family = (uint8_t)family, .ndm_ifindex = ifindex },
	};
	size_t alen = family == AF_INET6 ? 16 : 4;
	char *buf;
	int fd, rc = -ENOENT;
	bool done = false;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	buf = malloc(65536);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		rc = -errno;
		goto out;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, 65536, 0);
		struct nlmsghdr *nh;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			struct ndmsg *nd = NLMSG_DATA(nh);
			struct rtattr *a;
			int al;
			const uint8_t *dst = NULL, *ll = NULL;
			size_t lllen = 0;

			if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			if (nh->nlmsg_type != RTM_NEWNEIGH || nd->ndm_ifindex != ifindex ||
			    !(nd->ndm_state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE |
						NUD_PERMANENT | NUD_NOARP)))
				continue;
			al = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*nd)));
			for (a = (struct rtattr *)((char *)nd + NLMSG_ALIGN(sizeof(*nd)));
			     RTA_OK(a, al); a = RTA_NEXT(a, al)) {
				if (a->rta_type == NDA_DST && RTA_PAYLOAD(a) == alen)
					dst = RTA_DATA(a);
				else if (a->rta_type == NDA_LLADDR) {
					ll = RTA_DATA(a);
					lllen = RTA_PAYLOAD(a);
				}
			}
			/* Keep reading to the end of the dump, so the socket is left clean. */
			if (rc && dst && ll && lllen == 6 && !memcmp(dst, ip, alen)) {
				memcpy(mac, ll, 6);
				rc = 0;
			}
		}
	}
out:
	free(buf);
	close(fd);
	return rc;
}

static void first_value(const struct salvo_field *f, uint8_t *out, size_t n)
{
	salvo_u128 v = f->mode == SALVO_FIELD_LIST ? f->list[0] : f->lo;

	for (size_t i = n; i-- > 0;) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void set_fixed(struct salvo_field *f, salvo_u128 v)
{
	salvo_field_free(f);
	memset(f, 0, sizeof(*f));
	f->mode = SALVO_FIELD_FIXED;
	f->lo = f->hi = v;
	f->step = 1;
	f->set = true;
}

int salvo_l2_resolve(struct salvo_l2_cfg *c, const char *iface, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int ifindex, fd, mtu;

	if (!iface || !(ifindex = (int)if_nametoindex(iface))) {
		snprintf(err, errlen, "no interface %s", iface ? iface : "given: --iface IF");
		return -ENODEV;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	if (ioctl(fd, SIOCGIFMTU, &ifr)) {
		snprintf(err, errlen, "%s: cannot read its MTU: %s", iface, strerror(errno));
		close(fd);
		return -ENODEV;
	}
	mtu = ifr.ifr_mtu;
	if (c->src != SALVO_FRAMES_BUILD) {
		close(fd);
		return salvo_l2_check(c, (uint32_t)mtu, err, errlen);
	}
	if (ioctl(fd, SIOCGIFHWADDR, &ifr)) {
		snprintf(err, errlen, "%s: cannot read its MAC: %s", iface, strerror(errno));
		close(fd);
		return -ENODEV;
	}
	close(fd);
	if (!c->src_mac.set) {
		uint8_t *m = (uint8_t *)ifr.ifr_hwaddr.sa_data;
		salvo_u128 v = 0;

		for (int i = 0; i < 6; i++)
			v = v << 8 | m[i];
		set_fixed(&c->src_mac, v);
	}
	/*
	 * Loopback keeps no neighbour entries (it resolves nothing) and takes
	 * every frame as its own: its all-zero address is the destination.
	 */
	if (!c->dst_mac.set && ifr.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK)
		set_fixed(&c->dst_mac, 0);
	if (!c->dst_ip.set) {
		snprintf(err, errlen, "no destination: give --dst IP (raw frames are never sent "
			 "to a default address)");
		return -EDESTADDRREQ;
	}
	if (!c->src_ip.set) {
		struct ifaddrs *ifa, *i;
		bool found = false;

		if (getifaddrs(&ifa))
			return -errno;
		for (i = ifa; i && !found; i = i->ifa_next) {
			if (!i->ifa_addr || strcmp(i->ifa_name, iface) ||
			    i->ifa_addr->sa_family != c->family)
				continue;
			if (c->family == AF_INET) {
				set_fixed(&c->src_ip, ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr));
				found = true;
			} else {
				const uint8_t *b = ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr;
				salvo_u128 v = 0;

				for (int k = 0; k < 16; k++)
					v = v << 8 | b[k];
				set_fixed(&c->src_ip, v);
				found = true;
			}
		}
		freeifaddrs(ifa);
		if (!found) {
			snprintf(err, errlen, "%s has no %s address: give --src IP", iface,
				 c->family == AF_INET6 ? "IPv6" : "IPv4");
			return -EADDRNOTAVAIL;
		}
	}
	if (!c->dst_mac.set) {
		uint8_t ip[16], mac[6];
		char txt[INET6_ADDRSTRLEN];
		salvo_u128 v = 0;
		int rc;

		first_value(&c->dst_ip, ip, c->family == AF_INET6 ? 16 : 4);
		rc = salvo_neigh_lookup(ifindex, c->family, ip, mac);
		if (rc) {
			inet_ntop(c->family, ip, txt, sizeof(txt));
			snprintf(err, errlen, "no neighbour entry for %s on %s: ping it once so the "
				 "kernel resolves it (ping -c1 -I %s %s), or give --dst-mac MAC (the "
				 "gateway's, if %s is not on %s's subnet)", txt, iface, iface, txt,
				 txt, iface);
			return rc == -ENOENT ? -EHOSTUNREACH : rc;
		}
		for (int i = 0; i < 6; i++)
			v = v << 8 | mac[i];
		set_fixed(&c->dst_mac, v);
	}
	return salvo_l2_check(c, (uint32_t)mtu, err, errlen);
}
