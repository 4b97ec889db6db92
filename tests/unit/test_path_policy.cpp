// The bind-mount host path policy (<hutch/path_policy.hpp>): component-wise prefix matching,
// lexical normalization, and the check on a real directory tree with symlinks.
#include <hutch/error.hpp>
#include <hutch/fs.hpp>
#include <hutch/path_policy.hpp>

#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace hutch {
namespace {

namespace fs = std::filesystem;

const std::string kSetting = "[backends.test] bind_allow";

TEST(PathWithin, ComparesWholeComponents) {
  EXPECT_TRUE(path_within("/data", "/data"));
  EXPECT_TRUE(path_within("/data/x/y", "/data"));
  EXPECT_TRUE(path_within("/data/x", "/data/"));
  EXPECT_FALSE(path_within("/database", "/data"));
  EXPECT_FALSE(path_within("/dat", "/data"));
  EXPECT_FALSE(path_within("/other/data", "/data"));
  EXPECT_FALSE(path_within("/data/../etc", "/data"));
  EXPECT_TRUE(path_within("/data/./x//y", "/data"));
  EXPECT_TRUE(path_within("/anything", "/"));
  EXPECT_FALSE(path_within("relative", "/"));
  EXPECT_FALSE(path_within("/data", "relative"));
}

TEST(LexicallyNormalAbsolute, ResolvesDotsAndSlashes) {
  EXPECT_EQ(lexically_normal_absolute("/a/./b/../c//"), "/a/c");
  EXPECT_EQ(lexically_normal_absolute("/../.."), "/");
}

TEST(PathComponents, DropsEmptyAndDotKeepsDotDot) {
  using Parts = std::vector<std::string>;
  EXPECT_EQ(path_components("/a//./b/"), (Parts{"a", "b"}));
  EXPECT_EQ(path_components("./a/b"), (Parts{"a", "b"}));
  EXPECT_EQ(path_components("a/../b"), (Parts{"a", "..", "b"}));
  EXPECT_EQ(path_components(".."), (Parts{".."}));
  EXPECT_EQ(path_components("/"), Parts{});
  EXPECT_EQ(path_components(""), Parts{});
  EXPECT_EQ(path_components("..."), (Parts{"..."}));
}

class HostPathPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(root_ / "allowed" / "sub");
    fs::create_directories(root_ / "secret");
    fs::create_directory_symlink(root_ / "secret", root_ / "allowed" / "escape");
  }
  test::TempDir root_{"hutch-bind-"};
};

TEST_F(HostPathPolicy, AllowsPathsUnderAPrefix) {
  const auto allowed = (root_ / "allowed").string();
  EXPECT_EQ(check_host_path_allowed((root_ / "allowed" / "sub").string(), {allowed}, kSetting),
            (root_ / "allowed" / "sub").string());
  // A path that does not exist yet is judged lexically below its existing ancestors.
  EXPECT_EQ(check_host_path_allowed((root_ / "allowed" / "new").string(), {allowed}, kSetting),
            (root_ / "allowed" / "new").string());
}

TEST_F(HostPathPolicy, AnAllowedPrefixThatIsASymlinkAllowsItsTarget) {
  fs::create_directory_symlink(root_ / "allowed", root_ / "allowed-link");
  EXPECT_EQ(check_host_path_allowed((root_ / "allowed" / "sub").string(),
                                    {(root_ / "allowed-link").string()}, kSetting),
            (root_ / "allowed" / "sub").string());
}

TEST_F(HostPathPolicy, RefusesSymlinkEscapesAndOtherTrees) {
  const auto allowed = (root_ / "allowed").string();
  for (const auto& path : {(root_ / "allowed" / "escape").string(), (root_ / "secret").string(),
                           (root_ / "allowed" / ".." / "secret").string(), std::string("/etc")}) {
    try {
      check_host_path_allowed(path, {allowed}, kSetting);
      ADD_FAILURE() << path << " was allowed";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::permission_denied) << path;
      const std::string message = e.what();
      EXPECT_NE(message.find("bind_allow"), std::string::npos) << message;
      EXPECT_NE(message.find(kSetting), std::string::npos) << message;
      EXPECT_NE(message.find("'" + path + "'"), std::string::npos) << "names the path: " << message;
      EXPECT_NE(message.find(allowed), std::string::npos) << "names the prefixes: " << message;
    }
  }
  EXPECT_THROW(check_host_path_allowed("/etc", {}, kSetting), Error);
  EXPECT_THROW(check_host_path_allowed("relative/path", {"/"}, kSetting), Error);
}

TEST_F(HostPathPolicy, ErrorCodesAndMessages) {
  try {
    check_host_path_allowed("/etc", {}, kSetting, "sandbox s1: bind mount on '/x'");
    ADD_FAILURE() << "/etc was allowed with no prefixes";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::permission_denied);
    EXPECT_EQ(std::string(e.what()),
              "sandbox s1: bind mount on '/x': host path '/etc' is not under any allowed prefix "
              "(none configured); to allow it, add a prefix to " + kSetting);
  }
  try {
    check_host_path_allowed("relative/path", {"/"}, kSetting);
    ADD_FAILURE() << "a relative path was allowed";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::invalid_argument);
  }
  // A relative prefix never matches, even one that would lexically cover the path.
  EXPECT_THROW(check_host_path_allowed((root_ / "allowed").string(), {"allowed"}, kSetting), Error);
}

}  // namespace
}  // namespace hutch
