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
