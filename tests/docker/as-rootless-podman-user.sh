#!/usr/bin/env bash
# Runs a command (e.g. the conformance suite) as the rootless Podman user against that user's
# own service, the way a user runs hutch with rootless Podman:
#   as-rootless-podman-user.sh STATE_DIR COMMAND [ARG...]
# STATE_DIR is emptied and given to the user (the config the command reads points there).
# The service is started by .ci/start-podman.sh --rootless. Exit 77 (CTest's skip) when the
# service or the user is missing, or when not root; with HUTCH_REQUIRE_PODMAN=1 that is a failure.
set -euo pipefail
user=${HUTCH_PODMAN_USER:-hutch-podman}
state_dir=$1
shift

missing() {
  if [ "${HUTCH_REQUIRE_PODMAN:-0}" = 1 ]; then
    echo "rootless Podman is required (HUTCH_REQUIRE_PODMAN=1) but $1" >&2
    exit 1
  fi
  echo "skipped: $1" >&2
  exit 77
}

[ "$(id -u)" -eq 0 ] || missing "this test must start as root to act as $user"
uid=$(id -u "$user" 2>/dev/null) || missing "there is no user $user (run .ci/start-podman.sh --rootless)"
socket=/run/user/$uid/podman/podman.sock
curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 ||
  missing "rootless Podman does not answer on $socket (run .ci/start-podman.sh --rootless)"

rm -rf "$state_dir"
install -d -m 0700 -o "$user" -g "$(id -g "$user")" "$state_dir"
home=$(getent passwd "$user" | cut -d: -f6)
cd /
exec runuser -u "$user" -- env HOME="$home" XDG_RUNTIME_DIR="/run/user/$uid" DOCKER_HOST="unix://$socket" \
  HUTCH_REQUIRE_PODMAN="${HUTCH_REQUIRE_PODMAN:-0}" "$@"
