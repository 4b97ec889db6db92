// The remote backend's kept connections against a real `hutch serve` (on the fake backend)
// whose header timeout closes them while they wait: the next call still succeeds.
#include "remote_backend.hpp"
#include "service_process.hpp"
#include "settings.hpp"

#include <hutch/handle.hpp>
#include <hutch/fs.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace hutch::remote {
namespace {

// The service's header timeout closes kept connections after 1 s.
Settings short_timeout_settings(const test::ServiceProcess& service) {
  Settings settings;
  settings.address = server::parse_listen_address("unix://" + service.socket().string());
  settings.token = test::ServiceProcess::kToken;
  return settings;
}

TEST(KeptConnections, CallsSucceedAfterTheServiceClosedEveryKeptConnection) {
  test::ServiceProcess service("header_timeout = \"1s\"");
  RemoteBackend backend("remote", short_timeout_settings(service));
  // Two kept connections: the create's, and the upload's (which always starts a new one).
  auto sandbox = backend.create(SandboxSpec{});
  sandbox->fs().write("/kept.txt", "kept");
  // Both outlive the service's header timeout and are closed by it.
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  EXPECT_EQ(backend.list({}).size(), 1u);
  EXPECT_EQ(sandbox->fs().read("/kept.txt"), "kept");
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  EXPECT_NO_THROW(backend.destroy(sandbox->id()));
  EXPECT_TRUE(backend.list({}).empty());
}

}  // namespace
}  // namespace hutch::remote
