/* SPDX-License-Identifier: MIT */
/*
 * salvo doctor: what the backends need from this machine, checked one by
 * one (io_uring and its ops, capabilities, memlock, bpffs, AF_PACKET qdisc
 * bypass, socket buffer limits, UDP GSO/GRO), each with the command that
 * fixes it.  The engine only fills the structs; cli/cmd_doctor.c prints.
 */
#ifndef SALVO_DOCTOR_H
#define SALVO_DOCTOR_H

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

#define SALVO_DOCTOR_MAX 32

/* Run every check into v (up to max); returns how many were written. */
unsigned int salvo_doctor_run(struct salvo_doctor_check *v, unsigned int max);
const char *salvo_doctor_status_name(enum salvo_doctor_status s);

#endif
