#!/usr/bin/env bash
# Builds hutch if needed (installing its Debian packages first, idempotently) and runs it with
# the given arguments, e.g.:  bash cli/hutch.sh run -- sh -c 'echo hello from a sandbox'
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build=${HUTCH_BUILD_DIR:-$source_dir/build}

bash "$source_dir/.ci/install-deps.sh" build >&2
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$source_dir" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target hutch hutch-subcontainer >/dev/null
export HUTCH_PLUGIN_PATH="$build/plugins${HUTCH_PLUGIN_PATH:+:$HUTCH_PLUGIN_PATH}"
exec "$build/bin/hutch" "$@"
