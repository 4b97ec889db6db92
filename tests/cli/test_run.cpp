// `hutch run` and `hutch exec`: exit status, live streams, stdin, timeouts, signals, cleanup.
#include "cli_fixture.hpp"

#include <signal.h>

#include <chrono>
#include <functional>
#include <thread>

namespace hutch::test {
namespace {

using RunTest = HutchCliTest;

TEST_F(RunTest, ExitCodeOfTheCommandIsTheExitCodeOfHutch) {
  const HutchResult result = hutch({"run", "--", "exit", "3"});
  EXPECT_EQ(result.exit_code, 3) << result.err;
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(hutch({"run", "exit", "0"}).exit_code, 0);
}

TEST_F(RunTest, TimeoutExits124Promptly) {
  const auto start = std::chrono::steady_clock::now();
  const HutchResult result = hutch({"run", "--timeout", "1s", "--", "sleep", "30"});
  EXPECT_EQ(result.exit_code, 124) << result.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST_F(RunTest, ConfiguredTimeoutApplies) {
  write_config("timeout = \"1s\"");
  EXPECT_EQ(hutch({"run", "sleep", "30"}).exit_code, 124);
}

TEST_F(RunTest, KilledBySignalExits128PlusSignal) {
  EXPECT_EQ(hutch({"run", "--", "kill-self", "9"}).exit_code, 137);
  EXPECT_EQ(hutch({"run", "--", "kill-self", "15"}).exit_code, 143);
}

TEST_F(RunTest, StdoutAndStderrStaySeparate) {
  const HutchResult out = hutch({"run", "--", "echo", "hello", "world"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, "hello world\n");
  EXPECT_EQ(out.err, "");

  const HutchResult err = hutch({"run", "--", "stderr", "oops"});
  EXPECT_EQ(err.exit_code, 0) << err.err;
  EXPECT_EQ(err.out, "");
  EXPECT_NE(err.err.find("oops"), std::string::npos) << err.err;
}

TEST_F(RunTest, CommandOptionsAfterTheCommandBelongToTheCommand) {
  // "-e" and "--json" after CMD are arguments of CMD, not options of hutch.
  const HutchResult result = hutch({"run", "echo", "-e", "--json"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "-e --json\n");
}

TEST_F(RunTest, LogsNeverReachStdout) {
  const HutchResult result = hutch({"--log-level", "trace", "run", "--", "echo", "only this"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "only this\n");
  // Logs were written, and went to stderr.
  EXPECT_NE(result.err.find("created sandbox"), std::string::npos) << result.err;
}

TEST_F(RunTest, LargeOutputArrivesWhole) {
  const std::size_t bytes = 5 * 1024 * 1024;
  const HutchResult result = hutch({"run", "--", "yes-flood", std::to_string(bytes)});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out.size(), bytes);
}

TEST_F(RunTest, EnvFromOptionsAndConfig) {
  write_config("", "[defaults.env]\nFROM_CONFIG = \"config-value\"\nBOTH = \"config\"\n");
  EXPECT_EQ(hutch({"run", "printenv", "FROM_CONFIG"}).out, "config-value\n");
  EXPECT_EQ(hutch({"run", "-e", "BOTH=cli", "printenv", "BOTH"}).out, "cli\n");
}

TEST_F(RunTest, WorkdirOfTheSandboxAndOfOneExec) {
  EXPECT_EQ(hutch({"run", "-w", "/work", "pwd"}).out, "/work\n");
  const std::string id = create({"--workdir", "/home"});
  EXPECT_EQ(hutch({"exec", id, "pwd"}).out, "/home\n");
  EXPECT_EQ(hutch({"exec", "-w", "/tmp", id, "pwd"}).out, "/tmp\n");
}

TEST_F(RunTest, StdinIsForwardedOnlyWithInteractive) {
  const HutchResult forwarded = hutch({"run", "-i", "--", "cat"}, "piped input\n");
  EXPECT_EQ(forwarded.exit_code, 0) << forwarded.err;
  EXPECT_EQ(forwarded.out, "piped input\n");

  const HutchResult closed = hutch({"run", "--", "cat"}, "not forwarded\n");
  EXPECT_EQ(closed.exit_code, 0) << closed.err;
  EXPECT_EQ(closed.out, "");
}

TEST_F(RunTest, SandboxIsDestroyedAfterwards) {
  EXPECT_EQ(hutch({"run", "exit", "7"}).exit_code, 7);
  EXPECT_EQ(hutch({"run", "kill-self", "9"}).exit_code, 137);
  EXPECT_TRUE(listed_ids().empty());
}

TEST_F(RunTest, KeepLeavesTheSandboxAndNamesItOnStderr) {
  const HutchResult result = hutch({"run", "--keep", "--", "echo", "kept"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "kept\n");
  const auto ids = listed_ids();
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_NE(result.err.find(ids[0]), std::string::npos) << result.err;
  EXPECT_EQ(hutch({"exec", ids[0], "echo", "still", "there"}).out, "still there\n");
}

// Starts `hutch run -- sleep 60`, waits until its sandbox exists, sends `signal_number`
// `times` times, and checks the exit status and that the sandbox is gone.
void expect_signal_cleans_up(const std::filesystem::path& config,
                             const std::function<std::vector<std::string>()>& listed_ids,
                             int signal_number, int times) {
  HutchProcess run({"--config", config.string(), "run", "--", "sleep", "60"}, "");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (listed_ids().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(listed_ids().size(), 1u) << "hutch run never created its sandbox";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  for (int i = 0; i < times; ++i) ASSERT_EQ(::kill(run.pid(), signal_number), 0);
  const HutchResult result = run.finish(std::chrono::seconds(30));
  EXPECT_EQ(result.exit_code, 128 + signal_number) << result.err;
  EXPECT_TRUE(listed_ids().empty()) << "the sandbox outlived hutch run";
}

TEST_F(RunTest, SigtermKillsTheCommandAndDestroysTheSandbox) {
  expect_signal_cleans_up(config(), [this] { return listed_ids(); }, SIGTERM, 1);
}

// `timeout` (and a process group kill after a direct kill) delivers a signal twice.
TEST_F(RunTest, RepeatedSigintStillDestroysTheSandbox) {
  expect_signal_cleans_up(config(), [this] { return listed_ids(); }, SIGINT, 2);
}

TEST_F(RunTest, ExecRunsInAnExistingSandboxWithItsOwnEnvAndStatus) {
  const std::string id = create({"-e", "SANDBOX_VAR=from-create"});
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(hutch({"exec", id, "--", "printenv", "SANDBOX_VAR"}).out, "from-create\n");
  EXPECT_EQ(hutch({"exec", "-e", "EXTRA=from-exec", id, "printenv", "EXTRA"}).out, "from-exec\n");
  EXPECT_EQ(hutch({"exec", id, "exit", "5"}).exit_code, 5);
  EXPECT_EQ(hutch({"exec", "--timeout", "1s", id, "sleep", "30"}).exit_code, 124);
  EXPECT_EQ(hutch({"exec", "-i", id, "cat"}, "into exec").out, "into exec");
  EXPECT_EQ(hutch({"exec", id, "kill-self", "9"}).exit_code, 137);
  const HutchResult dashes = hutch({"exec", id, "--", "echo", "--", "x"});
  EXPECT_EQ(dashes.out, "-- x\n") << dashes.err;
}

TEST_F(RunTest, ExecInUnknownSandboxIsAHutchError) {
  expect_hutch_error(hutch({"exec", "no-such-sandbox", "echo", "hi"}), {"no-such-sandbox"});
}

}  // namespace
}  // namespace hutch::test
