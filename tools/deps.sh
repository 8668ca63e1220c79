#!/usr/bin/env bash
# Install the Debian packages salvo needs, only those missing (a no-op when all
# are there).  docs/dependencies.md says why each one is here.
set -eu
# The first two lines build salvo; the others hold the programs its tests call
# (tests/run.sh, tests/*/*.sh): a test may call no program that is not
# installed here or part of every Debian root (coreutils, util-linux, mount...),
# and `make fresh-check` proves it on a pristine Debian 12.
PKGS="build-essential pkg-config clang llvm lld libclang-rt-14-dev
liburing-dev libbpf-dev libxdp-dev xdp-tools libjansson-dev libcmocka-dev liburcu-dev libpcap-dev libcap-dev libmicrohttpd-dev
iproute2 procps python3 jq valgrind tcpdump libcap2-bin gnuplot-nox strace linux-perf
mandoc groff-base zsh dpkg-dev debhelper lintian binutils git prometheus
ansible-core openssh-server python3-yaml ${EXTRA_PKGS:-}"
# kubectl renders deploy/k8s (test_k8s.sh): Debian's, unless one is on PATH
# already (a cloud SDK's kubectl owns /usr/bin/kubectl and conflicts with it).
command -v kubectl >/dev/null || PKGS="$PKGS kubernetes-client"
missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "salvo: installing missing packages:$missing"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
