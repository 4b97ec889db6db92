#!/usr/bin/env bash
# Host memory of N idle subcontainer sandboxes (target: 1000 alive, each <= 2 MiB).
#   bench/idle_memory.sh [BUILD_DIR] [N]      (defaults: build, 200)
# Creates N sandboxes with the hutch CLI, then reports per sandbox:
#   pss      proportional set size of every process of the sandbox (the leader and its free
#            shepherd), shared pages split between their users
#   cgroup   the sandbox's memory cgroup usage (user pages + kernel memory charged to it)
#   meminfo  MemAvailable, Slab, KernelStack and PageTables deltas of the whole host, divided
#            by N (includes whatever else the host did meanwhile: run it on a quiet host)
# and destroys them all again. Needs root (or a rootless setup) like hutch itself.
set -euo pipefail
build=${1:-build}
count=${2:-200}
hutch="$build/bin/hutch"
export HUTCH_PLUGIN_PATH="$build/plugins"

meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
snapshot() { echo "$(meminfo MemAvailable) $(meminfo Slab) $(meminfo KernelStack) $(meminfo PageTables)"; }

ids=()
cleanup() { for id in "${ids[@]}"; do "$hutch" rm "$id" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

read -r avail0 slab0 stack0 pt0 < <(snapshot)
for _ in $(seq "$count"); do ids+=("$("$hutch" create)"); done
sleep 1
read -r avail1 slab1 stack1 pt1 < <(snapshot)

pss_kib=0 cgroup_bytes=0 processes=0
for id in "${ids[@]}"; do
  for dir in /sys/fs/cgroup/memory/hutch/"$id" /sys/fs/cgroup/hutch/"$id"; do
    [ -d "$dir" ] || continue
    file=$dir/memory.usage_in_bytes; [ -f "$file" ] || file=$dir/memory.current
    cgroup_bytes=$((cgroup_bytes + $(cat "$file")))
    for pid in $(cat "$dir/cgroup.procs"); do
      kib=$(awk '$1 == "Pss:" { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
      pss_kib=$((pss_kib + ${kib:-0})); processes=$((processes + 1))
    done
  done
done

awk -v n="$count" -v pss="$pss_kib" -v cg="$cgroup_bytes" -v procs="$processes" \
    -v avail=$((avail0 - avail1)) -v slab=$((slab1 - slab0)) -v stack=$((stack1 - stack0)) -v pt=$((pt1 - pt0)) 'BEGIN {
  printf "sandboxes: %d, processes per sandbox: %.1f\n", n, procs / n
  printf "per sandbox: pss %.0f KiB | cgroup %.0f KiB | MemAvailable drop %.0f KiB (slab %.0f, kernel stacks %.0f, page tables %.0f KiB)\n",
    pss / n, cg / n / 1024, avail / n, slab / n, stack / n, pt / n
}'
