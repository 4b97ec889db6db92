#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) in a clang build directory of their own and runs each
# for SECONDS; fails when clang or its fuzzer runtime is missing, when a target does not build,
# or when a run finds a crash, a leak, a timeout or undefined behaviour (its input is saved as
# $work/crash-<target>-*, to keep in corpus/<target>/ with the fix).
#
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]     (default 40 s each; targets: http_request
#        stream_frames connect_envelope)
# HUTCH_FUZZ_BUILD_DIR: the build directory (build-fuzz). HUTCH_FUZZ_WORK: where the grown
# corpora and crash inputs go; unset, a temporary directory (removed unless a run failed).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-40}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http_request stream_frames connect_envelope)
build=${HUTCH_FUZZ_BUILD_DIR:-build-fuzz}

if ! command -v clang++ >/dev/null || ! command -v clang >/dev/null; then
  echo "fuzz: clang is missing (.ci/install-deps.sh test installs clang and libclang-rt-14-dev)" >&2
  exit 1
fi
if ! clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a | grep -q /; then
  echo "fuzz: clang's libFuzzer runtime is missing (libclang-rt-14-dev)" >&2
  exit 1
fi

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi
# -O1 and line tables only: half the compile time of -O2 -g, the same findings (asserts stay on).
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz -DHUTCH_BUILD_FUZZERS=ON \
  -DCMAKE_C_FLAGS_FUZZ="-O1 -gline-tables-only" -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only" \
  -DHUTCH_BUILD_TESTS=OFF -DHUTCH_BUILD_BENCH=OFF -DHUTCH_BUILD_DOCKER=OFF -DHUTCH_BUILD_SUBCONTAINER=OFF \
  "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/hutch_fuzz_}"

work=${HUTCH_FUZZ_WORK:-}
keep_work=1
if [ -z "$work" ]; then
  work=$(mktemp -d /tmp/hutch-fuzz.XXXXXX)
  keep_work=0
fi
mkdir -p "$work"

failed=()
for target in "${targets[@]}"; do
  mkdir -p "$work/corpus/$target"
  log="$work/$target.log"
  echo "fuzz: $target for ${seconds}s (corpus $work/corpus/$target, seeds tests/fuzz/corpus/$target)"
  # The grown corpus first (new inputs go there), the seeds (and regression inputs) after.
  if "$build/fuzz/hutch_fuzz_$target" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
       -print_final_stats=1 -artifact_prefix="$work/crash-$target-" \
       "$work/corpus/$target" "tests/fuzz/corpus/$target" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    echo "fuzz: $target ok: $runs inputs in ${seconds}s ($rate/s), corpus of $(ls "$work/corpus/$target" | wc -l) new"
  else
    echo "fuzz: $target FAILED; the end of its log ($log):" >&2
    tail -60 "$log" >&2
    ls "$work"/crash-"$target"-* 2>/dev/null >&2 || true
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs and logs kept in $work)" >&2
  exit 1
fi
[ "$keep_work" = 1 ] || rm -rf "$work"
