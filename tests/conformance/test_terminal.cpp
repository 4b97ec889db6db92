// Commands on a terminal (ExecRequest::tty, Process::resize) where capabilities().tty says so;
// elsewhere a tty request is Errc::unsupported.
#include "fixture.hpp"

namespace hutch::conformance {
namespace {

HUTCH_CONFORMANCE_SUITE(Terminal);

// Reads the terminal's output until it holds `expected` (a terminal echoes input and ends
// lines with \r\n, so whole output is not compared); fails when the stream ends first.
::testing::AssertionResult read_until(Process& process, std::string& seen, const std::string& expected) {
  while (seen.find(expected) == std::string::npos) {
    auto chunk = process.read_output();
    if (!chunk) return ::testing::AssertionFailure() << "output ended before '" << expected << "': '" << seen << "'";
    if (chunk->stream != StreamId::stdout_stream)
      return ::testing::AssertionFailure() << "a terminal's output came on stderr: " << chunk->data;
    seen += chunk->data;
  }
  return ::testing::AssertionSuccess();
}

TEST_P(Terminal, CommandGetsATerminalOfTheAskedSizeThatFollowsResizes) {
  auto sandbox = create();
  ExecRequest tty_request = request(cmd().terminal_sizes());
  tty_request.tty = true;
  tty_request.tty_cols = 101;
  tty_request.tty_rows = 33;
  if (!caps().tty) {
    EXPECT_TRUE(throws_errc(Errc::unsupported, [&] { sandbox->spawn(tty_request); }));
    return;
  }
  auto process = sandbox->spawn(tty_request);
  std::string seen;
  process->write_stdin("\n");
  ASSERT_TRUE(read_until(*process, seen, "tty 33 101"));
  process->resize(120, 40);
  process->write_stdin("\n");
  ASSERT_TRUE(read_until(*process, seen, "tty 40 120"));
  process->write_stdin("q\n");
  while (process->read_output()) {
  }
  EXPECT_EQ(process->wait().shell_status(), 0);
}

TEST_P(Terminal, CtrlCInterruptsTheForegroundCommand) {
  if (!caps().tty) GTEST_SKIP() << "capabilities().tty is false (CommandGetsATerminal... checks the refusal)";
  auto sandbox = create();
  // ^C (a byte on the terminal) is SIGINT for the terminal's foreground group: sleep ends; the
  // outer shell, which traps it, goes on. "ready" comes from the process that becomes sleep, so
  // a ^C that comes before the exec ends it just the same.
  ExecRequest tty_request = request(
      {"sh", "-c", "trap 'echo interrupted' INT; sh -c 'echo ready; exec sleep 60'; echo after-sleep $?"});
  tty_request.tty = true;
  auto process = sandbox->spawn(tty_request);
  std::string seen;
  ASSERT_TRUE(read_until(*process, seen, "ready"));
  const auto before = std::chrono::steady_clock::now();
  process->write_stdin("\x03");
  ASSERT_TRUE(read_until(*process, seen, "after-sleep 130"));
  EXPECT_LT(std::chrono::steady_clock::now() - before, 10s) << "sleep did not end at ^C";
  while (process->read_output()) {
  }
  EXPECT_EQ(process->wait().shell_status(), 0);
}

TEST_P(Terminal, ResizeWithoutATerminalIsAStateError) {
  if (!caps().tty) GTEST_SKIP() << "capabilities().tty is false";
  auto sandbox = create();
  auto process = sandbox->spawn(request(cmd().sleep(60)));
  EXPECT_TRUE(throws_errc(Errc::state, [&] { process->resize(80, 24); }));
  process->kill();
  process->wait();
}

}  // namespace
}  // namespace hutch::conformance
