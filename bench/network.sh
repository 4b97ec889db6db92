#!/usr/bin/env bash
# The network bench (issue 19's targets, each with its peer, in one run):
#   bash bench/network.sh [BUILD_DIR]     (default: build; root; iperf3, iproute2, util-linux)
# Everything happens in a network namespace of its own (unshare --net), so no packet reaches the
# host's interfaces and nothing is left behind: the bridge, its nftables table and the veths
# live and die with that namespace.
#   1. create with --network bridge against --network none: BM_CreateNetwork of
#      hutch_bench_subcontainer (create alone, p50 of 200). Target: bridge <= none + 5 ms.
#   2. TCP throughput sandbox -> host: iperf3 from a bridge sandbox (`hutch run --network
#      bridge`) to a server on the bridge's own address, against iperf3 over a bare veth pair
#      between two namespaces (the same kernel path without hutch's bridge, NAT and rules).
#      Target: >= 0.8x the veth pair.
# Prints each figure with its target and verdict; exits 1 when a target is not met.
set -euo pipefail
build=$(realpath "${1:-build}")
if [ -z "${HUTCH_NETBENCH_INSIDE:-}" ]; then
  missing=()
  for tool in iperf3 ip unshare nsenter; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  for file in bin/hutch bin/hutch_bench_subcontainer plugins/hutch-subcontainer.so; do
    [ -e "$build/$file" ] || missing+=("$build/$file")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "bench/network.sh: missing: ${missing[*]} (apt-get install iperf3 iproute2; cmake -DHUTCH_BUILD_BENCH=ON)" >&2
    exit 2
  fi
  [ "$(id -u)" -eq 0 ] || { echo "bench/network.sh: the bridge network needs root" >&2; exit 2; }
  echo "machine: $(nproc) cores, $(uname -r); uptime:$(uptime)"
  exec env HUTCH_NETBENCH_INSIDE=1 unshare --net bash "$0" "$build"
fi

ip link set lo up
work=$(mktemp -d /tmp/hutch-netbench.XXXXXX)
chmod 755 "$work"  # the sandboxes' mapped ids must reach their layers under it
peer=
cleanup() {
  [ -n "$peer" ] && kill "$peer" 2>/dev/null
  pkill -f "iperf3 -s -B 198.18.200.1" 2>/dev/null || true
  pkill -f "iperf3 -s -B 10.213.0.1" 2>/dev/null || true
  "$build/bin/hutch" --config "$work/hutch.toml" prune --all >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
verdict() { if [ "$1" = 1 ]; then echo met; else echo "NOT MET"; failed=1; fi; }
failed=0

# 1. create, bridge against none
HUTCH_BENCH_STATE_DIR="$work/bench-state" "$build/bin/hutch_bench_subcontainer" \
  --benchmark_filter='BM_CreateNetwork' --benchmark_format=json --benchmark_out="$work/create.json" >/dev/null
read -r none kept alone < <(python3 - "$work/create.json" <<'EOF'
import json, sys
runs = {b["name"].split("/")[1]: b["p50_ms"] for b in json.load(open(sys.argv[1]))["benchmarks"]}
print(runs["0"], runs["1"], runs["2"])
EOF
)
echo
echo "create, p50 of 200 (hutch_bench_subcontainer BM_CreateNetwork):"
printf '  --network none                         %8.2f ms\n' "$none"
printf '  --network bridge, bridge exists        %8.2f ms  (+%.2f ms; target <= +5 ms: %s)\n' "$kept" \
  "$(echo "$kept - $none" | bc -l)" "$(verdict "$(echo "$kept - $none <= 5" | bc -l)")"
printf '  --network bridge, first on the bridge  %8.2f ms  (+%.2f ms: makes and removes the bridge and table)\n' \
  "$alone" "$(echo "$alone - $none" | bc -l)"

# 2. throughput: a bare veth pair between this namespace and another
seconds=${HUTCH_NETBENCH_SECONDS:-5}
unshare --net sleep 3600 &
peer=$!
sleep 0.2
ip link add hnb0 type veth peer name hnb1
ip link set hnb1 netns "$peer"
ip addr add 198.18.200.1/30 dev hnb0
ip link set hnb0 up
nsenter -t "$peer" -n sh -c 'ip link set lo up; ip addr add 198.18.200.2/30 dev hnb1; ip link set hnb1 up'
iperf3 -s -B 198.18.200.1 -D --one-off
sleep 0.3
veth=$(nsenter -t "$peer" -n iperf3 -c 198.18.200.1 -t "$seconds" -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')

# ... and a bridge sandbox to the bridge's own address (the host end), allowed by one rule: the
# host's own addresses are denied by default.
cat > "$work/hutch.toml" <<EOF
[defaults]
backend = "subcontainer"
image = "host"
state_dir = "$work/state"
EOF
# The bridge exists while a sandbox uses it: start one, then the server on its address.
keeper=$("$build/bin/hutch" --config "$work/hutch.toml" create --network bridge)
iperf3 -s -B 10.213.0.1 -D --one-off
sleep 0.3
sandbox=$("$build/bin/hutch" --config "$work/hutch.toml" run --network bridge --allow-net 10.213.0.1 -- \
  iperf3 -c 10.213.0.1 -t "$seconds" -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
"$build/bin/hutch" --config "$work/hutch.toml" rm "$keeper" >/dev/null

echo
echo "TCP throughput, iperf3 -t $seconds, sandbox -> host:"
printf '  bare veth pair, two namespaces          %8.2f Gbit/s\n' "$(echo "$veth / 1000000000" | bc -l)"
printf '  bridge sandbox -> the bridge address    %8.2f Gbit/s  (%.2fx; target >= 0.8x: %s)\n' \
  "$(echo "$sandbox / 1000000000" | bc -l)" "$(echo "$sandbox / $veth" | bc -l)" "$(verdict "$(echo "$sandbox / $veth >= 0.8" | bc -l)")"
exit "$failed"
