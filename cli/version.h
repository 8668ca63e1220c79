/* SPDX-License-Identifier: MIT */
/* salvo's build identity: `salvo --version` and every --json document's "version". */
#ifndef SALVO_CLI_VERSION_H
#define SALVO_CLI_VERSION_H

#include <stdio.h>

#include <jansson.h>

/* "salvo 0.1.0", then commit, build date and library versions, one a line. */
void salvo_version_print(FILE *f);
/* {"salvo": "0.1.0", "commit": ..., "built": ..., "libraries": {"liburing": "2.3", ...}} */
json_t *salvo_version_json(void);

/*
 * `salvo __options`: every command's option table as one JSON document, for
 * tools/gen-docs.py (man pages, shell completion).  Returns the exit code.
 */
int salvo_options_dump(FILE *f);

#endif
