#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every key path of salvo's JSON output must be documented in docs/json.md.

json_doc_keys.py DOCS_JSON_MD FILE...: each FILE holds salvo's stdout (one
JSON document, NDJSON, or JSON after other lines).  Prints each key path not
documented, one per line with the file it came from, and exits 1 if any.

json.md's parsable form: a heading starts a section, named by the `code`
spans before its first colon ("### `rx.sessions[]`: one sending run"; several
spans: the same keys in each), or the top level when it has none.  Every table row's first cell lists `code` keys, each relative to
the section (a key may be dotted itself: `tx.packets`).  Array elements are
written `[]`.  The documents nest summaries in three places, which json.md
says once: an `intervals[]` element, a profile's `streams[].report` and a
--bidir test's `reverse` are summary-shaped (documented at the top level), and a `salvo serve` client
test's `client` object has the `rx`/`tx` keys of the control counts.
"""
import json
import re
import sys

# Nested summaries: a path under one of these prefixes is checked as a top-level path.
NESTED = ("intervals[].", "streams[].report.", "reverse.")


def documented(md_path):
    keys, sections = set(), [""]
    for line in open(md_path, encoding="utf-8"):
        if line.startswith("#"):
            # The sections: the code spans before the heading's first colon.
            sections = re.findall(r"`([^`]+)`", line.split(":")[0]) or [""]
            continue
        if not line.startswith("|") or re.match(r"^\|\s*-", line):
            continue
        first = line.split("|")[1]
        for k in re.findall(r"`([^`]+)`", first):
            for sec in sections:
                keys.add(f"{sec}.{k}" if sec else k)
    return keys


def docs_in(text):
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        j = text.find("{", i)
        if j < 0:
            return out
        try:
            d, i = dec.raw_decode(text, j)
            out.append(d)
        except ValueError:
            i = j + 1


def paths(v, pre=""):
    if isinstance(v, dict):
        for k, x in v.items():
            p = f"{pre}{k}"
            yield p
            yield from paths(x, p + ".")
    elif isinstance(v, list):
        for x in v:
            yield from paths(x, pre[:-1] + "[].")


def main():
    known = documented(sys.argv[1])
    missing, seen = {}, 0
    for f in sys.argv[2:]:
        docs = docs_in(open(f, encoding="utf-8", errors="replace").read())
        if not docs:
            missing.setdefault("(no JSON document)", f)
        for d in docs:
            for p in paths(d):
                seen += 1
                q = p
                while any(q.startswith(n) for n in NESTED):
                    q = next(q[len(n):] for n in NESTED if q.startswith(n))
                if q not in known and not any(
                        k.endswith(".*") and q.startswith(k[:-1]) for k in known):
                    missing.setdefault(p, f)
    for p, f in sorted(missing.items()):
        print(f"{p} (in {f})")
    if not seen:
        print("no key paths at all")
        return 1
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
