// The plugin as a host loads it.
#include "docker_fixture.hpp"

#include <hutch/loader.hpp>

#include <memory>
#include <utility>

namespace hutch::docker::test {
namespace {

// Loads the built hutch-docker.so by path (no $HUTCH_PLUGIN_PATH, no install dir) as "docker".
std::shared_ptr<SandboxBackend> load_docker_plugin(ConfigTable config = {}) {
  PluginContext context;
  context.name = "docker";
  context.logger = hutch::logger();
  context.config = std::move(config);
  PluginSearch search;
  search.use_env = false;
  search.use_install_dir = false;
  return load_backend(std::string(HUTCH_PLUGIN_OUTPUT_DIR) + "/hutch-docker.so", search, context);
}

TEST(DockerPlugin, LoadsAndReportsCapabilitiesWithoutADaemon) {
  auto backend = load_docker_plugin();
  EXPECT_EQ(backend->name(), "docker");
  auto caps = backend->capabilities();
  EXPECT_TRUE(caps.fork);
  EXPECT_TRUE(caps.snapshot);
  EXPECT_TRUE(caps.persistent);
}

TEST(DockerPlugin, BadConfigIsAConfigError) {
  auto root = ConfigTable::parse("[backends.docker]\npull = \"sometimes\"\n", "bad.toml");
  try {
    load_docker_plugin(*root.get_table("backends")->get_table("docker"));
    FAIL() << "a bad pull policy was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.toml:2"), std::string::npos) << e.what();
  }
}

TEST_F(DockerTest, PluginBackendRunsACommand) {
  auto backend = load_docker_plugin();
  auto sandbox = backend->create(base_spec());
  adopt(sandbox);
  EXPECT_EQ(sh(*sandbox, "echo via plugin").stdout_data, "via plugin\n");
}

}  // namespace
}  // namespace hutch::docker::test
