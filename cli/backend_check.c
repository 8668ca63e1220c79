// SPDX-License-Identifier: MIT
/*
 * salvo_cli_backend_check: shared by the common options and profiles.  A file
 * of its own so the profile fuzzer links it without the run driver.
 */
#include <errno.h>
#include <stdio.h>

#include <salvo/backend.h>

#include "cli.h"

int salvo_cli_backend_check(const char *name, char *err, size_t errlen)
{
	const struct salvo_backend_ops *v[16];
	unsigned int n, i;
	int w;

	if (!name || salvo_backend_find(name))
		return 0;
	n = salvo_backend_list(v, SALVO_ARRAY_SIZE(v));
	w = snprintf(err, errlen, "unknown backend '%s'; known:", name);
	for (i = 0; i < n && w > 0 && (size_t)w < errlen; i++)
		w += snprintf(err + w, errlen - (size_t)w, "%s %s", i ? "," : "", v[i]->name);
	return -ENOENT;
}
