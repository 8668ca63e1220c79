#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tree's include rule (docs/architecture.md), suite "extra": the tree as
# it is must pass tools/check-includes.sh, and the checker must refuse each
# kind of include that breaks the rule (so a checker that passes everything
# cannot go green).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/salvo-layout.XXXXXX)
trap 'rm -rf "$work"' EXIT

out=$("$top/tools/check-includes.sh" "$top" 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then
	echo "PASS: every #include follows the include rule"
else
	printf '%s\n' "$out" | sed 's/^/# /'
	echo "FAIL: includes that break the rule (above)"
fi

# refused NAME FILE LINE: a copy of the tree with LINE added to FILE must fail.
refused() {
	local d=$work/$1
	mkdir -p "$d"
	(cd "$top" && cp -r --parents include/salvo engine backends apps frames registry cli tools "$d"/)
	sed -i "1a $3" "$d/$2"
	if "$d/tools/check-includes.sh" "$d" >"$work/$1.out" 2>&1; then
		echo "FAIL: $1: the checker passed $3 in $2"
	elif grep -q "^$2:2:" "$work/$1.out"; then
		echo "PASS: $1"
	else
		echo "FAIL: $1: the checker failed, but not on $2:2"
	fi
	rm -rf "$d"
}

refused "engine may not include apps" engine/run.c '#include "apps/gen.h"'
refused "the core's public headers include only the core" include/salvo/run.h '#include "registry/registry.h"'
refused "backends may not include frames" backends/afpacket.c '#include "frames/pktgen.h"'
refused "apps may not include cli" apps/sink.c '#include "cli/cli.h"'
refused "frames may not include apps" frames/rawgen.c '#include "apps/gen.h"'
refused "a bare name must sit beside its includer" cli/main.c '#include "pktgen.h"'
