#!/usr/bin/env bash
# Runs hutch and its peers on the same one-shot jobs in the same run and prints the ratios.
#   bench/peers.sh [BUILD_DIR]      (default: build)
# Environment: N (iterations, default 50), HUTCH_DOCKER_TEST_IMAGE (default hutch-test-busybox:latest)
# Peers: bwrap (subcontainer's job), the docker CLI (docker backend's job). A peer that is not
# installed, or a daemon that is not running, is reported as missing — never silently dropped.
set -uo pipefail
build=${1:-build}
iterations=${N:-50}
image=${HUTCH_DOCKER_TEST_IMAGE:-hutch-test-busybox:latest}
hutch="$build/bin/hutch"
export HUTCH_PLUGIN_PATH="$build/plugins"

# Times `iterations` runs of a command; prints "p50 p99" in milliseconds, or "fail".
measure() {
  local samples=() start end
  "$@" >/dev/null 2>&1 || { echo fail; return; }  # warm-up, and a check that it works
  for _ in $(seq "$iterations"); do
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || { echo fail; return; }
    end=$(date +%s%N)
    samples+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk '{ v[NR] = $1 }
    END { p50 = v[int((NR + 1) * 0.50)]; p99 = v[int((NR - 1) * 0.99) + 1];
          printf "%.2f %.2f\n", p50 / 1000, p99 / 1000 }'
}

row() {  # name, hutch result, peer name, peer result
  local name=$1 ours=$2 peer=$3 theirs=$4
  if [ "$ours" = fail ] || [ "$theirs" = fail ]; then
    printf '%-34s hutch: %-16s %s: %-16s ratio: n/a\n' "$name" "$ours" "$peer" "$theirs"
    return
  fi
  local ours50=${ours% *} theirs50=${theirs% *}
  printf '%-34s hutch p50 %7.2f ms | %-6s p50 %7.2f ms | ratio %.2f\n' \
    "$name" "$ours50" "$peer" "$theirs50" "$(awk -v a="$ours50" -v b="$theirs50" 'BEGIN { print a / b }')"
}

echo "iterations: $iterations   ($(nproc) cores, $(uname -r))"

# --- subcontainer vs bubblewrap: one-shot /bin/true ---------------------------------------
if command -v bwrap >/dev/null; then
  bwrap_cmd=(bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin
             --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin
             --proc /proc --dev /dev --tmpfs /tmp /bin/true)
  row "run /bin/true (subcontainer)" "$(measure "$hutch" run -- /bin/true)" bwrap "$(measure "${bwrap_cmd[@]}")"
else
  echo "bwrap: missing (apt-get install bubblewrap)"
fi

# --- docker backend vs the docker CLI -------------------------------------------------------
if docker version >/dev/null 2>&1 && docker image inspect "$image" >/dev/null 2>&1; then
  row "run true (docker)" "$(measure "$hutch" --backend docker run --image "$image" -- true)" \
      docker "$(measure docker run --rm "$image" true)"
  peer=$(docker run -d --rm "$image" sleep 3600)
  ours=$("$hutch" --backend docker create --image "$image")
  docker_exec=$(measure docker exec "$peer" true)
  row "exec true, CLI process (docker)" "$(measure "$hutch" --backend docker exec "$ours" -- true)" \
      docker "$docker_exec"
  # The issue's target compares exec into a live sandbox as a host program sees it (in-process,
  # one plugin load): through the agent (<= 0.1x) and through the exec API (<= 0.5x).
  if [ -x "$build/bin/hutch_bench_docker" ]; then
    for path in agent exec_api; do
      json=$("$build/bin/hutch_bench_docker" --benchmark_filter="^ExecLatency/$path/" --benchmark_format=json 2>/dev/null)
      counter() { awk -F'[:,]' -v key="\"$1\"" '$1 ~ key { gsub(/ /, "", $2); print $2; exit }' <<<"$json"; }
      p50=$(counter p50_ms) p99=$(counter p99_ms)
      in_process=${p50:+$p50 $p99}
      row "exec true, in-process, $path" "${in_process:-fail}" docker "$docker_exec"
    done
  else
    echo "exec true, in-process: $build/bin/hutch_bench_docker missing (build with -DHUTCH_BUILD_BENCH=ON)"
  fi
  "$hutch" --backend docker rm "$ours" >/dev/null
  docker rm -f "$peer" >/dev/null
else
  echo "docker: daemon or image $image missing (bash .ci/start-dockerd.sh && bash .ci/build-test-images.sh)"
fi

# --- in-process figures (Google Benchmark) ----------------------------------------------------
for bench in "$build"/bin/hutch_bench_*; do
  [ -x "$bench" ] || continue
  echo "== $(basename "$bench")"
  "$bench" --benchmark_counters_tabular=true 2>&1 | grep -v '^\*\*\*'
done
