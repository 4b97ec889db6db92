// Env filtering, image selection and the bind policy.
#include "bind_policy.hpp"
#include "env_filter.hpp"
#include "image_map.hpp"

#include <sbx/error.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

namespace sbx::docker {
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
    EXPECT_NE(std::string(e.what()).find("default_image"), std::string::npos) << e.what();
  }
}

TEST(BindPolicy, ComparesWholeComponents) {
  EXPECT_TRUE(is_under_prefix("/data", "/data"));
  EXPECT_TRUE(is_under_prefix("/data/x/y", "/data"));
  EXPECT_TRUE(is_under_prefix("/data/x", "/data/"));
  EXPECT_FALSE(is_under_prefix("/database", "/data"));
  EXPECT_FALSE(is_under_prefix("/dat", "/data"));
  EXPECT_FALSE(is_under_prefix("/data/../etc", "/data"));
  EXPECT_TRUE(is_under_prefix("/data/./x//y", "/data"));
  EXPECT_TRUE(is_under_prefix("/anything", "/"));
  EXPECT_FALSE(is_under_prefix("relative", "/"));
  EXPECT_EQ(lexically_normal_absolute("/a/./b/../c//"), "/a/c");
  EXPECT_EQ(lexically_normal_absolute("/../.."), "/");
}

class BindPolicyOnDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("sbx-bind-" + std::to_string(::getpid()));
    std::filesystem::create_directories(root_ / "allowed" / "sub");
    std::filesystem::create_directories(root_ / "secret");
    std::filesystem::create_directory_symlink(root_ / "secret", root_ / "allowed" / "escape");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::filesystem::path root_;
};

TEST_F(BindPolicyOnDisk, AllowsPathsUnderAPrefix) {
  auto allowed = (root_ / "allowed").string();
  EXPECT_EQ(check_bind_source((root_ / "allowed" / "sub").string(), {allowed}), (root_ / "allowed" / "sub").string());
  // A path that does not exist yet is judged lexically below its existing ancestors.
  EXPECT_EQ(check_bind_source((root_ / "allowed" / "new").string(), {allowed}), (root_ / "allowed" / "new").string());
}

TEST_F(BindPolicyOnDisk, RefusesSymlinkEscapesAndOtherTrees) {
  auto allowed = (root_ / "allowed").string();
  for (const auto& path : {(root_ / "allowed" / "escape").string(), (root_ / "secret").string(),
                           (root_ / "allowed" / ".." / "secret").string(), std::string("/etc")}) {
    try {
      check_bind_source(path, {allowed});
      ADD_FAILURE() << path << " was allowed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::permission_denied) << path;
      EXPECT_NE(std::string(e.what()).find("bind_allow"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(check_bind_source("/etc", {}), Error);
  EXPECT_THROW(check_bind_source("relative/path", {"/"}), Error);
}

}  // namespace
}  // namespace sbx::docker
