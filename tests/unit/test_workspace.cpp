// SandboxSpec::workspace (<hutch/workspace.hpp>): the names it takes, what a spec asks for, and
// the working directory a command falls back to.
#include <hutch/error.hpp>
#include <hutch/workspace.hpp>

#include "error_of.hpp"

#include <gtest/gtest.h>

namespace hutch {
namespace {

TEST(Workspace, NamesAreCheckedAndBadOnesNamed) {
  for (const char* good : {"", "ephemeral", "none", "proj", "Proj_1.2-x", "a"}) EXPECT_NO_THROW(validate_workspace(good)) << good;
  for (const char* bad : {"../x", ".hidden", "-x", "a/b", "a..b", "with space"}) {
    Error e = test::error_of([&] { validate_workspace(bad); });
    EXPECT_EQ(e.code(), Errc::invalid_argument) << bad;
    EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
  }
  EXPECT_EQ(test::code_of([] { validate_workspace(std::string(129, 'a')); }), Errc::invalid_argument);
}

TEST(Workspace, WhatASpecAsksFor) {
  SandboxSpec spec;
  EXPECT_EQ(workspace_of(spec).kind, WorkspaceKind::ephemeral);
  spec.workspace = kWorkspaceNone;
  EXPECT_EQ(workspace_of(spec).kind, WorkspaceKind::none);
  spec.workspace = "proj";
  EXPECT_EQ(workspace_of(spec).kind, WorkspaceKind::named);
  EXPECT_EQ(workspace_of(spec).volume, "proj");
  // The caller's own mount on /workspace wins over any workspace.
  spec.mounts.push_back(Mount{MountType::tmpfs, "", "/workspace/"});
  EXPECT_EQ(workspace_of(spec).kind, WorkspaceKind::none);
}

TEST(Workspace, TheFallbackWorkingDirectoryIsTheWorkspaceWhenThereIsOne) {
  SandboxSpec spec;
  EXPECT_EQ(fallback_working_directory(spec), "/workspace");
  spec.workspace = "proj";
  EXPECT_EQ(fallback_working_directory(spec), "/workspace");
  spec.workspace = kWorkspaceNone;
  EXPECT_EQ(fallback_working_directory(spec), "/");
}

}  // namespace
}  // namespace hutch
