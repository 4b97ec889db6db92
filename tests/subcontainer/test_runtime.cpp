// The runtime on real namespaces: exec/spawn semantics, lifetime across handles, fork,
// snapshot, limits, pause and stats.
#include "error_of.hpp"
#include "agent_processes.hpp"
#include "runtime_fixture.hpp"
#include "sandbox_leaks.hpp"

#include "cgroup.hpp"
#include "handle.hpp"
#include "sandbox_record.hpp"

#include <hutch/error.hpp>
#include <hutch/fork.hpp>
#include <hutch/owner.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <sstream>
#include <optional>
#include <set>
#include <map>
#include <thread>

using namespace hutch;
using namespace hutch::subcontainer;
using hutch::subcontainer::test::RuntimeTest;
using hutch::subcontainer::test::sandbox_process_states;
namespace fs = std::filesystem;

TEST_F(RuntimeTest, ExecReturnsOutputAndStatus) {
  auto sandbox = backend_->create({});
  auto result = sh(*sandbox, "echo out; echo err >&2; exit 3");
  EXPECT_EQ(result.stdout_data, "out\n");
  EXPECT_EQ(result.stderr_data, "err\n");
  EXPECT_EQ(result.exit_code, 3);
  auto missing = run(*sandbox, {"no-such-command"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.stderr_data.find("no-such-command"), std::string::npos);
}

TEST_F(RuntimeTest, EnvLayersCwdAndUser) {
  SandboxSpec spec;
  spec.env = {{"A", "sandbox"}, {"B", "sandbox"}};
  auto sandbox = backend_->create(spec);
  ExecRequest request;
  request.argv = {"sh", "-c", "echo $A $B; pwd; id -u; id -g"};
  request.env = {{"B", "request"}};
  request.cwd = "/tmp";
  request.user = "65534:65534";
  auto result = sandbox->exec(request);
  ASSERT_EQ(result.exit_code, 0) << result.stderr_data;
  EXPECT_EQ(result.stdout_data, "sandbox request\n/tmp\n65534\n65534\n");
  // HOME follows the user's passwd entry (the host image's /etc/passwd has nobody and root).
  request.argv = {"sh", "-c", "echo $HOME"};
  request.user = "nobody";
  EXPECT_EQ(sandbox->exec(request).stdout_data, "/nonexistent\n");
  request.user = "";
  EXPECT_EQ(sandbox->exec(request).stdout_data, "/root\n");
}

// Root in a sandbox may replace its account files with a FIFO (an open of it would block the
// shepherd for good) or a huge file: user lookups then fail at once with a message saying so,
// and root and numeric ids keep working, so the sandbox stays usable.
TEST_F(RuntimeTest, AnAccountFileThatIsNotARegularFileDoesNotHangCommands) {
  auto sandbox = backend_->create({});
  ASSERT_EQ(sh(*sandbox, "rm -f /etc/passwd /etc/group && mkfifo /etc/passwd /etc/group").exit_code, 0);
  ExecRequest request;
  request.argv = {"sh", "-c", "id -u"};
  request.timeout = std::chrono::seconds(20);  // a regression then fails here instead of hanging
  request.user = "nobody";
  auto named = sandbox->exec(request);
  EXPECT_FALSE(named.timed_out);
  EXPECT_EQ(named.exit_code, 126);
  EXPECT_NE(named.stderr_data.find("unknown user 'nobody' (the sandbox's /etc/passwd is not a regular file)"),
            std::string::npos)
      << named.stderr_data;
  request.user = "0:nogroup";
  auto group = sandbox->exec(request);
  EXPECT_EQ(group.exit_code, 126);
  EXPECT_NE(group.stderr_data.find("the sandbox's /etc/group is not a regular file"), std::string::npos)
      << group.stderr_data;
  request.user = "";
  EXPECT_EQ(sandbox->exec(request).stdout_data, "0\n");
  request.user = "65534:65534";
  EXPECT_EQ(sandbox->exec(request).stdout_data, "65534\n");
}

TEST_F(RuntimeTest, StdinDataReachesTheCommandAndEmptyStdinIsEof) {
  auto sandbox = backend_->create({});
  ExecRequest request;
  request.argv = {"cat"};
  request.stdin_data = std::string(300000, 'x');  // larger than a pipe buffer
  auto result = sandbox->exec(request);
  EXPECT_EQ(result.stdout_data.size(), 300000u);
  request.stdin_data.reset();
  request.timeout = std::chrono::seconds(10);
  EXPECT_FALSE(sandbox->exec(request).timed_out) << "exec without stdin data must give EOF";
}

TEST_F(RuntimeTest, TimeoutKillsTheWholeTreeIncludingSetsidAndDoubleFork) {
  auto sandbox = backend_->create({});
  ExecRequest request;
  request.argv = {"sh", "-c", "setsid sleep 1001 & (sleep 1002 &); sleep 1003"};
  request.timeout = std::chrono::milliseconds(500);
  auto started = std::chrono::steady_clock::now();
  auto result = sandbox->exec(request);
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.shell_status(), 124);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto left = sh(*sandbox, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '");
  EXPECT_EQ(left.stdout_data.find("sleep 100"), std::string::npos) << "left running: " << left.stdout_data;
}

TEST_F(RuntimeTest, SpawnStreamsAndKillEndsTheTree) {
  auto sandbox = backend_->create({});
  ExecRequest request;
  request.argv = {"sh", "-c", "echo ready; setsid sleep 1000 & sleep 1000"};
  auto process = sandbox->spawn(request);
  auto chunk = process->read_output();
  ASSERT_TRUE(chunk);
  EXPECT_EQ(chunk->data, "ready\n");
  process->kill(9);
  auto result = process->wait();
  EXPECT_EQ(result.signal, 9);
  auto left = sh(*sandbox, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '");
  EXPECT_EQ(left.stdout_data.find("sleep 1000"), std::string::npos) << "left running: " << left.stdout_data;
}

TEST_F(RuntimeTest, OutputIsCappedPerStreamWithTruncatedFlags) {
  auto sandbox = backend_->create({});
  ExecRequest request;
  request.argv = {"sh", "-c", "head -c 5000000 /dev/zero; echo small >&2"};
  request.output_limit = 1 << 20;
  auto result = sandbox->exec(request);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.stdout_data.size(), 1u << 20);
  EXPECT_TRUE(result.stdout_truncated);
  EXPECT_EQ(result.stderr_data, "small\n");
  EXPECT_FALSE(result.stderr_truncated);
}


// An idle sandbox must not sleep uninterruptibly: a task in D state counts in the host's load
// average, and 1000 idle sandboxes would read as load 1000 on an idle CPU.
TEST_F(RuntimeTest, AnIdleSandboxHasNoTaskInUninterruptibleSleep) {
  auto sandbox = backend_->create({});
  ASSERT_EQ(sh(*sandbox, "true").exit_code, 0);  // so a shepherd was forked after an exec too
  auto plan = sandbox_paths(runtime_->config.sandboxes_dir, sandbox->id()).plan;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::vector<std::pair<pid_t, char>> states;
  // Settle: the next shepherd parks in accept() soon after the exec.
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    states = sandbox_process_states(plan);
  } while (std::chrono::steady_clock::now() < deadline &&
           (states.size() != 3 || std::any_of(states.begin(), states.end(), [](auto s) { return s.second != 'S'; })));
  ASSERT_EQ(states.size(), 3u) << "an idle sandbox is its leader, the commands' init and one waiting shepherd";
  for (int sample = 0; sample < 20; ++sample) {
    for (auto [pid, state] : sandbox_process_states(plan)) EXPECT_NE(state, 'D') << "process " << pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Requests in a row are served by one shepherd (the command's parent, outside the commands'
// pid namespace: $PPID is 0 inside), not a fork each; what a command leaves running goes to the
// commands' init (PID 1 inside), so it is no later command's tree and their kills cannot reach
// it.
TEST_F(RuntimeTest, ShepherdsAreReusedAndLeftoversAreNoLaterCommandsTree) {
  auto sandbox = backend_->create({});
  auto plan = sandbox_paths(runtime_->config.sandboxes_dir, sandbox->id()).plan;
  ASSERT_EQ(sh(*sandbox, "echo $PPID").stdout_data, "0\n") << "the shepherd is in the commands' view";
  const auto agent = sandbox_process_states(plan);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sh(*sandbox, "echo $PPID").stdout_data, "0\n");
  EXPECT_EQ(sandbox_process_states(plan).size(), agent.size()) << "requests in a row forked shepherds";
  for (auto [pid, state] : agent) EXPECT_EQ(::kill(pid, 0), 0) << "agent process " << pid << " was replaced";

  std::string left = sh(*sandbox, "sleep 1000 >/dev/null 2>&1 & echo $!").stdout_data;
  ASSERT_FALSE(left.empty());
  left.pop_back();
  EXPECT_EQ(sh(*sandbox, "cut -d' ' -f4 /proc/" + left + "/stat").stdout_data, "1\n")
      << "the leftover was not adopted by the commands' init";

  ExecRequest request;
  request.argv = {"sleep", "1000"};
  request.timeout = std::chrono::milliseconds(200);
  EXPECT_EQ(sandbox->exec(request).shell_status(), 124);
  auto alive = sh(*sandbox, "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done");
  EXPECT_NE(alive.stdout_data.find("sleep 1000"), std::string::npos)
      << "a later command's kill reached an earlier command's leftover: " << alive.stdout_data;

  // A command that cannot start (unknown user, missing cwd) does not break the next one.
  request = ExecRequest{};
  request.argv = {"true"};
  request.user = "no-such-user";
  auto unknown = sandbox->exec(request);
  EXPECT_EQ(unknown.exit_code, 126);
  EXPECT_NE(unknown.stderr_data.find("no-such-user"), std::string::npos) << unknown.stderr_data;
  request.user = "";
  request.cwd = "/no/such/dir";
  EXPECT_EQ(sandbox->exec(request).exit_code, 126);
  EXPECT_EQ(sh(*sandbox, "echo fine").stdout_data, "fine\n");
}

// Concurrent requests get a shepherd each; once they are done, one free shepherd is kept.
TEST_F(RuntimeTest, ConcurrentExecsEachGetAShepherdAndTheSpareOnesGo) {
  auto sandbox = backend_->create({});
  ExecRequest slow;
  slow.argv = {"sh", "-c", "read line; echo got $line"};
  std::vector<std::unique_ptr<Process>> running;
  for (int i = 0; i < 3; ++i) running.push_back(sandbox->spawn(slow));
  EXPECT_EQ(sh(*sandbox, "echo meanwhile").stdout_data, "meanwhile\n");
  for (auto& process : running) {
    process->write_stdin("x\n");
    process->close_stdin();
    EXPECT_EQ(process->wait().stdout_data, "got x\n");
  }
  auto plan = sandbox_paths(runtime_->config.sandboxes_dir, sandbox->id()).plan;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::size_t count = 0;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    count = sandbox_process_states(plan).size();
  } while (count != 3 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(count, 3u) << "leader, the commands' init and one free shepherd";
  EXPECT_EQ(sh(*sandbox, "echo after").stdout_data, "after\n");
}

TEST_F(RuntimeTest, ResumeFromAnotherHandleAndDestroyIsIdempotent) {
  auto sandbox = backend_->create({});
  sh(*sandbox, "echo kept > /root/marker");
  auto again = backend_->resume(sandbox->id());
  EXPECT_EQ(sh(*again, "cat /root/marker").stdout_data, "kept\n");
  auto listed = backend_->list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].labels.at(kLabelOwner), current_owner());
  EXPECT_EQ(listed[0].state, SandboxState::running);
  auto dir = runtime_->config.sandboxes_dir / sandbox->id();
  sandbox->destroy();
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_NO_THROW(sandbox->destroy());
  EXPECT_NO_THROW(backend_->destroy(sandbox->id()));
  try {
    sh(*again, "true");
    FAIL() << "exec on a destroyed sandbox worked";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::state) << e.what();
  }
  EXPECT_THROW(backend_->resume(sandbox->id()), Error);
}

TEST_F(RuntimeTest, FailedCreateLeavesNothingBehind) {
  SandboxSpec spec;
  spec.image = "/no/such/rootfs";
  EXPECT_THROW(backend_->create(spec), Error);
  std::error_code ignored;
  EXPECT_TRUE(fs::is_empty(runtime_->config.sandboxes_dir, ignored)) << "a half-made sandbox was left";
}

// Whether any process's command line mentions `text` (the helper's names its plan's path,
// which holds the sandbox id; the leader keeps the helper's).
bool some_process_mentions(const std::string& text) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(text) != std::string::npos) return true;
  }
  return false;
}

// A failure inside the sandbox's own setup (here: the image has a file where /proc is
// mounted) is reported by the leader itself, with what failed, and the half-made sandbox is
// gone: no directory, no process, no cgroup.
TEST_F(RuntimeTest, ASetupFailureInsideTheSandboxIsReportedAndLeavesNothing) {
  const fs::path rootfs = state_dir_ / "proc-is-a-file";
  fs::create_directories(rootfs / "bin");
  std::ofstream(rootfs / "proc") << "not a directory\n";
  SandboxSpec spec;
  spec.image = rootfs.string();
  const Error error = hutch::test::error_of([&] { backend_->create(spec); });
  const std::string message = error.what();
  EXPECT_EQ(error.code(), Errc::backend) << message;
  EXPECT_NE(message.find("setup failed: "), std::string::npos) << message;
  EXPECT_NE(message.find("proc"), std::string::npos) << message;
  EXPECT_NE(message.find("Not a directory"), std::string::npos) << message;
  const auto at = message.find("sandbox ");
  ASSERT_NE(at, std::string::npos) << message;
  const std::string id = message.substr(at + 8, 12);
  std::error_code ignored;
  EXPECT_TRUE(fs::is_empty(runtime_->config.sandboxes_dir, ignored)) << "a half-made sandbox was left";
  EXPECT_FALSE(some_process_mentions(id)) << "a helper or leader of sandbox " << id << " is still running";
  for (const auto& hierarchy : fs::directory_iterator("/sys/fs/cgroup", ignored))
    EXPECT_FALSE(fs::exists(hierarchy.path() / runtime_->config.cgroup_root / id, ignored))
        << "cgroup " << (hierarchy.path() / runtime_->config.cgroup_root / id) << " was left";
}

TEST_F(RuntimeTest, PruneRemovesSandboxesWhoseOwnerIsGone) {
  auto sandbox = backend_->create({});
  auto paths = sandbox_paths(runtime_->config.sandboxes_dir, sandbox->id());
  auto record = load_record(paths.record, sandbox->id());
  record.owner = "not-a-boot:1:1";  // an owner that cannot be alive
  save_record(paths.record, record);
  auto kept = backend_->create({});
  auto removed = backend_->prune({});
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], sandbox->id());
  EXPECT_EQ(sh(*kept, "echo alive").stdout_data, "alive\n");
}

TEST_F(RuntimeTest, ForkCopiesTheFilesystemAndIsIndependent) {
  auto source = backend_->create({});
  sh(*source, "echo one > /root/f; mkdir -p /root/d; rm -f /etc/hostname");
  auto copy = source->fork();
  EXPECT_NE(copy->id(), source->id());
  EXPECT_EQ(sh(*copy, "cat /root/f; test -d /root/d && echo dir").stdout_data, "one\ndir\n");
  sh(*copy, "echo two > /root/f");
  EXPECT_EQ(sh(*source, "cat /root/f").stdout_data, "one\n");
}

TEST_F(RuntimeTest, SnapshotRestoresTheFilesystem) {
  auto source = backend_->create({});
  sh(*source, "echo saved > /root/f");
  auto snapshot = source->snapshot("t1");
  sh(*source, "echo changed > /root/f");
  auto restored = backend_->restore(snapshot.id, {});
  EXPECT_EQ(sh(*restored, "cat /root/f").stdout_data, "saved\n");
  bool listed = false;
  for (const auto& info : backend_->snapshots()) listed |= info.id == snapshot.id;
  EXPECT_TRUE(listed);

  // Deleting the snapshot under the sandbox restored from it hides it at once; its layer (the
  // sandbox's lower layer) stays until the sandbox is gone and prune collects it.
  backend_->delete_snapshot(snapshot.id);
  listed = false;
  for (const auto& info : backend_->snapshots()) listed |= info.id == snapshot.id;
  EXPECT_FALSE(listed);
  EXPECT_EQ(hutch::test::code_of([&] { backend_->restore(snapshot.id, {}); }), Errc::not_found);
  const fs::path layer = runtime_->images->root() / snapshot.id;
  EXPECT_TRUE(fs::exists(layer / "rootfs" / "root" / "f"));
  EXPECT_EQ(sh(*restored, "cat /root/f").stdout_data, "saved\n");
  backend_->prune({});
  EXPECT_TRUE(fs::exists(layer)) << "collected while a sandbox still used it";

  restored->destroy();
  backend_->prune({});
  EXPECT_FALSE(fs::exists(layer)) << "the deleted snapshot's layer outlived its last sandbox";
}

// A create pins its image as soon as it has resolved it; a delete hides the image before it
// asks who uses it. So a delete racing a restore never removes a layer a sandbox stands on:
// either the restore fails cleanly (not_found) or its sandbox works and keeps the layer.
TEST_F(RuntimeTest, SnapshotDeleteRacingARestoreNeverPullsTheLayerFromUnderIt) {
  auto source = backend_->create({});
  sh(*source, "echo saved > /root/f");
  // A create caught between resolving the image and writing its record: only its pin exists.
  auto snapshot = source->snapshot("pinned");
  const fs::path layer = runtime_->images->root() / snapshot.id;
  auto half_made = sandbox_paths(runtime_->config.sandboxes_dir, "0123456789ab");
  fs::create_directories(half_made.dir);
  std::ofstream(half_made.image_pin) << snapshot.id << "\n";
  backend_->delete_snapshot(snapshot.id);
  EXPECT_TRUE(fs::exists(layer / "rootfs" / "root" / "f")) << "removed under a sandbox being created";
  EXPECT_FALSE(runtime_->images->still_stored(snapshot.id)) << "a create would go on with a deleted image";
  fs::remove_all(half_made.dir);
  backend_->prune({});
  EXPECT_FALSE(fs::exists(layer));

  for (int round = 0; round < 8; ++round) {
    auto raced = source->snapshot("race");
    std::shared_ptr<Handle> restored;
    std::optional<Errc> restore_error;
    std::jthread restorer([&] {
      try {
        restored = backend_->restore(raced.id, {});
      } catch (const Error& e) {
        restore_error = e.code();
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(round * 3));
    backend_->delete_snapshot(raced.id);
    restorer.join();
    if (restored) {
      EXPECT_EQ(sh(*restored, "cat /root/f").stdout_data, "saved\n") << "round " << round;
      restored->destroy();
    } else {
      EXPECT_EQ(restore_error, Errc::not_found) << "round " << round;
    }
    backend_->prune({});
    EXPECT_FALSE(fs::exists(runtime_->images->root() / raced.id)) << "round " << round;
  }
}

TEST_F(RuntimeTest, ReadOnlyRootRefusesWritesButTmpWorks) {
  SandboxSpec spec;
  spec.read_only_root = true;
  auto sandbox = backend_->create(spec);
  EXPECT_NE(sh(*sandbox, "touch /root/x").exit_code, 0);
  EXPECT_EQ(sh(*sandbox, "touch /tmp/x && echo ok").stdout_data, "ok\n");
}

class RuntimeCgroupTest : public RuntimeTest {
 protected:
  void SetUp() override {
    RuntimeTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    HUTCH_NEED(hutch::subcontainer::test::cgroups_writable(), "HUTCH_REQUIRE_NAMESPACES", "a writable cgroup hierarchy (root)");
  }
};

TEST_F(RuntimeCgroupTest, ForkBombStopsAtThePidsLimit) {
  SandboxSpec spec;
  spec.limits.pids = 40;
  auto sandbox = backend_->create(spec);
  ExecRequest request;
  request.argv = {"sh", "-c", "for i in $(seq 1 200); do sleep 30 & done; wait"};
  request.timeout = std::chrono::seconds(20);
  auto result = sandbox->exec(request);
  EXPECT_NE(result.stderr_data.find("fork"), std::string::npos) << result.stderr_data;
  EXPECT_LE(sandbox->stats().pids, 40u);
}

// Each sandbox is one entity in the cpu controller (with or without --cpus), inside the group of
// all sandboxes, whose weight (cpu_weight, v2 scale) lets host tasks win a contended CPU.
TEST_F(RuntimeCgroupTest, EverySandboxIsInTheCpuControllerUnderAGroupThatYieldsToTheHost) {
  for (std::uint32_t weight : {37u, 10u}) {
    runtime_->config.cpu_weight = weight;
    auto sandbox = backend_->create({});
    const auto cgroups = SandboxCgroup::existing(runtime_->config.cgroup_root);
    const auto mine = cgroups.find(sandbox->id());
    ASSERT_NE(mine, cgroups.end()) << "no cgroup named " << sandbox->id();
    std::optional<fs::path> cpu_dir;
    for (const auto& dir : mine->second.dirs())
      if (fs::exists(fs::path(dir) / "cpu.shares") || fs::exists(fs::path(dir) / "cpu.weight")) cpu_dir = dir;
    ASSERT_TRUE(cpu_dir) << "the sandbox is in no cpu controller";
    const fs::path group = cpu_dir->parent_path();
    std::string value;
    if (mine->second.version() == 2) {
      std::ifstream(group / "cpu.weight") >> value;
      EXPECT_EQ(value, std::to_string(weight)) << group;
    } else {
      std::ifstream(group / "cpu.shares") >> value;
      EXPECT_EQ(value, std::to_string(weight * 1024 / 100)) << group;
    }
    sandbox->destroy();
  }
}

TEST_F(RuntimeCgroupTest, MemoryHogIsKilledAtTheMemoryLimit) {
  SandboxSpec spec;
  spec.limits.memory_bytes = 32u << 20;
  auto sandbox = backend_->create(spec);
  ExecRequest request;
  request.argv = {"sh", "-c", "x=a; while true; do x=\"$x$x\"; done"};
  request.timeout = std::chrono::seconds(30);
  auto result = sandbox->exec(request);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.signal, 9) << "status " << result.shell_status();
  auto stats = sandbox->stats();
  ASSERT_TRUE(stats.memory_limit_bytes);
  EXPECT_EQ(*stats.memory_limit_bytes, 32u << 20);
}

TEST_F(RuntimeCgroupTest, PauseFreezesAndUnpauseThaws) {
  auto sandbox = backend_->create({});
  sandbox->pause();
  EXPECT_EQ(sandbox->info().state, SandboxState::paused);
  EXPECT_THROW(sh(*sandbox, "true"), Error);
  sandbox->unpause();
  EXPECT_EQ(sandbox->info().state, SandboxState::running);
  EXPECT_EQ(sh(*sandbox, "echo back").stdout_data, "back\n");
}

// A command that times out while its sandbox is paused cannot be killed until it runs again:
// wait() must not hang until someone unpauses, and the kill must still happen then.
TEST_F(RuntimeCgroupTest, ATimeoutInAPausedSandboxFailsClearlyAndTheCommandEndsOnUnpause) {
  auto sandbox = backend_->create({});
  ExecRequest request;
  request.argv = {"sh", "-c", "echo started; exec sleep 1000"};
  request.timeout = std::chrono::milliseconds(500);
  auto process = sandbox->spawn(request);
  auto first = process->read_output();
  ASSERT_TRUE(first.has_value());
  sandbox->pause();
  const auto began = std::chrono::steady_clock::now();
  const Error error = hutch::test::error_of([&] { process->wait(); });
  const auto waited = std::chrono::steady_clock::now() - began;
  EXPECT_EQ(error.code(), Errc::state) << error.what();
  EXPECT_NE(std::string(error.what()).find("paused"), std::string::npos) << error.what();
  EXPECT_LT(waited, std::chrono::seconds(20)) << "wait() waited for the unpause";
  sandbox->unpause();
  // Once thawed, the shepherd sees its host gone and ends the command's tree.
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    gone = sh(*sandbox, "ps -o comm= | grep -c '^sleep$' || true").stdout_data == "0\n";
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "the timed-out command still runs after the unpause";
}

TEST_F(RuntimeTest, VolumesPersistReadOnlyHoldsAndBindsNeedAnAllowedPrefix) {
  SandboxSpec spec;
  spec.mounts = {Mount{MountType::volume, "v1", "/data"}, Mount{MountType::tmpfs, "", "/scratch"}};
  {
    auto first = backend_->create(spec);
    EXPECT_EQ(sh(*first, "echo kept > /data/f && touch /scratch/t && echo ok").stdout_data, "ok\n");
    first->destroy();
  }
  SandboxSpec read_only;
  read_only.mounts = {Mount{MountType::volume, "v1", "/data", true}};
  auto second = backend_->create(read_only);
  EXPECT_EQ(sh(*second, "cat /data/f").stdout_data, "kept\n");
  EXPECT_NE(sh(*second, "echo x > /data/g").exit_code, 0) << "a read-only volume was writable";

  SandboxSpec bind;
  bind.mounts = {Mount{MountType::bind, "/etc", "/hostetc"}};
  try {
    backend_->create(bind);
    FAIL() << "a bind outside bind_allow was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::permission_denied) << e.what();
  }
}

TEST_F(RuntimeTest, FsOfALiveSandboxSeesWhatCommandsSee) {
  auto sandbox = backend_->create({});
  sandbox->fs().write("/root/from-host", "hello", 0640);
  auto result = sh(*sandbox, "cat /root/from-host; stat -c '%a %u' /root/from-host");
  EXPECT_EQ(result.stdout_data, "hello640 0\n") << result.stderr_data;
  sh(*sandbox, "echo inside > /root/from-sandbox");
  EXPECT_EQ(sandbox->fs().read("/root/from-sandbox"), "inside\n");
}

// The sandbox's own tmpfs mounts (/tmp) belong to its user namespace; the host must still be
// able to create files there through Fs.
TEST_F(RuntimeTest, FsWritesIntoTheSandboxsTmpfs) {
  auto sandbox = backend_->create({});
  sandbox->fs().mkdir("/tmp/dir", true);
  sandbox->fs().write("/tmp/dir/f", "data");
  EXPECT_EQ(sh(*sandbox, "cat /tmp/dir/f").stdout_data, "data");
}

TEST_F(RuntimeCgroupTest, IdmappedBindShowsHostOwnerAsTheMappedIdInside) {
  auto host_dir = state_dir_ / "owned";
  fs::create_directories(host_dir);
  { std::ofstream(host_dir / "f") << "x"; }
  ASSERT_EQ(::chown(host_dir.c_str(), 1000, 1000), 0);
  ASSERT_EQ(::chown((host_dir / "f").c_str(), 1000, 1000), 0);
  runtime_->config.bind_allow = {state_dir_.string()};
  SandboxSpec spec;
  Mount mount{MountType::bind, host_dir.string(), "/owned"};
  mount.idmap = IdMap{0, 1000, 1};
  spec.mounts = {mount};
  auto sandbox = backend_->create(spec);
  EXPECT_EQ(sh(*sandbox, "stat -c %u /owned/f; touch /owned/new && echo ok").stdout_data, "0\nok\n");
  struct stat info {};
  ASSERT_EQ(::stat((host_dir / "new").c_str(), &info), 0);
  EXPECT_EQ(info.st_uid, 1000u) << "a file root made inside must belong to host uid 1000";
}
