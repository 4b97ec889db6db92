// The plugin as a host loads it.
#include "docker_fixture.hpp"

#include <sbx/loader.hpp>

namespace sbx::docker::test {
namespace {

TEST(DockerPlugin, LoadsAndReportsCapabilitiesWithoutADaemon) {
  PluginContext context;
  context.name = "docker";
  context.logger = sbx::logger();
  PluginSearch search;
  search.use_env = false;
  search.use_install_dir = false;
  auto backend = load_backend(std::string(SBX_PLUGIN_OUTPUT_DIR) + "/sbx-docker.so", search, context);
  EXPECT_EQ(backend->name(), "docker");
  auto caps = backend->capabilities();
  EXPECT_TRUE(caps.fork);
  EXPECT_TRUE(caps.snapshot);
  EXPECT_TRUE(caps.persistent);
}

TEST(DockerPlugin, BadConfigIsAConfigError) {
  PluginContext context;
  context.name = "docker";
  context.logger = sbx::logger();
  auto root = ConfigTable::parse("[backends.docker]\npull = \"sometimes\"\n", "bad.toml");
  context.config = *root.get_table("backends")->get_table("docker");
  PluginSearch search;
  search.use_env = false;
  search.use_install_dir = false;
  try {
    load_backend(std::string(SBX_PLUGIN_OUTPUT_DIR) + "/sbx-docker.so", search, context);
    FAIL() << "a bad pull policy was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.toml:2"), std::string::npos) << e.what();
  }
}

TEST_F(DockerTest, PluginBackendRunsACommand) {
  PluginContext context;
  context.name = "docker";
  context.logger = sbx::logger();
  PluginSearch search;
  search.use_env = false;
  search.use_install_dir = false;
  auto backend = load_backend(std::string(SBX_PLUGIN_OUTPUT_DIR) + "/sbx-docker.so", search, context);
  auto sandbox = backend->create(base_spec());
  adopt(sandbox);
  EXPECT_EQ(sh(*sandbox, "echo via plugin").stdout_data, "via plugin\n");
}

}  // namespace
}  // namespace sbx::docker::test
