/* SPDX-License-Identifier: MIT */
/* Numbers as users write them: 100k, 1.5M, 800Mbit, 10Gbit, 5s, 250ms, 64KiB. */
#ifndef SALVO_UNITS_H
#define SALVO_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* A count with an optional SI suffix k/M/G (x1000).  "0" is allowed. */
int salvo_parse_count(const char *s, uint64_t *out, char *err, size_t errlen);

/* A byte size: plain, or with k/K/KiB (1024), M/MiB, G/GiB; "kB"/"MB" are 1000s. */
int salvo_parse_size(const char *s, uint64_t *out, char *err, size_t errlen);

/*
 * A rate: packets per second ("100k", "1.5M", "2000pps") or bits per second
 * ("800Mbit", "10Gbit", "1.5gbps", "64kbit").  Exactly one of *pps / *bps is
 * set non-zero; the other is zeroed.  Zero or negative is refused.
 */
int salvo_parse_rate(const char *s, double *pps, double *bps, char *err, size_t errlen);

/* A duration: "5" (seconds), "5s", "250ms", "10us", "1m", "1.5h".  Result in ns, > 0. */
int salvo_parse_duration(const char *s, uint64_t *ns, char *err, size_t errlen);

/* Human-readable, for text reports: "1.23M", "456.7k"; "9.87 Gbit/s". */
const char *salvo_fmt_si(double v, char *buf, size_t len);
const char *salvo_fmt_bits(double bps, char *buf, size_t len);

#endif
