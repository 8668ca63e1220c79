#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installing salvo as a Debian tool.  `make install` into a temporary
# DESTDIR puts the binary, the generated man pages, bash and zsh completion,
# the docs and the example profiles under PREFIX; the installed binary runs from there
# (--version, backends), and `make uninstall` leaves no file behind.
# `make deb` (dpkg-buildpackage -b, nocheck, then lintian --fail-on error)
# builds salvo_VERSION_ARCH.deb whose Depends name the package of every
# shared library the binary links (the witness: readelf's NEEDED and dpkg -S
# on this machine); `dpkg -i` into a throw-away root and database, whose
# status holds only those packages as this machine has them, installs it
# with its dependencies checked, and the installed salvo lists the backends.
#
#	SALVO=build/salvo tests/integ/test_install.sh [test_name...]
. "$(dirname "$0")/lib.sh"

TESTS="
	test_install_uninstall
	test_deb
"

# The build directory SALVO comes from, for make (build, build-asan...).
BUILD_DIR=build
d=$(dirname "$SALVO")
[ -d "$d/obj" ] && [ "$(cd "$d/.." && pwd)" = "$TOP" ] && BUILD_DIR=$(basename "$d")

test_install_uninstall() {
	local dest=$TMP/dest f left
	make --no-print-directory -C "$TOP" BUILD="$BUILD_DIR" install DESTDIR="$dest" PREFIX=/opt/salvo-test \
		>"$TMP/install.log" 2>&1 || { fail "make install: $(tail -n 3 "$TMP/install.log")"; return; }
	for f in bin/salvo share/man/man1/salvo.1 share/man/man1/salvo-udp.1 share/man/man1/salvo-registry.1 \
		share/bash-completion/completions/salvo share/zsh/site-functions/_salvo \
		share/doc/salvo/README.md share/doc/salvo/commands.md; do
		[ -s "$dest/opt/salvo-test/$f" ] || { fail "install left out $f"; return; }
	done
	[ -x "$dest/opt/salvo-test/bin/salvo" ] || { fail "installed salvo is not executable"; return; }
	# The example profiles: each one a code block of docs/profiles.md, as written there.
	ls "$dest"/opt/salvo-test/share/doc/salvo/examples/*.json >"$TMP/ex" 2>/dev/null
	[ "$(count_lines "$TMP/ex")" -ge 3 ] || { fail "$(count_lines "$TMP/ex") example profiles installed"; return; }
	python3 - "$TOP/docs/profiles.md" $(cat "$TMP/ex") <<'PY' || { fail "an installed example is not a profile of docs/profiles.md"; return; }
import json, sys
doc = open(sys.argv[1]).read()
for f in sys.argv[2:]:
    t = open(f).read()
    assert "```json\n" + t + "```" in doc, f
    assert json.loads(t)["streams"], f
PY
	"$dest/opt/salvo-test/bin/salvo" --version >"$TMP/v" || { fail "installed --version exit $?"; return; }
	[ "$(head -n 1 "$TMP/v")" = "salvo $(tr -d ' \n' <"$TOP/VERSION")" ] || { fail "installed --version: $(head -n 1 "$TMP/v")"; return; }
	"$dest/opt/salvo-test/bin/salvo" backends >"$TMP/b" || { fail "installed backends exit $?"; return; }
	grep -qE '^syscall +yes' "$TMP/b" || { fail "installed backends: $(head -c 300 "$TMP/b")"; return; }
	make --no-print-directory -C "$TOP" BUILD="$BUILD_DIR" uninstall DESTDIR="$dest" PREFIX=/opt/salvo-test \
		>"$TMP/uninstall.log" 2>&1 || { fail "make uninstall: $(tail -n 3 "$TMP/uninstall.log")"; return; }
	left=$(find "$dest" ! -type d | head -n 5)
	[ -z "$left" ] || { fail "uninstall left: $left"; return; }
	[ ! -e "$dest/opt/salvo-test/share/doc/salvo" ] || { fail "uninstall left share/doc/salvo"; return; }
}

test_deb() {
	local deb v depends lib pkg root=$TMP/root admin=$TMP/admin p t0=$SECONDS
	for p in dpkg-buildpackage dh lintian readelf; do
		command -v "$p" >/dev/null || { skip "no $p (tools/deps.sh installs it)"; return; }
	done
	v=$(tr -d ' \n' <"$TOP/VERSION")
	[ "$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)" = "$v" ] ||
		{ fail "debian/changelog's version is not VERSION's $v"; return; }
	make --no-print-directory -C "$TOP" BUILD="$BUILD_DIR" deb >"$TMP/deb.log" 2>&1 ||
		{ fail "make deb: $(grep -E '^(E:|dpkg|make)' "$TMP/deb.log" | tail -n 5)"; return; }
	echo "# make deb (build, lintian): $((SECONDS - t0)) s"
	deb=$(ls "$TOP/$BUILD_DIR"/deb/salvo_"$v"_*.deb 2>/dev/null)
	[ -n "$deb" ] && [ "$(wc -l <<<"$deb")" = 1 ] || { fail "not one salvo_${v}_*.deb: $deb"; return; }
	depends=$(dpkg-deb -f "$deb" Depends)
	# Every library the binary needs comes from a package Depends names.
	dpkg-deb -x "$deb" "$TMP/x"
	for lib in $(readelf -d "$TMP/x/usr/bin/salvo" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
		# this architecture's copy (not libc6-i386's /lib32/libm.so.6)
		pkg=$(dpkg -S "*/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
		[ -n "$pkg" ] || { fail "no package of this machine holds $lib"; return; }
		[[ ", $depends," == *", $pkg "* ]] || { fail "Depends ($depends) lacks $pkg, which holds $lib"; return; }
	done
	# A throw-away root and database that has the dependencies as this machine has them.
	mkdir -p "$root" "$admin/info" "$admin/updates" "$admin/triggers"
	: >"$admin/available"
	for pkg in $(sed 's/([^)]*)//g; s/|[^,]*//g; s/,/ /g' <<<"$depends"); do
		dpkg-query -s "$pkg" >>"$admin/status" 2>/dev/null || { fail "dependency $pkg is not installed here"; return; }
		echo >>"$admin/status"
		: >"$admin/info/$pkg.list"
		: >"$admin/info/$pkg:$(dpkg --print-architecture).list"
	done
	dpkg --admindir="$admin" --instdir="$root" -i "$deb" >"$TMP/dpkg.log" 2>&1 ||
		{ fail "dpkg -i: $(tail -n 3 "$TMP/dpkg.log")"; return; }
	grep -q 'warning' "$TMP/dpkg.log" && { fail "dpkg -i warned: $(grep -m1 warning "$TMP/dpkg.log")"; return; }
	dpkg-query --admindir="$admin" -W -f='${Status}' salvo | grep -qx 'install ok installed' ||
		{ fail "salvo is not installed in the throw-away database"; return; }
	for p in /usr/bin/salvo /usr/share/man/man1/salvo.1.gz /usr/share/man/man1/salvo-udp.1.gz \
		/usr/share/bash-completion/completions/salvo /usr/share/zsh/vendor-completions/_salvo; do
		dpkg-query --admindir="$admin" -L salvo | grep -qx "$p" || { fail "the package lacks $p"; return; }
	done
	"$root/usr/bin/salvo" backends >"$TMP/b" || { fail "installed backends exit $?"; return; }
	grep -qE '^syscall +yes' "$TMP/b" || { fail "installed backends: $(head -c 300 "$TMP/b")"; return; }
	[ "$(head -n 1 < <("$root/usr/bin/salvo" --version))" = "salvo $v" ] || { fail "installed --version"; return; }
	# The package's binary was built from a tree without .git: the commit came from COMMIT.
	"$root/usr/bin/salvo" --version | grep -qxE "commit: $(git -C "$TOP" rev-parse --short=12 HEAD)(-dirty)?" ||
		{ fail "installed salvo's commit: $("$root/usr/bin/salvo" --version | grep commit)"; return; }
}

for t in ${*:-$TESTS}; do run_test "$t"; done
exit "$RET"
