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
#
# With HUTCH_TEST_TLS set to hutch-test-certs' path, the service also listens on
# tcp://127.0.0.1:0 with TLS and requires a client certificate (certificates made fresh in the
# directory), and COMMAND gets that https:// address with the CA and the client certificate
# (in $HUTCH_REMOTE_CONFIG and as HUTCH_HOST, HUTCH_TLS_CA, HUTCH_TLS_CERT, HUTCH_TLS_KEY).
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
tls_args=""
if [ -n "${HUTCH_TEST_TLS:-}" ]; then
  "$HUTCH_TEST_TLS" "$dir" || exit 1
  tls_args="--listen tcp://127.0.0.1:0 --tls-cert $dir/server.pem --tls-key $dir/server-key.pem --tls-client-ca $dir/ca.pem"
fi

# shellcheck disable=SC2086 # tls_args: words of paths made above, without spaces
"$hutch" --config "$dir/service.toml" serve --listen "unix://$socket" --tokens-file "$dir/tokens" $tls_args 2> "$dir/serve.log" &
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

host="unix://$socket"
tls_keys=""
if [ -n "$tls_args" ]; then
  tries=0
  until port=$(sed -n 's|.*listening on tcp://127\.0\.0\.1:\([0-9]*\) (TLS).*|\1|p' "$dir/serve.log") && [ -n "$port" ]; do
    if [ "$tries" -ge 200 ]; then
      echo "with_service.sh: hutch serve did not listen with TLS" >&2
      finish 1
    fi
    tries=$((tries + 1))
    sleep 0.1
  done
  host="https://127.0.0.1:$port"
  tls_keys="tls_ca = \"$dir/ca.pem\"
tls_cert = \"$dir/client.pem\"
tls_key = \"$dir/client-key.pem\""
  export HUTCH_TLS_CA="$dir/ca.pem" HUTCH_TLS_CERT="$dir/client.pem" HUTCH_TLS_KEY="$dir/client-key.pem"
fi
cat > "$dir/client.toml" <<TOML
[defaults]
backend = "remote"
state_dir = "$dir/client-state"
[plugins]
paths = [$paths]
[backends.remote]
host = "$host"
token = "$token"
$tls_keys
TOML

HUTCH_SERVICE_CONFIG="$dir/service.toml" HUTCH_REMOTE_CONFIG="$dir/client.toml" HUTCH_HOST="$host" HUTCH_TOKEN="$token" "$@"
finish $?
