#!/usr/bin/env bash
# Starts dockerd in the background unless one already answers, then waits for its socket.
# (A dockerd started elsewhere has no TLS listener: the TLS tests then fail under
# HUTCH_REQUIRE_TLS_DOCKER=1.)
# Prints nothing on success; the daemon's log is in ${HUTCH_DOCKERD_LOG:-/tmp/hutch-dockerd.log}.
set -euo pipefail

socket=/var/run/docker.sock
if docker version >/dev/null 2>&1; then
  exit 0
fi
log=${HUTCH_DOCKERD_LOG:-/tmp/hutch-dockerd.log}

# /run is not a tmpfs on every host (it is not on the CI machine), so the pid files of a daemon
# from before a reboot can survive it and name an unrelated process by now: dockerd then takes
# that process for its containerd, waits on a socket nobody serves and gives up ("timeout
# waiting for containerd to start"). A pid file whose process is not the daemon is removed.
remove_stale_pid_file() { # FILE EXPECTED_COMMAND
  local file=$1 expected=$2 pid
  [ -f "$file" ] || return 0
  pid=$(tr -dc '0-9' <"$file")
  if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$expected" ]; then
    rm -f "$file"
  fi
}
remove_stale_pid_file /var/run/docker.pid dockerd
remove_stale_pid_file /var/run/docker/containerd/containerd.pid containerd
# Besides its socket, the daemon listens on 127.0.0.1 with --tlsverify for the TLS tests
# (tests/docker/integration/test_tls.cpp), with certificates made here.
pki=${HUTCH_TLS_DOCKERD_DIR:-/var/lib/hutch-ci/tls-dockerd}/pki
port=${HUTCH_TLS_DOCKERD_PORT:-23760}
bash "$(dirname "$0")/make-tls-pki.sh" "$pki"
nohup dockerd -H "unix://$socket" -H "tcp://127.0.0.1:$port" \
  --tlsverify --tlscacert "$pki/ca.pem" --tlscert "$pki/server.pem" --tlskey "$pki/server.key" \
  >"$log" 2>&1 </dev/null &
for _ in $(seq 1 120); do
  if [ -S "$socket" ] && docker version >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "dockerd did not come up within 60 s; its log ($log) ends with:" >&2
tail -n 30 "$log" >&2
exit 1
