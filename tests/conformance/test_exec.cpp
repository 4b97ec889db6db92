// Buffered exec: exit status, output streams, stdin, env, cwd, timeout, signals, output caps.
#include "fixture.hpp"

namespace hutch::conformance {
namespace {

HUTCH_CONFORMANCE_SUITE(Exec);

using Clock = std::chrono::steady_clock;

// spec.entrypoint replaces the image's: use_entrypoint puts it before argv (docker run's way),
// and info().defaults shows it; a plain request runs its argv as it is.
TEST_P(Exec, SpecEntrypointGoesBeforeTheArguments) {
  SandboxSpec spec = base_spec();
  spec.entrypoint = cmd().print_stdout("from-entrypoint");
  auto sandbox = create(spec);
  ExecRequest through_entrypoint = request({"more"});
  through_entrypoint.use_entrypoint = true;
  through_entrypoint.stdin_data = "";
  EXPECT_EQ(sandbox->exec(through_entrypoint).stdout_data, "from-entrypoint more\n");
  EXPECT_EQ(run(*sandbox, cmd().print_stdout("plain")).stdout_data, "plain\n");
  const auto defaults = sandbox->info().defaults;
  ASSERT_TRUE(defaults.has_value()) << "info() does not say what a command gets by default";
  EXPECT_EQ(defaults->entrypoint, *spec.entrypoint);
  EXPECT_TRUE(defaults->cmd.empty()) << "--entrypoint drops the image's Cmd";
}

TEST_P(Exec, ExitCodesAreReported) {
  auto sandbox = create();
  for (int code : {0, 1, 3, 42, 255}) {
    ExecResult result = run(*sandbox, cmd().exit_with(code));
    EXPECT_EQ(result.exit_code, code) << result.stderr_data;
    EXPECT_EQ(result.signal, 0);
    EXPECT_FALSE(result.timed_out);
    EXPECT_EQ(result.shell_status(), code);
  }
}

TEST_P(Exec, StdoutAndStderrAreSeparate) {
  auto sandbox = create();
  ExecResult out = run(*sandbox, cmd().print_stdout("to-stdout"));
  EXPECT_EQ(out.stdout_data, "to-stdout\n");
  EXPECT_EQ(out.stderr_data, "");
  ExecResult err = run(*sandbox, cmd().print_stderr("to-stderr"));
  EXPECT_EQ(err.stdout_data, "");
  EXPECT_EQ(err.stderr_data, "to-stderr\n");
  EXPECT_EQ(err.shell_status(), 0);
}

TEST_P(Exec, MissingCommandIsExit127NotAnError) {
  auto sandbox = create();
  ExecResult result;
  ASSERT_NO_THROW(result = run(*sandbox, cmd().missing_command()));
  EXPECT_EQ(result.shell_status(), 127);
}

TEST_P(Exec, EmptyArgvIsInvalidArgument) {
  auto sandbox = create();
  EXPECT_TRUE(throws_errc(Errc::invalid_argument, [&] { sandbox->exec(request({})); }));
}

TEST_P(Exec, StdinDataIsDeliveredAndClosed) {
  auto sandbox = create();
  ExecRequest req = request(cmd().cat_stdin());
  req.stdin_data = "hello\nworld\n";
  ExecResult result = sandbox->exec(req);
  EXPECT_EQ(result.stdout_data, "hello\nworld\n") << result.stderr_data;
  EXPECT_EQ(result.shell_status(), 0);
}

TEST_P(Exec, LargeStdinRoundTripsWithoutDeadlock) {
  auto sandbox = create();
  std::string data;
  for (int i = 0; data.size() < (1u << 20); ++i) data += "line " + std::to_string(i) + "\n";
  ExecRequest req = request(cmd().cat_stdin());
  req.stdin_data = data;
  ExecResult result = sandbox->exec(req);
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.stdout_data.size(), data.size());
  EXPECT_TRUE(result.stdout_data == data) << "stdout differs from stdin";
}

TEST_P(Exec, WithoutStdinDataTheCommandSeesEndOfInput) {
  auto sandbox = create();
  ExecResult result = sandbox->exec(request(cmd().cat_stdin(), 20s));
  EXPECT_FALSE(result.timed_out) << "exec left stdin open; `cat` waited for input";
  EXPECT_EQ(result.stdout_data, "");
  EXPECT_EQ(result.shell_status(), 0);
}

TEST_P(Exec, RequestEnvIsAddedToAndOverridesTheSandboxEnv) {
  SandboxSpec spec = base_spec();
  spec.env = {{"HUTCH_CONF_A", "spec-a"}, {"HUTCH_CONF_B", "spec-b"}};
  auto sandbox = create(spec);

  auto printenv = [&](const std::string& key) {
    ExecRequest req = request(cmd().print_env(key));
    req.env = {{"HUTCH_CONF_B", "request-b"}, {"HUTCH_CONF_C", "request-c"}};
    return sandbox->exec(req);
  };
  EXPECT_EQ(printenv("HUTCH_CONF_A").stdout_data, "spec-a\n");
  EXPECT_EQ(printenv("HUTCH_CONF_B").stdout_data, "request-b\n");
  EXPECT_EQ(printenv("HUTCH_CONF_C").stdout_data, "request-c\n");
  EXPECT_EQ(run(*sandbox, cmd().print_env("HUTCH_CONF_B")).stdout_data, "spec-b\n")
      << "a request's env must not change the sandbox's";
}

TEST_P(Exec, RequestCwdIsTheWorkingDirectory) {
  auto sandbox = create();
  std::string dir = work_path("cwd");
  sandbox->fs().mkdir(dir, true);
  ExecRequest req = request(cmd().print_cwd());
  req.cwd = dir;
  ExecResult result = sandbox->exec(req);
  EXPECT_EQ(result.stdout_data, dir + "\n") << result.stderr_data;
}

TEST_P(Exec, TimeoutEndsTheCommandPromptly) {
  auto sandbox = create();
  auto started = Clock::now();
  ExecResult result = sandbox->exec(request(cmd().sleep(60), 1s));
  auto elapsed = Clock::now() - started;
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.shell_status(), 124);
  EXPECT_GE(elapsed, 900ms) << "returned before the timeout";
  EXPECT_LT(elapsed, 15s) << "the call did not return promptly after the timeout";
}

TEST_P(Exec, DurationIsMeasured) {
  auto sandbox = create();
  ExecResult result = run(*sandbox, cmd().sleep(1));
  EXPECT_EQ(result.shell_status(), 0) << result.stderr_data;
  EXPECT_GE(result.duration, 900ms);
  EXPECT_LT(result.duration, 30s);
}

TEST_P(Exec, DeathBySignalIs128PlusN) {
  auto sandbox = create();
  for (int signal : {9, 15}) {
    ExecResult result = run(*sandbox, cmd().kill_self(signal));
    EXPECT_EQ(result.signal, signal) << result.stderr_data;
    EXPECT_FALSE(result.timed_out);
    EXPECT_EQ(result.shell_status(), 128 + signal);
  }
}

TEST_P(Exec, OutputBeyondTheLimitIsDroppedAndFlagged) {
  auto sandbox = create();
  ExecRequest req = request(cmd().flood(1u << 20));
  req.output_limit = 64 * 1024;
  ExecResult result = sandbox->exec(req);
  EXPECT_EQ(result.shell_status(), 0) << "hitting the output limit must not kill the command";
  EXPECT_TRUE(result.stdout_truncated);
  EXPECT_FALSE(result.stderr_truncated);
  ASSERT_EQ(result.stdout_data.size(), req.output_limit) << "the first output_limit bytes are kept";
  for (std::size_t i = 0; i < result.stdout_data.size(); ++i)
    ASSERT_EQ(result.stdout_data[i], i % 2 == 0 ? 'y' : '\n') << "at byte " << i;
}

TEST_P(Exec, OutputWithinTheLimitIsWholeAndNotFlagged) {
  auto sandbox = create();
  ExecRequest req = request(cmd().flood(1000));
  req.output_limit = 64 * 1024;
  ExecResult result = sandbox->exec(req);
  EXPECT_EQ(result.stdout_data.size(), 1000u);
  EXPECT_FALSE(result.stdout_truncated);
  EXPECT_FALSE(result.stderr_truncated);
}

}  // namespace
}  // namespace hutch::conformance
