/* SPDX-License-Identifier: MIT */
/*
 * What raw frames learn from the interface and the kernel (frames/pktnet.c):
 * addresses, MTU, neighbour entries.
 */
#ifndef SALVO_PKTNET_H
#define SALVO_PKTNET_H

#include <stddef.h>
#include <stdint.h>

#include "frames/pktgen.h"

/*
 * Fill in what the user left out, from the interface: the source MAC (the
 * interface's), the source IP (its first address of the destination's
 * family) and the destination MAC (the kernel's neighbour entry for the
 * first destination IP).  Then check the whole cfg (a destination is
 * required; sizes fit the headers and the MTU).  -errno and one line in err.
 */
int salvo_l2_resolve(struct salvo_l2_cfg *c, const char *iface, char *err, size_t errlen);
/* Look up ip (4 or 16 bytes) in the neighbour table of ifindex.  0, -ENOENT, -errno. */
int salvo_neigh_lookup(int ifindex, int family, const void *ip, uint8_t mac[6]);

#endif
