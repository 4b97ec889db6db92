// The bundled backends as CLI tests use them: where their plugins are, whether this machine can
// run them, and the image a docker sandbox starts from.
#pragma once

#include "namespaces.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

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

// The sandbox's root (another host uid when hutch runs as root) walks down to the state under
// a test's directory.
inline void let_sandbox_roots_in(const std::filesystem::path& directory) { ::chmod(directory.c_str(), 0711); }

}  // namespace hutch::test
