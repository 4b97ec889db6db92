#!/usr/bin/env bash
# The service's bench (issue 15's targets, each with its peer, in one run):
#   bash bench/serve.sh [BUILD_DIR]     (default: build; environment: see bench/serve.mjs)
# Needs root (subcontainer), node, curl, bwrap (.ci/install-deps.sh installs bubblewrap) and a
# build with -DHUTCH_BUILD_BENCH=ON: bin/hutch, libexec/hutch/hutch-server, the subcontainer and
# remote plugins, bin/hutch_bench_subcontainer (the in-process peers). Prints each figure with
# its target and ratio, then a summary; exits 1 when a target is not met or the run failed.
set -euo pipefail
build=$(realpath "${1:-build}")
here=$(dirname "$(realpath "$0")")
missing=()
for tool in node npm curl bwrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
for file in bin/hutch libexec/hutch/hutch-server plugins/hutch-subcontainer.so plugins/hutch-remote.so bin/hutch_bench_subcontainer; do
  [ -e "$build/$file" ] || missing+=("$build/$file")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bench/serve.sh: missing: ${missing[*]} (.ci/install-deps.sh; cmake -DHUTCH_BUILD_BENCH=ON and build all)" >&2
  exit 2
fi
# The WebSocket client (ws) of the API tests, exactly as their lockfile says.
[ -d "$here/../tests/server/node_modules/ws" ] || npm ci --no-audit --no-fund --prefix "$here/../tests/server" >/dev/null
echo "machine: $(nproc) cores, $(uname -r); uptime:$(uptime)"
exec node "$here/serve.mjs" "$build"
