// SPDX-License-Identifier: MIT
/* salvo doctor: what the backends need here, one line per check, with the fix. */
#include <stdio.h>
#include <string.h>

#include <salvo/doctor.h>

#include "cli.h"

struct doctor_opts {
	bool json;
};

static const struct salvo_opt doctor_table[] = {
	SALVO_OPT("json", SALVO_OPT_FLAG, struct doctor_opts, json,
		  .short_name = 'J', .help = "print JSON"),
	SALVO_OPT_END,
};

static const struct salvo_opt *const doctor_tables[] = {doctor_table, NULL};

static int doctor_run(void *o, int argc, char **argv)
{
	struct doctor_opts *d = o;
	struct salvo_doctor_check v[SALVO_DOCTOR_MAX];
	unsigned int n = salvo_doctor_run(v, SALVO_DOCTOR_MAX), cnt[3] = {0, 0, 0};

	(void)argc;
	(void)argv;
	for (unsigned int i = 0; i < n; i++)
		cnt[v[i].status]++;
	if (d->json) {
		json_t *arr = json_array(), *root;

		for (unsigned int i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "name",
							     v[i].name, "status",
							     salvo_doctor_status_name(v[i].status),
							     "detail", v[i].detail, "needed_by",
							     v[i].needed_by, "fix", v[i].fix));
		root = json_pack("{s:i, s:o, s:i, s:i, s:i}", "schema", SALVO_JSON_SCHEMA, "checks", arr,
				 "ok", cnt[SALVO_DOCTOR_OK], "warn", cnt[SALVO_DOCTOR_WARN], "fail",
				 cnt[SALVO_DOCTOR_FAIL]);
		salvo_json_print(stdout, root, true);
		json_decref(root);
	} else {
		for (unsigned int i = 0; i < n; i++) {
			printf("%-4s %-26s %s [%s]", salvo_doctor_status_name(v[i].status), v[i].name,
			       v[i].detail, v[i].needed_by);
			if (v[i].fix[0])
				printf("; fix: %s", v[i].fix);
			putchar('\n');
		}
		printf("%u ok, %u warnings, %u failed\n", cnt[SALVO_DOCTOR_OK], cnt[SALVO_DOCTOR_WARN],
		       cnt[SALVO_DOCTOR_FAIL]);
	}
	/* Failures are findings, not errors of the command: exit 0 unless something failed. */
	return cnt[SALVO_DOCTOR_FAIL] ? 1 : 0;
}

static const struct salvo_cmd doctor_cmd = {
	.name = "doctor",
	.max_args = 0,
	.summary = "check what the backends need on this machine, and say how to fix what is missing",
	.description = "Each backend checks what it needs from the kernel, from the same table "
		       "its probe (salvo backends) reads: io_uring (sysctl, a test ring, its opcodes, "
		       "provided buffer rings, multishot RECVMSG for datagrams, multishot ACCEPT and "
		       "RECV for streams, SEND_ZC) with one verdict per path, AF_PACKET (qdisc "
		       "bypass), AF_XDP (sockets, bpffs).  Then the shared checks: "
		       "CAP_NET_RAW/CAP_NET_ADMIN/CAP_BPF, RLIMIT_MEMLOCK, "
		       "net.core.rmem_max/wmem_max and UDP GSO/GRO.  Sends no traffic.  Exits 1 when "
		       "a check failed.",
	.tables = doctor_tables,
	.opts_size = sizeof(struct doctor_opts),
	.run = doctor_run,
};
SALVO_COMMAND_REGISTER(doctor_cmd)
