// Pulls through an HTTP proxy (HTTPS_PROXY / HTTP_PROXY, issue 18): the registry of
// .ci/build-test-images.sh on 127.0.0.1, reached as "registry.test:PORT" through the test's
// own CONNECT proxy (connect_proxy.hpp), which joins every tunnel to 127.0.0.1. The name is
// only ever resolved by that proxy, so nothing is looked up or sent off the machine.
#include "connect_proxy.hpp"
#include "runtime_fixture.hpp"

#include "require.hpp"
#include "scoped_env.hpp"
#include "temp_dir.hpp"
#include "test_registry.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>
#include <hutch/registry.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

namespace {

using hutch::test::ScopedEnv;
using hutch::test::test_registry;
using hutch::test::test_registry_up;

TEST(RegistryProxy, PullsThroughTheProxyInATunnelAndLoopbackGoesDirect) {
  HUTCH_NEED(::geteuid() == 0 || hutch::subcontainer::test::namespaces_available(), "HUTCH_REQUIRE_NAMESPACES",
             "root or unprivileged user namespaces, and the helper binary");
  HUTCH_NEED(test_registry_up(), "HUTCH_REQUIRE_REGISTRY",
             "the docker-registry on " + test_registry() + " with the test images (.ci/build-test-images.sh)");
  const std::string port = test_registry().substr(test_registry().rfind(':') + 1);
  const std::string proxied_registry = "registry.test:" + port;
  hutch::test::ConnectProxy proxy;
  const ScopedEnv https_proxy("HTTPS_PROXY", proxy.url());
  const ScopedEnv http_proxy("HTTP_PROXY", proxy.url());
  const ScopedEnv no_proxy("NO_PROXY", "other.test");

  const hutch::test::TempDir state{"hutchpx-"};
  hutch::ImageSettings settings;
  settings.docker_config = false;
  settings.pull = hutch::PullPolicy::never;
  settings.insecure_registries = {proxied_registry};  // plain HTTP inside the tunnel
  auto backend = hutch::subcontainer::test::load_plugin(state.path(), settings);

  const std::string id = backend->pull_image(proxied_registry + "/hutch/busybox:latest", {});
  EXPECT_FALSE(id.empty());
  EXPECT_GE(proxy.tunnels(), 3) << "the manifest, the config and the layers go through the proxy";
  for (const std::string& target : proxy.targets()) EXPECT_EQ(target, proxied_registry);

  const int before = proxy.tunnels();
  backend->pull_image(test_registry() + "/hutch/layers:latest", {});
  EXPECT_EQ(proxy.tunnels(), before) << "a registry on 127.0.0.1 went through the proxy";
  EXPECT_THAT(backend->prune_images(), ::testing::Contains(id));
}

}  // namespace
