// Attacks from inside a docker sandbox on the agent and on the host (issue 12): the agent's
// memory, the host's exec deadlines, the socket the host connects to, the files the sandbox can
// leave in the host's run/ directory, the kernel calls the seccomp filter must refuse, and the
// engine setting hutch cannot change (user namespaces) that `hutch backends` warns about.
#include "docker_fixture.hpp"
#include "labels.hpp"
#include "sandbox_agent.hpp"
#include "security_warnings.hpp"

#include "agent/unique_fd.hpp"

#include <error_of.hpp>
#include <probe.hpp>
#include <shepherd_attacks.hpp>
#include <temp_dir.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace hutch::docker::test {
namespace {

class DockerAttackTest : public DockerTest {
 protected:
  // A backend whose sandboxes may bind-mount the probe's directory, with `cap_add`.
  std::shared_ptr<DockerBackend> probing_backend(std::vector<std::string> cap_add = {}) {
    DockerConfig config;
    config.bind_allow = {HUTCH_TEST_PROBE_DIR};
    config.cap_add = std::move(cap_add);
    return make_backend(std::move(config));
  }

  std::shared_ptr<Handle> create_with_probe(DockerBackend& backend) {
    SandboxSpec spec = base_spec();
    spec.mounts.push_back(hutch::test::probe_mount());
    return create(spec, &backend);
  }
};

// Finding 3: root in the sandbox, even with every capability the agent has (cap_add can grant
// them), cannot open the memory of the agent or of any shepherd — the one serving this very
// command included, whose memory map its command process shares from clone to exec.
TEST_F(DockerAttackTest, AgentAndShepherdMemoryIsClosedToSandboxRoot) {
  auto backend = probing_backend(kAgentCapabilities);
  auto sandbox = create_with_probe(*backend);
  const ExecResult result = sh(*sandbox, hutch::test::probe_agent_memory_script(hutch::test::kProbeInSandbox));
  ASSERT_EQ(result.exit_code, 0) << result.stderr_data;
  // The agent (PID 1) and at least the shepherd serving this exec.
  hutch::test::expect_memory_refused(result.stdout_data, 2, /*pid1=*/true);
}

// Lower items of issue 12: Docker's default seccomp profile lets io_uring and vsock sockets
// through; the agent's filter refuses them, with network = "none" (the default) as with any.
TEST_F(DockerAttackTest, SeccompRefusesIoUringAndVsockSockets) {
  HUTCH_NEED(hutch::test::host_allows_vsock_and_io_uring(), "HUTCH_REQUIRE_DOCKER",
             "this kernel has no vsock or io_uring, so a refusal would prove nothing");
  auto backend = probing_backend();
  hutch::test::expect_io_uring_and_vsock_refused(*create_with_probe(*backend));
}

// Finding 7: root in the container has no CAP_KILL (unless cap_add grants it), and the agent's
// shepherds run with a real uid of their own: it cannot stop them, and exec keeps working.
TEST_F(DockerAttackTest, SandboxRootCannotStopTheShepherds) {
  auto sandbox = create();
  ASSERT_EQ(sh(*sandbox, hutch::test::stop_shepherds_script()).exit_code, 0);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!sandbox->fs().exists(hutch::test::kShepherdsStoppedMarker)) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the stopper never ran";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ExecRequest request;
  request.argv = {"echo", "served"};
  request.start_timeout = std::chrono::seconds(5);
  EXPECT_EQ(sandbox->exec(request).stdout_data, "served\n");
  const ExecResult states = sh(*sandbox, "for d in /proc/[0-9]*; do [ \"$(cut -d' ' -f4 $d/stat)\" = 1 ] && "
                                         "cut -d' ' -f3 $d/stat; done");
  EXPECT_EQ(states.stdout_data.find('T'), std::string::npos) << "a shepherd is stopped: " << states.stdout_data;
}

// Finding 7: where cap_add grants CAP_KILL, the sandbox can stop every shepherd; exec then ends
// at the start deadline.
TEST_F(DockerAttackTest, StoppedShepherdsFailTheExecAtTheStartDeadline) {
  auto backend = probing_backend({"KILL"});
  hutch::test::expect_exec_ends_at_the_start_deadline(*create(base_spec(), backend.get()));
}

// Finding 7: a shepherd stopped while its command runs holds neither a timeout nor a kill.
TEST_F(DockerAttackTest, AStoppedShepherdHoldsNeitherTheTimeoutNorAKill) {
  auto backend = probing_backend({"KILL"});
  hutch::test::expect_a_stopped_shepherd_holds_neither_timeout_nor_kill(*create(base_spec(), backend.get()));
}

// Lower item of issue 12: the sandbox can replace its agent.sock (its run/ directory is
// writable inside) with a symlink to any host socket. The host must not connect there: it
// sends nothing, but connecting alone starts a socket-activated service.
TEST_F(DockerAttackTest, ASymlinkedAgentSocketIsNotFollowed) {
  hutch::test::TempDir host_dir("hutch-host-socket-");
  const auto host_socket = host_dir.path() / "service.sock";
  agent::UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, host_socket.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);

  auto sandbox = create();
  const std::string run = kAgentRunDirInContainer;
  ASSERT_EQ(sh(*sandbox, "ln -s " + host_socket.string() + " " + run + "/link && mv -f " + run + "/link " + run +
                             "/" + kAgentSocketName)
                .exit_code,
            0);
  const auto error = hutch::test::error_of([&] { sh(*sandbox, "true"); });
  EXPECT_EQ(error.code(), Errc::permission_denied) << error.what();
  EXPECT_NE(std::string(error.what()).find("not a socket"), std::string::npos) << error.what();
  agent::UniqueFd connection(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_FALSE(connection) << "the host connected to " << host_socket << " through the sandbox's symlink";
}

// Lower item of issue 12: root in the sandbox can leave a setuid-root program in its run/
// directory, a host directory. No other host user may reach it: every directory above run/
// is private to the user that runs hutch.
TEST_F(DockerAttackTest, ASetuidFileInRunIsOutOfOtherUsersReach) {
  HUTCH_NEED(::geteuid() == 0 && ::access("/usr/bin/setpriv", X_OK) == 0, "HUTCH_REQUIRE_DOCKER",
             "root (to act as another user) and setpriv");
  auto sandbox = create();
  const std::string planted = std::string(kAgentRunDirInContainer) + "/rootshell";
  ASSERT_EQ(sh(*sandbox, "cp /bin/busybox " + planted + " && chmod 4755 " + planted).exit_code, 0);
  const auto on_host = agent_dir_of(*sandbox) / "rootshell";
  struct stat info {};
  ASSERT_EQ(::stat(on_host.c_str(), &info), 0) << on_host;
  ASSERT_TRUE(info.st_mode & S_ISUID) << "the planted file is not setuid; the test proves nothing";
  // Through sh: setpriv itself execs with root's capabilities still in effect.
  const std::string command = "setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c '" + on_host.string() +
                              " id -u' 2>&1; echo rc=$?";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  ::pclose(pipe);
  EXPECT_NE(output.find("Permission denied"), std::string::npos) << output;
  EXPECT_EQ(output.find("\n0\n"), std::string::npos) << "another host user became root: " << output;
}

// Finding 6: hutch cannot keep a sandbox from using up host root's inotify/fanotify quotas
// when the engine runs without user namespaces; `hutch backends` says so, and which setting
// fixes it, exactly when the engine says userns-remap is off.
TEST_F(DockerAttackTest, WarnsWhenTheEngineRunsWithoutUserNamespaces) {
  Request request;
  request.target = "/info";
  const auto info = backend_->context()->client->call_json(request).as_object();
  bool userns = false;
  for (const auto& option : info.at("SecurityOptions").as_array())
    userns = userns || std::string_view(option.as_string()).starts_with("name=userns");
  const auto warnings = backend_->warnings();
  bool warned = false;
  for (const auto& warning : warnings) warned = warned || warning.find("userns-remap") != std::string::npos;
  EXPECT_EQ(warned, !userns) << "SecurityOptions: " << boost::json::serialize(info.at("SecurityOptions"));
}

}  // namespace
}  // namespace hutch::docker::test
