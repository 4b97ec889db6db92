#!/usr/bin/env bash
# Starts dockerd in the background unless one already answers, then waits for its socket.
# Prints nothing on success; the daemon's log is in ${HUTCH_DOCKERD_LOG:-/tmp/hutch-dockerd.log}.
set -euo pipefail

socket=/var/run/docker.sock
if docker version >/dev/null 2>&1; then
  exit 0
fi
log=${HUTCH_DOCKERD_LOG:-/tmp/hutch-dockerd.log}
nohup dockerd >"$log" 2>&1 </dev/null &
for _ in $(seq 1 120); do
  if [ -S "$socket" ] && docker version >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "dockerd did not come up within 60 s; its log ($log) ends with:" >&2
tail -n 30 "$log" >&2
exit 1
