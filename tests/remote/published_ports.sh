#!/bin/sh
# published_ports.sh HUTCH — run by with_service.sh (subcontainer behind the service), inside a
# network namespace of the test's own (CMake runs it under `unshare --net`: the bridge, its
# table and the forwarder live and die there). A sandbox created through the service with
# --publish answers on the service host's loopback at the address `hutch port` gives through
# the service (GET /v1/sandboxes/{id}/ports), which is the address the service's own view of the
# sandbox gives; after `rm` the port is closed. Each check prints what differed; exits 1 if any
# did.
set -u
hutch=$1
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
remote_hutch() { "$hutch" --config "$HUTCH_REMOTE_CONFIG" "$@"; }
local_hutch() { "$hutch" --config "$HUTCH_SERVICE_CONFIG" "$@"; }

id=$(remote_hutch create --network bridge -p 8080) || { echo "FAIL: create --network bridge -p 8080 through the service" >&2; exit 1; }
remote_hutch exec "$id" -- sh -c 'echo published-through-the-service > /workspace/index.html' || fail "exec failed"
remote_hutch launch "$id" -- busybox httpd -f -p 8080 -h /workspace > /dev/null || fail "launch of httpd failed"

address=$(remote_hutch port "$id" 8080) || fail "hutch port $id 8080 through the service failed"
case "$address" in
  127.0.0.1:[0-9]*) ;;
  *) fail "hutch port $id 8080 printed '$address', expected 127.0.0.1:PORT" ;;
esac
[ "$address" = "$(local_hutch port "$id" 8080)" ] || fail "the service and its own host disagree on the port: '$address' vs '$(local_hutch port "$id" 8080)'"
json=$(remote_hutch port "$id" --json) || fail "hutch port $id --json failed"
case "$json" in
  *"\"sandbox_port\":8080"*"\"url\":\"http://$address\""*) ;;
  *) fail "hutch port $id --json printed '$json'" ;;
esac

body=
tries=0
while [ "$tries" -lt 50 ]; do
  body=$(curl -sS --max-time 2 "http://$address/index.html" 2> /dev/null) && break
  tries=$((tries + 1))
  sleep 0.1
done
[ "$body" = "published-through-the-service" ] || fail "http://$address/index.html answered '$body'"

remote_hutch rm "$id" > /dev/null || fail "rm $id failed"
if curl -sS --max-time 2 "http://$address/" > /dev/null 2>&1; then
  fail "http://$address/ still answers after rm"
fi
exit "$failures"
