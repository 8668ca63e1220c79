// SPDX-License-Identifier: MIT
/* Numbers with units, as users write them on the command line. */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <salvo/units.h>

/* Parse a non-negative decimal number; *end points past it. */
static int parse_number(const char *s, double *v, const char **end)
{
	char *e;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	*v = strtod(s, &e);
	if (e == s || errno || !isfinite(*v) || *v < 0)
		return -EINVAL;
	/* strtod takes "inf", "nan", hex: refuse anything but digits and a dot. */
	for (const char *p = s; p < e; p++)
		if (!(*p >= '0' && *p <= '9') && *p != '.')
			return -EINVAL;
	*end = e;
	return 0;
}

/*
 * Exact decimal: "D[.D]" times an integer multiplier, refused unless the
 * result is a whole number that fits 64 bits ("1.005k" is exactly 1005, not
 * 1004.999...; "9007199254740993" is not rounded through a double).
 */
static int parse_exact(const char *s, size_t n, uint64_t mult, uint64_t *out)
{
	unsigned __int128 mant = 0, div = 1, v;
	size_t i = 0;
	bool dot = false, digits = false;

	for (; i < n; i++) {
		if (s[i] == '.' && !dot) {
			dot = true;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		digits = true;
		mant = mant * 10 + (unsigned)(s[i] - '0');
		if (dot)
			div *= 10;
		if (mant > ((unsigned __int128)1 << 100) || div > ((unsigned __int128)1 << 100))
			return -ERANGE;
	}
	if (!digits)
		return -EINVAL;
	v = mant * mult;
	if (v % div)
		return -ERANGE;
	v /= div;
	if (v > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)v;
	return 0;
}

static double si_mult(const char *u, size_t n)
{
	if (n == 0)
		return 1;
	switch (u[0]) {
	case 'k': case 'K': return 1e3;
	case 'm': case 'M': return 1e6;
	case 'g': case 'G': return 1e9;
	case 't': case 'T': return 1e12;
	}
	return 0;
}

int salvo_parse_count(const char *s, uint64_t *out, char *err, size_t errlen)
{
	const char *end;
	double v, m;

	if (parse_number(s, &v, &end) || strlen(end) > 1 || !(m = si_mult(end, strlen(end))) ||
	    parse_exact(s, (size_t)(end - s), (uint64_t)m, out)) {
		snprintf(err, errlen, "'%s' is not a count (e.g. 1000, 100k, 1.5M)", s ? s : "");
		return -EINVAL;
	}
	return 0;
}

int salvo_parse_size(const char *s, uint64_t *out, char *err, size_t errlen)
{
	static const struct {
		const char *u;
		double m;
	} units[] = {
		{"", 1}, {"b", 1}, {"B", 1},
		{"k", 1024}, {"K", 1024}, {"KiB", 1024}, {"kiB", 1024}, {"kB", 1000}, {"KB", 1000},
		{"M", 1048576}, {"MiB", 1048576}, {"MB", 1e6},
		{"G", 1073741824.0}, {"GiB", 1073741824.0}, {"GB", 1e9},
	};
	const char *end;
	double v;

	if (parse_number(s, &v, &end) == 0) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcmp(end, units[i].u) == 0 &&
			    parse_exact(s, (size_t)(end - s), (uint64_t)units[i].m, out) == 0)
				return 0;
		}
	}
	snprintf(err, errlen, "'%s' is not a size (e.g. 64, 1500, 128KiB, 1M)", s ? s : "");
	return -EINVAL;
}

int salvo_parse_rate(const char *s, double *pps, double *bps, char *err, size_t errlen)
{
	const char *end, *unit;
	double v, m = 1;
	size_t n;
	int bits = 0;

	*pps = *bps = 0;
	if (parse_number(s, &v, &end))
		goto bad;
	unit = end;
	n = strlen(unit);
	/* Strip a rate suffix: "pps", "bit", "bps", "bit/s", "b". */
	if (n >= 3 && strcasecmp(unit + n - 3, "pps") == 0) {
		n -= 3;
	} else if (n >= 5 && strcasecmp(unit + n - 5, "bit/s") == 0) {
		n -= 5, bits = 1;
	} else if (n >= 3 && strcasecmp(unit + n - 3, "bit") == 0) {
		n -= 3, bits = 1;
	} else if (n >= 3 && strcasecmp(unit + n - 3, "bps") == 0) {
		n -= 3, bits = 1;
	}
	if (n > 1)
		goto bad;
	m = si_mult(unit, n);
	if (!m)
		goto bad;
	v *= m;
	if (!(v > 0) || v > 1e15) {
		snprintf(err, errlen, "rate '%s' must be greater than zero", s);
		return -EINVAL;
	}
	if (bits)
		*bps = v;
	else
		*pps = v;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a rate (e.g. 100k, 1.5M pps; 800Mbit, 10Gbit)", s ? s : "");
	return -EINVAL;
}

int salvo_parse_duration(const char *s, uint64_t *ns, char *err, size_t errlen)
{
	static const struct {
		const char *u;
		double m;
	} units[] = {
		{"", 1e9}, {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"ns", 1}, {"m", 60e9}, {"h", 3600e9},
	};
	const char *end;
	double v;

	if (parse_number(s, &v, &end) == 0) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strcmp(end, units[i].u) == 0) {
				double r = v * units[i].m;

				if (r < 1 || r > 3.6e15) {
					snprintf(err, errlen, "duration '%s' must be between 1ns and 1000h", s);
					return -EINVAL;
				}
				*ns = (uint64_t)r;
				return 0;
			}
		}
	}
	snprintf(err, errlen, "'%s' is not a duration (e.g. 5, 5s, 250ms, 2m)", s ? s : "");
	return -EINVAL;
}

const char *salvo_fmt_si(double v, char *buf, size_t len)
{
	if (v >= 1e9)
		snprintf(buf, len, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
	return buf;
}

const char *salvo_fmt_bits(double bps, char *buf, size_t len)
{
	if (bps >= 1e9)
		snprintf(buf, len, "%.2f Gbit/s", bps / 1e9);
	else if (bps >= 1e6)
		snprintf(buf, len, "%.1f Mbit/s", bps / 1e6);
	else if (bps >= 1e3)
		snprintf(buf, len, "%.1f kbit/s", bps / 1e3);
	else
		snprintf(buf, len, "%.0f bit/s", bps);
	return buf;
}
