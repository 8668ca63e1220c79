# SPDX-License-Identifier: MIT
"""Medians, ranges and pair-by-pair ratios over the harness's run records.

A record is one run: scenario, case (e.g. "64 B"), tool, variant (backend and
options), repetition, status and metrics.  A row is every repetition of one
(scenario, case, tool, variant).  Ratios compare salvo with each reference
tool of the same case repetition by repetition (runs were interleaved A B A B,
so repetition r of both saw the same machine state), and are summarised by
their own median and range: never a ratio of medians.
"""

# Primary metric of each scenario and which direction is better.  Ratios
# compare salvo with a reference; for pacing, whose primary metric is an error
# near zero, a ratio is meaningless (0.01% / 0.02% = 0.5), so its comparison
# is the difference in percentage points (DIFF).
PRIMARY = {
    "udp64": ("pps", "higher"),
    "udp_sweep": ("gbps", "higher"),
    "tcp": ("gbps", "higher"),
    "ping": ("rtt_p50_us", "lower"),
    "pacing": ("rate_err_pct", "lower"),
    "raw_veth": ("pps", "higher"),
    "raw_rx": ("pps", "higher"),
    "registry": ("joins_per_s", "higher"),
    "rfc2544": ("pps", "higher"),
    "smoke": ("pps", "higher"),
    "fastpath": ("pps", "higher"),
}

# Ratios of one salvo row over another salvo row of the same case (variant ->
# the variant it is compared with), besides salvo over every other tool:
# issue 13's R2 asks whether the io_uring sender beats the syscall one.
SELF_PAIRS = {
    "fastpath": {"uring": "syscall", "uring+gso": "syscall+gso"},
    # issue 13 R4: the raw receive default is the faster of the two.
    "raw_rx": {"af_xdp": "af_packet"},
}

# Ratios of one probe row over another probe row of the same case: issue 13
# R1 asks whether io_uring's gap is salvo's or the kernel path's own, and the
# liburing receiver probe over the recvmmsg one answers the second half.
PROBE_PAIRS = {
    "fastpath": {"recv_uring": "recv_count"},
}

DIFF = {"pacing"}

# Metrics besides the primary one that salvo rows are compared on, salvo ÷
# reference per repetition, as the primary: issue 13 R3 asks for CPU seconds
# per GB on both sides, salvo's at most 0.9x iperf3's (lower is better).
EXTRA_RATIOS = {"tcp": ["cpu_s_per_gb"]}

SALVO = "salvo"


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        raise ValueError("median of nothing")
    mid = n // 2
    return xs[mid] if n % 2 else (xs[mid - 1] + xs[mid]) / 2.0


def summary(xs):
    """{'median', 'min', 'max', 'n'} of a non-empty list of numbers."""
    return {"median": median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def row_key(r):
    return (r["scenario"], r.get("case", ""), r["tool"], r.get("variant", ""))


def group_rows(records):
    """Ordered dict: row key -> its records (in first-seen order)."""
    rows = {}
    for r in records:
        rows.setdefault(row_key(r), []).append(r)
    return rows


def summarize_row(recs):
    """Summary of one row: per-metric median/min/max over the ok repetitions,
    and the status that explains a row without numbers."""
    ok = [r for r in recs if r.get("status") == "ok"]
    out = {"n_ok": len(ok), "n_total": len(recs), "metrics": {}}
    names = []
    for r in ok:
        for k in r.get("metrics", {}):
            if k not in names:
                names.append(k)
    for k in names:
        vals = [r["metrics"][k] for r in ok if isinstance(r["metrics"].get(k), (int, float))]
        if vals:
            out["metrics"][k] = summary(vals)
    if ok:
        out["status"] = "ok" if len(ok) == len(recs) else "partial"
    else:
        out["status"] = recs[0].get("status", "failed") if recs else "failed"
    reasons = []
    for r in recs:
        why = r.get("reason")
        if r.get("status") != "ok" and why and why not in reasons:
            reasons.append(why)
    out["reason"] = "; ".join(reasons)
    return out


def pair_ratios(salvo_recs, ref_recs, metric, diff=False):
    """salvo / reference of `metric` (salvo - reference with diff), repetition
    by repetition, over the repetitions where both runs are ok and (for a
    ratio) the reference is non-zero."""
    by_rep = {r["rep"]: r for r in ref_recs if r.get("status") == "ok"}
    out = []
    for s in salvo_recs:
        if s.get("status") != "ok":
            continue
        ref = by_rep.get(s["rep"])
        if ref is None:
            continue
        a, b = s["metrics"].get(metric), ref["metrics"].get(metric)
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
            continue
        if diff:
            out.append(a - b)
        elif b != 0:
            out.append(a / b)
    return out


def same_tool_ratio(e, rows, recs, scen, case, tool, pairs, variant, metric):
    """Append to e the pair-by-pair ratio of variant over the variant that
    pairs[scen] names for it, both of one tool (SELF_PAIRS: salvo uring over
    salvo syscall; PROBE_PAIRS: one probe over another)."""
    ref = pairs.get(scen, {}).get(variant)
    rrecs = rows.get((scen, case, tool, ref)) if ref else None
    rs = pair_ratios(recs, rrecs, metric) if rrecs else []
    if rs:
        s = summary(rs)
        s.update({"ref_tool": tool, "ref_variant": ref, "metric": metric, "kind": "ratio"})
        e["ratios"].append(s)


def summarize(records):
    """One entry per row, in first-seen order, with ratios on salvo rows."""
    rows = group_rows(records)
    result = []
    for key, recs in rows.items():
        scen, case, tool, variant = key
        e = {"scenario": scen, "case": case, "tool": tool, "variant": variant}
        e.update(summarize_row(recs))
        prim = PRIMARY.get(scen, (None, None))
        e["primary"], e["better"] = prim
        e["ratios"] = []
        if tool == SALVO and prim[0]:
            for okey, orecs in rows.items():
                if okey[0] != scen or okey[1] != case or okey[2] == SALVO:
                    continue
                diff = scen in DIFF
                rs = pair_ratios(recs, orecs, prim[0], diff)
                if rs:
                    s = summary(rs)
                    s.update({"ref_tool": okey[2], "ref_variant": okey[3], "metric": prim[0],
                              "kind": "difference" if diff else "ratio"})
                    e["ratios"].append(s)
                for metric in EXTRA_RATIOS.get(scen, []):
                    rs = pair_ratios(recs, orecs, metric)
                    if rs:
                        s = summary(rs)
                        s.update({"ref_tool": okey[2], "ref_variant": okey[3], "metric": metric,
                                  "kind": "ratio"})
                        e["ratios"].append(s)
            same_tool_ratio(e, rows, recs, scen, case, SALVO, SELF_PAIRS, variant, prim[0])
        elif tool != SALVO and prim[0]:
            same_tool_ratio(e, rows, recs, scen, case, tool, PROBE_PAIRS, variant, prim[0])
        result.append(e)
    return result
