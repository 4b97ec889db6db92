#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what it needs (apt, idempotent),
# builds hutch with tests, starts dockerd, builds the test images, runs CTest, then checks that
# the installed SDK works for a third-party plugin.
#
# Switches read by the tests: HUTCH_REQUIRE_DOCKER=1 / HUTCH_REQUIRE_PODMAN=1 /
# HUTCH_REQUIRE_NAMESPACES=1 / HUTCH_REQUIRE_TLS_DOCKER=1 turn "component missing" from a skip
# into a failure (CI sets them).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${HUTCH_BUILD_DIR:-build}
export HUTCH_TEST_DATA=${HUTCH_TEST_DATA:-/tmp/hutch-test-data}

bash .ci/install-deps.sh test

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHUTCH_BUILD_TESTS=ON -DHUTCH_BUILD_BENCH=ON "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"

if [ "$(id -u)" -eq 0 ]; then
  bash .ci/start-dockerd.sh
  bash .ci/build-test-images.sh
  bash .ci/start-podman.sh
  bash .ci/start-podman.sh --rootless >/dev/null
else
  echo "not root: dockerd is not started; docker tests will skip unless HUTCH_REQUIRE_DOCKER=1" >&2
  bash .ci/build-test-images.sh --no-docker
fi

# The rootless tests run the build as an unprivileged user, who must be able to read it.
chmod -R a+rX "$build" 2>/dev/null || true

ctest --test-dir "$build" --output-on-failure --timeout 900 -j2
bash .ci/check-install.sh "$build"
