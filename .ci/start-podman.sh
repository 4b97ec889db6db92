#!/usr/bin/env bash
# Starts Podman's Docker-compatible API service (rootful) on /run/podman/podman.sock unless one
# already answers there, and loads the test image into Podman's store.
# Prints nothing on success; the service's log is in ${HUTCH_PODMAN_LOG:-/tmp/hutch-podman.log}.
#
# Podman 4.3 on this kind of host fails every container start unless the nofile/nproc ulimits
# are given explicitly: the file written below sets them (and only when the file has none).
set -euo pipefail

socket=/run/podman/podman.sock
image=${HUTCH_DOCKER_TEST_IMAGE:-hutch-test-busybox:latest}
data=${HUTCH_TEST_DATA:-/tmp/hutch-test-data}

conf=/etc/containers/containers.conf
mkdir -p /etc/containers
if ! grep -qs '^[[:space:]]*default_ulimits' "$conf"; then
  if grep -qs '^\[containers\]' "$conf"; then
    sed -i '/^\[containers\]/a default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]' "$conf"
  else
    printf '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n' >>"$conf"
  fi
fi

answers() { curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; }

if ! answers; then
  log=${HUTCH_PODMAN_LOG:-/tmp/hutch-podman.log}
  mkdir -p /run/podman
  nohup podman system service --time=0 "unix://$socket" >"$log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    answers && break
    sleep 0.5
  done
  if ! answers; then
    echo "podman system service did not answer on $socket within 60 s; its log ($log) ends with:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
fi

# The same image the docker tests use, from the docker-save archive build-test-images.sh made.
if ! podman image exists "$image"; then
  save_tar="$data/busybox-docker-save.tar"
  if [ ! -s "$save_tar" ]; then
    echo "missing $save_tar: run .ci/build-test-images.sh first" >&2
    exit 1
  fi
  podman load -q -i "$save_tar" >/dev/null
  podman image exists "$image" || podman tag "docker.io/library/$image" "$image"
fi
