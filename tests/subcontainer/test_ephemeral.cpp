// Ephemeral sandboxes (SandboxSpec::ephemeral, `hutch run`): their directory lives in
// ephemeral_dir behind a symlink in the state dir; destroy and prune remove both.
#include "runtime_fixture.hpp"

#include "ephemeral_dir.hpp"
#include "sandbox_record.hpp"

#include <sys/statfs.h>

#include <linux/magic.h>

using namespace hutch;
using namespace hutch::subcontainer;
using hutch::subcontainer::test::RuntimeTest;
namespace fs = std::filesystem;

namespace {

SandboxSpec ephemeral_spec() {
  SandboxSpec spec;
  spec.ephemeral = true;
  return spec;
}

bool on_tmpfs(const fs::path& path) {
  struct statfs info {};
  return ::statfs(path.c_str(), &info) == 0 && info.f_type == TMPFS_MAGIC;
}

}  // namespace

TEST_F(RuntimeTest, EphemeralSandboxLivesInTheEphemeralDirAndDestroyRemovesBoth) {
  fs::path base = state_dir_ / "ephemeral";
  runtime_->config.ephemeral_dir = base.string();
  auto sandbox = backend_->create(ephemeral_spec());
  fs::path link = runtime_->config.sandboxes_dir / sandbox->id();
  ASSERT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link), base / sandbox->id());
  EXPECT_EQ(sh(*sandbox, "echo data > /root/f; cat /root/f").stdout_data, "data\n");
  EXPECT_TRUE(fs::exists(base / sandbox->id() / "upper" / "root" / "f")) << "the upper layer is not in ephemeral_dir";
  ASSERT_EQ(backend_->list().size(), 1u);
  auto copy = sandbox->fork();
  EXPECT_EQ(sh(*copy, "cat /root/f").stdout_data, "data\n");
  sandbox->destroy();
  copy->destroy();
  EXPECT_FALSE(fs::exists(fs::symlink_status(link)));
  EXPECT_TRUE(fs::is_empty(base)) << "destroy left the sandbox's directory in ephemeral_dir";
  EXPECT_TRUE(fs::is_empty(runtime_->config.sandboxes_dir));
}

TEST_F(RuntimeTest, EphemeralSandboxesGoToATmpfsByDefault) {
  auto sandbox = backend_->create(ephemeral_spec());
  fs::path link = runtime_->config.sandboxes_dir / sandbox->id();
  ASSERT_TRUE(fs::is_symlink(link)) << "no tmpfs found ($XDG_RUNTIME_DIR, /run, /dev/shm)";
  EXPECT_TRUE(on_tmpfs(fs::read_symlink(link)));
  fs::path target = fs::read_symlink(link);
  sandbox->destroy();
  EXPECT_FALSE(fs::exists(target));
  // A sandbox that is not ephemeral stays on the state dir's filesystem.
  auto kept = backend_->create({});
  EXPECT_FALSE(fs::is_symlink(runtime_->config.sandboxes_dir / kept->id()));
}

TEST_F(RuntimeTest, EphemeralDirEmptyKeepsEphemeralSandboxesInTheStateDir) {
  runtime_->config.ephemeral_dir = "";
  auto sandbox = backend_->create(ephemeral_spec());
  EXPECT_FALSE(fs::is_symlink(runtime_->config.sandboxes_dir / sandbox->id()));
  EXPECT_EQ(sh(*sandbox, "echo ok").stdout_data, "ok\n");
}

TEST_F(RuntimeTest, PruneRemovesTheLinkOfAnEphemeralSandboxWhoseDirectoryIsGone) {
  // What a reboot leaves: the tmpfs is empty, the link in the state dir dangles.
  fs::create_directories(runtime_->config.sandboxes_dir);
  fs::path link = runtime_->config.sandboxes_dir / "0123456789ab";
  fs::create_directory_symlink(state_dir_ / "gone" / "0123456789ab", link);
  EXPECT_TRUE(dangling_sandbox_link(link));
  auto removed = backend_->prune({});
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], "0123456789ab");
  EXPECT_FALSE(fs::exists(fs::symlink_status(link)));
}
