#!/bin/sh
# cli_parity.sh HUTCH — run by with_service.sh: the main verbs of the hutch command with --host
# against the service give the output and exit codes they give locally on the same backend.
# Each check prints what differed; the script exits 1 if any did.
set -u
hutch=$1
socket=${HUTCH_HOST#unix://}
host="unix://$socket"
unset HUTCH_HOST  # --host alone selects the service below; local runs use the service's config
failures=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/hutch-cli-parity.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT

local_hutch() { "$hutch" --config "$HUTCH_SERVICE_CONFIG" "$@"; }
remote_hutch() { "$hutch" --config "$HUTCH_REMOTE_CONFIG" --host "$host" "$@"; }

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# Runs "$@" both ways; stdout, stderr and the exit code must be the same.
same() {
  local_hutch "$@" > "$scratch/local.out" 2> "$scratch/local.err" < /dev/null
  local_status=$?
  remote_hutch "$@" > "$scratch/remote.out" 2> "$scratch/remote.err" < /dev/null
  remote_status=$?
  # The one field that may differ: how long the command took.
  sed -i 's/"duration_ms":[0-9]*/"duration_ms":N/' "$scratch/local.out" "$scratch/remote.out"
  [ "$local_status" = "$remote_status" ] || fail "hutch $*: exit $local_status locally, $remote_status through the service"
  cmp -s "$scratch/local.out" "$scratch/remote.out" || fail "hutch $*: stdout differs: '$(cat "$scratch/local.out")' vs '$(cat "$scratch/remote.out")'"
  cmp -s "$scratch/local.err" "$scratch/remote.err" || fail "hutch $*: stderr differs: '$(cat "$scratch/local.err")' vs '$(cat "$scratch/remote.err")'"
}

# Checks that "$@" (through the service) exits `status` and prints `expected` on stdout.
expect() {
  status=$1 expected=$2
  shift 2
  out=$(remote_hutch "$@" 2> "$scratch/err")
  got=$?
  [ "$got" = "$status" ] || fail "hutch --host $*: exit $got, expected $status ($(cat "$scratch/err"))"
  [ "$out" = "$expected" ] || fail "hutch --host $*: printed '$out', expected '$expected'"
}

# run: output, streams and exit codes as locally.
same run -- sh -c 'echo out; echo err >&2; exit 3'
same run --timeout 1s -- sleep 5
same run -- sh -c 'kill -TERM $$'
same run -- no-such-command
same --json run -- sh -c 'printf "a\\001b"'
printf 'piped\n' > "$scratch/input"
[ "$(remote_hutch run -i -- cat < "$scratch/input")" = "piped" ] || fail "run -i: stdin did not reach the command"

# create / exec / ls / cp / stop / start / rm on one sandbox of the service.
id=$(remote_hutch create) || fail "create failed"
expect 0 "hello" exec "$id" -- echo hello
expect 7 "" exec "$id" -- sh -c 'exit 7'
remote_hutch ls | grep -q "^$id " || fail "ls does not list $id"
[ "$(remote_hutch --json ls | grep -c "\"id\":\"$id\"")" = 1 ] || fail "ls --json does not list $id once"
printf 'copied content\n' > "$scratch/file"
expect 0 "" cp "$scratch/file" "$id:/tmp/file"
expect 0 "copied content" exec "$id" -- cat /tmp/file
expect 0 "" cp "$id:/tmp/file" "$scratch/back"
cmp -s "$scratch/file" "$scratch/back" || fail "cp back gave other bytes"
expect 0 "$id" stop "$id"
expect 125 "" exec "$id" -- true
expect 0 "$id" start "$id"
expect 0 "copied content" exec "$id" -- cat /tmp/file
expect 0 "$id" rm "$id"
expect 125 "" rm "$id"
remote_hutch ls | grep -q "^$id " && fail "ls still lists $id after rm"

# A wrong token is hutch's own error (125) naming the refusal.
out=$(HUTCH_TOKEN=wrong-token-0123456789 remote_hutch ls 2>&1)
[ $? = 125 ] || fail "a wrong token did not exit 125: $out"
case "$out" in *token*|*unauthenticated*|*credentials*) ;; *) fail "a wrong token's message says nothing of it: $out" ;; esac

[ "$failures" = 0 ] && echo "cli_parity: all checks passed"
[ "$failures" = 0 ]
