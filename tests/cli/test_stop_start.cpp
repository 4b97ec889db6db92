// stop, start, update and the lifetimes through the hutch command, each step a process of its
// own as users call it, on both real backends: a stopped sandbox keeps its files and runs
// again once started; a sandbox ends by itself once its ttl or idle timeout has passed —
// with its creator killed, and with no prune — and is listed `expired` until prune removes it.
#include "cli_fixture.hpp"
#include "namespaces.hpp"
#include "require.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <thread>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const fs::path kSubcontainerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-subcontainer.so";
const fs::path kDockerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-docker.so";

enum class Backend { subcontainer, docker };

class StopStartCliTest : public HutchCliTest, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override {
    HutchCliTest::SetUp();
    if (GetParam() == Backend::subcontainer) {
      HUTCH_NEED(user_namespaces_available() && fs::exists(kSubcontainerPlugin), "HUTCH_REQUIRE_NAMESPACES",
                 "user namespaces and the subcontainer plugin");
      // The sandbox's root (another host uid when hutch runs as root) walks down to its state.
      ::chmod(dir().c_str(), 0711);
    } else {
      const char* docker_host = std::getenv("DOCKER_HOST");
      const bool daemon = (docker_host != nullptr && *docker_host != '\0') || fs::exists("/var/run/docker.sock");
      HUTCH_NEED(daemon && fs::exists(kDockerPlugin), "HUTCH_REQUIRE_DOCKER", "a docker daemon and the docker plugin");
    }
  }

  // What a test made on docker is removed by id (`prune --all` would reach other tests'
  // sandboxes on the shared daemon); the subcontainer state is this test's own.
  void TearDown() override {
    for (const auto& id : made_) hutch({"--backend", plugin().string(), "rm", "-f", id});
    HutchCliTest::TearDown();
  }

  fs::path plugin() const { return GetParam() == Backend::subcontainer ? kSubcontainerPlugin : kDockerPlugin; }

  HutchResult on_backend(std::vector<std::string> args) {
    if (GetParam() == Backend::subcontainer) return hutch_on(plugin(), std::move(args));
    args.insert(args.begin(), {"--backend", plugin().string()});
    return hutch(std::move(args));
  }

  std::vector<std::string> image_options() const {
    if (GetParam() == Backend::subcontainer) return {};
    const char* image = std::getenv("HUTCH_DOCKER_TEST_IMAGE");
    return {"--image", image != nullptr && *image != '\0' ? image : "hutch-test-busybox:latest"};
  }

  // The label of this test's sandboxes: prune takes only these (tests run in parallel, and
  // another test's expired sandbox is not this one's to remove).
  std::string own_label() const { return "stop-start-cli=" + dir().filename().string(); }

  std::string create_sandbox(std::vector<std::string> options) {
    options.insert(options.begin(), "create");
    for (const auto& option : image_options()) options.push_back(option);
    options.insert(options.end(), {"--label", own_label()});
    const HutchResult result = on_backend(options);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    std::string id = result.out;
    if (!id.empty() && id.back() == '\n') id.pop_back();
    made_.push_back(id);
    return id;
  }

  // The "state" of `hutch --json inspect ID`.
  std::string state_of(const std::string& id) {
    const HutchResult result = on_backend({"--json", "inspect", id});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    const auto info = parse_json(result.out);
    return info.is_object() ? std::string(info.at("state").as_string()) : std::string();
  }

  // Polls the state until it is `wanted`; how long that took, or nullopt after `limit`.
  std::optional<Clock::duration> wait_for_state(const std::string& id, const std::string& wanted,
                                                std::chrono::seconds limit) {
    auto started = Clock::now();
    while (Clock::now() - started < limit) {
      if (state_of(id) == wanted) return Clock::now() - started;
      std::this_thread::sleep_for(100ms);
    }
    return std::nullopt;
  }

  std::vector<std::string> made_;
};

TEST_P(StopStartCliTest, StopKeepsFilesAndStartRunsCommandsAgain) {
  const std::string id = create_sandbox({});
  ASSERT_EQ(on_backend({"exec", id, "sh", "-c", "echo kept > /kept-file"}).exit_code, 0);
  const HutchResult stopped = on_backend({"stop", id});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_EQ(stopped.out, id + "\n");
  EXPECT_EQ(state_of(id), "stopped");
  expect_hutch_error(on_backend({"exec", id, "true"}), {id, "stopped"});
  const HutchResult started = on_backend({"start", id});
  EXPECT_EQ(started.exit_code, 0) << started.err;
  EXPECT_EQ(state_of(id), "running");
  const HutchResult read = on_backend({"exec", id, "cat", "/kept-file"});
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(read.out, "kept\n");
}

TEST_P(StopStartCliTest, IdleTimeoutWaitsForARunningCommandThenEndsTheSandbox) {
  const std::string id = create_sandbox({"--idle-timeout", "2s"});
  HutchProcess command({"--config", config().string(), "--backend", plugin().string(), "exec", id, "sleep", "5"}, "");
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(state_of(id), "running") << "the idle timeout ended the sandbox while a command ran";
  const HutchResult done = command.finish();
  EXPECT_EQ(done.exit_code, 0) << done.err;
  const auto ended = wait_for_state(id, "expired", 15s);
  ASSERT_TRUE(ended.has_value()) << "the sandbox did not end by itself after its idle timeout";
  EXPECT_GE(*ended, 1s) << "it ended sooner than its idle timeout after the command";
  // Listed until prune removes it.
  const HutchResult pruned = on_backend({"prune", "--label", own_label()});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_NE(pruned.out.find(id), std::string::npos) << pruned.out;
}

TEST_P(StopStartCliTest, TtlEndsASandboxWhoseCreatorWasKilled) {
  // `hutch run` owns its sandbox; killed, it removes nothing.
  std::vector<std::string> args{"--config", config().string(), "--backend", plugin().string(), "run", "--ttl", "3s",
                                "--label", own_label()};
  for (const auto& option : image_options()) args.push_back(option);
  args.insert(args.end(), {"--", "sleep", "100"});
  HutchProcess creator(args, "");
  // Until its sandbox is listed.
  std::string id;
  for (auto give_up = Clock::now() + 20s; id.empty() && Clock::now() < give_up; std::this_thread::sleep_for(100ms)) {
    const HutchResult listed = on_backend({"--json", "ls", "--label", own_label()});
    const auto ids = ids_listed_by(listed);
    if (!ids.empty()) id = ids.front();
  }
  ASSERT_FALSE(id.empty()) << "hutch run's sandbox never showed up";
  made_.push_back(id);
  ::kill(creator.pid(), SIGKILL);
  creator.finish();
  const auto ended = wait_for_state(id, "expired", 20s);
  EXPECT_TRUE(ended.has_value()) << "the sandbox outlived its ttl (state " << state_of(id) << ")";
  // prune --label takes only the sandboxes with that label.
  const HutchResult other = on_backend({"prune", "--label", own_label() + "-other"});
  EXPECT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(other.out.find(id), std::string::npos) << other.out;
  const HutchResult own = on_backend({"prune", "--label", own_label()});
  EXPECT_EQ(own.exit_code, 0) << own.err;
  EXPECT_NE(own.out.find(id), std::string::npos) << own.out;
}

TEST_P(StopStartCliTest, UpdateMovesTheTtl) {
  const std::string id = create_sandbox({"--ttl", "2s"});
  const HutchResult updated = on_backend({"update", id, "--ttl", "1h"});
  EXPECT_EQ(updated.exit_code, 0) << updated.err;
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(state_of(id), "running") << "the old ttl still ended the sandbox";
  const auto info = parse_json(on_backend({"--json", "inspect", id}).out);
  ASSERT_TRUE(info.is_object());
  EXPECT_TRUE(info.at("expires_at").is_string()) << "inspect --json shows no expires_at";
  expect_hutch_error(on_backend({"update", id}), {"nothing to change"});
}

INSTANTIATE_TEST_SUITE_P(Backends, StopStartCliTest, ::testing::Values(Backend::subcontainer, Backend::docker),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::subcontainer ? "Subcontainer" : "Docker";
                         });

}  // namespace
}  // namespace hutch::test
