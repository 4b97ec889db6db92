// The main command of a sandbox (Handle::launch, Handle::logs) on real namespaces: it
// outlives the handle that started it, replacing it stops the whole old tree first, its
// output lands in a bounded log, its end shows in info(), destroy ends it.
#include "runtime_fixture.hpp"

#include "error_of.hpp"

#include <hutch/error.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace hutch::subcontainer::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using LaunchTest = RuntimeTest;
using hutch::test::error_of;

ExecRequest command(std::vector<std::string> argv) {
  ExecRequest request;
  request.argv = std::move(argv);
  return request;
}

ExecRequest shell(const std::string& script) { return command({"sh", "-c", script}); }

// The main command's state once it is no longer running (fails the test after `limit`).
MainCommandInfo wait_until_ended(Handle& sandbox, std::chrono::milliseconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto info = sandbox.info();
    if (info.main_command && info.main_command->state != MainCommandState::running) return *info.main_command;
    std::this_thread::sleep_for(20ms);
  }
  ADD_FAILURE() << "the main command did not end within " << limit.count() << " ms";
  return {};
}

std::string log_of(Handle& sandbox, bool follow = false) {
  std::string text;
  sandbox.logs(
      [&](std::string_view chunk) {
        text.append(chunk);
        return true;
      },
      follow);
  return text;
}

// Host processes whose command line contains `marker` (the sandbox's processes are host
// processes too, in their own pid namespace).
int host_processes_with(const std::string& marker) {
  int found = 0;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline");
    // Through rdbuf(), not istreambuf_iterator: a /proc file of a process that exits meanwhile
    // fails to read (ESRCH), and the iterator throws where rdbuf() only sets failbit.
    std::stringstream cmdline_read;
    cmdline_read << in.rdbuf();
    std::string cmdline = cmdline_read.str();
    if (cmdline.find(marker) != std::string::npos) ++found;
  }
  return found;
}

TEST_F(LaunchTest, LaunchOutlivesItsHandleAndShowsInInfo) {
  std::string id;
  int pid = 0;
  {
    auto sandbox = backend_->create({});
    id = sandbox->id();
    MainCommandInfo main = sandbox->launch(shell("echo serving; exec sleep 1000"));
    EXPECT_EQ(main.state, MainCommandState::running);
    EXPECT_GT(main.pid, 1);
    EXPECT_EQ(main.argv, (std::vector<std::string>{"sh", "-c", "echo serving; exec sleep 1000"}));
    EXPECT_LE(main.started, std::chrono::system_clock::now());
    pid = main.pid;
  }
  // A backend object of its own, as a later process would have.
  auto other_backend = std::make_shared<SubcontainerBackend>(make_runtime(runtime_->config, runtime_->log));
  auto again = other_backend->resume(id);
  std::this_thread::sleep_for(200ms);
  auto info = again->info();
  ASSERT_TRUE(info.main_command.has_value());
  EXPECT_EQ(info.main_command->state, MainCommandState::running);
  EXPECT_EQ(info.main_command->pid, pid);
  EXPECT_EQ(sh(*again, "kill -0 " + std::to_string(pid) + " && echo alive").stdout_data, "alive\n");
  EXPECT_EQ(log_of(*again), "serving\n");
}

TEST_F(LaunchTest, LaunchLogsOutputAndRecordsTheExitStatus) {
  auto sandbox = backend_->create({});
  EXPECT_EQ(error_of([&] { sandbox->logs([](std::string_view) { return true; }); }).code(), Errc::not_found);
  EXPECT_FALSE(sandbox->info().main_command.has_value());

  sandbox->launch(shell("echo to-stdout; echo to-stderr >&2; exit 3"));
  MainCommandInfo main = wait_until_ended(*sandbox);
  EXPECT_EQ(main.state, MainCommandState::exited);
  EXPECT_EQ(main.exit_code, 3);
  ASSERT_TRUE(main.ended.has_value());
  EXPECT_GE(*main.ended, main.started);
  EXPECT_EQ(log_of(*sandbox), "to-stdout\nto-stderr\n");

  // A command that cannot run starts, exits 127 and says why in the log, as in a shell.
  sandbox->launch(command({"no-such-command-hutch"}));
  main = wait_until_ended(*sandbox);
  EXPECT_EQ(main.exit_code, 127);
  EXPECT_NE(log_of(*sandbox).find("no-such-command-hutch"), std::string::npos);
}

TEST_F(LaunchTest, LaunchEnvWorkdirAndUserApply) {
  auto sandbox = backend_->create({});
  ExecRequest request = shell("echo $GREETING $(pwd) $(id -u)");
  request.env["GREETING"] = "hello";
  request.cwd = "/tmp";
  // Rootless, only root is mapped into the sandbox.
  request.user = runtime_->rootless ? "0:0" : "1:1";
  sandbox->launch(request);
  wait_until_ended(*sandbox);
  EXPECT_EQ(log_of(*sandbox), runtime_->rootless ? "hello /tmp 0\n" : "hello /tmp 1\n");
}

TEST_F(LaunchTest, LaunchReplacementStopsTheWholeOldTreeFirst) {
  runtime_->config.stop_grace = 500ms;
  auto sandbox = backend_->create({});
  // The old main command and a grandchild in a session of its own both ignore SIGTERM, so
  // only the SIGKILL after the grace ends them.
  sandbox->launch(shell("trap '' TERM; setsid sh -c 'echo $$ > /tmp/grandchild; exec sleep 1000' & wait"));
  for (int i = 0; i < 200 && sh(*sandbox, "test -s /tmp/grandchild").exit_code != 0; ++i)
    std::this_thread::sleep_for(10ms);
  std::string grandchild = sh(*sandbox, "cat /tmp/grandchild").stdout_data;
  ASSERT_FALSE(grandchild.empty());
  grandchild.pop_back();

  auto started = std::chrono::steady_clock::now();
  MainCommandInfo main = sandbox->launch(
      shell("if kill -0 " + grandchild + " 2>/dev/null; then echo old-alive; else echo old-gone; fi; exec sleep 1000"));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 500ms) << "the new command started before the grace period of the old one ended";
  EXPECT_LT(took, 10s);
  EXPECT_EQ(main.state, MainCommandState::running);
  std::this_thread::sleep_for(200ms);
  EXPECT_NE(log_of(*sandbox).find("old-gone\n"), std::string::npos) << log_of(*sandbox);
  EXPECT_EQ(log_of(*sandbox).find("old-alive"), std::string::npos) << log_of(*sandbox);
  EXPECT_NE(sh(*sandbox, "kill -0 " + grandchild).exit_code, 0);
}

TEST_F(LaunchTest, LaunchReplacementSendsSigtermFirst) {
  runtime_->config.stop_grace = 30s;
  auto sandbox = backend_->create({});
  sandbox->launch(shell("trap 'echo got-term; exit 0' TERM; echo ready; while true; do sleep 0.05; done"));
  for (int i = 0; i < 200 && log_of(*sandbox).empty(); ++i) std::this_thread::sleep_for(10ms);
  auto started = std::chrono::steady_clock::now();
  sandbox->launch(shell("echo second"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "the old command was not asked to stop with SIGTERM";
  wait_until_ended(*sandbox);
  // The whole tree got SIGTERM: sh may also report its killed sleep ("Terminated").
  std::string log = log_of(*sandbox);
  EXPECT_EQ(log.rfind("ready\n", 0), 0u) << log;
  EXPECT_NE(log.find("got-term\n"), std::string::npos) << log;
  EXPECT_EQ(log.substr(log.size() - 7), "second\n") << log;
}

TEST_F(LaunchTest, LaunchesWaitingTogetherLastOneWins) {
  runtime_->config.stop_grace = 600ms;
  auto sandbox = backend_->create({});
  sandbox->launch(shell("trap '' TERM; echo old; exec sleep 1000"));
  for (int i = 0; i < 200 && log_of(*sandbox).empty(); ++i) std::this_thread::sleep_for(10ms);
  // Both wait for the old command, which ignores SIGTERM; the earlier one never starts.
  std::optional<Errc> first_error;
  std::jthread first([&] {
    try {
      sandbox->launch(shell("echo first; exec sleep 1000"));
    } catch (const Error& e) {
      first_error = e.code();
    }
  });
  std::this_thread::sleep_for(200ms);
  MainCommandInfo second = sandbox->launch(shell("echo second; exec sleep 1000"));
  first.join();
  EXPECT_EQ(first_error, Errc::state) << "the superseded launch did not fail with Errc::state";
  EXPECT_EQ(second.state, MainCommandState::running);
  EXPECT_EQ(sandbox->info().main_command->pid, second.pid);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(log_of(*sandbox), "old\nsecond\n");
}

TEST_F(LaunchTest, LaunchEndKillsWhatTheCommandLeftRunning) {
  auto sandbox = backend_->create({});
  sandbox->launch(shell("setsid sleep 4242.171 & echo $! > /tmp/left; sleep 0.2"));
  wait_until_ended(*sandbox);
  std::string left = sh(*sandbox, "cat /tmp/left").stdout_data;
  ASSERT_FALSE(left.empty());
  EXPECT_NE(sh(*sandbox, "kill -0 " + left).exit_code, 0) << "a leftover of the ended main command still runs";
}

TEST_F(LaunchTest, LaunchLogIsBoundedAndKeepsTheNewestOutput) {
  runtime_->config.log_limit = 64 * 1024;
  auto sandbox = backend_->create({});
  sandbox->launch(shell("yes | head -c 1000000; echo; echo the-end"));
  wait_until_ended(*sandbox);
  std::string log = log_of(*sandbox);
  EXPECT_LE(log.size(), 64u * 1024 + 64 * 1024) << "more than the limit plus one write";
  EXPECT_GE(log.size(), 16u * 1024);
  EXPECT_EQ(log.substr(log.size() - 9), "\nthe-end\n");
  auto dir = runtime_->config.sandboxes_dir / sandbox->id();
  EXPECT_LE(fs::file_size(dir / "main.log") + fs::file_size(dir / "main.log.1"), 64u * 1024 + 64 * 1024);
}

TEST_F(LaunchTest, LaunchLogsFollowUntilTheMainCommandEnds) {
  auto sandbox = backend_->create({});
  sandbox->launch(shell("for i in 1 2 3; do echo line$i; sleep 0.2; done"));
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(log_of(*sandbox, true), "line1\nline2\nline3\n");
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
  EXPECT_NE(sandbox->info().main_command->state, MainCommandState::running);
}

TEST_F(LaunchTest, LaunchIsEndedByDestroy) {
  auto sandbox = backend_->create({});
  sandbox->launch(command({"sleep", "4242.173"}));
  for (int i = 0; i < 200 && host_processes_with("4242.173") == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(host_processes_with("4242.173"), 1);
  sandbox->destroy();
  EXPECT_EQ(host_processes_with("4242.173"), 0);
  EXPECT_EQ(error_of([&] { sandbox->launch(command({"true"})); }).code(), Errc::state);
}

TEST_F(LaunchTest, LaunchRefusesWhatAMainCommandCannotHave) {
  auto sandbox = backend_->create({});
  ExecRequest with_stdin = command({"cat"});
  with_stdin.stdin_data = "input";
  EXPECT_EQ(error_of([&] { sandbox->launch(with_stdin); }).code(), Errc::invalid_argument);
  ExecRequest with_timeout = command({"sleep", "1"});
  with_timeout.timeout = 1s;
  EXPECT_EQ(error_of([&] { sandbox->launch(with_timeout); }).code(), Errc::invalid_argument);
  EXPECT_EQ(error_of([&] { sandbox->launch(command({})); }).code(), Errc::invalid_argument);
}

}  // namespace
}  // namespace hutch::subcontainer::test
