#!/usr/bin/env bash
# Checks that an installed hutch works for a third-party plugin author: installs BUILD_DIR into a
# fresh prefix, builds plugins/template against that prefix only (find_package(hutch)), then
# loads the template plugin by path with the template's host program and with the installed
# `hutch` command. Any failure ends the script with a message and a non-zero status.
#
# Usage: check-install.sh BUILD_DIR
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hutch-check-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

step() { echo "check-install: $*" >&2; }
fail() {
  echo "check-install: FAILED: $*" >&2
  exit 1
}
# Runs a command with its output in a log that is shown only when it fails.
quietly() {
  local what=$1 log=$work/step.log
  shift
  "$@" >"$log" 2>&1 || {
    cat "$log" >&2
    fail "$what"
  }
}

step "installing $build into $prefix"
quietly "cmake --install $build --prefix $prefix" cmake --install "$build" --prefix "$prefix"

step "building plugins/template against $prefix"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
quietly "configuring plugins/template against $prefix" \
  cmake -S "$source_dir/plugins/template" -B "$work/template" "${generator[@]}" "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
quietly "building plugins/template" cmake --build "$work/template" -j2
plugin=$work/template/hutch-template.so
host=$work/template/host_example
[ -f "$plugin" ] || fail "the template build made no $plugin"
[ -x "$host" ] || fail "the template build made no $host"

# Both programs must run on the installed libhutch, not on the one in the build tree.
for program in "$host" "$prefix/bin/hutch"; do
  [ -x "$program" ] || fail "$program was not built or installed"
  libhutch=$(ldd "$program" | awk '/libhutch\.so/ {print $3}')
  case "$libhutch" in
    "$prefix"/*) ;;
    *) fail "$program uses libhutch from '${libhutch:-nowhere}', expected one under $prefix" ;;
  esac
done

step "host_example loads $plugin"
output=$("$host" "$plugin" --create) || fail "host_example $plugin --create exited with $?"
echo "$output"
grep -qx 'backend: template' <<<"$output" || fail "host_example did not report backend 'template'"
grep -q 'wrote and read back /tmp/hello.txt' <<<"$output" || fail "host_example's file round trip did not happen"

step "the installed hutch loads $plugin"
# An empty config file: the machine's own hutch.toml must not change the result.
: >"$work/hutch.toml"
output=$(cd "$work" && "$prefix/bin/hutch" --config "$work/hutch.toml" --backend "$plugin" backends) ||
  fail "hutch --backend $plugin backends exited with $?"
echo "$output"
awk -v plugin="$plugin" '$1 == plugin && $3 == "ok" {found = 1} END {exit !found}' <<<"$output" ||
  fail "hutch backends did not list $plugin as loaded (ok)"

step "the installed hutch finds its own plugins by name, beside the moved install"
output=$(cd "$work" && env -u HUTCH_PLUGIN_PATH "$prefix/bin/hutch" --config "$work/hutch.toml" backends) ||
  fail "hutch backends exited with $?"
echo "$output"
for backend in subcontainer docker; do
  awk -v name="$backend" -v dir="$prefix/" '$1 == name && /ok/ && index($0, dir) {found = 1} END {exit !found}' <<<"$output" ||
    fail "the installed hutch did not load '$backend' from $prefix"
done
if [ "$(id -u)" -eq 0 ]; then
  output=$(cd "$work" && env -u HUTCH_PLUGIN_PATH "$prefix/bin/hutch" --config "$work/hutch.toml" run -- sh -c 'echo installed-ok') ||
    fail "the installed hutch could not run a command in a sandbox"
  [ "$output" = installed-ok ] || fail "the installed hutch printed '$output' instead of 'installed-ok'"
fi

step "the in-sandbox executables are installed beside the plugins, static"
for program in hutch-subcontainer-helper hutch-agent; do
  path=$(find "$prefix" -path "*/hutch/plugins/$program" -type f | head -n1)
  [ -n "$path" ] && [ -x "$path" ] || fail "$program is not installed in the plugin directory"
  if ldd "$path" >/dev/null 2>&1 && ldd "$path" | grep -q 'libstdc++'; then
    fail "$program links libstdc++ dynamically; it runs inside sandboxes and containers"
  fi
done
if [ "$(id -u)" -eq 0 ] && [ -S /var/run/docker.sock ]; then
  output=$(cd "$work" && env -u HUTCH_PLUGIN_PATH "$prefix/bin/hutch" --config "$work/hutch.toml" --backend docker \
    run --image hutch-test-busybox:latest -- sh -c 'tr "\0" " " </proc/1/cmdline') ||
    fail "the installed hutch could not run a command in a docker sandbox"
  case "$output" in
    /.hutch/agent\ serve*) ;;
    *) fail "the docker sandbox's PID 1 is '$output', expected the installed hutch-agent" ;;
  esac
fi

step "OK: an installed hutch builds and loads a third-party plugin"
