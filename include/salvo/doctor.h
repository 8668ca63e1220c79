/* SPDX-License-Identifier: MIT */
/*
 * salvo doctor: what the backends need from this machine, checked one by
 * one, each with the command that fixes it.  engine/doctor.c runs the
 * checks every backend shares (capabilities, memlock, socket buffer limits,
 * UDP offloads) and then each registered backend's doctor op, which judges
 * its own kernel features from the same table its probe uses (io_uring ops
 * and multishot in backends/uring.c, AF_PACKET in afpacket.c, AF_XDP and
 * bpffs in afxdp.c).  The engine and the backends only fill the structs;
 * cli/cmd_doctor.c prints.
 */
#ifndef SALVO_DOCTOR_H
#define SALVO_DOCTOR_H

#include <stddef.h>

enum salvo_doctor_status {
	SALVO_DOCTOR_OK,
	SALVO_DOCTOR_WARN,	/* works, but limits something (throughput, a feature) */
	SALVO_DOCTOR_FAIL,	/* a backend or feature cannot work here until fixed */
};

struct salvo_doctor_check {
	char name[32];		/* stable id: "io_uring.setup", "cap_net_raw", ... */
	enum salvo_doctor_status status;
	char detail[192];	/* what was found, one line */
	char needed_by[64];	/* backends/features that depend on it */
	char fix[192];		/* the command that fixes it; "" when OK */
};

#define SALVO_DOCTOR_MAX 64

/* Where checks append their findings: v[0..n) of room for max. */
struct salvo_doctor_report {
	struct salvo_doctor_check *v;
	unsigned int n, max;
};

/*
 * Append one finding (dropped when the report is full).  fix is kept only
 * when st is not OK, so an OK line never carries a fix.
 */
__attribute__((format(printf, 6, 7))) void
salvo_doctor_add(struct salvo_doctor_report *r, const char *name, enum salvo_doctor_status st,
		 const char *needed_by, const char *fix, const char *fmt, ...);

/* Run every check into v (up to max); returns how many were written. */
unsigned int salvo_doctor_run(struct salvo_doctor_check *v, unsigned int max);
const char *salvo_doctor_status_name(enum salvo_doctor_status s);

/*
 * Does this kernel take UDP_SEGMENT of seg bytes on a UDP socket of family
 * (AF_INET, AF_INET6)?  0, or -errno with one line in why.  udp send asks
 * before it makes GSO its default (the doctor's udp_gso check asks the same
 * of an AF_INET socket).
 */
int salvo_udp_gso_probe(int family, unsigned int seg, char *why, size_t len);

#endif
