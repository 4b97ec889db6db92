// Env filtering and image selection. (The bind policy is core: tests/unit/test_path_policy.cpp.)
#include <hutch/env_filter.hpp>
#include <hutch/image_map.hpp>

#include <hutch/error.hpp>

#include <gtest/gtest.h>

namespace hutch {
namespace {

TEST(EnvFilter, NothingPassesByDefault) {
  EXPECT_TRUE(filter_host_env({}, {"HOME=/root", "PATH=/bin"}).empty());
}

TEST(EnvFilter, PassthroughGlobsSelectAndBlocklistWins) {
  EnvPolicy policy{{"LANG", "LC_*", "*_PROXY"}, {"SECRET_*", "NO_PROXY"}};
  Env got = filter_host_env(policy, {"LANG=C", "LC_ALL=C.UTF-8", "HTTP_PROXY=http://p", "NO_PROXY=x",
                                     "SECRET_TOKEN=t", "HOME=/root", "broken", "=nokey", "LC_EMPTY="});
  Env expected{{"LANG", "C"}, {"LC_ALL", "C.UTF-8"}, {"HTTP_PROXY", "http://p"}, {"LC_EMPTY", ""}};
  EXPECT_EQ(got, expected);
}

TEST(EnvFilter, BlockWinsEvenForAnExactPassthrough) {
  EXPECT_TRUE(filter_host_env({{"AWS_KEY"}, {"AWS_*"}}, {"AWS_KEY=1"}).empty());
  EXPECT_TRUE(glob_match("A?C", "ABC"));
  EXPECT_FALSE(glob_match("A?C", "ABBC"));
}

TEST(ImageMap, ExactThenLongestPrefixThenLiteral) {
  ImageMap map;
  map.add("claude", "img-claude:1");
  map.add("claude-code", "img-claude-code:2");
  map.add("python", "py:3.12");
  map.set_default("base:latest");
  EXPECT_EQ(map.resolve("claude"), "img-claude:1");
  EXPECT_EQ(map.resolve("claude-code-v2"), "img-claude-code:2");
  EXPECT_EQ(map.resolve("claude-desktop"), "img-claude:1");
  EXPECT_EQ(map.resolve("busybox:latest"), "busybox:latest");
  EXPECT_EQ(map.resolve(""), "base:latest");
}

TEST(ImageMap, NoDefaultIsAClearError) {
  ImageMap map;
  try {
    map.resolve("");
    FAIL() << "an empty image resolved without a default";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(e.what()).find("image_map] default"), std::string::npos) << e.what();
  }
}

TEST(ImageMap, AnEmptyRequestIsDetectedFromTheCommand) {
  ImageMap map;
  map.add("python", "py:3.12");
  map.add("node", "node:22");
  EXPECT_EQ(map.select("", {"python3", "app.py"}), "py:3.12");
  EXPECT_EQ(map.select("", {"/usr/bin/python3.11", "-c", "1"}), "py:3.12");
  EXPECT_EQ(map.select("", {"node"}), "node:22");
  EXPECT_EQ(map.select("", {"ruby"}), std::nullopt) << "no match and no default: the backend decides";
  EXPECT_EQ(map.select("node", {"python3"}), "node:22") << "an explicit image wins over the command";
  map.set_default("base:1");
  EXPECT_EQ(map.select("", {"ruby"}), "base:1");
  EXPECT_EQ(map.select("", {}), "base:1");
}

}  // namespace
}  // namespace hutch
