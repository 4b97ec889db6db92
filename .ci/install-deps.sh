#!/usr/bin/env bash
# Installs the Debian 12 packages hutch needs, idempotently: nothing is fetched when all are
# present. Usage: install-deps.sh [build|test]   (test = build + what the test suite uses)
set -euo pipefail

profile=${1:-build}
packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev libboost-filesystem1.81-dev
  libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev
  libseccomp-dev libarchive-dev libcap-dev nettle-dev libssl-dev
  zlib1g-dev liblzma-dev libzstd-dev libbz2-dev libacl1-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  uidmap util-linux iproute2
  libssl-dev
  # the subcontainer bridge network: rtnetlink and nftables as libraries; DNS messages for
  # the sandboxes' resolver (and the tests' fake DNS server)
  libnl-3-dev libnl-route-3-dev libnftables-dev libldns-dev
)
if [ "$profile" = test ]; then
  # Real components for the integration tests and the peer benchmarks.
  packages+=(docker.io docker-registry busybox-static bubblewrap procps)
  # bench/network.sh's peer: iperf3 over a bare veth pair
  packages+=(iperf3)
  # Podman's Docker-compatible service (the docker backend's second engine) and what its
  # containers need: an init for containers without the agent, rootless networking and storage.
  packages+=(podman catatonit slirp4netns fuse-overlayfs containernetworking-plugins curl)
  # the subcontainer backend's rootless bridge network (pasta), and its tests
  packages+=(passt)
  # the service's API tests (tests/server): node's test runner, fetch and npm (the ws
  # client), curl; systemd-socket-activate for the socket-activation test
  packages+=(nodejs systemd)
  # a real terminal for the `run -it` tests (tests/cli/test_terminal.cpp)
  packages+=(tmux)
  # the compressors tests/unit/test_archive.cpp makes its tarballs with
  packages+=(gzip bzip2 xz-utils zstd)
  # the libFuzzer targets (tests/fuzz/run.sh): clang and its fuzzer and sanitizer runtimes
  packages+=(clang libclang-rt-14-dev)
  # certificates for dockerd's TLS listener (.ci/make-tls-pki.sh) and its s_server test peer,
  # and for the TLS registry test (tests/subcontainer/test_image_pull.cpp)
  packages+=(openssl)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo)
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
