/* SPDX-License-Identifier: MIT */
/*
 * Profiles (`salvo run PROFILE.json`, docs/profiles.md) read into streams,
 * without touching an interface, a file or a backend: cmd_run.c sets each
 * stream up after this, and tests/fuzz/fuzz_profile.c checks what this
 * accepts.  Every refusal is -errno and one line (no file name) in err.
 */
#ifndef SALVO_CLI_PROFILE_H
#define SALVO_CLI_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <salvo/cfg.h>
#include "frames/pktgen.h"

#define SALVO__PROFILE_MAX_STREAMS 64
/* A key given twice is refused, not settled silently by the last one winning. */
#define SALVO__PROFILE_JSON_FLAGS JSON_REJECT_DUPLICATES

struct salvo__profile {
	json_t *doc;		/* borrowed: the caller loads and frees it */
	json_t *streams;	/* inside doc */
	unsigned int n;		/* 1..SALVO__PROFILE_MAX_STREAMS */
	uint64_t duration_ns;	/* the command line's, else the profile's, else 0 */
};

/* One stream as the profile says it; strings point into the document. */
struct salvo__profile_stream {
	const char *name;	/* "name", else "streamN" in namebuf (set even on refusal) */
	char namebuf[32];
	struct salvo_cfg cfg;
	struct salvo_l2_cfg l2;	/* raw only; salvo_l2_cfg_free() it when raw */
	bool raw;
};

/* The top level: "streams" (1..64) and "duration"; duration_ns from --duration wins. */
int salvo__profile_doc(struct salvo__profile *p, json_t *doc, uint64_t duration_ns, char *err,
		       size_t errlen);
/*
 * Stream i.  -EINVAL / -EDESTADDRREQ / -EMSGSIZE: bad input; -ENOENT: an
 * unknown backend (also bad input).  A raw stream still needs
 * salvo__raw_setup() (its interface and capture), every stream salvo_cfg_finish().
 */
int salvo__profile_stream(struct salvo__profile_stream *s, const struct salvo__profile *p,
			  unsigned int i, char *err, size_t errlen);

#endif
