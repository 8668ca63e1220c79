// SPDX-License-Identifier: MIT
/* Build identity, from the header tools/version.sh generates. */
#include <stdio.h>
#include <stdlib.h>

#include "version.h"
/* Generated into $(BUILD)/gen (on the include path) by tools/version.sh. */
#include <salvo_build.h>

struct lib_version {
	const char *name, *version;
};

static const struct lib_version libs[] = SALVO_LIBS;

void salvo_version_print(FILE *f)
{
	fprintf(f, "salvo %s\ncommit: %s\nbuilt: %s\nbuilt with (pkg-config at build time):", SALVO_VERSION,
		SALVO_COMMIT, SALVO_BUILT);
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		fprintf(f, "%s %s %s", i ? "," : "", libs[i].name, libs[i].version);
	fputc('\n', f);
}

json_t *salvo_version_json(void)
{
	json_t *o = json_object(), *l = json_object();

	if (!o || !l) {
		json_decref(o);
		json_decref(l);
		return NULL;
	}
	json_object_set_new(o, "salvo", json_string(SALVO_VERSION));
	json_object_set_new(o, "commit", json_string(SALVO_COMMIT));
	json_object_set_new(o, "built", json_string(SALVO_BUILT));
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		json_object_set_new(l, libs[i].name, json_string(libs[i].version));
	json_object_set_new(o, "libraries", l);
	return o;
}
