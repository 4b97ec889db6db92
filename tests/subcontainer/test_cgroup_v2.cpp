// SandboxCgroup on a real cgroup v2 hierarchy. Most users' hosts are pure v2; this machine
// mounts v2 beside its v1 controllers (/sys/fs/cgroup/unified), where memory, pids and cpu are
// taken by v1 but the core v2 files (cgroup.procs, cgroup.freeze, cgroup.kill, cgroup.events)
// work. So freeze, thaw, kill and removal run for real here, and a limit whose controller the
// hierarchy lacks must be refused clearly; where the controllers are there, the limits are set.
#include "cgroup.hpp"

#include "cgroup_files.hpp"
#include "error_of.hpp"
#include "require.hpp"

#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>

using hutch::Errc;
using hutch::subcontainer::SandboxCgroup;
namespace fs = std::filesystem;

using hutch::test::cgroup2_mount;
using hutch::test::read_text;

namespace {

class CgroupV2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = cgroup2_mount();
    HUTCH_NEED(::geteuid() == 0 && !mount_.empty(), "HUTCH_REQUIRE_NAMESPACES",
             "root and a mounted cgroup v2 hierarchy");
    std::random_device random;
    id_ = "v2test" + std::to_string(random() % 1000000);
  }
  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
    for (int fd : {to_child_[0], to_child_[1], from_child_[0], from_child_[1]})
      if (fd >= 0) ::close(fd);
    std::error_code ignored;
    fs::remove(mount_ / kRoot / id_, ignored);
    fs::remove(mount_ / kRoot, ignored);
  }

  // A child that echoes every byte written to it, moved into `dir`.
  pid_t start_child_in(const fs::path& dir) {
    if (::pipe(to_child_) != 0 || ::pipe(from_child_) != 0) return -1;
    child_ = ::fork();
    if (child_ == 0) {
      char byte;
      while (::read(to_child_[0], &byte, 1) == 1) (void)!::write(from_child_[1], &byte, 1);
      ::_exit(0);
    }
    std::ofstream(dir / "cgroup.procs") << child_;
    return child_;
  }
  // Whether the child answers a byte within `wait`.
  bool child_answers(std::chrono::milliseconds wait) {
    char byte = 'x';
    if (::write(to_child_[1], &byte, 1) != 1) return false;
    pollfd answer{from_child_[0], POLLIN, 0};
    if (::poll(&answer, 1, static_cast<int>(wait.count())) != 1) return false;
    return ::read(from_child_[0], &byte, 1) == 1;
  }

  static constexpr const char* kRoot = "hutch-test-v2";
  fs::path mount_;
  std::string id_;
  pid_t child_ = -1;
  int to_child_[2] = {-1, -1}, from_child_[2] = {-1, -1};
};

TEST_F(CgroupV2Test, FreezeThawAndRemoveKillEverything) {
  auto cgroup = SandboxCgroup::create(kRoot, 100, id_, {}, mount_);
  ASSERT_TRUE(cgroup.has_value());
  EXPECT_EQ(cgroup->version(), 2);
  ASSERT_EQ(cgroup->dirs().size(), 1u);
  const fs::path dir = cgroup->dirs()[0];
  EXPECT_EQ(dir, mount_ / kRoot / id_);
  pid_t pid = start_child_in(dir);
  ASSERT_GT(pid, 0);
  EXPECT_NE(read_text(dir / "cgroup.procs").find(std::to_string(pid)), std::string::npos);
  ASSERT_TRUE(child_answers(std::chrono::seconds(5)));

  ASSERT_TRUE(cgroup->can_freeze());
  cgroup->freeze();
  EXPECT_TRUE(cgroup->frozen());
  EXPECT_NE(read_text(dir / "cgroup.events").find("frozen 1"), std::string::npos);
  EXPECT_FALSE(child_answers(std::chrono::milliseconds(200))) << "a frozen process ran";
  cgroup->thaw();
  for (int i = 0; i < 100 && cgroup->frozen(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(cgroup->frozen());
  char byte;
  pollfd answer{from_child_[0], POLLIN, 0};  // the byte written while it was frozen
  EXPECT_EQ(::poll(&answer, 1, 5000), 1) << "the thawed process did not go on";
  EXPECT_EQ(::read(from_child_[0], &byte, 1), 1);

  // remove() uses cgroup.kill: the process dies by SIGKILL and the directory goes.
  cgroup->remove();
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  child_ = -1;
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_NO_THROW(cgroup->remove()) << "remove is idempotent";
}

TEST_F(CgroupV2Test, LimitsAreSetWhereTheControllerIsAvailableAndRefusedWhereNot) {
  const std::string available = read_text(mount_ / "cgroup.controllers");
  hutch::Limits limits;
  limits.memory_bytes = 64 << 20;
  limits.pids = 32;
  limits.cpus = 0.5;
  const bool all = available.find("memory") != std::string::npos && available.find("pids") != std::string::npos &&
                   available.find("cpu") != std::string::npos;
  if (all) {
    auto cgroup = SandboxCgroup::create(kRoot, 25, id_, limits, mount_);
    ASSERT_TRUE(cgroup.has_value());
    const fs::path dir = cgroup->dirs()[0];
    EXPECT_EQ(read_text(mount_ / kRoot / "cpu.weight"), "25\n") << "the group of all sandboxes has its weight";
    EXPECT_EQ(read_text(dir / "memory.max"), std::to_string(64 << 20) + "\n");
    EXPECT_EQ(read_text(dir / "pids.max"), "32\n");
    EXPECT_EQ(read_text(dir / "cpu.max"), "50000 100000\n");
    cgroup->remove();
    EXPECT_FALSE(fs::exists(dir));
  } else {
    // This host's v2 hierarchy lacks a controller (they are bound to v1): a clear refusal
    // naming it, and nothing left behind.
    try {
      SandboxCgroup::create(kRoot, 100, id_, limits, mount_);
      FAIL() << "limits were accepted without their controller (" << available << ")";
    } catch (const hutch::Error& e) {
      EXPECT_EQ(e.code(), Errc::unsupported) << e.what();
      EXPECT_NE(std::string(e.what()).find("controller is not available"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(mount_ / kRoot / id_)) << "a refused create left its cgroup";
  }
  // Without limits a cgroup is made either way.
  auto plain = SandboxCgroup::create(kRoot, 100, id_, {}, mount_);
  ASSERT_TRUE(plain.has_value());
  plain->remove();
}

}  // namespace
