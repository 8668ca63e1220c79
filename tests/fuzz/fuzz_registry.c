// SPDX-License-Identifier: MIT
/*
 * Fuzz the registry store (registry/registry.c) with the names clients send:
 * every name is either refused by salvo_registry_name_check() or stored,
 * and the JSON list the server replies with always parses and maps each
 * stored name (escaped as needed) to its address and port.  The error
 * reply parses too, whatever its buffer size.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "registry/registry.h"

#define MAX_NAMES 16

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	salvo_registry_thread_enter();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct salvo_registry_opts o = {.max_clients = 8};
	struct salvo_registry *r;
	struct salvo_registry_reply *rep;
	const uint8_t *name[MAX_NAMES];
	size_t len[MAX_NAMES], n = 0, start = 1;
	int rc[MAX_NAMES];
	char err[256], ebuf[64];
	const char *text;
	size_t tlen;
	json_t *j;

	if (size < 1)
		return 0;
	/* Names are cut at 0xff bytes (never valid UTF-8, so never part of a stored name). */
	for (size_t i = 1; i <= size && n < MAX_NAMES; i++) {
		if (i == size || data[i] == 0xff) {
			name[n] = data + start;
			len[n] = i - start;
			n++;
			start = i + 1;
		}
	}
	if (salvo_registry_create(&r, &o, err, sizeof(err)))
		abort();
	for (size_t i = 0; i < n; i++) {
		/* An exact-size copy: ASan sees any read past the name. */
		uint8_t *copy = malloc(len[i] ? len[i] : 1);
		int check;

		memcpy(copy, name[i], len[i]);
		check = salvo_registry_name_check(copy, len[i]);
		rc[i] = salvo_registry_join(r, copy, len[i], (data[0] & 1) ? "::1" : "127.0.0.1",
					    1000u + (unsigned int)i, NULL);
		free(copy);
		if (check && rc[i] != check)
			abort();	/* join refuses what name_check refuses, for the same reason */
		/* Full (--max-clients) is -EUSERS; a full journal disk would be -ENOSPC. */
		if (!check && rc[i] && rc[i] != -ENOSPC && rc[i] != -EUSERS)
			abort();
		if (len[i] > SALVO_REGISTRY_NAME_MAX && !rc[i])
			abort();
	}
	if (salvo_registry_list(r, salvo_registry_gen(r), &rep))
		abort();
	text = salvo_registry_reply_data(rep, &tlen);
	j = json_loadb(text, tlen, 0, NULL);
	if (!j || !json_is_object(j))
		abort();
	for (size_t i = 0; i < n; i++) {
		char key[SALVO_REGISTRY_NAME_MAX + 1];
		json_t *e;

		if (rc[i])
			continue;
		memcpy(key, name[i], len[i]);
		key[len[i]] = 0;
		e = json_object_get(j, key);
		/* A later join of the same name moved its port: any of ours is fine. */
		if (!e || !json_is_integer(json_object_get(e, "port")) ||
		    !json_is_string(json_object_get(e, "address")))
			abort();
	}
	json_decref(j);
	salvo_registry_reply_put(rep);

	/* Error replies: valid JSON when they fit, never past the buffer. */
	memset(ebuf, 'Z', sizeof(ebuf));
	tlen = (size_t)(data[0] % (sizeof(ebuf) - 1));
	if (salvo_registry_error_json(-(int)(data[0] % 130), ebuf, tlen) < 0 ||
	    ebuf[tlen] != 'Z')
		abort();
	salvo_registry_destroy(r);
	return 0;
}
