// `hutch exec` and `hutch run` against a sandbox whose agent does not answer (issue 12, finding
// 7), on the subcontainer backend: the start deadline, the timeout bounding the whole call, and
// one SIGTERM being enough to end hutch and remove a `run` sandbox. Nothing inside can stop the
// agent any more (its commands run in a pid namespace below it), so the host stops it here.
#include "cli_fixture.hpp"
#include "namespaces.hpp"
#include "require.hpp"
#include "sandbox_leaks.hpp"
#include "shepherd_attacks.hpp"

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <set>
#include <thread>

namespace hutch::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const fs::path kSubcontainerPlugin = fs::path(HUTCH_PLUGIN_OUTPUT_DIR) / "hutch-subcontainer.so";

class StoppedSandboxCliTest : public HutchCliTest {
 protected:
  void SetUp() override {
    HutchCliTest::SetUp();
    HUTCH_NEED(user_namespaces_available() && fs::exists(kSubcontainerPlugin), "HUTCH_REQUIRE_NAMESPACES",
               "user+mount namespaces and the subcontainer plugin");
    // The sandbox's root (another host uid when hutch runs as root) walks down to its state.
    ::chmod(dir().c_str(), 0711);
  }

  HutchResult on_subcontainer(std::vector<std::string> args) { return hutch_on(kSubcontainerPlugin, std::move(args)); }

  // The arguments that run `args` as on_subcontainer does, for a HutchProcess.
  std::vector<std::string> subcontainer_args(std::vector<std::string> args) {
    on_subcontainer({"ls"});  // registers the plugin for TearDown's prune
    args.insert(args.begin(), {"--config", config().string(), "--backend", kSubcontainerPlugin.string()});
    return args;
  }

  std::string create_sandbox() {
    const HutchResult created = on_subcontainer({"create"});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    return created.out.substr(0, created.out.size() - 1);
  }

  // Stops the agent of sandbox `id` from the host: its leader and the processes it forked
  // (the processes started with the sandbox's plan). Scanned again until a scan finds nothing
  // new: the leader may fork a spare shepherd between a scan and its own SIGSTOP, and that one
  // would serve the next exec.
  void stop_agent(const std::string& id) {
    std::set<pid_t> stopped;
    for (bool found_new = true; found_new;) {
      found_new = false;
      for (const LeftProcess& process : processes_started_in(dir() / "state")) {
        if (process.args.empty() || process.args.back().find("/" + id + "/plan") == std::string::npos) continue;
        if (!stopped.insert(process.pid).second) continue;
        ASSERT_EQ(::kill(process.pid, SIGSTOP), 0) << "stop " << process.pid;
        found_new = true;
      }
    }
    ASSERT_GE(stopped.size(), 2u) << "the leader and at least one shepherd of " << id;
  }

  std::vector<std::string> subcontainer_ids() { return ids_listed_by(on_subcontainer({"--json", "ls"})); }
};

TEST_F(StoppedSandboxCliTest, ExecEndsAtTheStartDeadlineOrTheTimeoutWithAnErrorNamingTheSandbox) {
  const std::string id = create_sandbox();
  stop_agent(id);
  if (HasFatalFailure()) return;

  auto start = Clock::now();
  const HutchResult short_deadline = on_subcontainer({"exec", "--start-timeout", "1s", id, "true"});
  EXPECT_LT(seconds_since(start), 5.0);
  expect_hutch_error(short_deadline, {id, "did not start"});

  start = Clock::now();
  const HutchResult timed_out = on_subcontainer({"exec", "--timeout", "3s", id, "true"});
  EXPECT_LT(seconds_since(start), 6.0) << "--timeout 3s held hutch much longer";
  expect_hutch_error(timed_out, {id, "timed out"});

  // Without either: the default start deadline (10 s), not for ever.
  start = Clock::now();
  const HutchResult by_default = on_subcontainer({"exec", id, "true"});
  EXPECT_LT(seconds_since(start), 20.0);
  expect_hutch_error(by_default, {id, "did not start"});
}

TEST_F(StoppedSandboxCliTest, OneSigtermEndsExecWhoseShepherdIsStopped) {
  const std::string id = create_sandbox();
  HutchProcess exec(subcontainer_args({"exec", id, "sh", "-c", kStopOwnShepherdScript}), "");
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the command runs and stops its shepherd
  ASSERT_EQ(::kill(exec.pid(), SIGTERM), 0);
  const HutchResult result = exec.finish(std::chrono::seconds(15));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
}

TEST_F(StoppedSandboxCliTest, OneSigtermEndsRunWhoseShepherdIsStoppedAndRemovesItsSandbox) {
  HutchProcess run(subcontainer_args({"run", "--", "sh", "-c", kStopOwnShepherdScript}), "");
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (subcontainer_ids().empty() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(subcontainer_ids().size(), 1u) << "hutch run never created its sandbox";
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the command runs and stops its shepherd
  ASSERT_EQ(::kill(run.pid(), SIGTERM), 0);
  const HutchResult result = run.finish(std::chrono::seconds(15));
  EXPECT_EQ(result.exit_code, 128 + SIGTERM) << result.err;
  EXPECT_TRUE(subcontainer_ids().empty()) << "the sandbox outlived hutch run";
}

}  // namespace
}  // namespace hutch::test
