/* SPDX-License-Identifier: MIT */
/*
 * Pacing: one departure budget shared by all workers of a run (engine/pacer.c).
 */
#ifndef SALVO_PACER_H
#define SALVO_PACER_H

#include <stdint.h>

struct salvo_pacer;

int salvo_pacer_create(struct salvo_pacer **out, double pps);
void salvo_pacer_destroy(struct salvo_pacer *p);
void salvo_pacer_start(struct salvo_pacer *p, uint64_t start_ns);
/* Claim n departures; returns when the first of them is due (monotonic ns). */
uint64_t salvo_pacer_claim(struct salvo_pacer *p, unsigned int n);
/*
 * Sleep (then spin briefly) until due; returns the departure time reached.
 * With stop, the wait also ends, returning 0, as soon as *stop is non-zero
 * (whoever sets it calls salvo_pacer_wake(stop)).  NULL: wait unconditionally.
 */
uint64_t salvo_pacer_wait(uint64_t due_ns, int *stop);
/* Wake every salvo_pacer_wait() on stop; async-signal-safe. */
void salvo_pacer_wake(int *stop);
/* Largest burst that keeps departures smooth at this rate and worker count. */
unsigned int salvo_pacer_burst(double pps, unsigned int workers, unsigned int max_burst);

#endif
