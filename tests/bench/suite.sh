#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmark harness's own checks (run by tests/run.sh, suite "extra"):
# parsers, statistics and writers (bench/tests/test_lib.py), then one smoke
# run of a few seconds through bench/run.sh.  PASS/FAIL/SKIP lines.
set -u
cd "$(dirname "$0")/../.." || exit 1
top=$PWD
# test_lib.py's own lines, then a FAIL of its own when it exits non-zero or
# prints fewer verdicts than it has checks (an import error would otherwise
# drop every check silently). The expected count is read from the source.
want=$(grep -c '^@check(' bench/tests/test_lib.py)
lib_out=$(python3 bench/tests/test_lib.py 2>&1)
lib_rc=$?
printf '%s\n' "$lib_out" | grep -E '^(PASS|FAIL|SKIP): '
got=$(printf '%s\n' "$lib_out" | grep -cE '^(PASS|FAIL|SKIP): ')
if [ "$lib_rc" -ne 0 ] && ! printf '%s\n' "$lib_out" | grep -q '^FAIL: '; then
	printf '%s\n' "$lib_out" | tail -n 5
	echo "FAIL: bench/tests/test_lib.py exited $lib_rc without a FAIL line"
fi
if [ "$got" -lt "$want" ]; then
	[ "$lib_rc" -eq 0 ] || printf '%s\n' "$lib_out" | grep -vE '^(PASS|FAIL|SKIP): ' | tail -n 5
	echo "FAIL: bench/tests/test_lib.py reported $got of its $want checks"
fi
SALVO=${SALVO:-$top/build/salvo}
[ -x "$SALVO" ] || SALVO=$top/salvo
if [ ! -x "$SALVO" ]; then
	echo "SKIP: bench smoke run [no salvo binary; run make]"
	exit 0
fi
out=$(mktemp -d /tmp/salvo-bench-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
if SALVO=$SALVO timeout 60 bench/run.sh --no-install --only smoke --reps 1 --duration 1 --out "$out" >"$out.log" 2>&1; then
	echo "PASS: bench smoke run exits 0"
else
	echo "FAIL: bench smoke run exits 0 [$(tail -n 3 "$out.log" | tr '\n' ' ')]"
fi
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def check(name, ok, why=""):
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok else f" [{why}]"))
try:
    with open(os.path.join(out, "results.json")) as f:
        doc = json.load(f)
except (OSError, ValueError) as e:
    check("bench smoke results.json", False, str(e)); sys.exit()
recs = [r for r in doc["records"] if r["tool"] == "salvo"]
ok = [r for r in recs if r["status"] == "ok"]
check("bench smoke: salvo row measured at the receiver", bool(ok) and ok[0]["metrics"].get("pps", 0) > 0,
      recs[0]["reason"] if recs else "no salvo record")
check("bench smoke: every record has its command line", all(r["cmd"] for r in doc["records"] if r["status"] != "unavailable"))
check("bench smoke: machine recorded", bool(doc.get("machine", {}).get("kernel")))
md = open(os.path.join(out, "results.md")).read() if os.path.exists(os.path.join(out, "results.md")) else ""
check("bench smoke: results.md has the table", "| 64 B | salvo | syscall |" in md)
PY
rm -f "$out.log"
