// SPDX-License-Identifier: MIT
/* `salvo __options`: the option tables as JSON, the one source of man pages and completion. */
#include <stdio.h>
#include <stdlib.h>

#include "opt.h"
#include "version.h"

static const char *const type_names[] = {
	[SALVO_OPT_FLAG] = "flag", [SALVO_OPT_STR] = "string", [SALVO_OPT_UINT] = "uint",
	[SALVO_OPT_COUNT] = "count", [SALVO_OPT_U64] = "u64", [SALVO_OPT_SIZE] = "size",
	[SALVO_OPT_RATE] = "rate", [SALVO_OPT_DURATION] = "duration", [SALVO_OPT_ENUM] = "enum",
};

static json_t *opt_json(const struct salvo_opt *o)
{
	const char *mv = salvo_opt_metavar(o);
	json_t *j = json_pack("{s:s, s:s, s:s?, s:s}", "name", o->name, "type",
			      (unsigned int)o->type < sizeof(type_names) / sizeof(type_names[0]) ?
			      type_names[o->type] : "?", "metavar", mv, "help", o->help ? o->help : "");

	if (!j)
		return NULL;
	if (o->short_name) {
		char s[2] = {(char)o->short_name, 0};

		json_object_set_new(j, "short", json_string(s));
	}
	if (o->choices) {
		json_t *c = json_array();

		for (const char *const *p = o->choices; *p; p++)
			json_array_append_new(c, json_string(*p));
		json_object_set_new(j, "choices", c);
	}
	if (o->min || o->max) {
		json_object_set_new(j, "min", json_integer((json_int_t)o->min));
		json_object_set_new(j, "max", json_integer((json_int_t)o->max));
	}
	return j;
}

int salvo_options_dump(FILE *f)
{
	const struct salvo_cmd *v[64];
	unsigned int n = salvo_cmd_list(v, 64);
	json_t *root = json_object(), *cmds = json_array();
	char *s;

	if (!root || !cmds)
		goto oom;
	json_object_set_new(root, "version", salvo_version_json());
	for (unsigned int i = 0; i < n; i++) {
		json_t *c = json_pack("{s:s, s:s?, s:i, s:i, s:s, s:s?}", "name", v[i]->name, "args",
				      v[i]->args, "min_args", (int)v[i]->min_args, "max_args",
				      (int)v[i]->max_args, "summary", v[i]->summary, "description",
				      v[i]->description);
		json_t *opts = json_array();

		if (!c || !opts) {
			json_decref(c);
			json_decref(opts);
			goto oom;
		}
		for (const struct salvo_opt *const *t = v[i]->tables; t && *t; t++)
			for (const struct salvo_opt *o = *t; o->name; o++)
				json_array_append_new(opts, opt_json(o));
		json_object_set_new(c, "options", opts);
		json_array_append_new(cmds, c);
	}
	json_object_set_new(root, "commands", cmds);
	s = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!s)
		return 1;
	fprintf(f, "%s\n", s);
	free(s);
	return fflush(f) ? 1 : 0;
oom:
	json_decref(root);
	json_decref(cmds);
	return 1;
}
