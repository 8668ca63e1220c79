# SPDX-License-Identifier: MIT
"""Writers: results.json (every run, the machine, the summary), results.md
(one table per scenario) and SVG plots through gnuplot."""
import json
import os
import shutil
import subprocess

import stats

TITLES = {
    "udp64": "UDP 64 B over loopback: received packets/s",
    "udp_sweep": "UDP payload sweep over loopback",
    "tcp": "TCP over loopback: received Gbit/s",
    "ping": "UDP ping-pong round-trip time (µs)",
    "pacing": "Pacing: achieved rate at the receiver and its steadiness",
    "raw_veth": "Raw 60 B frames on a veth pair: frames/s counted at the peer",
    "raw_rx": "Raw receive on a veth pair: frames/s counted by salvo raw recv",
    "registry": "Registry: joins per second",
    "rfc2544": "RFC 2544 throughput (NDR, frames/s): Linux forwarding between namespaces, and the tester's own ceiling",
    "smoke": "Smoke run",
    "fastpath": "Receivers and senders against bare probes (issue 13: R1, R2), packets/s at the receiver",
}

# Columns of each scenario's table after the primary metric: (metric, header, format)
COLUMNS = {
    "udp64": [("gbps", "Gbit/s", "{:.3f}"), ("loss_pct", "loss %", "{:.2f}")],
    "udp_sweep": [("pps", "pkt/s", "{:,.0f}"), ("loss_pct", "loss %", "{:.2f}")],
    "tcp": [("cpu_s_per_gb", "CPU s/GB, both sides", "{:.3f}"),
            ("tx_cpu_s_per_gb", "sender CPU s/GB", "{:.3f}"),
            ("rx_cpu_s_per_gb", "receiver CPU s/GB", "{:.3f}")],
    "ping": [("rtt_p99_us", "p99 µs", "{:.1f}"), ("rtt_p999_us", "p99.9 µs", "{:.1f}"),
             ("rate_per_s", "round trips/s", "{:,.0f}")],
    "pacing": [("pps", "achieved pkt/s", "{:,.0f}"), ("interval_cov_pct", "100 ms rate CoV %", "{:.2f}"),
               ("jitter_us", "tool's jitter µs", "{:.1f}"), ("pacing_err_p99_us", "departure err p99 µs", "{:.1f}"),
               ("loss_pct", "loss %", "{:.2f}")],
    "raw_veth": [],
    "raw_rx": [("rx_loss_pct", "missed %", "{:.2f}"), ("peer_rx_packets", "veth rx_packets", "{:,.0f}"),
               ("tx_packets", "sender's frames", "{:,.0f}"), ("lost_stamped", "stamp loss", "{:,.0f}")],
    "registry": [("lat_p99_us", "p99 µs", "{:.1f}")],
    "rfc2544": [("max_fps", "search bound frames/s", "{:,.0f}"), ("trials", "trials", "{:d}")],
    "smoke": [("loss_pct", "loss %", "{:.2f}")],
    "fastpath": [("tx_pps_claimed", "sender's pkt/s", "{:,.0f}"), ("loss_pct", "loss %", "{:.2f}")],
}

HEADERS = {"pps": "pkt/s", "gbps": "Gbit/s", "rtt_p50_us": "p50 µs", "cpu_s_per_gb": "CPU s/GB",
           "rate_err_pct": "rate error %", "joins_per_s": "joins/s"}
FORMATS = {"pps": "{:,.0f}", "gbps": "{:.3f}", "rtt_p50_us": "{:.1f}",
           "rate_err_pct": "{:.2f}", "joins_per_s": "{:,.0f}"}

NOTES = {
    "tcp": "Gbit/s as the receiver counted it. CPU s/GB: CPU seconds of each side per 10^9 bytes the "
           "receiver got; salvo: tcp.cpu_s of each process (getrusage RUSAGE_SELF over the data phase: first connection open to last done); "
           "iperf3: end.cpu_utilization_percent.host_total of the server (receiver) and of the client "
           "(sender) JSON, converted to seconds as percent / 100 x its test seconds. "
           "\"both sides\" is their sum, and the second ratio compares it (lower is better; target "
           "salvo <= 0.9x). Sendfile rows: salvo tcp send --splice against iperf3 -Z. The discarding-sink "
           "row (tcp sink --discard, MSG_TRUNC) drops the bytes unread: not comparable with copying "
           "receivers, so it has no reference.",
    "fastpath": "Probes (bench/probes/) are the least a program does on each kernel path: a lower bound, "
                "not a competitor. R1 rows: receivers offered one load by a two-thread GSO sender "
                "(salvo ÷ probe recv_count = R1); the liburing receiver probe recv_uring (multishot "
                "RECVMSG, buffer ring) takes the same load: its ratio to recv_count is the kernel's io_uring "
                "path by itself, salvo uring ÷ recv_uring what salvo adds. R2 rows: senders into the bare receiver probe "
                "(salvo uring ÷ salvo syscall, uring ÷ send_uring probe = R2).",
    "pacing": "Rate error = |achieved - target| / target at the receiver. "
              "100 ms rate CoV: spread of the receiver's 100 ms interval rates (same method for both tools). "
              "Tool's jitter: iperf3's RFC 3550 inter-arrival jitter; salvo's one-way latency p99 - p50. "
              "The two are different measures and are not compared. "
              "The comparison column is the difference of rate errors, repetition by repetition.",
    "ping": "Round trip, request and reply 64 B; sockperf runs with --full-rtt (it halves RTT otherwise).",
    "udp64": "Receiver-side rate: received packets over the receiver's first-to-last-arrival time "
             "(salvo), server-side received datagrams over the test time (iperf3), server's "
             "received count over the client's send time (sockperf). Loss = 1 - received/sent.",
    "raw_rx": "One common sender (salvo raw send, 1 thread, unpaced, af_xdp where it works, else "
              "af_packet; CPU 0) into salvo raw recv with each backend (default options: stamps "
              "checked; CPU 1). frames/s: the receiver's count over its first-to-last-frame time. "
              "missed %: frames the receiving veth counted (ip -s -j link rx_packets, before the "
              "sender to after it) that the receiver did not get. Frames go to a MAC that is not "
              "the peer's, so its stack drops them at IP's first check. The af_xdp ÷ af_packet "
              "ratio decides the raw receive default (issue 13 R4).",
    "raw_veth": "Frames counted by the kernel on the receiving veth (ip -s -j link rx_packets) "
                "over a fixed window after a warm-up; the same window for every tool. "
                "The thread(s) cases address a MAC that is not the peer's, so the peer drops "
                "each frame at IP's first check; \"to the peer's stack\" sends to the peer's "
                "MAC, whose UDP answers every frame with an ICMP attempt on the sender's CPU "
                "(veth delivers in the sender's syscall), which costs every tool alike.",
}


def fmt(v, f):
    try:
        return f.format(v)
    except (ValueError, TypeError):
        return str(v)


def cell(e, metric, f):
    m = e["metrics"].get(metric)
    if not m:
        return "—"
    if m["n"] > 1:
        return f"{fmt(m['median'], f)} ({fmt(m['min'], f)}–{fmt(m['max'], f)})"
    return fmt(m["median"], f)


def ratio_text(e):
    parts = []
    for r in e.get("ratios", []):
        ref = r["ref_tool"] + (f" {r['ref_variant']}" if r["ref_variant"] and r["ref_variant"] != r["ref_tool"] else "")
        if r.get("kind") == "difference":
            t = f"{r['median']:+.2f} pp"
            if r["n"] > 1:
                t += f" ({r['min']:+.2f} – {r['max']:+.2f})"
        else:
            t = f"{r['median']:.2f}×"
            if r["n"] > 1:
                t += f" ({r['min']:.2f}–{r['max']:.2f})"
        what = f" ({HEADERS.get(r['metric'], r['metric'])})" if r.get("metric") != e.get("primary") else ""
        parts.append(f"vs {ref}{what}: {t}")
    return "<br>".join(parts) if parts else ""


def scenario_table(entries):
    scen = entries[0]["scenario"]
    prim = entries[0]["primary"] or "pps"
    better = entries[0]["better"] or "higher"
    cols = COLUMNS.get(scen, [])
    head = ["case", "tool", "variant", f"{HEADERS.get(prim, prim)} median (min–max)"]
    if scen in stats.DIFF:
        vs = "salvo − reference, percentage points (negative is better for salvo)"
    else:
        vs = f"salvo ÷ reference ({better} is better for salvo)"
    head += [h for _, h, _ in cols] + ["runs", vs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in entries:
        if e["n_ok"] == 0:
            why = e.get("reason") or e.get("status")
            label = "not available" if e["status"] == "unavailable" else "failed"
            if why.startswith("not available"):
                label, why = "not available", why[len("not available"):].lstrip(": ")
            row = [e["case"], e["tool"], e["variant"], f"{label}: {why}"] + ["—"] * len(cols)
            row += [f"0/{e['n_total']}", ""]
        else:
            row = [e["case"], e["tool"], e["variant"], cell(e, prim, FORMATS.get(prim, "{:.3g}"))]
            row += [cell(e, m, f) for m, _, f in cols]
            n = f"{e['n_ok']}/{e['n_total']}"
            if e["status"] == "partial" and e.get("reason"):
                n += f" ({e['reason']})"
            row += [n, ratio_text(e)]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


def machine_text(machine):
    keys = [("cpu", "CPU"), ("cores", "cores"), ("memory", "memory"), ("kernel", "kernel"),
            ("os", "OS"), ("virt", "virtualisation"), ("load_before", "load average at start"),
            ("note", "note")]
    out = [f"- {label}: {machine[k]}" for k, label in keys if machine.get(k) not in (None, "")]
    tools = machine.get("tools") or {}
    if tools:
        out.append("- tools: " + "; ".join(f"{k} {v}" for k, v in sorted(tools.items())))
    return "\n".join(out)


def markdown(doc, plots=()):
    summ = doc["summary"]
    out = [f"# salvo benchmark results ({doc.get('date', '')})", ""]
    if doc.get("mode"):
        out += [f"Mode: {doc['mode']}, {doc.get('reps', '?')} repetition(s) per row, "
                f"{doc.get('duration_s', '?')} s per run, interleaved across tools.", ""]
    out += ["## Machine", "", machine_text(doc.get("machine") or {}), ""]
    if doc.get("setup"):
        out += ["## Set-up", ""] + [f"- {s}" for s in doc["setup"]] + [""]
    order = []
    for e in summ:
        if e["scenario"] not in order:
            order.append(e["scenario"])
    for scen in order:
        ents = [e for e in summ if e["scenario"] == scen]
        out += [f"## {TITLES.get(scen, scen)}", ""]
        if scen in NOTES:
            out += [NOTES[scen], ""]
        out += [scenario_table(ents), ""]
    if plots:
        out += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    return "\n".join(out)


def write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


# --- plots -----------------------------------------------------------------

def _label(e):
    v = e["variant"]
    return e["tool"] if not v or v == e["tool"] else f"{e['tool']} {v}"


def _q(s):
    return '"' + str(s).replace('"', "'") + '"'


MTITLE = {"rtt_p50_us": "p50", "rtt_p99_us": "p99", "rtt_p999_us": "p99.9", "pps": "packets/s",
          "gbps": "Gbit/s", "joins_per_s": "joins/s"}
GP_HEAD = """set terminal svg size 900,500 dynamic font 'sans,11'
set encoding utf8
set termoption noenhanced
"""


def _bars(outdir, name, title, ylabel, ents, metrics):
    """Clustered bars: one cluster per entry, one bar per metric; error bars min–max."""
    ents = [e for e in ents if all(m in e["metrics"] for m in metrics)]
    if not ents:
        return None
    dat = os.path.join(outdir, name + ".dat")
    with open(dat, "w", encoding="utf-8") as f:
        for e in ents:
            lab = _label(e).replace(" ", "\\n", 1) + (f"\\n{e['case']}" if len({x['case'] for x in ents}) > 1 else "")
            vals = []
            for m in metrics:
                s = e["metrics"][m]
                vals += [s["median"], s["min"], s["max"]]
            f.write(_q(lab) + " " + " ".join(f"{v:.6g}" for v in vals) + "\n")
    cols = ", ".join(
        f"'{name}.dat' using {2 + 3 * i}:{3 + 3 * i}:{4 + 3 * i}{':xtic(1)' if i == 0 else ''} title {_q(MTITLE.get(m, m))}"
        for i, m in enumerate(metrics))
    script = GP_HEAD + f"""set output '{name}.svg'
set title {_q(title)}
set ylabel {_q(ylabel)}
set format y '%.1s%c'
set bmargin 5
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set xtics nomirror
set yrange [0:*]
set grid ytics
set key {'off' if len(metrics) == 1 else 'top left'}
plot {cols}
"""
    return _gnuplot(outdir, name, script)


def _lines(outdir, name, title, xlabel, ylabel, ents, metric, xkey, logx=False):
    """One line per (tool, variant), x from the case (a number), y the median."""
    series = {}
    for e in ents:
        if metric not in e["metrics"]:
            continue
        try:
            x = float(str(e["case"]).split()[0].rstrip("k")) * (1000 if str(e["case"]).split()[0].endswith("k") else 1)
        except ValueError:
            continue
        series.setdefault(_label(e), []).append((x, e["metrics"][metric]))
    if not series:
        return None
    dat = os.path.join(outdir, name + ".dat")
    plots = []
    with open(dat, "w", encoding="utf-8") as f:
        for idx, (lab, pts) in enumerate(series.items()):
            for x, s in sorted(pts):
                f.write(f"{x:.6g} {s['median']:.6g} {s['min']:.6g} {s['max']:.6g}\n")
            f.write("\n\n")
            plots.append(f"'{name}.dat' index {idx} using 1:2:3:4 with yerrorlines title {_q(lab)}")
    xs = sorted({x for pts in series.values() for x, _ in pts})
    script = GP_HEAD + f"""set output '{name}.svg'
set title {_q(title)}
set xlabel {_q(xlabel)}
set xtics ({', '.join(f'{x:g}' for x in xs)})
set xrange [{xs[0] * 0.8:g}:{xs[-1] * 1.25:g}]
set format y '%.1s%c'
set ylabel {_q(ylabel)}
{'set logscale x' if logx else ''}
set grid
set key top left
set yrange [0:*]
plot {', '.join(plots)}
"""
    return _gnuplot(outdir, name, script)


def _gnuplot(outdir, name, script):
    gp = os.path.join(outdir, name + ".gp")
    with open(gp, "w", encoding="utf-8") as f:
        f.write(script)
    if not shutil.which("gnuplot"):
        return None
    r = subprocess.run(["gnuplot", name + ".gp"], cwd=outdir, capture_output=True, text=True, timeout=60)
    if r.returncode != 0 or not os.path.exists(os.path.join(outdir, name + ".svg")):
        print(f"report: gnuplot failed for {name}: {r.stderr.strip()[:300]}")
        return None
    return name + ".svg"


def plots(outdir, summ):
    made = []
    by = lambda s: [e for e in summ if e["scenario"] == s and e["n_ok"] > 0]
    for p in (
        _bars(outdir, "pps_udp64", "UDP 64 B loopback, received pkt/s (median, min-max)", "packets/s",
              by("udp64"), ["pps"]),
        _bars(outdir, "pps_raw_veth", "Raw 60 B frames on veth, frames/s at the peer", "frames/s",
              by("raw_veth"), ["pps"]),
        _lines(outdir, "gbps_by_size", "UDP payload sweep, received Gbit/s", "payload bytes", "Gbit/s",
               by("udp_sweep"), "gbps", "case", logx=True),
        _bars(outdir, "latency", "UDP ping-pong round trip (median over runs; bars min-max)", "microseconds",
              by("ping"), ["rtt_p50_us", "rtt_p99_us", "rtt_p999_us"]),
        _lines(outdir, "pacing_error", "Pacing: |achieved - target| / target at the receiver",
               "target packets/s", "rate error %", by("pacing"), "rate_err_pct", "case", logx=True),
        _bars(outdir, "tcp", "TCP loopback, received Gbit/s", "Gbit/s", by("tcp"), ["gbps"]),
        _bars(outdir, "registry", "Registry joins/s", "joins/s", by("registry"), ["joins_per_s"]),
    ):
        if p:
            made.append(p)
    return made


def write_all(outdir, doc):
    """results.json, results.md and the plots into outdir; returns the plot names."""
    doc["summary"] = stats.summarize(doc["records"])
    made = plots(outdir, doc["summary"])
    doc["plots"] = made
    write_json(os.path.join(outdir, "results.json"), doc)
    with open(os.path.join(outdir, "results.md"), "w", encoding="utf-8") as f:
        f.write(markdown(doc, made))
    return made
