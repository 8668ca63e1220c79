/* SPDX-License-Identifier: MIT */
/*
 * The UDP socket options salvo uses, for C libraries whose headers predate
 * them (UDP_SEGMENT: Linux 4.18, UDP_GRO: Linux 5.0).  One place for the
 * fallbacks: backends/sock.h and engine/doctor.c both include this.
 */
#ifndef SALVO_UDP_H
#define SALVO_UDP_H

/* No system header here: <netinet/udp.h> and <linux/udp.h> clash; the user includes one. */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#endif
