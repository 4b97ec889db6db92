// Graceful stop, stop and start on real namespaces: destroy and stop send SIGTERM to every
// process and SIGKILL only after the spec's stop_grace; a stopped sandbox keeps its files but
// no process and no cgroup; SIGTERM from inside the sandbox does not stop it.
#include "runtime_fixture.hpp"

#include "file_lock.hpp"
#include "handle.hpp"
#include "host_files.hpp"
#include "term_scripts.hpp"

#include <hutch/error.hpp>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

namespace hutch::subcontainer::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class StopTest : public RuntimeTest {
 protected:
  // A sandbox that sees a host directory at /shared.
  SandboxSpec spec_with_shared_dir(Duration grace) {
    shared_ = hutch::test::make_shared_dir(state_dir_);
    runtime_->config.bind_allow = {shared_.string()};
    SandboxSpec spec;
    spec.mounts = {Mount{MountType::bind, shared_.string(), "/shared"}};
    spec.stop_grace = grace;
    return spec;
  }

  fs::path shared_;
};

using hutch::test::kIgnoreTermScript;
using hutch::test::kTrapTermScript;
using hutch::test::read_file;
using hutch::test::start_until_ready;

// Whether `pid` has ended: gone, or a zombie (the leader's parent, the helper, has exited, so
// the host's init reaps it whenever it gets to it).
bool ended(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto after_name = stat.rfind(')');
  return after_name != std::string::npos && stat.size() > after_name + 2 && stat[after_name + 2] == 'Z';
}

TEST_F(StopTest, DestroyLetsAProgramThatTrapsTermFinish) {
  auto sandbox = backend_->create(spec_with_shared_dir(20s));
  auto process = start_until_ready(*sandbox, kTrapTermScript, shared_);
  auto started = Clock::now();
  sandbox->destroy();
  EXPECT_LT(Clock::now() - started, 10s) << "destroy waited for the grace although everything had ended";
  EXPECT_EQ(read_file(shared_ / "done"), "bye\n") << "the program that traps SIGTERM was killed before it could finish";
}

TEST_F(StopTest, DestroyKillsWhatIgnoresTermOnceTheGraceHasPassed) {
  auto sandbox = backend_->create(spec_with_shared_dir(1500ms));
  auto process = start_until_ready(*sandbox, kIgnoreTermScript, shared_);
  const auto leader = static_cast<SubcontainerHandle&>(*sandbox).record().leader_pid;
  auto started = Clock::now();
  sandbox->destroy();
  auto took = Clock::now() - started;
  EXPECT_GE(took, 1400ms) << "SIGKILL came before the grace had passed";
  EXPECT_LT(took, 10s);
  EXPECT_TRUE(ended(leader)) << "the leader still runs";
  EXPECT_TRUE(process->wait().signal != 0 || process->wait().exit_code != 0);
}

TEST_F(StopTest, GraceZeroKillsAtOnce) {
  auto sandbox = backend_->create(spec_with_shared_dir(0ms));
  auto process = start_until_ready(*sandbox, kTrapTermScript, shared_);
  sandbox->destroy();
  EXPECT_FALSE(fs::exists(shared_ / "done")) << "with stop_grace 0 nothing gets SIGTERM first";
}

TEST_F(StopTest, SigtermFromInsideTheSandboxDoesNotStopIt) {
  auto sandbox = backend_->create({});
  auto result = sh(*sandbox, "kill -TERM 1; sleep 0.5; echo still");
  EXPECT_EQ(result.stdout_data, "still\n") << result.stderr_data;
  EXPECT_EQ(sh(*sandbox, "echo running").stdout_data, "running\n");
  EXPECT_EQ(sandbox->info().state, SandboxState::running);
}

TEST_F(StopTest, StoppedSandboxHoldsNoProcessAndNoCgroup) {
  auto sandbox = backend_->create({});
  auto& handle = static_cast<SubcontainerHandle&>(*sandbox);
  const auto dirs = handle.record().cgroup_dirs;
  const auto leader = handle.record().leader_pid;
  ASSERT_EQ(sh(*sandbox, "echo kept > /root-file; echo ok").stdout_data, "ok\n");
  sandbox->stop();
  EXPECT_TRUE(ended(leader)) << "the leader still runs";
  for (const auto& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir << " is still there";
  EXPECT_EQ(sandbox->info().state, SandboxState::stopped);
  // Prune keeps it: its owner (this process) is alive, and it was stopped on purpose.
  EXPECT_TRUE(backend_->prune({}).empty());

  sandbox->start();
  EXPECT_EQ(sh(*sandbox, "cat /root-file").stdout_data, "kept\n");
  for (const auto& dir : handle.record().cgroup_dirs) EXPECT_TRUE(fs::exists(dir)) << dir << " was not made again";
}

// An expired sandbox is stopped by its own leader, with no host process around: its cgroup
// (and the memory charged to it) goes as soon as anyone looks at it, not only at prune.
TEST_F(StopTest, AnExpiredSandboxHoldsNoCgroupOnceSeen) {
  SandboxSpec spec;
  spec.ttl = 1s;
  auto sandbox = backend_->create(spec);
  const auto dirs = static_cast<SubcontainerHandle&>(*sandbox).record().cgroup_dirs;
  ASSERT_FALSE(dirs.empty());
  auto listed = backend_->resume(sandbox->id());  // another process's view, through list
  const auto until = Clock::now() + 15s;
  while (Clock::now() < until && listed->info().state != SandboxState::expired) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(listed->info().state, SandboxState::expired);
  for (const auto& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir << " is still there";
  EXPECT_EQ(sandbox->info().state, SandboxState::expired);
}

// Before, prune judged idleness by the start of the last command: a command that ran longer
// than the idle timeout had its sandbox removed under it.
// Stop, start and set_lifetime read, change and save the record under a lock on the sandbox's
// directory shared by every process: one that changes it meanwhile waits, instead of having its
// change overwritten with what the other read before.
TEST_F(StopTest, ChangesToTheRecordWaitForAnotherProcesssChange) {
  auto sandbox = backend_->create({});
  auto other = backend_->resume(sandbox->id());
  std::optional<FileLock> held;
  held.emplace(sandbox_paths(runtime_->config.sandboxes_dir, sandbox->id()).dir / "record.lock");
  std::atomic<bool> changed{false};
  std::jthread change([&] {
    other->set_lifetime({1h, std::nullopt});
    changed = true;
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(changed) << "the record changed while another process held it";
  held.reset();
  change.join();
  EXPECT_TRUE(changed);
  ASSERT_TRUE(sandbox->info().expires_at.has_value());
  EXPECT_GT(*sandbox->info().expires_at, std::chrono::system_clock::now() + 50min);
}

TEST_F(StopTest, PruneLeavesASandboxWhoseCommandOutlastsItsIdleTimeout) {
  SandboxSpec spec;
  spec.idle_timeout = 1s;
  auto sandbox = backend_->create(spec);
  ExecRequest request;
  request.argv = {"sleep", "4"};
  auto command = sandbox->spawn(request);
  std::this_thread::sleep_for(2500ms);
  EXPECT_TRUE(backend_->prune({}).empty()) << "prune removed a sandbox while its command ran";
  EXPECT_EQ(sandbox->info().state, SandboxState::running);
  EXPECT_EQ(command->wait().exit_code, 0);
}

}  // namespace
}  // namespace hutch::subcontainer::test
