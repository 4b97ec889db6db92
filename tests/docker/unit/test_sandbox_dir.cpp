// Which part of a sandbox's host directory the sandbox cannot reach, for both layouts.
#include "sandbox_dir.hpp"

#include <gtest/gtest.h>

namespace sbx::docker {
namespace {

TEST(SandboxDir, TheAgentGetsOnlyRun) {
  EXPECT_EQ(agent_run_dir("/state/docker/sbx-1"), "/state/docker/sbx-1/run");
}

TEST(SandboxDir, HostOnlyDirOfTheCurrentLayoutIsTheParentOfRun) {
  EXPECT_EQ(host_only_dir("sbx-1", "/state/docker/sbx-1/run"), std::filesystem::path("/state/docker/sbx-1"));
}

TEST(SandboxDir, TheOldLayoutHasNoHostOnlyDir) {
  // Sandboxes made before run/ existed mounted the whole directory.
  EXPECT_FALSE(host_only_dir("sbx-1", "/state/docker/sbx-1"));
  // A directory named run that is not the sandbox's own is not trusted either.
  EXPECT_FALSE(host_only_dir("sbx-1", "/state/docker/sbx-2/run"));
}

}  // namespace
}  // namespace sbx::docker
