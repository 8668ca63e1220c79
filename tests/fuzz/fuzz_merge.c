// SPDX-License-Identifier: MIT
/*
 * Fuzz the record reader of `salvo merge` (apps/merge.c), which reads files
 * from many hosts: any bytes are folded in or refused with a reason; what
 * is accepted adds up (every summary in exactly one host group, every
 * interval in exactly one step) and its merged histogram is one the
 * histogram code accepts, with percentiles inside [min, max].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/hist.h>

#include "apps/merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sum(const struct salvo_merge_sum *s, struct salvo_hist *h)
{
	if (!s->lat.count)
		return;
	if (salvo_merge_hist_build(&s->lat, h))
		abort();	/* every accepted histogram builds */
	if (salvo_hist_count(h) != s->lat.count || salvo_hist_percentile(h, 50) < salvo_hist_min(h) ||
	    salvo_hist_percentile(h, 99.9) > salvo_hist_max(h))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct salvo_hist *h;
	const struct salvo_merge_group *g;
	const struct salvo_merge_bin *b;
	struct salvo_merge *m;
	uint64_t hosts = 0, binned = 0, step;
	unsigned int ng;
	size_t nb;
	char err[512];

	if (!h && salvo_hist_create(&h))
		abort();
	if (salvo_merge_create(&m, 0))
		abort();
	err[0] = 0;
	if (salvo_merge_add(m, (const char *)data, size, err, sizeof(err))) {
		if (!err[0])
			abort();	/* a refusal always says why */
		salvo_merge_destroy(m);
		return 0;
	}
	if (salvo_merge_finish(m))
		abort();
	ng = salvo_merge_groups(m, &g);
	for (unsigned int i = 0; i < ng; i++) {
		if (!g[i].label)
			hosts += g[i].s.records;
		check_sum(&g[i].s, h);
	}
	nb = salvo_merge_bins(m, &b, &step);
	for (size_t i = 0; i < nb; i++) {
		binned += b[i].s.records;
		check_sum(&b[i].s, h);
		if (i && b[i].start_unix_ns <= b[i - 1].start_unix_ns)
			abort();	/* the timeline runs forward */
	}
	if (hosts != salvo_merge_total(m)->records || (nb && !step))
		abort();
	(void)binned;
	check_sum(salvo_merge_total(m), h);
	salvo_merge_destroy(m);
	return 0;
}
