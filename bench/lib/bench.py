#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The harness's Python side, called by the shell scenarios.

  bench.py record  --out records.jsonl --scenario S --case C --tool T [...]
                   parse one run's saved output and append one record
  bench.py machine describe this machine (JSON on stdout)
  bench.py report  --records records.jsonl --outdir DIR [--meta file.json]
                   write results.json, results.md and the SVG plots

Only the standard library is used.
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parse  # noqa: E402
import report  # noqa: E402


def kv(items):
    out = {}
    for it in items or []:
        k, _, v = it.partition("=")
        try:
            v = int(v)
        except ValueError:
            try:
                v = float(v)
            except ValueError:
                pass
        out[k] = v
    return out


def make_record(a):
    files = {k: str(v) for k, v in kv(a.file).items()}
    rec = {
        "scenario": a.scenario, "case": a.case, "tool": a.tool,
        "variant": a.variant or a.tool, "backend": a.backend or "",
        "params": kv(a.param), "rep": a.rep, "status": a.status,
        "reason": a.reason or "", "metrics": {}, "cmd": a.cmd or [],
        "time": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    if a.status == "ok":
        fn = parse.PARSERS.get(a.parser)
        if fn is None:
            rec["status"], rec["reason"] = "failed", f"harness: unknown parser {a.parser}"
            return rec
        try:
            args = [files[k] for k in ("a", "b", "c") if k in files]
            extra = {"size": a.size} if a.size and a.parser in ("iperf3-udp", "sockperf-tp") else {}
            rec["metrics"] = fn(*args, **extra)
        except parse.ParseError as e:
            rec["status"], rec["reason"] = "failed", str(e)
        if a.target_pps and "pps" in rec["metrics"]:
            m = rec["metrics"]
            m["target_pps"] = a.target_pps
            m["rate_err_pct"] = 100.0 * abs(m["pps"] - a.target_pps) / a.target_pps
    if rec["status"] != "ok" and a.stderr:
        tail = []
        for p in a.stderr:
            try:
                with open(p, encoding="utf-8", errors="replace") as f:
                    ls = [l.strip() for l in f if l.strip()]
                # strip terminal colour codes some tools print
                tail += [re.sub(r"\x1b\[[0-9;]*m", "", l) for l in ls[-2:]]
            except OSError:
                pass
        if tail:
            rec["reason"] = (rec["reason"] + " — " if rec["reason"] else "") + " / ".join(tail)[:300]
    return rec


def cmd_record(a):
    rec = make_record(a)
    with open(a.out, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")
    prim = None
    for k in ("pps", "gbps", "rtt_p50_us", "joins_per_s"):
        if k in rec["metrics"]:
            prim = f"{k}={rec['metrics'][k]:.4g}"
            break
    print(f"  {rec['scenario']:<9} {rec['case']:<10} {rec['tool']:<8} {rec['variant']:<14} "
          f"rep {rec['rep']}: {rec['status']} {prim or rec['reason']}", file=sys.stderr)
    return 0


def _sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    m = {"kernel": platform.release(), "cores": os.cpu_count(), "arch": platform.machine()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    m["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = int(f.readline().split()[1])
            m["memory"] = f"{kb / 1048576:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    m["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    virt = []
    for line in _sh(["lscpu"]).splitlines():
        if line.startswith("Hypervisor vendor:"):
            virt.append(line.split(":", 1)[1].strip() + " virtual machine")
    v = _sh(["systemd-detect-virt", "--container"])
    if v and v != "none":
        virt.append(f"inside a {v} container")
    if virt:
        m["virt"] = ", ".join(virt)
    try:
        with open("/proc/loadavg", encoding="utf-8") as f:
            m["load_before"] = " ".join(f.read().split()[:3])
    except OSError:
        pass
    return m


def cmd_machine(a):
    m = machine()
    m["tools"] = dict(t.partition("=")[::2] for t in a.tool or [])
    if a.note:
        m["note"] = a.note
    json.dump(m, sys.stdout, indent=1)
    print()
    return 0


def load_records(path):
    recs = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    recs.append(json.loads(line))
    return recs


def cmd_report(a):
    doc = {}
    if a.meta and os.path.exists(a.meta):
        with open(a.meta, encoding="utf-8") as f:
            doc.update(json.load(f))
    doc["records"] = load_records(a.records)
    made = report.write_all(a.outdir, doc)
    print(f"report: {len(doc['records'])} runs, {len(doc['summary'])} rows, "
          f"{len(made)} plots -> {a.outdir}", file=sys.stderr)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench.py")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", required=True)
    r.add_argument("--scenario", required=True)
    r.add_argument("--case", default="")
    r.add_argument("--tool", required=True)
    r.add_argument("--variant", default="")
    r.add_argument("--backend", default="")
    r.add_argument("--rep", type=int, default=1)
    r.add_argument("--param", action="append")
    r.add_argument("--cmd", action="append")
    r.add_argument("--parser", default="")
    r.add_argument("--file", action="append", help="a=PATH, b=PATH, c=PATH: the parser's inputs")
    r.add_argument("--stderr", action="append", help="stderr files quoted in a failure reason")
    r.add_argument("--size", type=int, default=0)
    r.add_argument("--target-pps", type=float, default=0)
    r.add_argument("--status", default="ok", choices=["ok", "failed", "unavailable"])
    r.add_argument("--reason", default="")
    r.set_defaults(fn=cmd_record)
    m = sub.add_parser("machine")
    m.add_argument("--tool", action="append", help="NAME=VERSION")
    m.add_argument("--note", default="")
    m.set_defaults(fn=cmd_machine)
    o = sub.add_parser("report")
    o.add_argument("--records", required=True)
    o.add_argument("--outdir", required=True)
    o.add_argument("--meta")
    o.set_defaults(fn=cmd_report)
    a = p.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
