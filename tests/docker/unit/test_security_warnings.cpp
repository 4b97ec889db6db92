// security_warnings: what `hutch backends` says about an engine, from its /info answer.
#include "security_warnings.hpp"

#include <gtest/gtest.h>

namespace hutch::docker {
namespace {

boost::json::object info_with(boost::json::array options) {
  return boost::json::object{{"SecurityOptions", std::move(options)}};
}

bool mentions(const std::vector<std::string>& warnings, const std::string& text) {
  for (const auto& warning : warnings)
    if (warning.find(text) != std::string::npos) return true;
  return false;
}

TEST(DockerSecurityWarnings, UserNamespacesOffIsWarnedWithTheSettingThatFixesIt) {
  const auto warnings = security_warnings(info_with({"name=seccomp,profile=default", "name=cgroupns"}), true, false);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_TRUE(mentions(warnings, "inotify")) << warnings[0];
  EXPECT_TRUE(mentions(warnings, "\"userns-remap\": \"default\"")) << warnings[0];
}

TEST(DockerSecurityWarnings, UserNamespacesOnOrRootlessIsNotWarned) {
  EXPECT_TRUE(security_warnings(info_with({"name=seccomp,profile=default", "name=userns"}), true, false).empty());
  EXPECT_TRUE(security_warnings(info_with({"name=rootless"}), true, false).empty());
  EXPECT_FALSE(security_warnings(info_with({"name=usernsX"}), true, false).empty()) << "matched a prefix only";
  EXPECT_FALSE(security_warnings(boost::json::object{}, true, false).empty()) << "no SecurityOptions: off";
  // Rootless Podman 4.3 lists only its seccomp profile and says Rootless.
  boost::json::object rootless_podman = info_with({"name=seccomp,profile=default"});
  rootless_podman["Rootless"] = true;
  EXPECT_TRUE(security_warnings(rootless_podman, true, false).empty());
  rootless_podman["Rootless"] = false;
  EXPECT_FALSE(security_warnings(rootless_podman, true, false).empty());
}

TEST(DockerSecurityWarnings, CommandsWithoutTheAgentOrAProfileAreWarned) {
  const auto options = boost::json::array{"name=userns"};
  EXPECT_TRUE(mentions(security_warnings(info_with(options), false, false), "io_uring"));
  EXPECT_TRUE(security_warnings(info_with(options), false, true).empty()) << "a configured profile decides";
  EXPECT_TRUE(security_warnings(info_with(options), true, false).empty()) << "the agent applies hutch's filter";
}

}  // namespace
}  // namespace hutch::docker
