// Attacks from inside a subcontainer sandbox on its leader and shepherds, and on the host's
// calls into it (issue 12): the shepherds' memory, the seccomp filter's refusals, the host's
// exec deadlines, and what the sandbox can read of how the host started it.
#include "agent_processes.hpp"
#include "runtime_fixture.hpp"
#include "sandbox_record.hpp"

#include <probe.hpp>
#include <shepherd_attacks.hpp>

#include <signal.h>
#include <sys/resource.h>

#include <cerrno>

#include <fstream>
#include <optional>
#include <sstream>
#include <set>

using namespace hutch;
using hutch::subcontainer::test::RuntimeTest;
using hutch::subcontainer::test::sandbox_process_states;

namespace {

// Every capability this kernel has, CAP_SYS_PTRACE included.
std::vector<int> all_capabilities() {
  int last = 40;
  std::ifstream("/proc/sys/kernel/cap_last_cap") >> last;
  std::vector<int> caps;
  for (int cap = 0; cap <= last; ++cap) caps.push_back(cap);
  return caps;
}

// A `sh -c` script that returns at once and leaves behind a process that, once the command that
// started it has ended, sends `signal` to every process it can find — each pid in /proc, PID 1
// included, then kill(-1) — and then creates `marker`.
std::string signal_everything_script(const std::string& signal, const std::string& marker) {
  return "setsid sh -c 'while [ -d /proc/$1 ]; do sleep 0.1; done; for d in /proc/[0-9]*; do p=${d#/proc/}; "
         "[ $p != $$ ] && kill -" + signal + " $p; done; kill -" + signal + " -1; touch " + marker +
         "' attacker $$ >/dev/null 2>&1 </dev/null &";
}

// Runs signal_everything_script and waits until it is done.
void signal_everything(Handle& sandbox, const std::string& signal) {
  const std::string marker = "/tmp/signalled-" + signal;
  ASSERT_EQ(hutch::test::sh_in(sandbox, signal_everything_script(signal, marker)).exit_code, 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!sandbox.fs().exists(marker)) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the attacker never finished";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// An exec that must start within 5 s and end within 10 s.
void expect_prompt_exec(Handle& sandbox) {
  ExecRequest request;
  request.argv = {"echo", "alive"};
  request.start_timeout = std::chrono::seconds(5);
  request.timeout = std::chrono::seconds(10);
  const auto start = std::chrono::steady_clock::now();
  const ExecResult result = sandbox.exec(request);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.stdout_data, "alive\n");
  EXPECT_LT(hutch::test::seconds_since(start), 5.0);
}

std::set<pid_t> pids_of(const std::vector<std::pair<pid_t, char>>& processes) {
  std::set<pid_t> pids;
  for (auto [pid, state] : processes) pids.insert(pid);
  return pids;
}

}  // namespace

// Finding 3: a command process shares its shepherd's memory from clone to exec, with the
// command's own credentials. Even with every capability kept (the command's credentials then
// match the shepherd's), root in the sandbox cannot open a shepherd's memory — the serving
// shepherd's included. Where the host is root, the leader's switch to the sandbox's root
// (another host uid) already made it and its shepherds non-dumpable; rootless (the re-run in
// test_rootless.cpp: root inside is the host user itself) only PR_SET_DUMPABLE does. (The
// leader, PID 1, keeps its dumpability: the rootless host reaches the sandbox through its
// /proc entries.)
TEST_F(RuntimeTest, ShepherdMemoryIsClosedToSandboxRoot) {
  runtime_->config.keep_caps = all_capabilities();
  runtime_->config.bind_allow = {HUTCH_TEST_PROBE_DIR};
  SandboxSpec spec;
  spec.mounts = {hutch::test::probe_mount()};
  auto sandbox = backend_->create(spec);
  const ExecResult result = sh(*sandbox, hutch::test::probe_agent_memory_script(hutch::test::kProbeInSandbox));
  ASSERT_EQ(result.exit_code, 0) << result.stderr_data;
  // PID 1 inside is the init of the commands' pid namespace; the shepherds are not in view at
  // all (AgentProcessesAreOutsideTheCommandsPidNamespace).
  hutch::test::expect_memory_refused(result.stdout_data, 1, /*pid1=*/true);
}

// Finding 7: the leader and its shepherds live in a pid namespace above the commands' one, so no
// process inside can name them (signal, ptrace, /proc/<pid>/...): every process of the agent is
// in a namespace that holds the commands' one, never in it.
TEST_F(RuntimeTest, AgentProcessesAreOutsideTheCommandsPidNamespace) {
  auto sandbox = backend_->create({});
  const std::string inside = sh(*sandbox, "readlink /proc/self/ns/pid").stdout_data;
  ASSERT_FALSE(inside.empty());
  const std::string commands_namespace = inside.substr(0, inside.size() - 1);
  const auto plan = hutch::subcontainer::sandbox_paths(runtime_->config.sandboxes_dir, sandbox->id()).plan;
  int command_depth = 0, agent_processes = 0;
  for (auto [pid, state] : sandbox_process_states(plan))
    if (hutch::subcontainer::test::pid_namespace_of(pid) == commands_namespace)
      command_depth = hutch::subcontainer::test::pid_namespace_depth(pid);  // the commands' init
  ASSERT_GT(command_depth, 0) << "no child of the leader is the init of the commands' namespace "
                              << commands_namespace;
  for (auto [pid, state] : sandbox_process_states(plan)) {
    if (hutch::subcontainer::test::pid_namespace_of(pid) == commands_namespace) continue;
    ++agent_processes;
    EXPECT_LT(hutch::subcontainer::test::pid_namespace_depth(pid), command_depth)
        << "agent process " << pid << " is not above the commands' pid namespace";
  }
  EXPECT_GE(agent_processes, 2) << "the leader and at least one shepherd";
}

// Lower items of issue 12: the default filter refuses io_uring and vsock sockets (network is
// "none" by default).
TEST_F(RuntimeTest, SeccompRefusesIoUringAndVsockSockets) {
  HUTCH_NEED(hutch::test::host_allows_vsock_and_io_uring(), "HUTCH_REQUIRE_NAMESPACES",
             "this kernel has no vsock or io_uring, so a refusal would prove nothing");
  runtime_->config.bind_allow = {HUTCH_TEST_PROBE_DIR};
  SandboxSpec spec;
  spec.mounts = {hutch::test::probe_mount()};
  hutch::test::expect_io_uring_and_vsock_refused(*backend_->create(spec));
}

// Finding 7: root in the sandbox, with every capability, stops and then kills every process it
// can find (each pid in /proc, PID 1, kill(-1)): none of them is the agent's, so the host's next
// exec starts at once, and the leader and its shepherds are neither stopped nor replaced.
TEST_F(RuntimeTest, RootInsideCannotStopOrKillTheAgent) {
  runtime_->config.keep_caps = all_capabilities();
  auto sandbox = backend_->create({});
  expect_prompt_exec(*sandbox);
  const auto plan = hutch::subcontainer::sandbox_paths(runtime_->config.sandboxes_dir, sandbox->id()).plan;
  const std::set<pid_t> agent = pids_of(sandbox_process_states(plan));

  signal_everything(*sandbox, "STOP");
  if (HasFatalFailure()) return;
  expect_prompt_exec(*sandbox);
  for (auto [pid, state] : sandbox_process_states(plan)) EXPECT_NE(state, 'T') << "agent process " << pid << " stopped";

  signal_everything(*sandbox, "KILL");
  if (HasFatalFailure()) return;
  expect_prompt_exec(*sandbox);
  EXPECT_EQ(pids_of(sandbox_process_states(plan)), agent) << "agent processes were killed and replaced";
}

// Finding 7: a command cannot stop its own shepherd either ($PPID is 0 inside: `kill -STOP 0`
// stops only the command's own process group), so the host's timeout is carried out as usual.
TEST_F(RuntimeTest, ACommandCannotStopItsShepherd) {
  auto sandbox = backend_->create({});
  ExecRequest request;
  request.argv = {"sh", "-c", hutch::test::kStopOwnShepherdScript};
  request.stdin_data = std::string();
  request.timeout = std::chrono::seconds(2);
  const auto start = std::chrono::steady_clock::now();
  const ExecResult result = sandbox->exec(request);
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_LT(hutch::test::seconds_since(start), 4.0);
  expect_prompt_exec(*sandbox);
}

// The nice value of `pid` (field 19 of /proc/<pid>/stat), or nullopt when it is gone.
std::optional<int> nice_of(pid_t pid) {
  std::stringstream read;
  read << std::ifstream("/proc/" + std::to_string(pid) + "/stat").rdbuf();
  const std::string line = read.str();
  const auto paren = line.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 19 && fields >> field; ++i)
    if (i == 19) return std::stoi(field);
  return std::nullopt;
}

// The leader and its shepherds run 10 nice values above the commands (set by the helper as host
// root), so that they answer the host at once while a fork bomb keeps the sandbox's CPU share
// busy; commands run at the caller's own priority, and cannot raise it.
TEST_F(RuntimeTest, TheAgentRunsAboveItsCommandsWhichCannotRaiseTheirPriority) {
  HUTCH_NEED(::geteuid() == 0, "HUTCH_REQUIRE_NAMESPACES", "root (CAP_SYS_NICE to raise the agent's priority)");
  runtime_->config.keep_caps = all_capabilities();
  errno = 0;
  const int caller = ::getpriority(PRIO_PROCESS, 0);
  ASSERT_EQ(errno, 0);
  ASSERT_LE(caller, 10) << "the test needs room for the agent's boost";
  auto sandbox = backend_->create({});
  const ExecResult own = sh(*sandbox, "cut -d' ' -f19 /proc/self/stat; nice -n -5 cut -d' ' -f19 /proc/self/stat");
  EXPECT_EQ(own.stdout_data, std::to_string(caller) + "\n" + std::to_string(caller) + "\n") << own.stderr_data;
  const auto plan = hutch::subcontainer::sandbox_paths(runtime_->config.sandboxes_dir, sandbox->id()).plan;
  const auto agent = sandbox_process_states(plan);
  ASSERT_FALSE(agent.empty());
  for (auto [pid, state] : agent)
    EXPECT_EQ(nice_of(pid).value_or(caller - 10), caller - 10) << "agent process " << pid;
}

// Lower item of issue 12: PID 1 keeps the helper's command line, which every process in the
// sandbox can read; it names no host path (the state directory is the host's business). Its
// environment, which does, is not readable inside.
TEST_F(RuntimeTest, ThePlanPathStaysOutOfTheSandboxsView) {
  auto sandbox = backend_->create({});
  const ExecResult cmdline = sh(*sandbox, "tr '\\0' ' ' < /proc/1/cmdline");
  ASSERT_EQ(cmdline.exit_code, 0) << cmdline.stderr_data;
  EXPECT_EQ(cmdline.stdout_data, "hutch-subcontainer-helper start ");
  EXPECT_EQ(cmdline.stdout_data.find(state_dir_.string()), std::string::npos) << cmdline.stdout_data;
  const ExecResult environ = sh(*sandbox, "cat /proc/1/environ");
  EXPECT_NE(environ.exit_code, 0) << "PID 1's environment is readable inside: " << environ.stdout_data;
}
