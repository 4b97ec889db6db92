// The agent path's own behaviour: the container's PID 1, its host directory, resume from
// another backend object, and who may talk to it. (Exec semantics of both paths: test_exec.cpp.)
#include "docker_fixture.hpp"
#include "labels.hpp"
#include "sandbox_agent.hpp"

#include <filesystem>
#include <thread>

namespace sbx::docker::test {
namespace {

std::filesystem::path agent_dir_of(Handle& handle) {
  auto labels = handle.info().labels;
  auto dir = labels.find(label::kAgentDir);
  return dir == labels.end() ? std::filesystem::path() : std::filesystem::path(dir->second);
}

TEST_F(DockerTest, AgentDirectoryIsPrivateAndRemovedWithTheSandbox) {
  auto sandbox = create();
  auto dir = agent_dir_of(*sandbox);
  ASSERT_FALSE(dir.empty()) << "no " << label::kAgentDir << " label";
  EXPECT_EQ(dir.parent_path(), state_dir_.path() / "docker");
  EXPECT_TRUE(std::filesystem::is_socket(dir / kAgentSocketName));
  auto parent = std::filesystem::status(dir.parent_path()).permissions();
  EXPECT_EQ(parent & std::filesystem::perms::all, std::filesystem::perms::owner_all)
      << "the parent of the socket's directory must keep other host users out";
  sandbox->destroy();
  EXPECT_FALSE(std::filesystem::exists(dir)) << "destroy leaves " << dir;
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
  spec.ttl = std::chrono::milliseconds(1);
  auto sandbox = create(spec);
  auto dir = agent_dir_of(*sandbox);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Filter filter;
  filter.labels = spec.labels;
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
  EXPECT_EQ(backend_->prune(filter), std::vector<std::string>{sandbox->id()});
}

TEST(DockerAgentConfig, OnNeedsTheAgentBinary) {
  DockerConfig config;
  config.agent = AgentMode::on;
  config.agent_binary = "/nonexistent/sbx-agent";
  Endpoint local;
  local.path = "/var/run/docker.sock";
  try {
    choose_agent_binary(config, local);
    FAIL() << "no error for a missing agent binary";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::config);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/sbx-agent"), std::string::npos) << e.what();
  }
  config.agent = AgentMode::automatic;
  EXPECT_FALSE(choose_agent_binary(config, local)) << "auto falls back to the exec API";
  Endpoint tcp;
  tcp.kind = Endpoint::Kind::tcp;
  tcp.host = "127.0.0.1";
  tcp.port = 2375;
  config.agent_binary = SBX_AGENT_BINARY;
  EXPECT_FALSE(choose_agent_binary(config, tcp)) << "auto does not use the agent with a remote daemon";
  config.agent = AgentMode::on;
  EXPECT_THROW(choose_agent_binary(config, tcp), Error);
}

}  // namespace
}  // namespace sbx::docker::test
