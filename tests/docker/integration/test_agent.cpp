// The agent path's own behaviour: the container's PID 1, its host directory, resume from
// another backend object, and who may talk to it. (Exec semantics of both paths: test_exec.cpp.)
#include "docker_fixture.hpp"
#include "labels.hpp"
#include "sandbox_agent.hpp"
#include "containers.hpp"

#include "agent/control_client.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <filesystem>
#include <thread>

namespace hutch::docker::test {
namespace {

TEST_F(DockerTest, AgentDirectoryIsPrivateAndRemovedWithTheSandbox) {
  auto sandbox = create();
  auto dir = agent_dir_of(*sandbox);
  ASSERT_FALSE(dir.empty()) << "no " << label::kAgentDir << " label";
  EXPECT_EQ(dir, state_dir_.path() / "docker" / sandbox->id() / "run");
  EXPECT_TRUE(std::filesystem::is_socket(dir / kAgentSocketName));
  for (const auto& private_dir : {dir.parent_path(), dir.parent_path().parent_path()}) {
    auto perms = std::filesystem::status(private_dir).permissions();
    EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_all)
        << private_dir << " must keep other host users out";
  }
  sandbox->destroy();
  EXPECT_FALSE(std::filesystem::exists(dir.parent_path())) << "destroy leaves " << dir.parent_path();
}

// Only run/ is mounted: the main command's log and status, and the activity marker, stay
// where a sandboxed process can neither read nor forge them.
TEST_F(DockerTest, MainCommandFilesStayOutOfTheSandbox) {
  ASSERT_TRUE(backend_->capabilities().launch);
  auto sandbox = create();
  ExecRequest request;
  request.argv = {"sh", "-c", "echo from-main; echo to-stderr >&2"};
  auto started = sandbox->launch(request);
  EXPECT_GT(started.pid, 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (sandbox->info().main_command->state == MainCommandState::running &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto ended = sandbox->info().main_command;
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->state, MainCommandState::exited);
  EXPECT_EQ(ended->exit_code, 0);
  std::string log;
  sandbox->logs([&](std::string_view chunk) { log.append(chunk); return true; });
  EXPECT_EQ(log, "from-main\nto-stderr\n");

  auto host_dir = agent_dir_of(*sandbox).parent_path();
  EXPECT_TRUE(std::filesystem::exists(host_dir / "main.log"));
  auto seen = sh(*sandbox, "ls -A /.hutch/run");
  // The socket, and the file where the agent records why the sandbox expired (lifetimes).
  EXPECT_EQ(seen.stdout_data, std::string(kAgentSocketName) + "\n" + kAgentExpiryName + "\n")
      << "the sandbox sees more than the socket and the expiry record";
}

// launch, logs and connect_port need the agent as the container's PID 1.
TEST_F(DockerTest, VerbsOfTheAgentAreUnsupportedWithoutIt) {
  DockerConfig config;
  config.agent = AgentMode::off;
  auto without_agent = make_backend(config);
  EXPECT_FALSE(without_agent->capabilities().launch);
  EXPECT_FALSE(without_agent->capabilities().connect_port);
  auto sandbox = create(base_spec(), without_agent.get());
  ExecRequest request;
  request.argv = {"true"};
  try {
    sandbox->launch(request);
    FAIL() << "launch without the agent did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("agent"), std::string::npos) << e.what();
  }
  try {
    sandbox->logs([](std::string_view) { return true; });
    FAIL() << "logs without the agent did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unsupported) << e.what();
  }
  try {
    ::close(sandbox->connect_port(8089));
    FAIL() << "connect_port without the agent did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unsupported) << e.what();
    EXPECT_NE(std::string(e.what()).find("agent"), std::string::npos) << e.what();
  }
}

// Handle::connect_port through the agent: its shepherd connects inside the container's network
// namespace (here network = "none": nothing outside could reach the port) and passes the
// socket back over the control connection.
TEST_F(DockerTest, ConnectPortReachesAServerThroughTheAgent) {
  ASSERT_TRUE(backend_->capabilities().connect_port) << "the agent connects to ports inside the sandbox";
  auto spec = base_spec();
  spec.network = NetworkMode::none;
  auto sandbox = create(spec);
  try {
    ::close(sandbox->connect_port(8089));
    ADD_FAILURE() << "connected to a port where nothing listens";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::io) << e.what();
    EXPECT_NE(std::string(e.what()).find("8089"), std::string::npos) << "the error names the port: " << e.what();
  }
  EXPECT_THROW(sandbox->connect_port(0), Error);
  ExecRequest request;
  request.argv = {"sh", "-c", "echo through-the-agent | busybox nc -l -p 8089"};
  auto server = sandbox->spawn(request);
  agent::UniqueFd socket;
  for (int attempt = 0; attempt < 200 && !socket; ++attempt) {
    try {
      socket.reset(sandbox->connect_port(8089));
    } catch (const Error& e) {
      ASSERT_EQ(e.code(), Errc::io) << e.what();
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ASSERT_TRUE(socket) << "the server in the sandbox never accepted";
  EXPECT_TRUE(::fcntl(socket.get(), F_GETFD) & FD_CLOEXEC) << "the socket must not leak into the host's children";
  std::string greeting;
  char buffer[64];
  ssize_t got;
  while ((got = ::read(socket.get(), buffer, sizeof buffer)) > 0) greeting.append(buffer, static_cast<std::size_t>(got));
  EXPECT_EQ(greeting, "through-the-agent\n");
  socket.reset();  // nc ends once its peer has closed
  server->wait();
  sandbox->stop();
  try {
    ::close(sandbox->connect_port(8089));
    ADD_FAILURE() << "connected to a port of a stopped sandbox";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::state) << e.what();
  }
}

TEST_F(DockerTest, ResumeFromANewBackendObjectUsesTheAgent) {
  auto sandbox = create();
  ASSERT_EQ(sh(*sandbox, "echo made > /tmp/mark").exit_code, 0);
  auto other = make_backend(DockerConfig{});
  auto resumed = other->resume(sandbox->id());
  auto result = sh(*resumed, "cat /tmp/mark; echo $$");
  EXPECT_EQ(result.stdout_data.substr(0, 5), "made\n") << result.stderr_data;
  ExecRequest request;
  request.argv = {"sleep", "600"};
  request.timeout = std::chrono::milliseconds(300);
  auto timed = resumed->exec(request);
  EXPECT_TRUE(timed.timed_out);
}

TEST_F(DockerTest, ResumeAfterARestartWaitsForTheNewAgent) {
  auto sandbox = create();
  auto dir = agent_dir_of(*sandbox);
  Request stop;
  stop.method = Method::post;
  stop.target = "/containers/" + sandbox->id() + "/stop?t=0";
  backend_->context()->client->call(stop);
  auto resumed = make_backend(DockerConfig{})->resume(sandbox->id());
  EXPECT_EQ(sh(*resumed, "echo again").stdout_data, "again\n");
  // The handle made before the restart finds the new PID 1 too.
  EXPECT_EQ(sh(*sandbox, "echo old handle").stdout_data, "old handle\n");
}

TEST_F(DockerTest, PruneRemovesTheAgentDirectory) {
  auto spec = base_spec();
  auto sandbox = create(spec);
  auto dir = agent_dir_of(*sandbox);
  // The ttl starts once the agent runs (a ttl in the spec this short would end the sandbox
  // before create() saw its agent); then the sandbox ends by itself and is listed expired.
  sandbox->set_lifetime({.ttl = std::chrono::milliseconds(1)});
  Filter filter;
  filter.labels = spec.labels;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  auto expired = [&] {
    auto listed = backend_->list(filter);
    return listed.size() == 1 && listed[0].state == SandboxState::expired;
  };
  while (!expired() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(expired()) << "the sandbox did not end at its ttl";
  auto removed = backend_->prune(filter);
  ASSERT_EQ(removed, std::vector<std::string>{sandbox->id()});
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_P(DockerBothPathsTest, PruneRemovesSandboxesIdleLongerThanTheirIdleTimeout) {
  using namespace std::chrono_literals;
  auto spec = base_spec();
  spec.idle_timeout = 3s;
  auto sandbox = create(spec);
  Filter filter;
  filter.labels = spec.labels;
  std::this_thread::sleep_for(2s);
  sandbox->fs().stat("/");  // an Fs call is activity too
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(backend_->prune(filter).empty()) << "pruned 2 s after its last use; idle_timeout is 3 s";
  EXPECT_EQ(sh(*sandbox, "echo used").stdout_data, "used\n");
  std::this_thread::sleep_for(3500ms);
  // With the agent, the sandbox ends itself at expiry (a graceful stop, slower on a busy host)
  // and prune then removes it; without, prune applies the timeout: either way, soon.
  std::vector<std::string> pruned = backend_->prune(filter);
  for (auto give_up = std::chrono::steady_clock::now() + 20s; pruned.empty() && std::chrono::steady_clock::now() < give_up;
       pruned = backend_->prune(filter))
    std::this_thread::sleep_for(200ms);
  EXPECT_EQ(pruned, std::vector<std::string>{sandbox->id()});
}

// A process inside the sandbox's pid namespace that reaches the socket (it is visible in the
// container at /.hutch/run) gets a refusal, not a command: it could otherwise ask for any user.
TEST_F(DockerTest, AgentRefusesClientsInsideTheSandbox) {
  auto sandbox = create();
  auto dir = agent_dir_of(*sandbox);
  auto inspect = inspect_container(*backend_->context(), sandbox->id());
  auto agent_pid = inspect.at("State").as_object().at("Pid").to_number<std::int64_t>();
  agent::UniqueFd pid_ns(::open(("/proc/" + std::to_string(agent_pid) + "/ns/pid").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(pid_ns) << std::strerror(errno);
  int answer[2];
  ASSERT_EQ(::pipe(answer), 0);
  const std::string socket_path = (dir / kAgentSocketName).string();
  pid_t child = ::fork();
  if (child == 0) {
    // setns(CLONE_NEWPID) places this process's children in the sandbox's pid namespace.
    if (::setns(pid_ns.get(), CLONE_NEWPID) != 0) ::_exit(2);
    pid_t inside = ::fork();
    if (inside == 0) {
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) ::_exit(3);
      char line[256];
      ssize_t n = ::read(fd, line, sizeof line);
      if (n > 0) (void)!::write(answer[1], line, static_cast<std::size_t>(n));
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(inside, &status, 0);
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 4);
  }
  ::close(answer[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  char line[256] = {};
  ssize_t n = ::read(answer[0], line, sizeof line - 1);
  ::close(answer[0]);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(line).rfind("E refused", 0), 0u) << line;
  EXPECT_EQ(sh(*sandbox, "echo still serving").stdout_data, "still serving\n");
}

// The host sends a command only to the container's PID 1: a socket served by anyone else
// (a sandboxed process could replace the socket file) is refused before anything is sent.
TEST(DockerAgentClient, RefusesASocketServedByAnotherProcess) {
  hutch::test::TempDir dir;
  const auto path = dir.path() / kAgentSocketName;
  agent::UniqueFd server(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(server.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(server.get(), 4), 0);
  agent::wire::ExecMessage message;
  message.argv = {"true"};
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  try {
    agent::send_exec_request(path, "hutch-test", message, null_fd, null_fd, null_fd, /*agent_pid=*/1);
    ADD_FAILURE() << "a request went to a socket that PID 1 does not serve";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::permission_denied) << e.what();
  }
  ::close(null_fd);
}

TEST(DockerAgentConfig, OnNeedsTheAgentBinary) {
  DockerConfig config;
  config.agent = AgentMode::on;
  config.agent_binary = "/nonexistent/hutch-agent";
  Endpoint local;
  local.path = "/var/run/docker.sock";
  try {
    choose_agent_binary(config, local);
    FAIL() << "no error for a missing agent binary";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::config);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/hutch-agent"), std::string::npos) << e.what();
  }
  config.agent = AgentMode::automatic;
  EXPECT_FALSE(choose_agent_binary(config, local)) << "auto falls back to the exec API";
  Endpoint tcp;
  tcp.kind = Endpoint::Kind::tcp;
  tcp.host = "127.0.0.1";
  tcp.port = 2375;
  config.agent_binary = HUTCH_AGENT_BINARY;
  EXPECT_FALSE(choose_agent_binary(config, tcp)) << "auto does not use the agent with a remote daemon";
  config.agent = AgentMode::on;
  EXPECT_THROW(choose_agent_binary(config, tcp), Error);
}

}  // namespace
}  // namespace hutch::docker::test
