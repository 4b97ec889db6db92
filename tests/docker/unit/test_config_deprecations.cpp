// The [backends.docker] keys that moved to [defaults] (issue 14) still work, and say where they
// belong now, with the file position of each.
#include "config.hpp"

#include <gtest/gtest.h>

namespace hutch::docker {
namespace {

TEST(DockerConfigDeprecations, KeysThatMovedToDefaultsStillWorkAndSaySo) {
  auto table = ConfigTable::parse(
      "[backends.docker]\nenv_passthrough = [\"LANG\"]\nworkspace = \"none\"\n[backends.docker.image_map]\npy = \"python:3\"\n",
      "test.toml");
  std::vector<std::string> warnings;
  auto config = DockerConfig::from_table(*table.get_table("backends")->get_table("docker"),
                                         [&](const std::string& why) { warnings.push_back(why); });
  EXPECT_EQ(config.image_map.resolve("py"), "python:3");
  EXPECT_EQ(config.env_passthrough, std::vector<std::string>{"LANG"});
  ASSERT_EQ(warnings.size(), 3u);
  std::string all;
  for (const auto& line : warnings) all += line + "\n";
  EXPECT_NE(all.find("[defaults] env_passthrough"), std::string::npos) << all;
  EXPECT_NE(all.find("[defaults.image_map]"), std::string::npos) << all;
  EXPECT_NE(all.find("[defaults] workspace"), std::string::npos) << all;
  EXPECT_NE(all.find("test.toml:"), std::string::npos) << all;
}

}  // namespace
}  // namespace hutch::docker

namespace hutch::docker {
namespace {

DockerConfig docker_config_of(const std::string& toml, std::vector<std::string>& warnings) {
  auto table = ConfigTable::parse(toml, "test.toml");
  return DockerConfig::from_table(*table.get_table("backends")->get_table("docker"),
                                  [&](const std::string& why) { warnings.push_back(why); });
}

// pull and registry_auth moved to the shared [images] table (issue 18): still honoured, and
// they win over it, with a warning that says where they belong now.
TEST(DockerConfigDeprecations, PullAndRegistryAuthStillWorkWinOverImagesAndSaySo) {
  std::vector<std::string> warnings;
  DockerConfig config = docker_config_of(
      "[backends.docker]\npull = \"never\"\n[backends.docker.registry_auth]\nusername = \"old\"\npassword = \"p\"\n",
      warnings);
  ImageSettings images;
  images.pull = hutch::PullPolicy::always;
  images.docker_config = false;
  images.auth["127.0.0.1:5000"] = RegistryCredentials{"new", "q", ""};
  config.use_image_settings(images);
  EXPECT_EQ(config.pull, PullPolicy::never);
  ASSERT_TRUE(registry_auth_for(config, "127.0.0.1:5000/app:1"));
  EXPECT_EQ(*registry_auth_for(config, "127.0.0.1:5000/app:1"), registry_auth_header(RegistryAuth{"old", "p", "", ""}));
  std::string all;
  for (const auto& line : warnings) all += line + "\n";
  EXPECT_NE(all.find("[images] pull"), std::string::npos) << all;
  EXPECT_NE(all.find("[images.auth"), std::string::npos) << all;
  EXPECT_NE(all.find("test.toml:2"), std::string::npos) << all;
}

TEST(DockerConfigDeprecations, TheImagesTableGivesThePullPolicyAndCredentialsPerRegistry) {
  std::vector<std::string> warnings;
  DockerConfig config = docker_config_of("[backends.docker]\n", warnings);
  EXPECT_TRUE(warnings.empty());
  ImageSettings images;
  images.pull = hutch::PullPolicy::never;
  images.docker_config = false;
  images.auth["127.0.0.1:5000"] = RegistryCredentials{"u", "p", ""};
  images.auth["docker.io"] = RegistryCredentials{"", "", "refresh"};
  config.use_image_settings(images);
  EXPECT_EQ(config.pull, PullPolicy::never);
  EXPECT_EQ(registry_auth_for(config, "127.0.0.1:5000/app:1"),
            registry_auth_header(RegistryAuth{"u", "p", "127.0.0.1:5000", ""}));
  EXPECT_EQ(registry_auth_for(config, "python:3"),
            registry_auth_header(RegistryAuth{"", "", "https://index.docker.io/v1/", "refresh"}));
  EXPECT_FALSE(registry_auth_for(config, "ghcr.io/org/app:1")) << "credentials sent to a registry they are not for";
}

}  // namespace
}  // namespace hutch::docker

#include "docker_cli_config.hpp"

namespace hutch::docker {
namespace {

// The docker backend sends what the shared [images] lookup finds, so a docker credential
// helper (credHelpers / credsStore in config.json) gives the X-Registry-Auth of a pull too.
TEST(DockerConfigDeprecations, TheDockerCliCredentialHelperGivesTheRegistryAuthHeader) {
  const hutch::test::DockerCliConfig docker;
  docker.add_answering_helper("hutchtest", "dave", "from-helper");
  docker.write_config(R"({"credHelpers":{"127.0.0.1:5000":"hutchtest"}})");
  std::vector<std::string> warnings;
  DockerConfig config = docker_config_of("[backends.docker]\n", warnings);
  config.use_image_settings(ImageSettings{});
  EXPECT_EQ(registry_auth_for(config, "127.0.0.1:5000/app:1"),
            registry_auth_header(RegistryAuth{"dave", "from-helper", "127.0.0.1:5000", ""}));
  EXPECT_EQ(docker.requests_of("hutchtest"), "127.0.0.1:5000\n");
  EXPECT_FALSE(registry_auth_for(config, "127.0.0.2:5000/app:1")) << "the helper is named for one registry only";
}

}  // namespace
}  // namespace hutch::docker
