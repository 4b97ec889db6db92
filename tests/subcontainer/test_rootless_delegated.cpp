// Rootless on a cgroup v2 subtree delegated to the user, which is what systemd's
// user@UID.service (or `systemd-run --user --scope`) gives on most hosts. This host has no
// systemd, so the test delegates a subtree of its v2 hierarchy to nobody by hand (chown, as
// systemd does), moves a process into it and re-runs one test of this binary there as nobody:
// sandboxes must then get cgroups beside that process's own, with pause, stats and kill.
#include "runtime_fixture.hpp"

#include "cgroup.hpp"
#include "cgroup_files.hpp"
#include "error_of.hpp"
#include "handle.hpp"

#include <hutch/error.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;
using namespace hutch;
using hutch::subcontainer::test::RuntimeTest;

using hutch::test::cgroup2_mount;
using hutch::test::read_text;

namespace {

constexpr uid_t kNobody = 65534;

// A cgroup handed to nobody the way systemd delegates one: the directory and the files that
// let its owner make children and move processes between them.
void delegate(const fs::path& dir) {
  ASSERT_EQ(::chown(dir.c_str(), kNobody, kNobody), 0) << dir;
  for (const char* file : {"cgroup.procs", "cgroup.subtree_control", "cgroup.threads"})
    ASSERT_EQ(::chown((dir / file).c_str(), kNobody, kNobody), 0) << dir / file;
}

// Removes a cgroup tree bottom-up (cgroups are removed with rmdir, never recursively).
void remove_cgroup_tree(const fs::path& dir) {
  std::error_code error;
  std::vector<fs::path> children;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error))
    if (it->is_directory()) children.push_back(it->path());
  for (const auto& child : children) remove_cgroup_tree(child);
  ::rmdir(dir.c_str());
}

}  // namespace

TEST(SubcontainerRootless, ADelegatedCgroupV2SubtreeGivesPauseStatsAndKill) {
  const fs::path mount = cgroup2_mount();
  HUTCH_NEED(::geteuid() == 0 && hutch::subcontainer::test::namespaces_available() && !mount.empty() &&
               ::access("/usr/bin/setpriv", X_OK) == 0,
           "HUTCH_REQUIRE_NAMESPACES", "root (to delegate a cgroup and switch to nobody), cgroup v2 and setpriv");
  std::random_device random;
  const fs::path base = mount / ("hutch-delegated-" + std::to_string(random() % 1000000));
  ASSERT_EQ(::mkdir(base.c_str(), 0755), 0) << base;
  struct Cleanup {
    fs::path base;
    ~Cleanup() { remove_cgroup_tree(base); }
  } cleanup{base};
  delegate(base);
  const fs::path client = base / "client";
  ASSERT_EQ(::mkdir(client.c_str(), 0755), 0);
  delegate(client);

  const hutch::test::TempDir state_dir("hutch-delegated-");
  ASSERT_EQ(::chown(state_dir.path().c_str(), kNobody, kNobody), 0);
  const fs::path log = state_dir.path() / "log";
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  // Root moves the shell into the delegated cgroup; as nobody it could not leave its own.
  const std::string command = "sh -c 'echo $$ > " + (client / "cgroup.procs").string() +
                              " && exec setpriv --reuid=nobody --regid=nogroup --clear-groups env HUTCH_TEST_STATE_ROOT=" +
                              state_dir.path().string() + " HUTCH_TEST_DELEGATED_CGROUP=" + base.string() +
                              " HUTCH_REQUIRE_NAMESPACES=1 " + self +
                              " --gtest_also_run_disabled_tests"
                              " --gtest_filter=RuntimeTest.DISABLED_RootlessInADelegatedCgroup' > " +
                              log.string() + " 2>&1";
  const int status = std::system(command.c_str());
  const std::string output = read_text(log);
  ASSERT_EQ(status, 0) << output;
  EXPECT_NE(output.find("[  PASSED  ] 1 test"), std::string::npos) << output;
  // Every sandbox cgroup the re-run made is gone again (the root they share, like
  // /sys/fs/cgroup/<controller>/hutch as root, stays).
  const fs::path sandboxes_root = base / "hutch-test";
  EXPECT_TRUE(fs::is_directory(sandboxes_root)) << "no sandbox cgroup was made under " << base;
  std::vector<std::string> left;
  for (const auto& entry : fs::recursive_directory_iterator(base))
    if (entry.is_directory() && entry.path() != client && entry.path() != sandboxes_root)
      left.push_back(entry.path().string());
  EXPECT_TRUE(left.empty()) << "left in the delegated subtree: " << left.front();
}

// The half that runs as nobody inside the delegated subtree (disabled: only the test above
// runs it, with the environment it sets up).
TEST_F(RuntimeTest, DISABLED_RootlessInADelegatedCgroup) {
  const char* base_variable = ::getenv("HUTCH_TEST_DELEGATED_CGROUP");
  ASSERT_NE(base_variable, nullptr) << "run by SubcontainerRootless.ADelegatedCgroupV2SubtreeGivesPauseStatsAndKill";
  const fs::path base = base_variable;
  ASSERT_NE(::geteuid(), 0u);
  ASSERT_EQ(hutch::subcontainer::SandboxCgroup::delegated_base(), base);

  const auto caps = backend_->capabilities();
  EXPECT_TRUE(caps.pause);
  EXPECT_TRUE(caps.stats);

  auto sandbox = backend_->create({});
  const fs::path cgroup = base / runtime_->config.cgroup_root / sandbox->id();
  ASSERT_TRUE(fs::is_directory(cgroup)) << cgroup;
  const std::string leader = std::to_string(
      std::static_pointer_cast<hutch::subcontainer::SubcontainerHandle>(sandbox)->record().leader_pid);
  EXPECT_NE(("\n" + read_text(cgroup / "cgroup.procs")).find("\n" + leader + "\n"), std::string::npos)
      << "the leader " << leader << " is not in " << cgroup;

  // Stats: v2 always accounts cpu; the process count comes from the cgroup.
  sh(*sandbox, "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done");
  const Stats stats = sandbox->stats();
  EXPECT_GT(stats.cpu_usage_ns, 0u);
  EXPECT_GE(stats.pids, 2u) << "the leader and its free shepherd";

  // Pause freezes every process: a command is refused, and a running one makes no progress.
  ExecRequest ticking;
  ticking.argv = {"sh", "-c", "while true; do date +%s%N > /tmp/tick; sleep 0.01; done"};
  auto ticker = sandbox->spawn(ticking);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  sandbox->pause();
  EXPECT_EQ(sandbox->info().state, SandboxState::paused);
  EXPECT_EQ(hutch::test::code_of([&] { sh(*sandbox, "true"); }), Errc::state);
  const std::string frozen_tick = sandbox->fs().read("/tmp/tick");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(sandbox->fs().read("/tmp/tick"), frozen_tick) << "a paused process still ran";
  sandbox->unpause();
  EXPECT_EQ(sh(*sandbox, "echo back").stdout_data, "back\n");

  // A limit needs its controller in the delegated subtree; without it, a clear refusal.
  SandboxSpec limited;
  limited.limits.memory_bytes = 64u << 20;
  if (read_text(base / "cgroup.controllers").find("memory") == std::string::npos) {
    EXPECT_EQ(hutch::test::code_of([&] { backend_->create(limited); }), Errc::unsupported);
  } else {
    auto with_limit = backend_->create(limited);
    EXPECT_EQ(read_text(base / runtime_->config.cgroup_root / with_limit->id() / "memory.max"), "67108864\n");
    with_limit->destroy();
  }

  // Destroy ends everything (cgroup.kill) and removes the cgroup.
  sh(*sandbox, "sleep 1000 > /dev/null 2>&1 &");
  sandbox->destroy();
  EXPECT_FALSE(fs::exists(cgroup)) << cgroup;
}
