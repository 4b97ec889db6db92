// Ephemeral sandboxes (SandboxSpec::ephemeral, `hutch run`): their directory lives in
// ephemeral_dir behind a symlink in the state dir; destroy and prune remove both.
#include "runtime_fixture.hpp"

#include "ephemeral_dir.hpp"
#include "sandbox_record.hpp"

#include <gmock/gmock.h>

#include <signal.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <fstream>
#include <sstream>

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

namespace {

// True when a mount sits on `dir` (its mount point, as /proc/self/mountinfo lists it).
bool mounted_on(const fs::path& dir) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    if (mount_point == dir.string()) return true;
  }
  return false;
}

}  // namespace

TEST_F(RuntimeTest, EphemeralSandboxFillsOnlyItsOwnBoundedTmpfs) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "a tmpfs of its own needs root");
  const fs::path base = state_dir_ / "ephemeral";
  runtime_->config.ephemeral_dir = base.string();
  runtime_->config.ephemeral_size = 8u << 20;
  auto sandbox = backend_->create(ephemeral_spec());
  const fs::path dir = base / sandbox->id();
  EXPECT_TRUE(mounted_on(dir)) << "the sandbox has no tmpfs of its own";
  struct statfs info {};
  ASSERT_EQ(::statfs(dir.c_str(), &info), 0);
  EXPECT_EQ(info.f_type, TMPFS_MAGIC);
  EXPECT_EQ(static_cast<std::uint64_t>(info.f_blocks) * info.f_bsize, 8u << 20);
  EXPECT_NE(info.f_flags & ST_NOSUID, 0u);
  EXPECT_NE(info.f_flags & ST_NODEV, 0u);
  const ExecResult full = sh(*sandbox, "dd if=/dev/zero of=/root/big bs=1M count=16 2>&1; echo status=$?");
  EXPECT_THAT(full.stdout_data, ::testing::HasSubstr("No space left on device"));
  EXPECT_THAT(full.stdout_data, ::testing::Not(::testing::HasSubstr("status=0")));
  EXPECT_EQ(sh(*sandbox, "rm /root/big; echo ok").stdout_data, "ok\n") << "the sandbox is unusable once full";
  // Overlayfs works on the nodev tmpfs: a whiteout hides a file of the image.
  EXPECT_EQ(sh(*sandbox, "rm /etc/hostname && test ! -e /etc/hostname && echo hidden").stdout_data, "hidden\n");
  sandbox->destroy();
  EXPECT_FALSE(mounted_on(dir)) << "destroy left the tmpfs mounted";
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir)));
}

TEST_F(RuntimeTest, PruneUnmountsTheTmpfsOfACrashedEphemeralSandbox) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "a tmpfs of its own needs root");
  const fs::path base = state_dir_ / "ephemeral";
  runtime_->config.ephemeral_dir = base.string();
  runtime_->config.ephemeral_size = 8u << 20;
  std::string id;
  {
    auto sandbox = backend_->create(ephemeral_spec());
    id = sandbox->id();
    // What a crash of the sandbox leaves: the leader gone, nobody called destroy.
    const SandboxRecord record = load_record(sandbox_paths(runtime_->config.sandboxes_dir, id).record, id);
    ASSERT_EQ(::kill(record.leader_pid, SIGKILL), 0);
    for (int i = 0; i < 400 && ::kill(record.leader_pid, 0) == 0; ++i) ::usleep(5000);
  }
  ASSERT_TRUE(mounted_on(base / id));
  const auto removed = backend_->prune({});
  EXPECT_EQ(removed, std::vector<std::string>{id});
  EXPECT_FALSE(mounted_on(base / id)) << "prune left the tmpfs of a crashed sandbox mounted";
  EXPECT_FALSE(fs::exists(fs::symlink_status(base / id)));
}

TEST_F(RuntimeTest, EphemeralSizeZeroMountsNoTmpfsOfItsOwn) {
  const fs::path base = state_dir_ / "ephemeral";
  runtime_->config.ephemeral_dir = base.string();
  runtime_->config.ephemeral_size = 0;
  auto sandbox = backend_->create(ephemeral_spec());
  EXPECT_FALSE(mounted_on(base / sandbox->id()));
  EXPECT_EQ(sh(*sandbox, "echo ok").stdout_data, "ok\n");
}
