# SPDX-License-Identifier: MIT
"""Turn each tool's own output into the harness's metrics.

Every parser takes file paths (what the scenario saved) and returns a dict of
metrics.  The receiver's count is the figure that counts: packets per second
are always received packets over the receiver's (or the witness's) time.
A parser raises ParseError with one line saying what was missing.
"""
import json
import re


class ParseError(Exception):
    pass


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError as e:
        raise ParseError(f"cannot read {path}: {e.strerror}") from None


def json_docs(text):
    """All JSON documents in text: NDJSON lines or one pretty-printed document."""
    text = text.strip()
    if not text:
        return []
    try:
        return [json.loads(text)]
    except ValueError:
        pass
    docs = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                docs.append(json.loads(line))
            except ValueError:
                pass
    return docs


def _salvo_docs(path, what):
    docs = [d for d in json_docs(_read(path)) if isinstance(d, dict)]
    summ = [d for d in docs if d.get("type", "summary") == "summary"]
    if not summ:
        raise ParseError(f"no salvo summary in {what} output")
    return summ[-1], [d for d in docs if d.get("type") == "interval"]


def interval_cov(rates):
    """Coefficient of variation (%) of per-interval receive rates.

    Intervals at the edges (before the first and after the last arrival,
    and the partial first and last busy ones) are dropped so the figure
    describes the steady state.  None when fewer than 3 intervals remain.
    """
    busy = [i for i, r in enumerate(rates) if r > 0]
    if not busy:
        return None
    inner = rates[busy[0] + 1:busy[-1]]
    if len(inner) < 3:
        return None
    mean = sum(inner) / len(inner)
    if mean <= 0:
        return None
    var = sum((r - mean) ** 2 for r in inner) / (len(inner) - 1)
    return 100.0 * var ** 0.5 / mean


def salvo_udp(rx_path, tx_path=None):
    """salvo udp recv (receiver) and udp send (sender) JSON."""
    rx_doc, ivals = _salvo_docs(rx_path, "receiver")
    rx = rx_doc.get("rx") or {}
    pk, act = rx.get("packets", 0), rx.get("active_s", 0.0)
    if rx_doc.get("error"):
        raise ParseError(f"receiver error: {rx_doc['error']}")
    m = {"rx_packets": pk, "rx_active_s": act,
         "pps": pk / act if act > 0 else 0.0,
         "gbps": rx.get("bytes", 0) * 8 / act / 1e9 if act > 0 else 0.0,
         "lost_stamped": rx.get("lost", 0)}
    lat = rx_doc.get("latency_ns")
    if lat and lat.get("count"):
        m["lat_p50_us"] = lat["p50"] / 1e3
        m["lat_p99_us"] = lat["p99"] / 1e3
        m["jitter_us"] = (lat["p99"] - lat["p50"]) / 1e3
    cov = interval_cov([(d.get("rx") or {}).get("pps", 0.0) for d in ivals])
    if cov is not None:
        m["interval_cov_pct"] = cov
    if tx_path:
        tx_doc, _ = _salvo_docs(tx_path, "sender")
        if tx_doc.get("error"):
            raise ParseError(f"sender error: {tx_doc['error']}")
        tx = tx_doc.get("tx") or {}
        m["tx_packets"] = tx.get("packets", 0)
        m["tx_pps_claimed"] = tx.get("pps", 0.0)
        if m["tx_packets"]:
            m["loss_pct"] = max(0.0, 100.0 * (1 - pk / m["tx_packets"]))
        pac = tx_doc.get("pacing")
        if pac:
            m["pacing_err_p99_us"] = pac.get("error_p99_ns", 0) / 1e3
    if pk == 0:
        raise ParseError("receiver counted 0 packets")
    return m


def iperf3_udp(server_path, client_path=None, size=None):
    """iperf3 -s --json (receiver side).  3.12 reports bytes=0 in the server's
    end.sum for UDP, so received = packets - lost_packets and bytes come from
    the intervals."""
    docs = json_docs(_read(server_path))
    if not docs:
        raise ParseError("no iperf3 server JSON")
    s = docs[-1]
    if s.get("error"):
        raise ParseError(f"iperf3 server: {s['error']}")
    end = (s.get("end") or {}).get("sum") or {}
    if "packets" not in end:
        raise ParseError("iperf3 server JSON has no end.sum.packets")
    recv = end["packets"] - end.get("lost_packets", 0)
    secs = end.get("seconds", 0.0)
    ivals = [i.get("sum") or {} for i in s.get("intervals", [])]
    byts = sum(i.get("bytes", 0) for i in ivals)
    if not byts and size:
        byts = recv * size
    m = {"rx_packets": recv, "rx_active_s": secs,
         "pps": recv / secs if secs > 0 else 0.0,
         "gbps": byts * 8 / secs / 1e9 if secs > 0 else 0.0,
         "loss_pct": end.get("lost_percent", 0.0),
         "jitter_us": end.get("jitter_ms", 0.0) * 1e3}
    rates = []
    for i in ivals:
        sec = i.get("seconds", 0.0)
        got = i.get("packets", 0) - i.get("lost_packets", 0)
        rates.append(got / sec if sec > 0 else 0.0)
    cov = interval_cov(rates)
    if cov is not None:
        m["interval_cov_pct"] = cov
    if client_path:
        cdocs = json_docs(_read(client_path))
        if cdocs:
            cs = (cdocs[-1].get("end") or {}).get("sum") or {}
            if "packets" in cs:
                m["tx_packets"] = cs["packets"]
    if recv <= 0:
        raise ParseError("iperf3 server counted 0 datagrams")
    return m


def _cpu_per_gb(m, side, cpu_s, nbytes):
    """m[side + '_cpu_s'] and m[side + '_cpu_s_per_gb'] (GB = 1e9 bytes)."""
    m[f"{side}_cpu_s"] = cpu_s
    if nbytes:
        m[f"{side}_cpu_s_per_gb"] = cpu_s / (nbytes / 1e9)


def _cpu_total(m):
    """Both sides' CPU seconds per GB received, when both sides are known."""
    if "tx_cpu_s_per_gb" in m and "rx_cpu_s_per_gb" in m:
        m["cpu_s_per_gb"] = m["tx_cpu_s_per_gb"] + m["rx_cpu_s_per_gb"]


def _iperf3_cpu_s(doc, seconds):
    """iperf3 reports CPU as a percentage of one CPU over its test
    (end.cpu_utilization_percent.host_total, from getrusage over the test's
    wall time): seconds = host_total / 100 x the test's seconds."""
    c = (doc.get("end") or {}).get("cpu_utilization_percent") or {}
    if not isinstance(c.get("host_total"), (int, float)) or not seconds:
        return None
    return c["host_total"] / 100.0 * seconds


def iperf3_tcp(server_path, client_path=None):
    """Server JSON: received bytes over its seconds, and the receiver's CPU
    (its host_total); client JSON, when given: the sender's CPU (its own
    host_total: the server's remote_total stays 0 in iperf3 3.12).  CPU per
    GB divides by the bytes the server received, for both sides."""
    docs = json_docs(_read(server_path))
    if not docs:
        raise ParseError("no iperf3 server JSON")
    s = docs[-1]
    if s.get("error"):
        raise ParseError(f"iperf3 server: {s['error']}")
    r = (s.get("end") or {}).get("sum_received") or {}
    if not r.get("seconds"):
        raise ParseError("iperf3 server JSON has no end.sum_received")
    nb = r.get("bytes", 0)
    m = {"rx_bytes": nb, "rx_active_s": r["seconds"], "gbps": nb * 8 / r["seconds"] / 1e9}
    cpu = _iperf3_cpu_s(s, r["seconds"])
    if cpu is not None:
        _cpu_per_gb(m, "rx", cpu, nb)
    if client_path:
        cd = json_docs(_read(client_path))
        c = cd[-1] if cd else {}
        sent = (c.get("end") or {}).get("sum_sent") or {}
        cpu = _iperf3_cpu_s(c, sent.get("seconds"))
        if cpu is not None:
            _cpu_per_gb(m, "tx", cpu, nb)
    _cpu_total(m)
    return m


def salvo_tcp(sink_path, send_path=None):
    doc, _ = _salvo_docs(sink_path, "tcp sink")
    if doc.get("error"):
        raise ParseError(f"sink error: {doc['error']}")
    rx = doc.get("rx") or {}
    act = rx.get("active_s", 0.0)
    if not rx.get("bytes") or act <= 0:
        raise ParseError("tcp sink received 0 bytes")
    m = {"rx_bytes": rx["bytes"], "rx_active_s": act, "gbps": rx["bytes"] * 8 / act / 1e9}
    # CPU: each side's tcp.cpu_s, getrusage over the data phase (first
    # connection open to last done; the whole process is tcp.cpu_process_s),
    # per GB the sink received, as iperf3's getrusage over its test interval.
    t = doc.get("tcp") or {}
    if isinstance(t.get("cpu_s"), (int, float)):
        _cpu_per_gb(m, "rx", t["cpu_s"], rx["bytes"])
    if send_path:
        try:
            sd, _ = _salvo_docs(send_path, "tcp send")
            m["tx_bytes"] = (sd.get("tx") or {}).get("bytes", 0)
            st = sd.get("tcp") or {}
            if isinstance(st.get("cpu_s"), (int, float)):
                _cpu_per_gb(m, "tx", st["cpu_s"], rx["bytes"])
        except ParseError:
            pass
    _cpu_total(m)
    return m


_SP_RECV = re.compile(r"Total (\d+) messages received")
_SP_SENT = re.compile(r"Total of (\d+) messages sent in ([0-9.]+) sec")


def sockperf_tp(server_path, client_path, size=None):
    """sockperf sr (server: 'Total N messages received and handled', printed
    when it is interrupted) and sockperf tp (client: 'Total of N messages sent
    in T sec').  The server's count over the client's send time; the server's
    count includes sockperf's few warm-up messages."""
    srv = _SP_RECV.findall(_read(server_path))
    cli = _SP_SENT.findall(_read(client_path))
    if not srv:
        raise ParseError("sockperf server printed no 'Total N messages received'")
    if not cli:
        raise ParseError("sockperf client printed no 'Total of N messages sent in T sec'")
    recv = int(srv[-1])
    sent, secs = int(cli[-1][0]), float(cli[-1][1])
    m = {"rx_packets": recv, "rx_active_s": secs, "tx_packets": sent,
         "pps": recv / secs if secs > 0 else 0.0,
         "loss_pct": max(0.0, 100.0 * (1 - recv / sent)) if sent else 0.0}
    if size:
        m["gbps"] = m["pps"] * size * 8 / 1e9
    if recv == 0:
        raise ParseError("sockperf server counted 0 messages")
    return m


_SP_PCT = re.compile(r"---> percentile ([0-9.]+) =\s*([0-9.]+)")
_SP_MIN = re.compile(r"---> <MIN> observation =\s*([0-9.]+)")
_SP_MAX = re.compile(r"---> <MAX> observation =\s*([0-9.]+)")
_SP_VALID = re.compile(r"\[Valid Duration\] RunTime=([0-9.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)")
_SP_RTT = re.compile(r"Summary: (Round trip|Latency) is ([0-9.]+) usec")


def sockperf_pp(client_path):
    """sockperf ping-pong client output; run with --full-rtt so the figures are
    round-trip times (without it sockperf halves them)."""
    t = _read(client_path)
    kind = _SP_RTT.findall(t)
    if not kind:
        raise ParseError("sockperf ping-pong printed no summary")
    if kind[-1][0] != "Round trip":
        raise ParseError("sockperf reported one-way latency; run it with --full-rtt")
    pct = {float(p): float(v) for p, v in _SP_PCT.findall(t)}
    need = (50.0, 99.0, 99.9)
    if any(p not in pct for p in need):
        raise ParseError("sockperf ping-pong output lacks the 50/99/99.9 percentiles")
    m = {"rtt_p50_us": pct[50.0], "rtt_p99_us": pct[99.0], "rtt_p999_us": pct[99.9],
         "rtt_mean_us": float(kind[-1][1])}
    mn, mx = _SP_MIN.findall(t), _SP_MAX.findall(t)
    if mn:
        m["rtt_min_us"] = float(mn[-1])
    if mx:
        m["rtt_max_us"] = float(mx[-1])
    v = _SP_VALID.findall(t)
    if v:
        secs, sent, recv = float(v[-1][0]), int(v[-1][1]), int(v[-1][2])
        m["replies"] = recv
        m["rate_per_s"] = recv / secs if secs > 0 else 0.0
    return m


def salvo_ping(path):
    doc, _ = _salvo_docs(path, "udp ping")
    if doc.get("error"):
        raise ParseError(f"ping error: {doc['error']}")
    lat = doc.get("latency_ns") or {}
    if not lat.get("count"):
        raise ParseError("udp ping measured no round trip")
    m = {"rtt_p50_us": lat["p50"] / 1e3, "rtt_p99_us": lat["p99"] / 1e3,
         "rtt_p999_us": lat["p999"] / 1e3, "rtt_mean_us": lat.get("mean", 0) / 1e3,
         "rtt_min_us": lat.get("min", 0) / 1e3, "rtt_max_us": lat.get("max", 0) / 1e3,
         "replies": lat["count"]}
    dur = doc.get("duration_s") or 0
    if dur:
        m["rate_per_s"] = lat["count"] / dur
    p = doc.get("ping") or {}
    if "loss_pct" in p:
        m["loss_pct"] = p["loss_pct"]
    return m


def witness(path):
    """The harness's own counter samples: lines 't_seconds rx_packets' taken
    from `ip -s -j link` on the receiving peer.  The first and last samples
    bound the measured window."""
    rows = []
    for line in _read(path).splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                rows.append((float(parts[0]), int(parts[1])))
            except ValueError:
                pass
    if len(rows) < 2:
        raise ParseError("fewer than two counter samples")
    (t0, c0), (t1, c1) = rows[0], rows[-1]
    if t1 <= t0:
        raise ParseError("counter samples are not in time order")
    d = c1 - c0
    if d <= 0:
        raise ParseError("peer counted 0 frames in the window")
    return {"rx_packets": d, "rx_active_s": t1 - t0, "pps": d / (t1 - t0)}


def salvo_registry(path):
    """salvo registry bench JSON (docs/json.md): joins per second as the bench
    measured them (replies received, so the receiver's count), from its
    "registry" section; latency from the common "latency_ns"."""
    doc, _ = _salvo_docs(path, "registry bench")
    if doc.get("error"):
        raise ParseError(f"registry bench error: {doc['error']}")
    sect = doc.get("registry") or {}
    rate = sect.get("joins_per_second")
    if not isinstance(rate, (int, float)) or rate <= 0:
        raise ParseError("registry bench JSON has no joins rate")
    m = {"joins_per_s": float(rate)}
    for k in ("joins", "failed", "error_replies"):
        if isinstance(sect.get(k), (int, float)):
            m[k] = sect[k]
    lat = doc.get("latency_ns") or {}
    if lat.get("count"):
        m["lat_p50_us"] = lat["p50"] / 1e3
        m["lat_p99_us"] = lat["p99"] / 1e3
    return m


def salvo_rfc2544(path):
    """salvo rfc2544 --json throughput for one frame size: the NDR in frames/s
    (0 when no rate above the floor passed), the search's upper bound (the
    tester's ceiling when no --max-rate was given) and its trial count."""
    docs = json_docs(_read(path))
    doc = docs[-1] if docs else {}
    if doc.get("type") != "rfc2544" or not doc.get("sizes"):
        raise ParseError("not a salvo rfc2544 document")
    s = doc["sizes"][0]
    ndr = s.get("ndr") or {}
    return {"pps": float(ndr.get("rate_fps") or 0), "max_fps": float(s.get("max_fps") or 0),
            "ndr_at_max": bool(ndr.get("at_max")), "trials": int(ndr.get("trials") or 0)}


def _probe_doc(path, what):
    for d in json_docs(_read(path)):
        if isinstance(d, dict) and "probe" in d:
            return d
    raise ParseError(f"no probe JSON line in the {what}'s output")


def probe(rx_path, tx_path=None):
    """A receiver probe's count (bench/probes/recv_count) over its own time;
    the sender's accepted count when its output is given (a probe's JSON line
    or salvo udp send's JSON)."""
    rx = _probe_doc(rx_path, "receiver probe")
    pk, secs = rx.get("packets", 0), rx.get("seconds", 0.0)
    m = {"rx_packets": pk, "rx_active_s": secs, "pps": pk / secs if secs > 0 else 0.0,
         "gbps": rx.get("bytes", 0) * 8 / secs / 1e9 if secs > 0 else 0.0}
    if tx_path:
        docs = json_docs(_read(tx_path))
        tx = next((d for d in docs if isinstance(d, dict) and "probe" in d), None)
        if tx is not None:
            m["tx_packets"] = tx.get("packets", 0)
            m["tx_pps_claimed"] = tx.get("pps", 0.0)
        else:
            doc, _ = _salvo_docs(tx_path, "sender")
            if doc.get("error"):
                raise ParseError(f"sender error: {doc['error']}")
            m["tx_packets"] = (doc.get("tx") or {}).get("packets", 0)
            m["tx_pps_claimed"] = (doc.get("tx") or {}).get("pps", 0.0)
        if m["tx_packets"]:
            m["loss_pct"] = max(0.0, 100.0 * (1 - pk / m["tx_packets"]))
    if pk == 0 or secs <= 0:
        raise ParseError("receiver probe counted 0 packets")
    return m


def salvo_raw_rx(rx_path, tx_path, witness_path):
    """salvo raw recv (receiver) JSON, the common sender's salvo raw send
    JSON and the receiving veth's rx_packets before and after the sender
    (witness samples, `t rx_packets` lines).  The figure is the receiver's
    count over its own first-to-last-frame time; rx_loss_pct is what the
    kernel counted on the interface and the receiver did not get (frames the
    ring or the AF_XDP socket had no room for), tx_packets the sender's own
    count; the kernel's drop counters of the receiver ride along."""
    doc, _ = _salvo_docs(rx_path, "raw recv")
    if doc.get("error"):
        raise ParseError(f"receiver error: {doc['error']}")
    rx = doc.get("rx") or {}
    pk, act = rx.get("packets", 0), rx.get("active_s", 0.0)
    if pk == 0 or act <= 0:
        raise ParseError("raw recv counted 0 frames")
    m = {"rx_packets": pk, "rx_active_s": act, "pps": pk / act,
         "gbps": rx.get("bytes", 0) * 8 / act / 1e9,
         "unstamped": rx.get("unstamped", 0), "lost_stamped": rx.get("lost", 0)}
    k = doc.get("kernel") or {}
    for key in ("ring_drops", "xdp_rx_dropped", "xdp_rx_ring_full"):
        if isinstance(k.get(key), (int, float)):
            m[key] = k[key]
    tx, _ = _salvo_docs(tx_path, "raw send")
    if tx.get("error"):
        raise ParseError(f"sender error: {tx['error']}")
    m["tx_packets"] = (tx.get("tx") or {}).get("packets", 0)
    m["tx_pps_claimed"] = (tx.get("tx") or {}).get("pps", 0.0)
    w = witness(witness_path)
    m["peer_rx_packets"] = w["rx_packets"]
    m["rx_loss_pct"] = max(0.0, 100.0 * (1 - pk / w["rx_packets"]))
    return m


PARSERS = {
    "probe": probe,
    "salvo-udp": salvo_udp, "iperf3-udp": iperf3_udp, "iperf3-tcp": iperf3_tcp,
    "salvo-tcp": salvo_tcp, "sockperf-tp": sockperf_tp, "sockperf-pp": sockperf_pp,
    "salvo-ping": salvo_ping, "witness": witness, "salvo-registry": salvo_registry,
    "salvo-rfc2544": salvo_rfc2544, "salvo-raw-rx": salvo_raw_rx,
}
