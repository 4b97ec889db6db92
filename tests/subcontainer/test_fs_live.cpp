// Fs of a live sandbox made by the real plugin (hutch-subcontainer.so, loaded like a host loads
// it): what the host changes through Fs is what commands inside see, and it belongs to root
// inside — also when the host is root and the sandbox's overlay and tmpfs live in the
// sandbox's user namespace, where host uid 0 has no mapping.
#include "runtime_fixture.hpp"
#include "temp_dir.hpp"

#include <hutch/error.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <memory>
#include <string>
#include <vector>

namespace {

using hutch::ExecResult;

template <class Call>
void expect_errc(hutch::Errc expected, Call&& call) {
  try {
    call();
    ADD_FAILURE() << "no error; expected " << static_cast<int>(expected);
  } catch (const hutch::Error& e) {
    EXPECT_EQ(e.code(), expected) << e.what();
  }
}
using hutch::FileType;
using hutch::Handle;

class FsLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HUTCH_NEED(::geteuid() == 0 || hutch::subcontainer::test::namespaces_available(), "HUTCH_REQUIRE_NAMESPACES",
             "root or unprivileged user namespaces, and the helper binary");
    backend_ = hutch::subcontainer::test::load_plugin(state_dir_.path());
    sandbox_ = backend_->create({});
  }
  void TearDown() override {
    if (sandbox_) backend_->destroy(sandbox_->id());
    sandbox_.reset();
    backend_.reset();
  }

  ExecResult sh(const std::string& script) {
    hutch::ExecRequest request;
    request.argv = {"sh", "-c", script};
    return sandbox_->exec(request);
  }
  // stdout of a script that must succeed.
  std::string out(const std::string& script) {
    const ExecResult result = sh(script);
    EXPECT_EQ(result.exit_code, 0) << script << ": " << result.stderr_data;
    return result.stdout_data;
  }

  // Short: the control socket path must fit in sockaddr_un.
  const hutch::test::TempDir state_dir_{"hutchfs-"};
  std::shared_ptr<hutch::SandboxBackend> backend_;
  std::shared_ptr<Handle> sandbox_;
};

TEST_F(FsLiveTest, WritesAreSeenInsideAndBelongToRootThere) {
  hutch::Fs& files = sandbox_->fs();
  files.write("/f.txt", "from the host\n", 0640);
  EXPECT_EQ(out("cat /f.txt"), "from the host\n");
  EXPECT_EQ(out("stat -c '%u %g %a' /f.txt"), "0 0 640\n");

  // The sandbox's own tmpfs is in its user namespace as well.
  files.write("/tmp/t", "tmp");
  EXPECT_EQ(out("cat /tmp/t; stat -c ' %u %g' /tmp/t"), "tmp 0 0\n");

  files.write("/f.txt", "again\n", 0600);  // truncate an existing file
  EXPECT_EQ(out("cat /f.txt; stat -c '%u %a' /f.txt"), "again\n0 600\n");
}

TEST_F(FsLiveTest, MkdirRenameSymlinkRemoveAreSeenInside) {
  hutch::Fs& files = sandbox_->fs();
  files.mkdir("/a/b/c", true, 0750);
  EXPECT_EQ(out("stat -c '%u %g %a %F' /a /a/b /a/b/c"),
            "0 0 750 directory\n0 0 750 directory\n0 0 750 directory\n");

  files.write("/a/b/c/file", "payload");
  files.rename("/a/b/c/file", "/a/moved");
  EXPECT_EQ(out("cat /a/moved; test -e /a/b/c/file || echo ' gone'"), "payload gone\n");

  files.symlink("b/c", "/a/link");
  EXPECT_EQ(out("readlink /a/link; stat -c '%u %g %F' /a/link"), "b/c\n0 0 symbolic link\n");
  EXPECT_EQ(files.stat("/a/link").type, FileType::symlink);

  // mkdir -p through the symlink lands in the directory it points at.
  files.mkdir("/a/link/d", true);
  EXPECT_EQ(out("ls /a/b/c"), "d\n");

  files.remove("/a/moved");
  EXPECT_EQ(out("ls /a"), "b\nlink\n");
  files.remove("/a", true);
  EXPECT_EQ(out("test -e /a || echo removed"), "removed\n");
}

TEST_F(FsLiveTest, FilesOfOtherSandboxUsersAreReadableAndWritable) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES",
           "a sandbox with more than one user needs a root host (rootless maps only root)");
  // Made inside by root for uid 1000: mode 0600 in a 0700 directory.
  out("mkdir -p /home/u && echo secret > /home/u/s && chown -R 1000:1000 /home/u &&"
      " chmod 700 /home/u && chmod 600 /home/u/s");
  hutch::Fs& files = sandbox_->fs();
  EXPECT_EQ(files.read("/home/u/s"), "secret\n");
  const hutch::FileStat st = files.stat("/home/u/s");
  EXPECT_EQ(st.uid, 1000u);
  EXPECT_EQ(st.gid, 1000u);
  EXPECT_EQ(st.mode, 0600u);
  ASSERT_EQ(files.list("/home/u").size(), 1u);

  files.write("/home/u/s", "replaced\n", 0600);
  EXPECT_EQ(out("cat /home/u/s; stat -c '%u %a' /home/u/s"), "replaced\n1000 600\n");
  files.write("/home/u/new", "n");
  EXPECT_EQ(out("stat -c '%u' /home/u/new"), "0\n");
  files.rename("/home/u/new", "/home/u/renamed");
  files.remove("/home/u/s");
  EXPECT_EQ(out("ls /home/u"), "renamed\n");
}

}  // namespace

// An Fs& taken before the sandbox is stopped or destroyed stays usable as an object: its calls
// fail with Errc::state while the sandbox is down or gone, and work again after a start (the
// service holds one across concurrent requests; it was freed under it before).
TEST_F(FsLiveTest, AnFsTakenBeforeStopOrDestroyFailsCleanlyAfterwards) {
  hutch::Fs& fs = sandbox_->fs();
  fs.write("/tmp/before", "x");
  sandbox_->stop();
  expect_errc(hutch::Errc::state, [&] { fs.stat("/tmp/before"); });
  sandbox_->start();
  EXPECT_EQ(fs.stat("/tmp/before").type, FileType::regular);
  sandbox_->destroy();
  expect_errc(hutch::Errc::state, [&] { fs.read("/tmp/before"); });
  sandbox_.reset();
}

TEST_F(FsLiveTest, FsCallsRacingADestroyEndInAnAnswerOrAStateError) {
  hutch::Fs& fs = sandbox_->fs();
  fs.write("/tmp/racing", "x");
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, refused{0};
  std::thread caller([&] {
    while (!stop) {
      try {
        fs.stat("/tmp/racing");
        ++answered;
      } catch (const hutch::Error& e) {
        EXPECT_TRUE(e.code() == hutch::Errc::state || e.code() == hutch::Errc::backend) << e.what();
        ++refused;
      }
    }
  });
  while (answered < 20) std::this_thread::yield();
  sandbox_->destroy();
  const int refused_before = refused;
  while (refused < refused_before + 5) std::this_thread::yield();
  stop = true;
  caller.join();
  sandbox_.reset();
}

