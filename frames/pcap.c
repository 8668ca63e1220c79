// SPDX-License-Identifier: MIT
/* Captures in and out (libpcap): whole-file load for --pcap replay, save for tests and recv. */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames/pktgen.h"
#include "frames/pcap.h"

/* A replay keeps the whole capture in memory: refuse what would not fit comfortably. */
#define PCAP_MAX_BYTES (1ULL << 30)
#define PCAP_MAX_SPAN_NS (1ULL << 62)

void salvo_pcap_free(struct salvo_pcap *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->n; i++)
		free(p->frames[i]);
	free(p->frames);
	free(p->lens);
	free(p->ts_ns);
	free(p);
}

static int grow(struct salvo_pcap *p, uint32_t *cap)
{
	uint32_t nc = *cap ? *cap * 2 : 1024;
	void *a, *b, *c;

	a = realloc(p->frames, nc * sizeof(*p->frames));
	if (!a)
		return -ENOMEM;
	p->frames = a;
	b = realloc(p->lens, nc * sizeof(*p->lens));
	if (!b)
		return -ENOMEM;
	p->lens = b;
	c = realloc(p->ts_ns, nc * sizeof(*p->ts_ns));
	if (!c)
		return -ENOMEM;
	p->ts_ns = c;
	*cap = nc;
	return 0;
}

int salvo_pcap_load(struct salvo_pcap **out, const char *path, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct salvo_pcap *p;
	uint64_t prev = 0, bytes = 0;
	uint32_t cap = 0, truncated = 0;
	pcap_t *pc;
	int rc = 0, r;

	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!pc) {
		size_t plen = strlen(path);

		/* libpcap names the file for some errors ("x: No such file"), not for others. */
		if (!strncmp(perr, path, plen) && perr[plen] == ':')
			snprintf(err, errlen, "%s", perr);
		else
			snprintf(err, errlen, "%s: %s", path, perr);
		return -ENOENT;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		snprintf(err, errlen, "%s: link type %s, only Ethernet captures can be replayed",
			 path, pcap_datalink_val_to_name(pcap_datalink(pc)) ?: "unknown");
		pcap_close(pc);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		pcap_close(pc);
		return -ENOMEM;
	}
	while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
		uint64_t t = (uint64_t)h->ts.tv_sec * NSEC_PER_SEC + (uint64_t)h->ts.tv_usec;

		if (h->caplen < h->len) {
			truncated++;	/* a snapped frame would go out short: skip it */
			continue;
		}
		if (h->caplen < 14)
			continue;
		if (p->n == cap && (rc = grow(p, &cap)))
			goto fail_nomem;
		bytes += h->caplen;
		if (bytes > PCAP_MAX_BYTES) {
			snprintf(err, errlen, "%s: more than 1 GiB of frames, too big to replay",
				 path);
			rc = -EFBIG;
			goto fail;
		}
		p->frames[p->n] = malloc(h->caplen);
		if (!p->frames[p->n])
			goto fail_nomem;
		memcpy(p->frames[p->n], data, h->caplen);
		p->lens[p->n] = h->caplen;
		/*
		 * The replay keeps the gaps between frames, not absolute times.
		 * A timestamp before the previous frame's (a clock stepped back
		 * while capturing) is a gap of 0: the frame goes right after its
		 * predecessor, and the gaps after it keep their spacing.  Forward
		 * jumps are kept as they are, however long: --duration and
		 * signals end such a wait.
		 */
		if (!p->n) {
			p->ts_ns[0] = 0;
		} else if (t < prev) {
			p->ts_ns[p->n] = p->ts_ns[p->n - 1];
			p->backwards++;
		} else {
			/*
			 * Saturate: a capture that jumps forward by years again and
			 * again (its clock stepping back in between) would wrap the
			 * sum and make later frames earlier.  Held at PCAP_MAX_SPAN_NS
			 * (~146 years), the replay's loop arithmetic cannot overflow
			 * either.
			 */
			uint64_t last = p->ts_ns[p->n - 1], gap = t - prev;

			p->ts_ns[p->n] = gap > PCAP_MAX_SPAN_NS - last ? PCAP_MAX_SPAN_NS : last + gap;
		}
		prev = t;
		p->n++;
	}
	if (r == -1) {
		const char *why = pcap_geterr(pc);

		/*
		 * A capture whose writer was killed ends in a cut record; libpcap
		 * reports that as a "truncated dump file".  The frames before it
		 * are whole: replay them, and say what was left out.
		 */
		if (p->n && !strncmp(why, "truncated dump file", 19)) {
			p->cut = true;
		} else {
			snprintf(err, errlen, "%s: %s", path, why);
			rc = -EIO;
			goto fail;
		}
	}
	if (!p->n) {
		snprintf(err, errlen, "%s: no complete Ethernet frame in the capture%s", path,
			 truncated ? " (all were truncated by the snap length)" : "");
		rc = -ENODATA;
		goto fail;
	}
	p->span_ns = p->ts_ns[p->n - 1];
	pcap_close(pc);
	*out = p;
	return 0;
fail_nomem:
	snprintf(err, errlen, "%s: out of memory loading the capture", path);
	rc = -ENOMEM;
fail:
	pcap_close(pc);
	salvo_pcap_free(p);
	return rc;
}

int salvo_pcap_save(const char *path, uint8_t *const *frames, const uint32_t *lens,
		    const uint64_t *ts_ns, uint32_t n, char *err, size_t errlen)
{
	pcap_t *pc;
	pcap_dumper_t *d;
	int rc = 0;

	pc = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
	if (!pc) {
		snprintf(err, errlen, "pcap_open_dead failed");
		return -ENOMEM;
	}
	d = pcap_dump_open(pc, path);
	if (!d) {
		snprintf(err, errlen, "%s: %s", path, pcap_geterr(pc));
		pcap_close(pc);
		return -EIO;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint64_t t = ts_ns ? ts_ns[i] : (uint64_t)i * NSEC_PER_USEC;
		struct pcap_pkthdr h = {
			.ts = { .tv_sec = (time_t)(t / NSEC_PER_SEC),
				.tv_usec = (suseconds_t)(t % NSEC_PER_SEC) },
			.caplen = lens[i],
			.len = lens[i],
		};

		pcap_dump((u_char *)d, &h, frames[i]);
	}
	if (pcap_dump_flush(d)) {
		snprintf(err, errlen, "%s: write failed", path);
		rc = -EIO;
	}
	pcap_dump_close(d);
	pcap_close(pc);
	return rc;
}
