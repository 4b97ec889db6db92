#!/bin/sh
# with_service.sh HUTCH BACKEND PLUGIN_PATHS -- COMMAND [ARGS...]
#
# Runs COMMAND against a real `hutch serve` on BACKEND: the service listens on a Unix socket in
# a fresh temporary directory, with a tokens file; COMMAND gets a client configuration in
# $HUTCH_REMOTE_CONFIG ([backends.remote] host and token) and HUTCH_HOST / HUTCH_TOKEN set,
# and the service's own configuration in $HUTCH_SERVICE_CONFIG (to compare with local runs).
# Afterwards the service is stopped with SIGTERM (it must exit 0), whatever COMMAND left on
# BACKEND is pruned, and the directory is removed: nothing is left behind. Exits with COMMAND's
# status, or 1 when the service failed.
set -u
hutch=$1 backend=$2 plugin_paths=$3
shift 3
[ "${1:-}" = "--" ] && shift

dir=$(mktemp -d "${TMPDIR:-/tmp}/hutch-remote-test.XXXXXX") || exit 1
chmod 711 "$dir"  # subcontainer sandboxes walk down to their state
token="remote-test-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
socket="$dir/run/hutch.sock"
paths=$(printf '%s' "$plugin_paths" | sed 's/[^:][^:]*/"&"/g; s/:/, /g')
cat > "$dir/service.toml" <<TOML
[defaults]
backend = "$backend"
state_dir = "$dir/state"
[plugins]
paths = [$paths]
TOML
printf 'remote-test %s\n' "$token" > "$dir/tokens"
chmod 600 "$dir/tokens"
cat > "$dir/client.toml" <<TOML
[defaults]
backend = "remote"
state_dir = "$dir/client-state"
[plugins]
paths = [$paths]
[backends.remote]
host = "unix://$socket"
token = "$token"
TOML

"$hutch" --config "$dir/service.toml" serve --listen "unix://$socket" --tokens-file "$dir/tokens" 2> "$dir/serve.log" &
service=$!

finish() {
  status=$1
  if kill -0 "$service" 2> /dev/null; then
    kill -TERM "$service"
    wait "$service"
    served=$?
    if [ "$served" -ne 0 ]; then
      echo "with_service.sh: hutch serve exited $served on SIGTERM" >&2
      status=1
    fi
  fi
  if [ "$status" -ne 0 ]; then
    echo "--- hutch serve's log:" >&2
    tail -n 50 "$dir/serve.log" >&2
  fi
  # Whatever a failed test left on the backend, before its state goes: only this service's
  # sandboxes (other tests run beside this one on the same docker engine).
  if [ -s "$dir/state/serve/instance-id" ]; then
    "$hutch" --config "$dir/service.toml" prune --all --label "hutch.service=$(cat "$dir/state/serve/instance-id")" > /dev/null 2>&1
  fi
  rm -rf "$dir"
  exit "$status"
}
trap 'finish 1' INT TERM

tries=0
until [ -S "$socket" ]; do
  if ! kill -0 "$service" 2> /dev/null || [ "$tries" -ge 200 ]; then
    echo "with_service.sh: hutch serve did not start" >&2
    finish 1
  fi
  tries=$((tries + 1))
  sleep 0.1
done

HUTCH_SERVICE_CONFIG="$dir/service.toml" HUTCH_REMOTE_CONFIG="$dir/client.toml" HUTCH_HOST="unix://$socket" HUTCH_TOKEN="$token" "$@"
finish $?
