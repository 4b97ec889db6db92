// The docker-registry and test data .ci/build-test-images.sh leaves: the registry on
// $HUTCH_TEST_REGISTRY (default 127.0.0.1:5117, plain HTTP) with hutch/busybox, hutch/defaults
// and hutch/layers, and the archives in $HUTCH_TEST_DATA (default /tmp/hutch-test-data).
#pragma once

#include <hutch/error.hpp>
#include <hutch/image_settings.hpp>
#include <hutch/log.hpp>
#include <hutch/registry.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace hutch::test {

inline std::string test_registry() {
  const char* value = std::getenv("HUTCH_TEST_REGISTRY");
  return value != nullptr && *value != '\0' ? value : "127.0.0.1:5117";
}

inline std::filesystem::path test_data_dir() {
  const char* value = std::getenv("HUTCH_TEST_DATA");
  return value != nullptr && *value != '\0' ? value : "/tmp/hutch-test-data";
}

// Whether the registry answers with the test images (a pull would fail otherwise).
inline bool test_registry_up() {
  try {
    ImageSettings settings;
    settings.docker_config = false;
    open_registry_client(settings, logger())->manifest(parse_image_reference(test_registry() + "/hutch/busybox:latest"));
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace hutch::test
