// SPDX-License-Identifier: MIT
/*
 * Runs on many hosts (docs/fleet.md): --start-at, --run-id, --label, and
 * what every JSON record says about where it comes from and how far its
 * host's clock can be trusted.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <salvo/common.h>

#include "cli.h"
#include "metrics.h"

#define KEY_MAX 64
#define VALUE_MAX 256
#define RUN_ID_MAX 128

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* n digits at *p into *v; false if any is not a digit. */
static bool digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

/* ".123456789" (1 to 9 digits) at *p, as ns; no fraction: 0.  False when malformed. */
static bool fraction(const char **p, uint64_t *ns)
{
	uint64_t scale = NSEC_PER_SEC;
	int n = 0;

	*ns = 0;
	if (**p != '.')
		return true;
	for ((*p)++; isdigit((unsigned char)**p); (*p)++, n++) {
		if (n == 9)
			return false;
		scale /= 10;
		*ns += (uint64_t)(**p - '0') * scale;
	}
	return n > 0;
}

/* Years 1970..9999: what a 64-bit ns count since the epoch and a 4-digit year both hold. */
static int rfc3339(const char *s, uint64_t *out, char *err, size_t errlen)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	uint64_t frac;
	struct tm tm = {0}, back;
	time_t t;

	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) || *p++ != '-' ||
	    !digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' ') || !(++p) ||
	    !digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) || *p++ != ':' ||
	    !digits(&p, 2, &sec) || !fraction(&p, &frac))
		goto bad;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
			goto bad;
	} else {
		snprintf(err, errlen, "'%s' has no zone: end it with Z or an offset such as +02:00", s);
		return -EINVAL;
	}
	if (*p)
		goto bad;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) {
		snprintf(err, errlen, "'%s' is no date and time salvo can use (years 1970-9999, no leap second)", s);
		return -EINVAL;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm() rolls 31 April over into May: the date must come back as given. */
	if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != d || back.tm_mon != mo - 1) {
		snprintf(err, errlen, "'%s': no such date", s);
		return -EINVAL;
	}
	t -= sign * (oh * 3600 + om * 60);
	if (t < 0) {
		snprintf(err, errlen, "'%s' is before 1970", s);
		return -EINVAL;
	}
	*out = (uint64_t)t * NSEC_PER_SEC + frac;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is neither RFC 3339 (2026-11-30T07:00:00.5Z) nor Unix seconds (1795935600.5)", s);
	return -EINVAL;
}

int salvo_cli_start_at_parse(const char *s, uint64_t *ns, char *err, size_t errlen)
{
	const char *p = s;
	uint64_t sec = 0, frac;

	if (strlen(s) > 64) {
		snprintf(err, errlen, "too long to be a time");
		return -EINVAL;
	}
	if (strlen(s) >= 10 && s[4] == '-')
		return rfc3339(s, ns, err, errlen);
	/* Unix seconds: at most 11 digits (year 5138), so the ns count cannot wrap. */
	for (; isdigit((unsigned char)*p); p++) {
		if (p - s == 11)
			goto bad;
		sec = sec * 10 + (uint64_t)(*p - '0');
	}
	if (p == s || !fraction(&p, &frac) || *p)
		goto bad;
	*ns = sec * NSEC_PER_SEC + frac;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is neither RFC 3339 (2026-11-30T07:00:00.5Z) nor Unix seconds (1795935600.5)", s);
	return -EINVAL;
}

static bool key_ok(const char *k, size_t n)
{
	if (!n || n > KEY_MAX || !(isalpha((unsigned char)k[0]) || k[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)k[i]) && !strchr("_.-", k[i]))
			return false;
	return true;
}

/* Printable ASCII and UTF-8 only: a value lands in JSON, text reports and file names. */
static bool value_ok(const char *v)
{
	size_t n = strlen(v);

	if (n > VALUE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return false;
	return true;
}

int salvo_cli_fleet_check(const struct salvo_cli_fleet *f)
{
	char err[320];
	uint64_t at, now;

	if (f->start_at) {
		if (salvo_cli_start_at_parse(f->start_at, &at, err, sizeof(err)))
			return salvo_usage_error(NULL, "--start-at: %s", err);
		now = realtime_ns();
		if (at <= now)
			return salvo_usage_error(NULL, "--start-at: %s is %.3f s in the past (the real-time clock reads %" PRIu64 ".%09" PRIu64 ")",
						 f->start_at, (double)(now - at) / 1e9,
						 (uint64_t)(now / NSEC_PER_SEC), (uint64_t)(now % NSEC_PER_SEC));
	}
	if (f->run_id) {
		size_t n = strlen(f->run_id);

		if (!n || n > RUN_ID_MAX || !(isalpha((unsigned char)f->run_id[0]) || f->run_id[0] == '_') ||
		    strspn(f->run_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-") != n)
			return salvo_usage_error(NULL, "--run-id: '%s' must be 1-%d characters of A-Z a-z 0-9 _ . : -, starting with a letter or _",
						 f->run_id, RUN_ID_MAX);
	}
	if (f->metrics) {
		struct salvo_addr a;

		if (salvo_metrics_parse(f->metrics, &a, err, sizeof(err)))
			return salvo_usage_error(NULL, "--metrics: %s", err);
	}
	for (unsigned int i = 0; i < f->labels.n; i++) {
		const char *l = f->labels.v[i], *eq = strchr(l, '=');

		if (!eq || !key_ok(l, (size_t)(eq - l)))
			return salvo_usage_error(NULL, "--label: '%s' is not KEY=VALUE with a KEY of 1-%d characters [A-Za-z_][A-Za-z0-9_.-]*",
						 l, KEY_MAX);
		if (!value_ok(eq + 1))
			return salvo_usage_error(NULL, "--label: the value of '%.*s' must be at most %d bytes, without control characters",
						 (int)(eq - l), l, VALUE_MAX);
		for (unsigned int j = 0; j < i; j++)
			if (!strncmp(f->labels.v[j], l, (size_t)(eq - l) + 1))
				return salvo_usage_error(NULL, "--label: key '%.*s' given twice",
							 (int)(eq - l), l);
	}
	return 0;
}

uint64_t salvo_cli_fleet_start_ns(const struct salvo_cli_fleet *f)
{
	uint64_t at = 0;
	char err[8];

	if (f->start_at && salvo_cli_start_at_parse(f->start_at, &at, err, sizeof(err)))
		at = 0;
	return at;
}
