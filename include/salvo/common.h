/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every part of salvo. */
#ifndef SALVO_COMMON_H
#define SALVO_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SALVO_CACHELINE 64
#define __salvo_aligned __attribute__((aligned(SALVO_CACHELINE)))
#define salvo_likely(x) __builtin_expect(!!(x), 1)
#define salvo_unlikely(x) __builtin_expect(!!(x), 0)
#define SALVO_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SALVO_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SALVO_MAX(a, b) ((a) > (b) ? (a) : (b))

static inline void salvo_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_USEC 1000ULL

/* Monotonic time in ns.  vDSO, no syscall: cheap enough to call once per burst. */
static inline uint64_t salvo_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t salvo_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/*
 * Counters that one thread writes and another reads for the interval report.
 * A relaxed store/load is enough: the reader wants a recent value, not an
 * ordering with other memory; it only rules out torn 64-bit accesses.
 */
static inline void salvo_cnt_add(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, *c + v, __ATOMIC_RELAXED);
}

static inline uint64_t salvo_cnt_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

#endif
