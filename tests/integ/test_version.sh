#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# asan: yes
#
# salvo --version / -V: the VERSION file's version, the checkout's commit,
# the build date, and the library versions pkg-config reports here (the
# witness: the same pkg-config, asked by this script); every --json
# document (a command's summary, each --json-stream line, backends) carries
# the same facts in "version".  tools/version.sh, which writes them at build
# time, honours SOURCE_DATE_EPOCH and falls back without .git (a tarball, a
# Debian source tree) to the COMMIT file, then to "unknown".
#
#	SALVO=build/salvo tests/integ/test_version.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_version_line
	test_version_json
	test_version_generator
"

test_version_line() {
	local v lib want got commit
	v=$(tr -d ' \n' <"$TOP/VERSION")
	"$SALVO" --version >"$TMP/long" || { fail "--version exit $?"; return; }
	"$SALVO" -V >"$TMP/short" || { fail "-V exit $?"; return; }
	cmp -s "$TMP/long" "$TMP/short" || { fail "-V and --version differ"; return; }
	[ "$(head -n 1 "$TMP/long")" = "salvo $v" ] || { fail "first line '$(head -n 1 "$TMP/long")', VERSION says $v"; return; }
	if commit=$(git -C "$TOP" rev-parse --short=12 HEAD 2>/dev/null); then
		grep -qE "^commit: $commit(-dirty)?\$" "$TMP/long" || { fail "commit line is not $commit (a build older than HEAD?): $(grep commit "$TMP/long")"; return; }
	fi
	grep -qE '^built: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "$TMP/long" || { fail "no built: line"; return; }
	for lib in liburing libxdp libbpf jansson liburcu; do
		want=$(pkg-config --modversion "$lib")
		grep -qE "[ ,]$lib ${want//./\\.}(,|\$)" "$TMP/long" || { fail "$lib is not $want: $(tail -n 1 "$TMP/long")"; return; }
	done
}

# The "version" object of a JSON document equals what --version says.
version_matches() {	# file-with-one-json-document
	local f=$1 v
	v=$(tr -d ' \n' <"$TOP/VERSION")
	jq -e --arg v "$v" --arg c "$(sed -n 's/^commit: //p' "$TMP/long")" \
		--arg b "$(sed -n 's/^built: //p' "$TMP/long")" --arg u "$(pkg-config --modversion liburing)" \
		'.version.salvo == $v and .version.commit == $c and .version.built == $b and
		 .version.libraries.liburing == $u and (.version.libraries | keys | length) == 5' "$f" >/dev/null
}

test_version_json() {
	local n
	"$SALVO" --version >"$TMP/long" || { fail "--version exit $?"; return; }
	"$SALVO" backends --json >"$TMP/b.json" || { fail "backends --json exit $?"; return; }
	version_matches "$TMP/b.json" || { fail "backends --json: version $(jq -c .version "$TMP/b.json")"; return; }
	"$SALVO" udp send -b null 127.0.0.1:9 --count 10 --json >"$TMP/s.json" || { fail "udp send --json exit $?"; return; }
	version_matches "$TMP/s.json" || { fail "udp send --json: version $(jq -c .version "$TMP/s.json")"; return; }
	"$SALVO" udp send -b null 127.0.0.1:9 --duration 1 -i 0.25 --json-stream >"$TMP/st.json" ||
		{ fail "--json-stream exit $?"; return; }
	n=$(count_lines "$TMP/st.json")
	[ "$n" -ge 2 ] || { fail "--json-stream printed $n lines"; return; }
	while IFS= read -r l; do
		printf '%s\n' "$l" >"$TMP/line.json"
		version_matches "$TMP/line.json" || { fail "a --json-stream line lacks the version: $l"; return; }
	done <"$TMP/st.json"
}

test_version_generator() {
	local out d
	out=$(SOURCE_DATE_EPOCH=86400 "$TOP/tools/version.sh") || { fail "version.sh exit $?"; return; }
	grep -qx '#define SALVO_BUILT "1970-01-02T00:00:00Z"' <<<"$out" || { fail "SOURCE_DATE_EPOCH=86400 gave $(grep BUILT <<<"$out")"; return; }
	# A tree without .git (tarball, Debian build of an exported tree).
	d=$TMP/tree
	mkdir -p "$d/tools"
	cp "$TOP/tools/version.sh" "$d/tools/" && echo 9.8.7 >"$d/VERSION"
	out=$(cd / && SOURCE_DATE_EPOCH=0 GIT_CEILING_DIRECTORIES=$TMP "$d/tools/version.sh") || { fail "version.sh without .git: exit $?"; return; }
	grep -qx '#define SALVO_VERSION "9.8.7"' <<<"$out" || { fail "VERSION not read: $(grep 'SALVO_VERSION' <<<"$out")"; return; }
	grep -qx '#define SALVO_COMMIT "unknown"' <<<"$out" || { fail "no .git: $(grep COMMIT <<<"$out")"; return; }
	echo abcdef123456 >"$d/COMMIT"
	out=$(SOURCE_DATE_EPOCH=0 "$d/tools/version.sh")
	grep -qx '#define SALVO_COMMIT "abcdef123456"' <<<"$out" || { fail "COMMIT file not read: $(grep COMMIT <<<"$out")"; return; }
}

for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
