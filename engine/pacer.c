// SPDX-License-Identifier: MIT
/*
 * Pacing: one budget shared by every worker.  Departures are scheduled on an
 * absolute timeline (start + i * interval for the i-th packet of the run), so
 * sleeping late never drifts the long-run rate: a late burst is followed by
 * on-time ones.  Workers claim slots with one atomic add per burst.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <salvo/common.h>
#include <salvo/run.h>
#include <salvo/pacer.h>

/* Fall further behind than this and the timeline is moved, not caught up in a storm. */
#define PACER_MAX_LAG_NS (50 * NSEC_PER_MSEC)

struct salvo_pacer {
	double interval_ns;
	uint64_t start_ns;
	/* Written by all workers: its own cache line. */
	uint64_t next __salvo_aligned;	/* index of the next unclaimed departure */
	uint64_t shift __salvo_aligned;	/* ns the timeline was moved after stalls */
};

int salvo_pacer_create(struct salvo_pacer **out, double pps)
{
	struct salvo_pacer *p;

	if (!(pps > 0))
		return -EINVAL;
	p = aligned_alloc(SALVO_CACHELINE, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->interval_ns = 1e9 / pps;
	p->start_ns = 0;
	p->next = 0;
	p->shift = 0;
	*out = p;
	return 0;
}

void salvo_pacer_destroy(struct salvo_pacer *p)
{
	free(p);
}

void salvo_pacer_start(struct salvo_pacer *p, uint64_t start_ns)
{
	p->start_ns = start_ns;
}

uint64_t salvo_pacer_claim(struct salvo_pacer *p, unsigned int n)
{
	/* Relaxed: the index only has to be unique; nothing else is published with it. */
	uint64_t i = __atomic_fetch_add(&p->next, n, __ATOMIC_RELAXED);
	uint64_t shift = __atomic_load_n(&p->shift, __ATOMIC_RELAXED);
	uint64_t due = p->start_ns + shift + (uint64_t)((double)i * p->interval_ns);
	uint64_t now = salvo_now_ns();

	if (salvo_unlikely(now > due + PACER_MAX_LAG_NS)) {
		/*
		 * Stalled (stopped process, overloaded machine): move the whole
		 * timeline forward so the lag is forgotten rather than repaid
		 * at full speed.  CAS keeps the largest shift when several
		 * workers notice at once.
		 */
		uint64_t want = shift + (now - due);

		while (shift < want &&
		       !__atomic_compare_exchange_n(&p->shift, &shift, want, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		due = now;
	}
	return due;
}

/* Sleep until the absolute monotonic time wake_ns, or until *stop leaves 0 (and is woken). */
static void stop_wait(int *stop, uint64_t wake_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(wake_ns / NSEC_PER_SEC),
			      .tv_nsec = (long)(wake_ns % NSEC_PER_SEC)};

	/*
	 * FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time.  It returns
	 * at once (EAGAIN) if *stop is no longer 0, so a stop between the
	 * caller's check and this call is not missed; EINTR and ETIMEDOUT both
	 * send the caller back to its checks.
	 */
	syscall(SYS_futex, stop, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, &ts, NULL,
		FUTEX_BITSET_MATCH_ANY);
}

void salvo_pacer_wake(int *stop)
{
	/* A syscall, so safe in a signal handler; pairs with stop_wait(). */
	syscall(SYS_futex, stop, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX, NULL, NULL, 0);
}

uint64_t salvo_pacer_wait(uint64_t due_ns, int *stop)
{
	uint64_t now = salvo_now_ns();

	/*
	 * Sleep to just before the slot, then spin the last few microseconds.
	 * The sleep is one futex wait on the stop word, so a stop (deadline,
	 * signal, count reached) ends even an hour-long wait at once.
	 */
	while (due_ns > now + 20 * NSEC_PER_USEC) {
		/* Relaxed: the flag is the only thing read; pairs with the store before the wake. */
		if (stop && __atomic_load_n(stop, __ATOMIC_RELAXED))
			return 0;
		if (stop) {
			stop_wait(stop, due_ns - 10 * NSEC_PER_USEC);
		} else {
			uint64_t wake = due_ns - 10 * NSEC_PER_USEC;
			struct timespec ts = {.tv_sec = (time_t)(wake / NSEC_PER_SEC),
					      .tv_nsec = (long)(wake % NSEC_PER_SEC)};

			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		now = salvo_now_ns();
	}
	while (now < due_ns) {
		salvo_cpu_relax();
		now = salvo_now_ns();
	}
	return now;
}

unsigned int salvo_pacer_burst(double pps, unsigned int workers, unsigned int max_burst)
{
	/* Aim for a burst every ~50 us per worker: smooth, yet few syscalls at high rates. */
	double per_worker = pps / (workers ? workers : 1);
	double n = per_worker * 50e-6;

	if (n < 1)
		return 1;
	if (n > max_burst)
		return max_burst;
	return (unsigned int)n;
}
