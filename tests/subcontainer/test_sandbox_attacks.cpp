// Attacks from inside a subcontainer sandbox on its leader and shepherds, and on the host's
// calls into it (issue 12): the shepherds' memory, the seccomp filter's refusals, the host's
// exec deadlines, and what the sandbox can read of how the host started it.
#include "runtime_fixture.hpp"

#include <probe.hpp>
#include <shepherd_attacks.hpp>

#include <fstream>

using namespace hutch;
using hutch::subcontainer::test::RuntimeTest;

namespace {

// Every capability this kernel has, CAP_SYS_PTRACE included.
std::vector<int> all_capabilities() {
  int last = 40;
  std::ifstream("/proc/sys/kernel/cap_last_cap") >> last;
  std::vector<int> caps;
  for (int cap = 0; cap <= last; ++cap) caps.push_back(cap);
  return caps;
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
  // At least the shepherd serving this exec (a free one exists only once a request needed it).
  hutch::test::expect_memory_refused(result.stdout_data, 1, /*pid1=*/false);
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

// Finding 7: with every shepherd stopped from inside, exec ends at the start deadline.
TEST_F(RuntimeTest, StoppedShepherdsFailTheExecAtTheStartDeadline) {
  hutch::test::expect_exec_ends_at_the_start_deadline(*backend_->create({}));
}

// Finding 7: a shepherd stopped while its command runs holds neither a timeout nor a kill.
TEST_F(RuntimeTest, AStoppedShepherdHoldsNeitherTheTimeoutNorAKill) {
  hutch::test::expect_a_stopped_shepherd_holds_neither_timeout_nor_kill(*backend_->create({}));
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
