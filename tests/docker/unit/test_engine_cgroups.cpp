// engine_cgroups: which engines cannot hold resource limits (from their /info answers), and
// what a create then gets: no safe defaults, and an asked limit refused.
#include "engine_cgroups.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

namespace hutch::docker {
namespace {

// The fields of real /info answers that matter here.
boost::json::object rootless_podman_on_cgroup_v1() {
  return {{"Rootless", true}, {"CgroupVersion", "1"}, {"CgroupDriver", "cgroupfs"},
          {"MemoryLimit", true}, {"PidsLimit", true}};
}
boost::json::object rootful_dockerd_on_cgroup_v1() {
  return {{"CgroupVersion", "1"}, {"CgroupDriver", "cgroupfs"}, {"MemoryLimit", true}, {"PidsLimit", true},
          {"SecurityOptions", boost::json::array{"name=seccomp,profile=default"}}};
}

Limits safe_defaults() {
  Limits limits;
  limits.memory_bytes = 2ull << 30;
  limits.memory_defaulted = true;
  limits.pids = 1024;
  limits.pids_defaulted = true;
  return limits;
}

TEST(DockerEngineCgroups, RootlessPodmanOnCgroupV1CannotHoldLimits) {
  const auto problem = cgroup_problem(rootless_podman_on_cgroup_v1());
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("rootless on cgroup v1"), std::string::npos) << *problem;
}

TEST(DockerEngineCgroups, RootlessOnCgroupV2AndRootfulEnginesHoldThem) {
  auto v2 = rootless_podman_on_cgroup_v1();
  v2["CgroupVersion"] = "2";
  v2["CgroupDriver"] = "systemd";
  EXPECT_FALSE(cgroup_problem(v2).has_value());
  EXPECT_FALSE(cgroup_problem(rootful_dockerd_on_cgroup_v1()).has_value());
  EXPECT_FALSE(cgroup_problem(boost::json::object{}).has_value()) << "an engine that says nothing is taken at its word";
}

TEST(DockerEngineCgroups, NoCgroupDriverOrNoLimitSupportCannotHoldThem) {
  auto no_driver = rootful_dockerd_on_cgroup_v1();
  no_driver["CgroupDriver"] = "none";
  EXPECT_TRUE(cgroup_problem(no_driver).has_value());
  auto no_pids = rootful_dockerd_on_cgroup_v1();
  no_pids["PidsLimit"] = false;
  EXPECT_TRUE(cgroup_problem(no_pids).has_value());
}

TEST(DockerEngineCgroups, AnEngineThatHoldsLimitsGetsThemAll) {
  EXPECT_EQ(enforceable_limits(safe_defaults(), std::nullopt), safe_defaults());
}

TEST(DockerEngineCgroups, WithoutSupportTheSafeDefaultsAreDroppedNotRefused) {
  const Limits limits = enforceable_limits(safe_defaults(), std::string("rootless"));
  EXPECT_FALSE(limits.memory_bytes.has_value());
  EXPECT_FALSE(limits.pids.has_value());
  EXPECT_FALSE(limits.memory_defaulted || limits.pids_defaulted);
}

TEST(DockerEngineCgroups, WithoutSupportAnAskedLimitIsRefusedNamingTheReason) {
  for (int which = 0; which < 3; ++which) {
    Limits limits = safe_defaults();
    if (which == 0) limits.memory_defaulted = false;
    if (which == 1) limits.pids_defaulted = false;
    if (which == 2) limits.cpus = 0.5;
    try {
      enforceable_limits(limits, std::string("the engine runs rootless on cgroup v1"));
      ADD_FAILURE() << "limit " << which << " was accepted";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), Errc::unsupported);
      EXPECT_NE(std::string(error.what()).find("rootless on cgroup v1"), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace hutch::docker
