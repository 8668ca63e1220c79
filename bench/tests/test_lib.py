#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks of the harness's Python side: parsers against captured tool output
(bench/tests/fixtures, taken from real runs), median/min/max, pair-by-pair
ratios, and the JSON and Markdown writers.  Prints one line per check in the
suite protocol: "PASS: name" or "FAIL: name [why]"."""
import json
import os
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import bench  # noqa: E402
import parse  # noqa: E402
import report  # noqa: E402
import stats  # noqa: E402

FX = os.path.join(HERE, "fixtures")
failed = 0


class Skip(Exception):
    pass


def fx(name):
    return os.path.join(FX, name)


def check(name):
    def deco(fn):
        global failed
        try:
            fn()
            print(f"PASS: {name}")
        except Skip as e:
            print(f"SKIP: {name} [{e}]")
        except Exception as e:  # noqa: BLE001 - any failure is a FAIL line
            failed += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(f"FAIL: {name} [{type(e).__name__}: {e} at line {where.lineno}]")
        return fn
    return deco


def near(a, b, rel=1e-9):
    assert abs(a - b) <= rel * max(1.0, abs(b)), f"{a} != {b}"


# --- parsers ------------------------------------------------------------------
@check("parse salvo udp recv (NDJSON) + send: receiver count over receiver time")
def _():
    m = parse.salvo_udp(fx("salvo_udp_recv.ndjson"), fx("salvo_udp_send.json"))
    assert m["rx_packets"] == 113184
    near(m["pps"], 113184 / 2.044135545)
    near(m["gbps"], 7243776 * 8 / 2.044135545 / 1e9)
    assert m["tx_packets"] == 113184 and m["loss_pct"] == 0.0
    assert "interval_cov_pct" in m and m["interval_cov_pct"] > 0


@check("parse salvo udp: loss from sender's count, receiver error is a failure")
def _():
    with tempfile.TemporaryDirectory() as d:
        rx, tx = os.path.join(d, "rx"), os.path.join(d, "tx")
        with open(rx, "w") as f:
            json.dump({"type": "summary", "rx": {"packets": 750, "bytes": 48000, "active_s": 0.5}}, f)
        with open(tx, "w") as f:
            json.dump({"type": "summary", "tx": {"packets": 1000}}, f)
        m = parse.salvo_udp(rx, tx)
        near(m["pps"], 1500.0)
        near(m["loss_pct"], 25.0)
        with open(rx, "w") as f:
            json.dump({"type": "summary", "rx": {"packets": 0, "active_s": 0}}, f)
        try:
            parse.salvo_udp(rx, tx)
            raise AssertionError("0 received packets must not parse as a result")
        except parse.ParseError:
            pass


@check("parse iperf3 UDP server JSON: received = packets - lost_packets")
def _():
    m = parse.iperf3_udp(fx("iperf3_udp_server.json"), fx("iperf3_udp_client.json"), size=64)
    assert m["rx_packets"] == 165873 - 88236
    near(m["pps"], (165873 - 88236) / 2.012339)
    near(m["loss_pct"], 53.1949141813315)
    near(m["jitter_us"], 2.8584433606661784)
    # bytes come from the intervals (3.12 writes 0 in end.sum): 64 B each
    near(m["gbps"], m["pps"] * 64 * 8 / 1e9, rel=1e-3)
    assert m["tx_packets"] > m["rx_packets"]


@check("parse iperf3 TCP server JSON: sum_received")
def _():
    m = parse.iperf3_tcp(fx("iperf3_tcp_server.json"))
    with open(fx("iperf3_tcp_server.json")) as f:
        r = json.load(f)["end"]["sum_received"]
    near(m["gbps"], r["bytes"] * 8 / r["seconds"] / 1e9)


@check("parse sockperf sr/tp: server's received count over client's send time")
def _():
    # The numbers as the fixtures print them (not through the parser's regexes):
    # "Total 29278 messages received", "Total of 48892 messages sent in 2.001 sec".
    m = parse.sockperf_tp(fx("sockperf_sr.txt"), fx("sockperf_tp.txt"), size=64)
    assert m["rx_packets"] == 29278
    near(m["pps"], 29278 / 2.001)
    near(m["loss_pct"], 100 * (1 - 29278 / 48892))


@check("parse sockperf ping-pong (--full-rtt): p50/p99/p99.9 in µs")
def _():
    # "---> percentile 50.000 =  101.668", "99.000 = 5207.611", "99.900 = 33815.640"
    m = parse.sockperf_pp(fx("sockperf_pp.txt"))
    near(m["rtt_p50_us"], 101.668)
    near(m["rtt_p99_us"], 5207.611)
    near(m["rtt_p999_us"], 33815.640)
    assert m["rtt_p50_us"] <= m["rtt_p99_us"] <= m["rtt_p999_us"]


@check("parse sockperf ping-pong refuses half-RTT output")
def _():
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("sockperf: Summary: Latency is 5.0 usec\n---> percentile 50.000 = 5.0\n")
    try:
        parse.sockperf_pp(f.name)
        raise AssertionError("half round trips accepted")
    except parse.ParseError:
        pass
    finally:
        os.unlink(f.name)


@check("parse salvo udp ping, tcp sink, registry bench")
def _():
    p = parse.salvo_ping(fx("salvo_ping.json"))
    with open(fx("salvo_ping.json")) as f:
        lat = json.load(f)["latency_ns"]
    near(p["rtt_p50_us"], lat["p50"] / 1e3)
    near(p["rtt_p999_us"], lat["p999"] / 1e3)
    t = parse.salvo_tcp(fx("salvo_tcp_sink.json"))
    assert t["gbps"] > 0
    r = parse.salvo_registry(fx("salvo_registry_bench.json"))
    with open(fx("salvo_registry_bench.json")) as f:
        near(r["joins_per_s"], json.load(f)["registry"]["joins_per_second"])
    assert r["joins"] == 7200 and r["failed"] == 0 and r["lat_p99_us"] > 0, r


@check("parse witness samples: delta over the window")
def _():
    m = parse.witness(fx("witness.txt"))
    assert m["rx_packets"] == 686056 - 506310
    near(m["pps"], (686056 - 506310) / (1795752231.064742 - 1795752229.053819))


@check("parse probe: the receiver probe's count over its own time, sender probe or salvo as tx")
def _():
    m = parse.probe(fx("probe_recv_count.json"), fx("probe_send_uring.json"))
    rx = json.load(open(fx("probe_recv_count.json")))
    tx = json.load(open(fx("probe_send_uring.json")))
    near(m["pps"], rx["packets"] / rx["seconds"])
    assert m["tx_packets"] == tx["packets"]
    m2 = parse.probe(fx("probe_recv_count.json"), fx("salvo_udp_send.json"))
    assert m2["tx_packets"] == json.load(open(fx("salvo_udp_send.json")))["tx"]["packets"]
    with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        f.write('{"probe":"recv_count","packets":0,"bytes":0,"seconds":0.0,"pps":0.0}\n')
        f.flush()
        try:
            parse.probe(f.name)
        except parse.ParseError:
            pass
        else:
            raise AssertionError("a probe that counted nothing must be a failed run")


@check("interval CoV drops edge intervals and needs 3 inner ones")
def _():
    assert parse.interval_cov([0, 5, 10, 10, 10, 3, 0]) == 0.0
    assert parse.interval_cov([0, 5, 10, 10, 3]) is None
    near(parse.interval_cov([1, 10, 20, 30, 1]), 100 * 10 / 20)


# --- statistics ----------------------------------------------------------------
@check("median/min/max: odd, even, single")
def _():
    assert stats.summary([3, 1, 2]) == {"median": 2, "min": 1, "max": 3, "n": 3}
    assert stats.summary([4, 1, 3, 2])["median"] == 2.5
    assert stats.summary([7.5]) == {"median": 7.5, "min": 7.5, "max": 7.5, "n": 1}


def rec(scen, case, tool, variant, rep, status="ok", **metrics):
    return {"scenario": scen, "case": case, "tool": tool, "variant": variant, "rep": rep,
            "status": status, "metrics": metrics, "reason": "" if status == "ok" else "broke"}


@check("ratios are pair by pair, not a ratio of medians")
def _():
    recs = []
    # salvo 100, 200, 300; iperf3 50, 400, 100: pairwise 2.0, 0.5, 3.0
    for r, (a, b) in enumerate([(100, 50), (200, 400), (300, 100)], 1):
        recs += [rec("udp64", "64 B", "salvo", "syscall", r, pps=a),
                 rec("udp64", "64 B", "iperf3", "iperf3", r, pps=b)]
    s = stats.summarize(recs)
    salvo = [e for e in s if e["tool"] == "salvo"][0]
    assert len(salvo["ratios"]) == 1
    r = salvo["ratios"][0]
    assert (r["median"], r["min"], r["max"], r["n"]) == (2.0, 0.5, 3.0, 3)
    # the ratio of medians would be 200/100 = 2.0 too; check a case where it differs
    recs2 = [rec("tcp", "1", "salvo", "u", 1, gbps=1.0), rec("tcp", "1", "iperf3", "i", 1, gbps=4.0),
             rec("tcp", "1", "salvo", "u", 2, gbps=3.0), rec("tcp", "1", "iperf3", "i", 2, gbps=1.0)]
    r2 = [e for e in stats.summarize(recs2) if e["tool"] == "salvo"][0]["ratios"][0]
    near(r2["median"], (0.25 + 3.0) / 2)


@check("tcp: CPU s/GB per side from salvo's tcp.cpu_s and iperf3's cpu_utilization_percent")
def _():
    # The expected figures from the fixtures' own fields, not through the parser.
    with open(fx("salvo_tcp_sink_cpu.json")) as f:
        k = json.load(f)
    with open(fx("salvo_tcp_send_cpu.json")) as f:
        d = json.load(f)
    gb = k["rx"]["bytes"] / 1e9
    t = parse.salvo_tcp(fx("salvo_tcp_sink_cpu.json"), fx("salvo_tcp_send_cpu.json"))
    near(t["rx_cpu_s_per_gb"], k["tcp"]["cpu_s"] / gb)
    near(t["tx_cpu_s_per_gb"], d["tcp"]["cpu_s"] / gb)
    near(t["cpu_s_per_gb"], (k["tcp"]["cpu_s"] + d["tcp"]["cpu_s"]) / gb)
    with open(fx("iperf3_tcp_server.json")) as f:
        se = json.load(f)["end"]
    with open(fx("iperf3_tcp_client.json")) as f:
        ce = json.load(f)["end"]
    gb = se["sum_received"]["bytes"] / 1e9
    i = parse.iperf3_tcp(fx("iperf3_tcp_server.json"), fx("iperf3_tcp_client.json"))
    rx_s = se["cpu_utilization_percent"]["host_total"] / 100 * se["sum_received"]["seconds"]
    tx_s = ce["cpu_utilization_percent"]["host_total"] / 100 * ce["sum_sent"]["seconds"]
    near(i["rx_cpu_s_per_gb"], rx_s / gb)
    near(i["tx_cpu_s_per_gb"], tx_s / gb)
    near(i["cpu_s_per_gb"], (rx_s + tx_s) / gb)
    # An old sink document without tcp.cpu_s: no CPU figures, no total.
    assert "cpu_s_per_gb" not in parse.salvo_tcp(fx("salvo_tcp_sink.json"))


@check("tcp: salvo rows get a CPU s/GB ratio besides the Gbit/s one, pair by pair")
def _():
    recs = []
    for r, (a, b) in enumerate([(0.5, 1.0), (0.9, 1.0)], 1):
        recs += [rec("tcp", "1", "salvo", "uring", r, gbps=10.0, cpu_s_per_gb=a),
                 rec("tcp", "1", "iperf3", "iperf3 -P 1", r, gbps=5.0, cpu_s_per_gb=b)]
    salvo = [e for e in stats.summarize(recs) if e["tool"] == "salvo"][0]
    by = {x["metric"]: x for x in salvo["ratios"]}
    assert set(by) == {"gbps", "cpu_s_per_gb"}, by
    near(by["cpu_s_per_gb"]["median"], 0.7)
    near(by["gbps"]["median"], 2.0)
    assert "(CPU s/GB): 0.70×" in report.ratio_text(salvo), report.ratio_text(salvo)


@check("fastpath: salvo uring is also compared with salvo syscall, pair by pair")
def _():
    recs = []
    for r, (u, y, p) in enumerate([(110, 100, 120), (90, 100, 100)], 1):
        recs += [rec("fastpath", "send", "salvo", "uring", r, pps=u),
                 rec("fastpath", "send", "salvo", "syscall", r, pps=y),
                 rec("fastpath", "send", "probe", "send_uring", r, pps=p)]
    s = stats.summarize(recs)
    ur = [e for e in s if e["variant"] == "uring"][0]
    sy = [e for e in s if e["variant"] == "syscall"][0]
    refs = {(x["ref_tool"], x["ref_variant"]): x for x in ur["ratios"]}
    assert set(refs) == {("probe", "send_uring"), ("salvo", "syscall")}, refs
    near(refs[("salvo", "syscall")]["median"], (1.1 + 0.9) / 2)
    near(refs[("probe", "send_uring")]["max"], 110 / 120)
    assert [x["ref_tool"] for x in sy["ratios"]] == ["probe"], "syscall is the reference, not compared back"


@check("parse salvo raw recv + raw send + veth witness: receiver's count, missed % against the veth")
def _():
    # Captured from bench/run.sh --only raw_rx (af_xdp receiver on a loaded
    # machine): rx.packets 36928 in active_s 0.84275311, kernel
    # xdp_rx_dropped 124000; sender tx.packets 160928; veth rx_packets
    # 269032 -> 429960.
    m = parse.salvo_raw_rx(fx("salvo_raw_recv_af_xdp.json"), fx("salvo_raw_send.json"),
                           fx("raw_rx_witness.txt"))
    assert m["rx_packets"] == 36928 and m["tx_packets"] == 160928
    near(m["pps"], 36928 / 0.84275311)
    assert m["peer_rx_packets"] == 429960 - 269032
    near(m["rx_loss_pct"], 100 * (1 - 36928 / 160928))
    assert m["xdp_rx_dropped"] == 124000 and m["lost_stamped"] == 124000
    with tempfile.TemporaryDirectory() as d:
        rx, w = os.path.join(d, "rx"), os.path.join(d, "w")
        with open(rx, "w") as f:
            json.dump({"type": "summary", "rx": {"packets": 0, "active_s": 0}}, f)
        try:
            parse.salvo_raw_rx(rx, fx("salvo_raw_send.json"), fx("raw_rx_witness.txt"))
            raise AssertionError("a receiver that counted nothing must be a failed run")
        except parse.ParseError:
            pass
        with open(w, "w") as f:
            f.write("1.0 500\n2.0 500\n")
        try:
            parse.salvo_raw_rx(fx("salvo_raw_recv_af_xdp.json"), fx("salvo_raw_send.json"), w)
            raise AssertionError("a veth that counted nothing must be a failed run")
        except parse.ParseError:
            pass


@check("raw_rx: salvo af_xdp is compared with salvo af_packet, pair by pair; bench.py passes c=")
def _():
    recs = []
    for r, (x, p) in enumerate([(300, 200), (100, 200), (250, 100)], 1):
        recs += [rec("raw_rx", "1 thread", "salvo", "af_packet", r, pps=p),
                 rec("raw_rx", "1 thread", "salvo", "af_xdp", r, pps=x)]
    s = stats.summarize(recs)
    xdp = [e for e in s if e["variant"] == "af_xdp"][0]
    pkt = [e for e in s if e["variant"] == "af_packet"][0]
    assert [(x["ref_tool"], x["ref_variant"]) for x in xdp["ratios"]] == [("salvo", "af_packet")]
    r = xdp["ratios"][0]
    assert (r["n"], r["min"], r["max"]) == (3, 0.5, 2.5), r
    near(r["median"], 1.5)      # the median of 1.5, 0.5, 2.5, not 250 / 200
    assert pkt["ratios"] == [], "af_packet is the reference, not compared back"
    assert "vs salvo af_packet: 1.50× (0.50–2.50)" in report.ratio_text(xdp), report.ratio_text(xdp)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.jsonl")
        rc = bench.main(["record", "--out", out, "--scenario", "raw_rx", "--case", "1 thread",
                         "--tool", "salvo", "--variant", "af_xdp", "--parser", "salvo-raw-rx",
                         "--file", "a=" + fx("salvo_raw_recv_af_xdp.json"),
                         "--file", "b=" + fx("salvo_raw_send.json"),
                         "--file", "c=" + fx("raw_rx_witness.txt")])
        with open(out) as f:
            got = json.loads(f.readline())
        assert rc == 0 and got["status"] == "ok", got
        assert got["metrics"]["peer_rx_packets"] == 160928


@check("fastpath R1: recv_uring probe over recv_count, salvo uring over both probes, pair by pair")
def _():
    m = parse.probe(fx("probe_recv_uring.json"))
    rx = json.load(open(fx("probe_recv_uring.json")))
    near(m["pps"], rx["packets"] / rx["seconds"])
    recs = []
    for r, (c, u, su, sy) in enumerate([(100, 80, 60, 95), (120, 90, 81, 110)], 1):
        recs += [rec("fastpath", "recv stamped", "probe", "recv_count", r, pps=c),
                 rec("fastpath", "recv stamped", "salvo", "syscall", r, pps=sy),
                 rec("fastpath", "recv stamped", "probe", "recv_uring", r, pps=u),
                 rec("fastpath", "recv stamped", "salvo", "uring", r, pps=su),
                 rec("fastpath", "recv unstamped", "probe", "recv_count", r, pps=1000)]
    s = stats.summarize(recs)
    row = {(e["case"], e["variant"]): e for e in s}
    pu = row[("recv stamped", "recv_uring")]
    assert [(x["ref_tool"], x["ref_variant"]) for x in pu["ratios"]] == [("probe", "recv_count")], pu["ratios"]
    near(pu["ratios"][0]["min"], 0.75)
    near(pu["ratios"][0]["max"], 0.8)
    assert row[("recv stamped", "recv_count")]["ratios"] == [], "recv_count is the reference"
    su = {x["ref_variant"]: x for x in row[("recv stamped", "uring")]["ratios"]}
    assert set(su) == {"recv_count", "recv_uring", "syscall"}, su  # syscall: SELF_PAIRS
    near(su["recv_uring"]["median"], (60 / 80 + 81 / 90) / 2)
    near(su["recv_count"]["median"], (0.6 + 81 / 120) / 2)
    assert "vs probe recv_count: 0.78× (0.75–0.80)" in report.ratio_text(pu), report.ratio_text(pu)


@check("failed repetitions drop out of the pairs and the row says why")
def _():
    recs = [rec("udp64", "64 B", "salvo", "s", 1, pps=10), rec("udp64", "64 B", "iperf3", "i", 1, pps=5),
            rec("udp64", "64 B", "salvo", "s", 2, pps=30), rec("udp64", "64 B", "iperf3", "i", 2, status="failed"),
            rec("udp64", "64 B", "sockperf", "k", 1, status="unavailable"),
            rec("udp64", "64 B", "sockperf", "k", 2, status="unavailable")]
    s = {e["tool"]: e for e in stats.summarize(recs)}
    assert s["salvo"]["ratios"][0]["n"] == 1 and s["salvo"]["ratios"][0]["median"] == 2.0
    assert s["iperf3"]["status"] == "partial" and s["iperf3"]["n_ok"] == 1
    assert s["sockperf"]["status"] == "unavailable" and s["sockperf"]["reason"] == "broke"
    assert s["salvo"]["metrics"]["pps"] == {"median": 20.0, "min": 10, "max": 30, "n": 2}


@check("pacing compares error by difference (percentage points), not ratio")
def _():
    recs = [rec("pacing", "10k pps", "salvo", "u", 1, rate_err_pct=0.01),
            rec("pacing", "10k pps", "iperf3", "i", 1, rate_err_pct=0.05),
            rec("pacing", "10k pps", "salvo", "u", 2, rate_err_pct=0.30),
            rec("pacing", "10k pps", "iperf3", "i", 2, rate_err_pct=0.10)]
    r = [e for e in stats.summarize(recs) if e["tool"] == "salvo"][0]["ratios"][0]
    assert r["kind"] == "difference"
    near(r["min"], -0.04)
    near(r["max"], 0.20)
    with tempfile.TemporaryDirectory() as d:
        report.write_all(d, {"records": recs})
        with open(os.path.join(d, "results.md")) as f:
            md = f.read()
        assert "vs iperf3 i: +0.08 pp (-0.04 – +0.20)" in md, md


# --- writers ------------------------------------------------------------------
@check("bench.py record appends one parsed record; a parse failure is recorded as failed")
def _():
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r.jsonl")
        bench.main(["record", "--out", out, "--scenario", "raw_veth", "--case", "1 thread(s)",
                    "--tool", "trafgen", "--rep", "1", "--param", "threads=1", "--parser", "witness",
                    "--file", "a=" + fx("witness.txt"), "--cmd", "trafgen -o x"])
        bench.main(["record", "--out", out, "--scenario", "raw_veth", "--case", "1 thread(s)",
                    "--tool", "salvo", "--variant", "af_xdp", "--rep", "1", "--parser", "witness",
                    "--file", "a=" + os.path.join(d, "missing")])
        recs = bench.load_records(out)
        assert len(recs) == 2
        assert recs[0]["status"] == "ok" and recs[0]["params"] == {"threads": 1}
        assert recs[0]["cmd"] == ["trafgen -o x"] and recs[0]["metrics"]["rx_packets"] == 179746
        assert recs[1]["status"] == "failed" and "cannot read" in recs[1]["reason"]


@check("report writes results.json and a Markdown table with every row, failed ones included")
def _():
    recs = [rec("udp64", "64 B", "salvo", "syscall", 1, pps=2000.0, gbps=0.001, loss_pct=0.0),
            rec("udp64", "64 B", "iperf3", "iperf3", 1, pps=1000.0, gbps=0.0005, loss_pct=1.0),
            dict(rec("udp64", "64 B", "salvo", "af_xdp", 1, status="unavailable"), reason="no libxdp"),
            rec("ping", "64 B", "salvo", "syscall", 1, rtt_p50_us=10.0, rtt_p99_us=20.0, rtt_p999_us=30.0),
            rec("ping", "64 B", "sockperf", "sockperf", 1, rtt_p50_us=12.0, rtt_p99_us=25.0, rtt_p999_us=40.0)]
    with tempfile.TemporaryDirectory() as d:
        doc = {"date": "2000-01-01", "mode": "quick", "reps": 1, "duration_s": 1,
               "machine": {"cpu": "Test CPU", "cores": 2, "kernel": "6.0"}, "records": recs}
        report.write_all(d, doc)
        with open(os.path.join(d, "results.json")) as f:
            j = json.load(f)
        assert len(j["records"]) == 5 and len(j["summary"]) == 5
        assert j["machine"]["cpu"] == "Test CPU"
        with open(os.path.join(d, "results.md")) as f:
            md = f.read()
        assert "| 64 B | salvo | syscall | 2,000 |" in md, md
        assert "vs iperf3: 2.00×" in md
        assert "not available: no libxdp" in md
        assert "vs sockperf: 0.83×" in md      # 10 / 12, lower is better
        assert "lower is better for salvo" in md
        assert "Test CPU" in md
        lines = [l for l in md.splitlines() if l.startswith("| 64 B")]
        assert len(lines) == 5
        cols = {l.count("|") for l in lines if "salvo | syscall | 2,000" in l or "iperf3" in l or "af_xdp" in l}
        assert len(cols) == 1, "rows of one table have different column counts"


@check("plots: gnuplot writes SVGs when installed")
def _():
    import shutil
    if not shutil.which("gnuplot"):
        raise Skip("gnuplot not installed")
    recs = [rec("udp_sweep", f"{s} B", t, t, 1, gbps=g, pps=1.0)
            for s in (64, 1472) for t, g in (("salvo", s / 100), ("iperf3", s / 300))]
    recs += [rec("udp64", "64 B", "salvo", "s", 1, pps=5.0), rec("udp64", "64 B", "iperf3", "i", 1, pps=2.0)]
    with tempfile.TemporaryDirectory() as d:
        made = report.write_all(d, {"records": recs})
        assert "gbps_by_size.svg" in made and "pps_udp64.svg" in made, made
        with open(os.path.join(d, "gbps_by_size.svg")) as f:
            assert "<svg" in f.read(2000)


sys.exit(1 if failed else 0)
