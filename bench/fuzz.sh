#!/usr/bin/env bash
# The long fuzzing run: each libFuzzer target of tests/fuzz for SECONDS (default 3600), its
# corpus kept and grown across runs in OUT (default bench-fuzz/). A crash fails the run and
# leaves its input as OUT/crash-<target>-*: add it to tests/fuzz/corpus/<target>/ with the fix.
#   bench/fuzz.sh [SECONDS] [OUT] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3600}
out=${2:-bench-fuzz}
shift 2 || shift $# || true
HUTCH_FUZZ_WORK=$(realpath -m "$out") exec bash tests/fuzz/run.sh "$seconds" "$@"
