#!/usr/bin/env bash
# Wall time of a command, run N times from a shell (the way a user or a script runs it):
#   bench/time_runs.sh N BEFORE -- COMMAND...
# BEFORE (a shell command, "" for none) runs untimed before each run, e.g. to wait for a pool
# to be full again. One warm-up run first; then prints one sample per line, in milliseconds.
# Exits 1, with the command's stderr, as soon as a run fails. Times come from bash's
# $EPOCHREALTIME, so no process is started to read the clock.
set -uo pipefail
count=$1 before=$2
shift 3
err=$(mktemp)
trap 'rm -f "$err"' EXIT
for ((i = -1; i < count; ++i)); do
  [ -z "$before" ] || eval "$before"
  start=$EPOCHREALTIME
  if ! "$@" >/dev/null 2>"$err"; then
    cat "$err" >&2
    exit 1
  fi
  end=$EPOCHREALTIME
  ((i < 0)) || awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
done
