// Graceful stop, stop and start against the real daemon: the agent (the container's PID 1)
// sends docker stop's SIGTERM on to every process and stays until they are gone, so a program
// that traps SIGTERM finishes; a sandbox stopped on purpose stays stopped when resumed.
#include "docker_fixture.hpp"
#include "error_of.hpp"
#include "host_files.hpp"
#include "term_scripts.hpp"

#include <chrono>
#include <thread>

namespace hutch::docker::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class DockerStopTest : public DockerTest {
 protected:
  // A backend that allows the bind of a host directory the sandbox sees at /shared.
  SandboxSpec spec_with_shared_dir(Duration grace) {
    shared_ = hutch::test::make_shared_dir(state_dir_.path());
    DockerConfig config;
    config.bind_allow = {shared_.string()};
    backend_ = make_backend(config);
    SandboxSpec spec = base_spec();
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

TEST_F(DockerStopTest, DestroyLetsAProgramThatTrapsTermFinish) {
  auto sandbox = create(spec_with_shared_dir(20s));
  auto process = start_until_ready(*sandbox, kTrapTermScript, shared_);
  auto started = Clock::now();
  sandbox->destroy();
  EXPECT_LT(Clock::now() - started, 10s) << "destroy waited for the grace although everything had ended";
  EXPECT_EQ(read_file(shared_ / "done"), "bye\n") << "the program that traps SIGTERM was killed before it could finish";
}

TEST_F(DockerStopTest, DestroyKillsWhatIgnoresTermOnceTheGraceHasPassed) {
  auto sandbox = create(spec_with_shared_dir(1500ms));
  auto process = start_until_ready(*sandbox, kIgnoreTermScript, shared_);
  auto started = Clock::now();
  sandbox->destroy();
  auto took = Clock::now() - started;
  EXPECT_GE(took, 1400ms) << "SIGKILL came before the grace had passed";
  EXPECT_LT(took, 15s);
}

TEST_F(DockerStopTest, ResumeLeavesASandboxStoppedOnPurposeStopped) {
  auto sandbox = create();
  // In the container's own filesystem, which stop keeps (Podman's image root is 0555, so /tmp).
  ASSERT_EQ(sh(*sandbox, "echo kept > /tmp/kept && echo ok").stdout_data, "ok\n");
  sandbox->stop();
  auto resumed = make_backend(DockerConfig{})->resume(sandbox->id());
  EXPECT_EQ(resumed->info().state, SandboxState::stopped);
  EXPECT_EQ(hutch::test::error_of([&] { sh(*resumed, "true"); }).code(), Errc::state);
  resumed->start();
  EXPECT_EQ(sh(*resumed, "cat /tmp/kept").stdout_data, "kept\n");
}

// Before, prune judged idleness by the start of the last command: a command that ran longer
// than the idle timeout had its sandbox removed under it. The agent now holds it.
TEST_F(DockerStopTest, PruneLeavesASandboxWhoseCommandOutlastsItsIdleTimeout) {
  auto spec = base_spec();
  spec.idle_timeout = std::chrono::seconds(1);
  auto sandbox = create(spec);
  ExecRequest request;
  request.argv = {"sleep", "4"};
  auto command = sandbox->spawn(request);
  std::this_thread::sleep_for(2500ms);
  EXPECT_TRUE(backend_->prune(this_run(::testing::UnitTest::GetInstance()->current_test_info()->name())).empty())
      << "prune removed a sandbox while its command ran";
  EXPECT_EQ(sandbox->info().state, SandboxState::running);
  EXPECT_EQ(command->wait().exit_code, 0);
}

}  // namespace
}  // namespace hutch::docker::test
