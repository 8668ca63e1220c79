// SPDX-License-Identifier: MIT
/*
 * Fuzz the raw-frame side (frames/pktgen.c): the frame decoder and its
 * one-line formatter on any bytes (frames come off the wire), and the
 * text parsers of `salvo raw send` (fields, sizes, hex frames).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frames/pktgen.h"

static void decode(const uint8_t *data, size_t size, size_t buflen)
{
	struct salvo_frame_info fi;
	char buf[512];
	uint8_t *f;

	/* An exact-size copy: ASan sees any read past the frame. */
	f = malloc(size ? size : 1);
	if (!f)
		return;
	memcpy(f, data, size);
	if (salvo_frame_decode(f, (uint32_t)size, &fi) == 0) {
		if (size < 14 || fi.len != size)
			abort();
		if (fi.l4_off > size || fi.payload_off > size)
			abort();
		if (fi.payload_off && !fi.truncated && fi.payload_off + fi.payload_len > size)
			abort();
		memset(buf, 'Z', sizeof(buf));
		salvo_frame_format(&fi, f, buf, buflen);
		if (buflen && strnlen(buf, buflen) == buflen)
			abort();	/* not terminated inside */
		if (buflen < sizeof(buf) && buf[buflen] != 'Z')
			abort();	/* wrote past the end */
	} else if (size >= 14) {
		abort();	/* documented: anything with an Ethernet header decodes */
	}
	free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, err[128];
	int family = 0;

	if (size < 2)
		return 0;
	if (data[0] < 0xc0) {
		decode(data + 2, size - 2, data[1] * 2u);
		return 0;
	}
	/* A text parser, chosen by byte 0. */
	s = malloc(size - 1);
	if (!s)
		return 0;
	memcpy(s, data + 2, size - 2);
	s[size - 2] = 0;
	switch (data[0] & 7) {
	case 0: case 1: case 2: case 3: {
		struct salvo_field f;

		memset(&f, 0, sizeof(f));
		if (salvo_field_parse(&f, (enum salvo_field_kind)(data[0] & 3), s, &family, err,
				      sizeof(err)) == 0) {
			if (salvo_field_cycle(&f) == 0)
				abort();
		}
		salvo_field_free(&f);
		break;
	}
	case 4: case 5: {
		struct salvo_size_spec sz;

		memset(&sz, 0, sizeof(sz));
		if (salvo_size_parse(&sz, s, err, sizeof(err)) == 0 &&
		    salvo_size_min(&sz) > salvo_size_max(&sz))
			abort();
		break;
	}
	default: {
		uint8_t *out = NULL;
		uint32_t len = 0;

		if (salvo_hex_parse(s, &out, &len, err, sizeof(err)) == 0) {
			/* Two hex digits per byte at most. */
			if (len > strlen(s) / 2 || (len && !out))
				abort();
			if (len)
				out[len - 1] ^= 1;	/* the whole buffer is ours */
		}
		free(out);
		break;
	}
	}
	free(s);
	return 0;
}
