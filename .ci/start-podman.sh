#!/usr/bin/env bash
# Starts Podman's Docker-compatible API service unless one already answers, and loads the test
# image into its store. Idempotent. Prints nothing on success, except the socket with --rootless.
#   .ci/start-podman.sh             rootful, on /run/podman/podman.sock
#                                   (log: ${HUTCH_PODMAN_LOG:-/tmp/hutch-podman.log})
#   .ci/start-podman.sh --rootless  as the unprivileged user $HUTCH_PODMAN_USER (default
#                                   hutch-podman, made here with the subordinate id range useradd
#                                   gives every new user), on /run/user/<uid>/podman/podman.sock
#                                   (log: ${HUTCH_PODMAN_ROOTLESS_LOG:-/tmp/hutch-podman-rootless.log})
# Needs root (the rootless service is started for the user) and the image archive of
# .ci/build-test-images.sh.
#
# Podman 4.3 on this kind of host fails every container start unless the nofile/nproc ulimits
# are given explicitly: the file written below sets them (and only when the file has none).
set -euo pipefail

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

as_service_user=()  # the command prefix that runs podman as the service's user
if [ "${1:-}" = --rootless ]; then
  user=${HUTCH_PODMAN_USER:-hutch-podman}
  log=${HUTCH_PODMAN_ROOTLESS_LOG:-/tmp/hutch-podman-rootless.log}
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /usr/sbin/nologin "$user"
  for file in /etc/subuid /etc/subgid; do
    if ! grep -q "^$user:" "$file"; then
      echo "$user has no range in $file: rootless Podman needs one (usermod --add-subuids/--add-subgids)" >&2
      exit 1
    fi
  done
  uid=$(id -u "$user")
  runtime_dir=/run/user/$uid
  install -d -m 0700 -o "$user" -g "$(id -g "$user")" "$runtime_dir" "$runtime_dir/podman"
  socket=$runtime_dir/podman/podman.sock
  as_service_user=(runuser -u "$user" -- env HOME="$(getent passwd "$user" | cut -d: -f6)" XDG_RUNTIME_DIR="$runtime_dir")
  cd /  # the user may not be able to enter the caller's directory
else
  log=${HUTCH_PODMAN_LOG:-/tmp/hutch-podman.log}
  socket=/run/podman/podman.sock
  mkdir -p /run/podman
fi

answers() { curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; }

if ! answers; then
  nohup "${as_service_user[@]}" podman system service --time=0 "unix://$socket" >"$log" 2>&1 </dev/null &
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

# The same image the docker tests use, from the docker-save archive build-test-images.sh made
# (read by this script and handed over on stdin: the user may not be able to open it).
if ! "${as_service_user[@]}" podman image exists "$image"; then
  save_tar="$data/busybox-docker-save.tar"
  if [ ! -s "$save_tar" ]; then
    echo "missing $save_tar: run .ci/build-test-images.sh first" >&2
    exit 1
  fi
  "${as_service_user[@]}" podman load -q <"$save_tar" >/dev/null
  "${as_service_user[@]}" podman image exists "$image" ||
    "${as_service_user[@]}" podman tag "docker.io/library/$image" "$image"
fi
if [ "${1:-}" = --rootless ]; then echo "$socket"; fi
