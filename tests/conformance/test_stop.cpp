// Handle::stop and Handle::start (capability `stop`): a stopped sandbox keeps its files and
// runs nothing, start brings it back (its main command too), resume finds it stopped, and
// stopping is graceful: SIGTERM first, SIGKILL only after the spec's stop_grace. Without the
// capability both verbs fail with Errc::unsupported.
#include "fixture.hpp"

#include <thread>

namespace hutch::conformance {
namespace {

HUTCH_CONFORMANCE_SUITE(StopStart);

using Clock = std::chrono::steady_clock;

// Waits until `path` exists in the sandbox (a command announced that it is ready).
::testing::AssertionResult wait_for_file(Handle& sandbox, const std::string& path) {
  auto give_up = Clock::now() + 30s;
  while (Clock::now() < give_up) {
    if (sandbox.fs().exists(path)) return ::testing::AssertionSuccess();
    std::this_thread::sleep_for(20ms);
  }
  return ::testing::AssertionFailure() << path << " did not appear within 30 s";
}

TEST_P(StopStart, StopKeepsFilesAndStartRunsCommandsAgain) {
  auto sandbox = create();
  if (!caps().stop) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->stop(); }));
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->start(); }));
    return;
  }
  make_work_dir(*sandbox);
  sandbox->fs().write(work_path("kept"), "still here");
  sandbox->stop();
  EXPECT_EQ(sandbox->info().state, SandboxState::stopped);
  EXPECT_TRUE(throws_errc(Errc::state, [&] { run(*sandbox, cmd().print_stdout("x")); }));
  sandbox->stop();  // stopping a stopped sandbox does nothing

  // Another handle (as another process would get) finds it stopped, and can start it.
  auto resumed = backend().resume(sandbox->id());
  EXPECT_EQ(resumed->info().state, SandboxState::stopped);
  resumed->start();
  EXPECT_EQ(resumed->info().state, SandboxState::running);
  EXPECT_EQ(resumed->fs().read(work_path("kept")), "still here");
  auto result = run(*resumed, cmd().cat_file(work_path("kept")));
  EXPECT_EQ(result.exit_code, 0) << result.stderr_data;
  EXPECT_EQ(result.stdout_data, "still here");
  // The handle that stopped it sees it running again too.
  EXPECT_EQ(run(*sandbox, cmd().print_stdout("again")).stdout_data, "again\n");
  resumed->start();  // starting a running sandbox does nothing
}

TEST_P(StopStart, StopLetsATermTrapFinish) {
  if (!caps().stop) GTEST_SKIP() << "no stop capability (StopKeepsFilesAndStartRunsCommandsAgain checks the refusal)";
  auto spec = base_spec();
  spec.stop_grace = 20s;
  auto sandbox = create(spec);
  make_work_dir(*sandbox);
  auto trap = sandbox->spawn(request(cmd().on_term_write(work_path("ready"), work_path("done"))));
  ASSERT_TRUE(wait_for_file(*sandbox, work_path("ready")));
  auto started = Clock::now();
  sandbox->stop();
  // Done as soon as the trap is: long before the grace.
  EXPECT_LT(Clock::now() - started, 10s);
  sandbox->start();
  EXPECT_EQ(sandbox->fs().read(work_path("done")), "bye\n") << "the program that traps SIGTERM did not get to finish";
}

TEST_P(StopStart, StopKillsWhatIgnoresTermOnceTheGraceHasPassed) {
  if (!caps().stop) GTEST_SKIP() << "no stop capability (StopKeepsFilesAndStartRunsCommandsAgain checks the refusal)";
  auto spec = base_spec();
  spec.stop_grace = 1500ms;
  auto sandbox = create(spec);
  make_work_dir(*sandbox);
  auto stubborn = sandbox->spawn(request(cmd().ignore_term(work_path("ready"))));
  ASSERT_TRUE(wait_for_file(*sandbox, work_path("ready")));
  auto started = Clock::now();
  sandbox->stop();
  auto took = Clock::now() - started;
  EXPECT_GE(took, 1400ms) << "SIGKILL came before the grace had passed";
  EXPECT_LT(took, 15s) << "the program that ignores SIGTERM was not killed after the grace";
  EXPECT_EQ(sandbox->info().state, SandboxState::stopped);
  // It ended: its wait() returns (killed), it does not hang.
  auto result = stubborn->wait();
  EXPECT_FALSE(result.exit_code == 0 && result.signal == 0) << "the stubborn command exited normally";
}

TEST_P(StopStart, StartLaunchesTheMainCommandAgain) {
  if (!caps().stop || !caps().launch) GTEST_SKIP() << "needs the capabilities stop and launch";
  auto sandbox = create();
  ExecRequest main;
  main.argv = cmd().sleep(600);
  sandbox->launch(main);
  sandbox->stop();
  auto stopped = sandbox->info().main_command;
  ASSERT_TRUE(stopped.has_value());
  EXPECT_NE(stopped->state, MainCommandState::running);
  sandbox->start();
  auto again = sandbox->info().main_command;
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->state, MainCommandState::running);
  EXPECT_EQ(again->argv, main.argv);
}

TEST_P(StopStart, StopLetsTheMainCommandLogItsGoodbye) {
  if (!caps().stop || !caps().launch) GTEST_SKIP() << "needs the capabilities stop and launch";
  if (cmd().flavour() == Flavour::fake) GTEST_SKIP() << "the fake backend has no launch";
  auto spec = base_spec();
  spec.stop_grace = 20s;
  auto sandbox = create(spec);
  make_work_dir(*sandbox);
  ExecRequest main;
  main.argv = {"sh", "-c", "trap 'echo goodbye; exit 0' TERM; echo > \"$0\"; while :; do sleep 1; done",
               work_path("ready")};
  sandbox->launch(main);
  ASSERT_TRUE(wait_for_file(*sandbox, work_path("ready")));
  sandbox->stop();
  std::string log;
  sandbox->logs([&](std::string_view chunk) {
    log.append(chunk);
    return true;
  });
  // (A shell may also say that its sleep was "Terminated".)
  EXPECT_NE(log.find("goodbye\n"), std::string::npos) << "the main command's last output did not reach the log: " << log;
  auto ended = sandbox->info().main_command;
  ASSERT_TRUE(ended.has_value());
  EXPECT_EQ(ended->state, MainCommandState::exited);
  EXPECT_EQ(ended->exit_code, 0);
}

}  // namespace
}  // namespace hutch::conformance
