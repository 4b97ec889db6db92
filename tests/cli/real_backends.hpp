// The bundled backends as CLI tests use them: where their plugins are, whether this machine can
// run them, and the image a docker sandbox starts from.
#pragma once

#include "cli_fixture.hpp"
#include "namespaces.hpp"
#include "require.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace hutch::test {

inline const std::filesystem::path kSubcontainerPluginFile =
    std::filesystem::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-subcontainer.so";
inline const std::filesystem::path kDockerPluginFile = std::filesystem::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-docker.so";

inline bool subcontainer_usable() {
  return user_namespaces_available() && std::filesystem::exists(kSubcontainerPluginFile);
}

inline bool docker_usable() {
  const char* docker_host = std::getenv("DOCKER_HOST");
  const bool daemon = (docker_host != nullptr && *docker_host != '\0') || std::filesystem::exists("/var/run/docker.sock");
  return daemon && std::filesystem::exists(kDockerPluginFile);
}

// $HUTCH_DOCKER_TEST_IMAGE, else the image .ci/build-test-images.sh builds.
inline std::string docker_test_image() {
  const char* image = std::getenv("HUTCH_DOCKER_TEST_IMAGE");
  return image != nullptr && *image != '\0' ? image : "hutch-test-busybox:latest";
}

// The image .ci/build-test-images.sh builds FROM the test image with an ENTRYPOINT, CMD, ENV
// GREETING=from-image, WORKDIR /srv/app and USER (.ci/test-images/defaults): on docker by its
// tag ($HUTCH_DOCKER_DEFAULTS_IMAGE), on subcontainer as its `docker save` archive.
inline std::string docker_defaults_image() {
  const char* image = std::getenv("HUTCH_DOCKER_DEFAULTS_IMAGE");
  return image != nullptr && *image != '\0' ? image : "hutch-test-defaults:latest";
}
inline std::string test_data(const std::string& name) {
  const char* data = std::getenv("HUTCH_TEST_DATA");
  return (std::filesystem::path(data != nullptr && *data != '\0' ? data : "/tmp/hutch-test-data") / name).string();
}
inline std::string subcontainer_defaults_archive() { return test_data("defaults-docker-save.tar"); }

// The sandbox's root (another host uid when hutch runs as root) walks down to the state under
// a test's directory.
inline void let_sandbox_roots_in(const std::filesystem::path& directory) { ::chmod(directory.c_str(), 0711); }

// A CLI test run once per backend: "fake", "subcontainer" and "docker" (INSTANTIATE with
// kEachBackend). A backend this machine lacks is skipped, or fails under HUTCH_REQUIRE_*.
class EachBackendCliTest : public HutchCliTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    HutchCliTest::SetUp();
    if (GetParam() == "subcontainer") {
      HUTCH_NEED(subcontainer_usable(), "HUTCH_REQUIRE_NAMESPACES", "user+mount namespaces and the subcontainer plugin");
      let_sandbox_roots_in(dir());
    } else if (GetParam() == "docker") {
      HUTCH_NEED(docker_usable(), "HUTCH_REQUIRE_DOCKER", "a docker daemon and the docker plugin");
    }
  }

  // hutch on this test's backend. Subcontainer sandboxes a failed test leaves are pruned by
  // TearDown (hutch_on); on docker that `prune --all` would hit other tests' sandboxes, so each
  // test removes what it made.
  HutchResult on_backend(std::vector<std::string> args) {
    if (GetParam() == "subcontainer") return hutch_on(kSubcontainerPluginFile, std::move(args));
    if (GetParam() == "docker") args.insert(args.begin(), {"--backend", kDockerPluginFile.string()});
    return hutch(std::move(args));
  }
};

inline const auto kEachBackend = ::testing::Values("fake", "subcontainer", "docker");
inline std::string backend_test_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

}  // namespace hutch::test
