#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make fresh-check: the README's test command on a pristine Debian 12.
#
# Builds a minimal Debian 12 root with debootstrap (minbase plus make, git and
# ca-certificates: what a person needs to clone salvo), clones this checkout's
# commit into it, and runs `CI=true make check` there as root.  Whatever this
# machine has installed by hand is invisible inside, so a test that calls a
# program tools/deps.sh does not install fails here as it would on a new
# machine.  Needs root (debootstrap, chroot, namespaces) and the network to
# Debian's mirror.
#
#	tools/fresh-check.sh [--keep] [REV]	(REV defaults to HEAD; uncommitted
#						 changes are not part of the run)
#
# The debootstrap output is cached as a tarball (FRESH_CACHE, default
# /var/cache/salvo-fresh) and unpacked anew for every run, so no run sees what
# an earlier one installed.  Exit status: make check's.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[ "${1:-}" = --keep ] && { keep=1; shift; }
rev=${1:-HEAD}
suite=bookworm
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
cache=${FRESH_CACHE:-/var/cache/salvo-fresh}
base=$cache/$suite-minbase.tar

die() { echo "fresh-check: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, network namespaces)"
commit=$(git -C "$top" rev-parse --verify -q "$rev^{commit}") || die "no commit '$rev' in $top"

if [ ! -s "$base" ]; then
	if ! command -v debootstrap >/dev/null; then
		echo "fresh-check: installing debootstrap"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
	fi
	mkdir -p "$cache"
	tmpbase=$(mktemp -d "$cache/base.XXXXXX")
	echo "fresh-check: debootstrap --variant=minbase $suite (once; cached in $base)"
	debootstrap --variant=minbase --include=make,git,ca-certificates "$suite" "$tmpbase" "$mirror" \
		>"$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log"; rm -rf "$tmpbase"; exit 1; }
	tar -C "$tmpbase" -cf "$base.tmp" . && mv "$base.tmp" "$base"
	rm -rf "$tmpbase"
fi

root=$(mktemp -d /var/tmp/salvo-fresh.XXXXXX)
cleanup() {
	if [ "$keep" = 1 ]; then echo "fresh-check: root kept in $root"; else rm -rf "$root"; fi
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
# What the Debian installer writes and debootstrap does not: name resolution
# for localhost (the seed's programs use it), and a resolver for apt.
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsalvo-fresh\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
echo salvo-fresh >"$root/etc/hostname"
git clone -q --no-local --no-hardlinks "$top" "$root/salvo"
git -C "$root/salvo" checkout -q "$commit"
echo "fresh-check: make check at $(git -C "$root/salvo" log -1 --format='%h %s' | cut -c1-70)"
echo "fresh-check: in a pristine $suite root ($root), as root, CI=true; log in $root/check.log"

# A mount namespace of its own: everything mounted for the root goes away
# with it, even when the run is killed.  The network namespaces the tests
# make are bound under the root's /run/netns, inside it too.
set +e
unshare --mount --propagation private bash -c '
	set -e
	r=$1
	# The root is a mount point of its own, as / is on a machine: ip netns
	# exec and unshare -m change the propagation of /, which needs one.
	mount --bind "$r" "$r"
	mount -t proc proc "$r/proc"
	mount -t sysfs sysfs "$r/sys"
	mount -t bpf bpf "$r/sys/fs/bpf" 2>/dev/null || true
	mount --rbind /dev "$r/dev"
	mount -t tmpfs tmpfs "$r/run"
	mount -t tmpfs tmpfs "$r/dev/shm"
	exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 CI=true bash -c "cd /salvo && make check"
' fresh-check "$root" >"$root/check.log" 2>&1 </dev/null
rc=$?
set -e
grep -E '^(failed:|skipped:|  )' "$root/check.log" | tail -n 60 || true
tail -n 1 "$root/check.log"
echo "fresh-check: make check exited $rc"
[ "$rc" -eq 0 ] || keep=1
exit "$rc"
