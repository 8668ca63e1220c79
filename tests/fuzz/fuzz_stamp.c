// SPDX-License-Identifier: MIT
/*
 * Fuzz stamp decoding and the flow table: any bytes decode or are refused,
 * a version-2 stamp re-encodes to the same 32 bytes and a version-1 one
 * reads its fields from their v1 offsets (session 0); a stream of
 * (session, flow, seq) updates keeps the totals' invariants (unique +
 * duplicates = received, lost = expected - unique, per-flow sums equal the
 * totals), and merging two halves agrees with one table that saw it all:
 * exactly, flow by flow, when every flow fits and spans less than the
 * duplicate window (then each table knows every sequence it saw).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <salvo/flowstat.h>
#include <salvo/stamp.h>

static void check(const struct salvo_flowtab *t, uint64_t fed)
{
	struct salvo_flow_totals tot;
	struct salvo_flow_info fi;
	uint64_t rec = 0, uni = 0, exp = 0, lost = 0, reo = 0, dup = 0;
	uint32_t n = salvo_flowtab_count(t);

	salvo_flowtab_totals(t, &tot);
	if (tot.flows != n || tot.unique + tot.duplicates != tot.received)
		abort();
	if (tot.unique > tot.expected || tot.lost != tot.expected - tot.unique)
		abort();
	if (fed && tot.received + salvo_flowtab_overflow(t) != fed)
		abort();
	for (uint32_t i = 0; i < n; i++) {
		if (salvo_flowtab_flow(t, i, &fi))
			abort();
		if (fi.unique + fi.duplicates != fi.received || fi.lost != fi.expected - fi.unique ||
		    fi.unique > fi.expected || fi.expected != fi.highest - fi.first + 1)
			abort();
		rec += fi.received, uni += fi.unique, exp += fi.expected;
		lost += fi.lost, reo += fi.reordered, dup += fi.duplicates;
	}
	if (rec != tot.received || uni != tot.unique || exp != tot.expected || lost != tot.lost ||
	    reo != tot.reordered || dup != tot.duplicates)
		abort();
	if (salvo_flowtab_flow(t, n, &fi) != -ENOENT)
		abort();
	/* Per session: at most the two sessions fed, summing to the totals. */
	{
		struct salvo_session_totals rows[2];
		int ns = salvo_flowtab_sessions(t, rows, 2);
		uint64_t flows = 0, lat_n = 0;

		if (ns < 0 || ns > 2 || (n && !ns))
			abort();
		rec = uni = lost = dup = 0;
		for (int i = 0; i < ns; i++) {
			flows += rows[i].flows, rec += rows[i].received, uni += rows[i].unique;
			lost += rows[i].lost, dup += rows[i].duplicates;
			lat_n += rows[i].lat_n;
			if (rows[i].lat_n && rows[i].lat_max > rows[i].lat_sum)
				abort();
		}
		/* At most one latency sample per accounted packet (fed with one each). */
		if (lat_n > tot.received)
			abort();
		if (flows != n || rec != tot.received || uni != tot.unique || lost != tot.lost ||
		    dup != tot.duplicates)
			abort();
	}
}

/*
 * The whole table and the merged halves agree exactly: the same flows with
 * the same first/highest, the same received/unique/expected/lost/duplicates
 * (reordering is each half's own, so not compared).
 */
static void check_same(const struct salvo_flowtab *all, const struct salvo_flowtab *m)
{
	struct salvo_flow_totals ta, tm;
	struct salvo_flow_info fa, fm;
	uint32_t n = salvo_flowtab_count(all);

	salvo_flowtab_totals(all, &ta);
	salvo_flowtab_totals(m, &tm);
	if (ta.flows != tm.flows || ta.received != tm.received || ta.unique != tm.unique ||
	    ta.expected != tm.expected || ta.lost != tm.lost || ta.duplicates != tm.duplicates)
		abort();
	if (salvo_flowtab_count(m) != n)
		abort();
	for (uint32_t i = 0; i < n; i++) {
		if (salvo_flowtab_flow(all, i, &fa) || salvo_flowtab_find(m, fa.session, fa.flow, &fm))
			abort();
		if (fa.first != fm.first || fa.highest != fm.highest || fa.received != fm.received ||
		    fa.unique != fm.unique || fa.expected != fm.expected || fa.lost != fm.lost ||
		    fa.duplicates != fm.duplicates)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct salvo_stamp st, st2;
	uint8_t enc[SALVO_STAMP_SIZE];
	struct salvo_flowtab *all, *a, *b, *m;
	struct salvo_flow_totals tm;
	uint64_t base = 0, fed = 0, fa = 0, fb = 0;
	/* Per flow: lowest and highest offset from base seen, and whether seen. */
	int64_t lo[16], hi[16];
	uint16_t seen = 0;
	bool exact = true;

	/*
	 * Decode: a version-2 stamp re-encodes to the same bytes; a version-1
	 * one has its fields where v1 put them and no session, and re-encodes
	 * (as v2) to the same fields but seq mod 2^48.
	 */
	if (salvo_stamp_decode(data, size, &st) == 0) {
		salvo_stamp_encode(enc, &st);
		if (salvo_stamp_decode(enc, sizeof(enc), &st2) || st2.version != 2 ||
		    st2.flags != st.flags || st2.session != st.session || st2.flow != st.flow ||
		    st2.len != st.len || st2.ts_ns != st.ts_ns ||
		    st2.seq != (st.seq & SALVO_STAMP_SEQ_MASK))
			abort();
		if (st.version == 2) {
			if (memcmp(enc, data, SALVO_STAMP_SIZE))
				abort();
		} else {
			uint64_t seq = 0;

			for (int i = 16; i < 24; i++)
				seq = seq << 8 | data[i];
			if (st.version != 1 || st.session || seq != st.seq ||
			    st.flow != ((uint32_t)data[8] << 24 | (uint32_t)data[9] << 16 |
					(uint32_t)data[10] << 8 | data[11]) ||
			    memcmp(enc + 24, data + 24, 8))
				abort();
		}
	}
	if (size < 1)
		return 0;
	if (salvo_flowtab_create(&all, 8) || salvo_flowtab_create(&a, 8) ||
	    salvo_flowtab_create(&b, 8) || salvo_flowtab_create(&m, 16))
		abort();
	/*
	 * Byte 0: seq base high bits; then 4-byte records: flow (low 3 bits)
	 * and session (bit 3: two sessions with the same flow ids), which
	 * table, seq delta.
	 */
	base = (uint64_t)data[0] << 56;
	for (size_t i = 1; i + 4 <= size; i += 4) {
		uint32_t flow = data[i] & 15;	/* up to 16 flows into 8 slots: overflow too */
		uint32_t session = flow & 8 ? 0x5e551011 : 0;
		int16_t delta;
		uint64_t seq;

		memcpy(&delta, data + i + 2, 2);
		int64_t off = (int64_t)delta * ((data[i + 1] & 0x80) ? 1000 : 1);

		seq = base + (uint64_t)off;
		if (!(seen & (1u << flow))) {
			seen |= (uint16_t)(1u << flow);
			lo[flow] = hi[flow] = off;
		}
		lo[flow] = off < lo[flow] ? off : lo[flow];
		hi[flow] = off > hi[flow] ? off : hi[flow];
		if (hi[flow] - lo[flow] >= SALVO_FLOW_WINDOW)
			exact = false;
		salvo_flowtab_update(all, session, flow & 7, seq);
		salvo_flowtab_latency(all, (uint64_t)(uint16_t)delta);
		if (data[i + 1] & 1) {
			salvo_flowtab_update(a, session, flow & 7, seq);
			fa++;
		} else {
			salvo_flowtab_update(b, session, flow & 7, seq);
			fb++;
		}
		fed++;
	}
	check(all, fed);
	check(a, fa);
	check(b, fb);
	if (salvo_flowtab_merge(m, m) != -EINVAL)
		abort();
	salvo_flowtab_merge(m, a);
	salvo_flowtab_merge(m, b);
	check(m, 0);
	salvo_flowtab_totals(m, &tm);
	/* Everything a and b accounted is in m; m never claims more than was received. */
	if (tm.received + salvo_flowtab_overflow(m) != fa + fb)
		abort();
	if (tm.lost > tm.expected)
		abort();
	/* Every flow had a slot everywhere and no sequence fell out of a window. */
	if (exact && !salvo_flowtab_overflow(all) && !salvo_flowtab_overflow(a) &&
	    !salvo_flowtab_overflow(b) && !salvo_flowtab_overflow(m))
		check_same(all, m);
	salvo_flowtab_reset(all);
	check(all, 0);
	salvo_flowtab_destroy(all);
	salvo_flowtab_destroy(a);
	salvo_flowtab_destroy(b);
	salvo_flowtab_destroy(m);
	return 0;
}
