// Streamed commands (Handle::spawn -> Process): live output, stdin, wait, kill, timeout.
#include "fixture.hpp"

namespace hutch::conformance {
namespace {

HUTCH_CONFORMANCE_SUITE(Spawn);

using Clock = std::chrono::steady_clock;

struct Collected {
  std::string out;
  std::string err;
};

// Reads chunks until the stream ends.
Collected read_all(Process& process) {
  Collected collected;
  while (auto chunk = process.read_output())
    (chunk->stream == StreamId::stdout_stream ? collected.out : collected.err) += chunk->data;
  return collected;
}

// Reads stdout chunks until `expected` has arrived; fails on stderr or end of stream.
::testing::AssertionResult read_stdout_until(Process& process, const std::string& expected) {
  std::string got;
  while (got.size() < expected.size()) {
    auto chunk = process.read_output();
    if (!chunk) return ::testing::AssertionFailure() << "stream ended after '" << got << "'";
    if (chunk->stream != StreamId::stdout_stream)
      return ::testing::AssertionFailure() << "unexpected stderr: " << chunk->data;
    got += chunk->data;
  }
  if (got != expected)
    return ::testing::AssertionFailure() << "got '" << got << "', expected '" << expected << "'";
  return ::testing::AssertionSuccess();
}

TEST_P(Spawn, OutputArrivesWhileTheCommandRuns) {
  if (!caps().stdin) GTEST_SKIP() << "capabilities().stdin is false: this test drives `cat`";
  auto sandbox = create();
  auto process = sandbox->spawn(request(cmd().cat_stdin()));
  // stdin stays open, so `cat` is still running when each echo comes back.
  process->write_stdin("ping\n");
  EXPECT_TRUE(read_stdout_until(*process, "ping\n"));
  process->write_stdin("pong\n");
  EXPECT_TRUE(read_stdout_until(*process, "pong\n"));
  process->close_stdin();
  Collected rest = read_all(*process);
  EXPECT_EQ(rest.out, "");
  ExecResult result = process->wait();
  EXPECT_EQ(result.shell_status(), 0) << rest.err;
}

TEST_P(Spawn, StdinIsWrittenAndClosed) {
  if (!caps().stdin) GTEST_SKIP() << "capabilities().stdin is false";
  auto sandbox = create();
  auto process = sandbox->spawn(request(cmd().cat_stdin()));
  process->write_stdin("abc");
  process->write_stdin("def");
  process->close_stdin();
  EXPECT_NO_THROW(process->close_stdin()) << "close_stdin must be idempotent";
  EXPECT_TRUE(throws_errc(Errc::state, [&] { process->write_stdin("late"); }))
      << "write_stdin after close_stdin";
  Collected output = read_all(*process);
  EXPECT_EQ(output.out, "abcdef");
  EXPECT_EQ(process->wait().shell_status(), 0) << output.err;
}

TEST_P(Spawn, StdinDataIsWrittenThenClosed) {
  auto sandbox = create();
  ExecRequest req = request(cmd().cat_stdin());
  req.stdin_data = "xyz";
  auto process = sandbox->spawn(req);
  Collected output = read_all(*process);
  EXPECT_EQ(output.out, "xyz");
  EXPECT_EQ(process->wait().shell_status(), 0) << output.err;
}

TEST_P(Spawn, ChunksAreTaggedWithTheirStream) {
  auto sandbox = create();
  auto process = sandbox->spawn(request(cmd().print_stderr("only-stderr")));
  process->close_stdin();
  Collected output = read_all(*process);
  EXPECT_EQ(output.err, "only-stderr\n");
  EXPECT_EQ(output.out, "");
  EXPECT_EQ(process->wait().shell_status(), 0);
}

TEST_P(Spawn, WaitReturnsOutputNotReadAndIsIdempotent) {
  auto sandbox = create();
  auto process = sandbox->spawn(request(cmd().print_stdout("unread")));
  process->close_stdin();
  ExecResult first = process->wait();
  EXPECT_EQ(first.stdout_data, "unread\n");
  EXPECT_EQ(first.shell_status(), 0);
  ExecResult second = process->wait();
  EXPECT_EQ(second.stdout_data, first.stdout_data);
  EXPECT_EQ(second.shell_status(), first.shell_status());
}

TEST_P(Spawn, KillRightAfterSpawnEndsTheCommand) {
  auto sandbox = create();
  auto process = sandbox->spawn(request(cmd().sleep(60)));
  auto started = Clock::now();
  process->kill(9);
  ExecResult result = process->wait();
  EXPECT_LT(Clock::now() - started, 15s) << "kill did not end the command promptly";
  EXPECT_EQ(result.signal, 9);
  EXPECT_EQ(result.shell_status(), 137);
  EXPECT_FALSE(result.timed_out);
}

TEST_P(Spawn, KillEndsACommandThatIsSurelyRunning) {
  if (!caps().stdin) GTEST_SKIP() << "capabilities().stdin is false: this test drives `cat`";
  auto sandbox = create();
  auto process = sandbox->spawn(request(cmd().cat_stdin()));
  process->write_stdin("running\n");
  ASSERT_TRUE(read_stdout_until(*process, "running\n"));
  auto started = Clock::now();
  process->kill(9);
  ExecResult result = process->wait();
  EXPECT_LT(Clock::now() - started, 15s) << "kill did not end the command promptly";
  EXPECT_EQ(result.signal, 9);
  EXPECT_EQ(result.shell_status(), 137);
}

TEST_P(Spawn, KillAfterExitChangesNothing) {
  auto sandbox = create();
  auto process = sandbox->spawn(request(cmd().exit_with(5)));
  process->close_stdin();
  ASSERT_EQ(process->wait().shell_status(), 5);
  EXPECT_NO_THROW(process->kill(9));
  EXPECT_EQ(process->wait().shell_status(), 5);
}

TEST_P(Spawn, TimeoutCountsFromSpawn) {
  auto sandbox = create();
  auto started = Clock::now();
  auto process = sandbox->spawn(request(cmd().sleep(60), 1s));
  ExecResult result = process->wait();
  auto elapsed = Clock::now() - started;
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.shell_status(), 124);
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 15s);
}

}  // namespace
}  // namespace hutch::conformance
