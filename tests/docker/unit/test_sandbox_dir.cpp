// Which part of a sandbox's host directory the sandbox cannot reach, for both layouts.
#include "sandbox_dir.hpp"

#include <gtest/gtest.h>

namespace hutch::docker {
namespace {

TEST(SandboxDir, TheAgentGetsOnlyRun) {
  EXPECT_EQ(agent_run_dir("/state/docker/hutch-1"), "/state/docker/hutch-1/run");
}

TEST(SandboxDir, HostOnlyDirOfTheCurrentLayoutIsTheParentOfRun) {
  EXPECT_EQ(host_only_dir("hutch-1", "/state/docker/hutch-1/run"), std::filesystem::path("/state/docker/hutch-1"));
}

TEST(SandboxDir, TheOldLayoutHasNoHostOnlyDir) {
  // Sandboxes made before run/ existed mounted the whole directory.
  EXPECT_FALSE(host_only_dir("hutch-1", "/state/docker/hutch-1"));
  // A directory named run that is not the sandbox's own is not trusted either.
  EXPECT_FALSE(host_only_dir("hutch-1", "/state/docker/hutch-2/run"));
}

}  // namespace
}  // namespace hutch::docker
