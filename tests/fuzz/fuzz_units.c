// SPDX-License-Identifier: MIT
/* Fuzz the unit parsers: no crash, results within the documented ranges, err bounded. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/units.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, err[96], buf[48];
	size_t errlen;
	uint64_t v = 0;
	double pps = -1, bps = -1, d;

	if (size < 1)
		return 0;
	errlen = (size_t)(data[0] % 64) + 1;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;

	memset(err, 'Z', sizeof(err));
	if (salvo_parse_count(s, &v, err, errlen) && err[errlen] != 'Z')
		abort();
	memset(err, 'Z', sizeof(err));
	if (salvo_parse_size(s, &v, err, errlen) && err[errlen] != 'Z')
		abort();
	memset(err, 'Z', sizeof(err));
	if (salvo_parse_rate(s, &pps, &bps, err, errlen) == 0) {
		/* Exactly one is set, finite and positive. */
		if (!((pps > 0) ^ (bps > 0)) || !isfinite(pps) || !isfinite(bps) || pps < 0 || bps < 0)
			abort();
	} else if (err[errlen] != 'Z' || pps != 0 || bps != 0) {
		abort();
	}
	memset(err, 'Z', sizeof(err));
	if (salvo_parse_duration(s, &v, err, errlen) == 0) {
		if (v < 1 || v > 3600000000000000ULL)
			abort();
	} else if (err[errlen] != 'Z') {
		abort();
	}
	/* Formatting any double into a small buffer. */
	if (size >= 9) {
		memcpy(&d, data + 1, sizeof(d));
		memset(buf, 'Z', sizeof(buf));
		salvo_fmt_si(d, buf, (size_t)(data[0] % 32) + 1);
		if (buf[(data[0] % 32) + 1] != 'Z')
			abort();
		salvo_fmt_bits(d, buf, (size_t)(data[0] % 32) + 1);
		if (buf[(data[0] % 32) + 1] != 'Z')
			abort();
	}
	free(s);
	return 0;
}
