#include "docker_fixture.hpp"

#include <gmock/gmock.h>

#include <thread>

namespace hutch::docker::test {
namespace {

TEST_P(DockerBothPathsTest, MissingProgramIs127) {
  auto sandbox = create();
  auto result = sandbox->exec(ExecRequest{{"no-such-program-xyz"}});
  EXPECT_EQ(result.shell_status(), 127) << result.stdout_data << result.stderr_data;
}

TEST_P(DockerBothPathsTest, ExecEnvCwdUser) {
  auto spec = base_spec();
  spec.env = {{"SANDBOX_VAR", "s"}, {"OVERRIDDEN", "sandbox"}};
  spec.workdir = "/tmp";
  auto sandbox = create(spec);
  EXPECT_EQ(sh(*sandbox, "pwd; echo $SANDBOX_VAR").stdout_data, "/tmp\ns\n");
  ExecRequest request;
  request.argv = {"sh", "-c", "pwd; id -u; echo $OVERRIDDEN $EXTRA"};
  request.env = {{"OVERRIDDEN", "exec"}, {"EXTRA", "x"}};
  request.cwd = "/etc";
  request.user = "1000:1000";
  auto result = sandbox->exec(request);
  EXPECT_EQ(result.stdout_data, "/etc\n1000\nexec x\n") << result.stderr_data;
}

TEST_P(DockerBothPathsTest, BufferedStdinLargerThanPipes) {
  auto sandbox = create();
  std::string input;
  for (int i = 0; i < 200000; ++i) input += std::to_string(i) + "\n";  // ~1.3 MB
  ExecRequest request;
  request.argv = {"cat"};
  request.stdin_data = input;
  request.timeout = std::chrono::seconds(60);
  auto result = sandbox->exec(request);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.stdout_data.size(), input.size());
  EXPECT_TRUE(result.stdout_data == input);
}

TEST_P(DockerBothPathsTest, NoStdinMeansEof) {
  auto sandbox = create();
  ExecRequest request;
  request.argv = {"cat"};
  request.timeout = std::chrono::seconds(20);
  auto result = sandbox->exec(request);
  EXPECT_FALSE(result.timed_out) << "cat waited for input that was never attached";
  EXPECT_EQ(result.exit_code, 0);
}

TEST_P(DockerBothPathsTest, OutputLimitTruncatesAndFlags) {
  auto sandbox = create();
  ExecRequest request;
  request.argv = {"sh", "-c", "yes abcdefghi | head -c 100000; yes E | head -c 10"};
  request.output_limit = 1000;
  auto result = sandbox->exec(request);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.stdout_data.size(), 1000u);
  EXPECT_TRUE(result.stdout_truncated);
  EXPECT_EQ(result.stderr_data.size(), 0u);
  EXPECT_FALSE(result.stderr_truncated);
}

TEST_P(DockerBothPathsTest, TimeoutKillsTheWholeTreeIncludingDoubleForks) {
  auto sandbox = create();
  ExecRequest request;
  // A double-forked grandchild in its own session, then the command blocks.
  request.argv = {"sh", "-c",
                  "setsid sh -c 'sleep 1000 & echo $! > /tmp/grandchild.pid; wait' & "
                  "(sleep 1000 &) ; sleep 1000"};
  request.timeout = std::chrono::milliseconds(1500);
  auto started = std::chrono::steady_clock::now();
  auto result = sandbox->exec(request);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.shell_status(), 124);
  // Nothing of the command is left: no sleep 1000 anywhere in the container.
  auto left = sh(*sandbox, "ps -o pid,args | grep 'sleep 1000' | grep -v grep | wc -l");
  EXPECT_EQ(left.stdout_data, "0\n") << sh(*sandbox, "ps -o pid,args").stdout_data;
}

TEST_P(DockerBothPathsTest, SpawnStreamsStdinAndOutput) {
  auto sandbox = create();
  ExecRequest request;
  request.argv = {"sh", "-c", "while read line; do echo got:$line; echo err:$line >&2; done; echo done"};
  auto process = sandbox->spawn(request);
  process->write_stdin("one\n");
  std::string out;
  std::string err;
  while (out.find("got:one\n") == std::string::npos) {
    auto chunk = process->read_output();
    ASSERT_TRUE(chunk) << "stream ended early";
    (chunk->stream == StreamId::stdout_stream ? out : err) += chunk->data;
  }
  process->write_stdin("two\n");
  process->close_stdin();
  process->close_stdin();  // idempotent
  EXPECT_THROW(process->write_stdin("late"), Error);
  while (auto chunk = process->read_output()) (chunk->stream == StreamId::stdout_stream ? out : err) += chunk->data;
  auto result = process->wait();
  EXPECT_EQ(out + result.stdout_data, "got:one\ngot:two\ndone\n");
  EXPECT_EQ(err + result.stderr_data, "err:one\nerr:two\n");
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(process->wait().exit_code, 0) << "wait is idempotent";
}

TEST_P(DockerBothPathsTest, KillEndsASpawnedTree) {
  auto sandbox = create();
  ExecRequest request;
  request.argv = {"sh", "-c", "(setsid sleep 1000 &); sleep 1000"};
  auto process = sandbox->spawn(request);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  process->kill(9);
  auto result = process->wait();
  EXPECT_EQ(result.signal, 9);
  EXPECT_EQ(result.shell_status(), 137);
  auto left = sh(*sandbox, "ps -o args | grep 'sleep 1000' | grep -v grep | wc -l");
  EXPECT_EQ(left.stdout_data, "0\n");
}

TEST_P(DockerBothPathsTest, KillRightAfterSpawnIsNotLost) {
  auto sandbox = create();
  ExecRequest request;
  request.argv = {"sleep", "600"};
  auto started = std::chrono::steady_clock::now();
  auto process = sandbox->spawn(request);
  process->kill(9);  // the command may not have started yet
  auto result = process->wait();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  EXPECT_EQ(result.signal, 9);
  EXPECT_FALSE(result.timed_out);
}

TEST_P(DockerBothPathsTest, TtyExecGetsATerminal) {
  auto sandbox = create();
  ExecRequest request;
  request.argv = {"sh", "-c", "[ -t 1 ] && echo tty"};
  request.tty = true;
  auto result = sandbox->exec(request);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.stdout_data.find("tty"), std::string::npos);
}

TEST_P(DockerBothPathsTest, ExitCodeAbove128IsAnExitCode) {
  auto sandbox = create();
  auto result = sh(*sandbox, "exit 137");
  EXPECT_EQ(result.shell_status(), 137);
  // The agent sees the real wait status. The exec API says only 137, for `exit 137` and for
  // SIGKILL alike, and the SDK contract (ExecResult::signal) reports it as signal 9 there.
  if (GetParam() == AgentMode::on) {
    EXPECT_EQ(result.exit_code, 137);
    EXPECT_EQ(result.signal, 0) << "an explicit exit status is not a signal";
  } else {
    EXPECT_EQ(result.signal, 9) << "the documented exec-API reading of 129..192";
    EXPECT_EQ(result.exit_code, -1);
  }
  auto highest = sh(*sandbox, "exit 192");
  EXPECT_EQ(highest.shell_status(), 192);
  auto above = sh(*sandbox, "exit 193");
  EXPECT_EQ(above.exit_code, 193) << "above 128+64 no signal exists: always an exit code";
  EXPECT_EQ(above.signal, 0);
  auto killed = sh(*sandbox, "kill -9 $$");
  EXPECT_EQ(killed.signal, 9);
  EXPECT_EQ(killed.shell_status(), 137);
}

TEST_P(DockerBothPathsTest, UserByNameFromTheSandboxPasswd) {
  auto sandbox = create();
  ExecRequest request;
  request.argv = {"sh", "-c", "id -u; id -g; echo $HOME"};
  request.user = "hutchuser";
  auto result = sandbox->exec(request);
  EXPECT_EQ(result.stdout_data, "1000\n1000\n/home\n") << result.stderr_data;
  request.user = "no-such-user";
  // A status of 126 (dockerd, the agent), or refused before it starts (Podman's exec API).
  try {
    EXPECT_NE(sandbox->exec(request).shell_status(), 0);
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument) << error.what();
    EXPECT_THAT(error.what(), ::testing::HasSubstr("unknown user 'no-such-user'"));
  }
}

TEST_P(DockerBothPathsTest, CommandsHaveOnlyTheConfiguredCapabilities) {
  DockerConfig config;
  config.cap_add = {"NET_BIND_SERVICE"};
  auto backend = make_backend(config);
  auto sandbox = create(base_spec(), backend.get());
  // CAP_NET_BIND_SERVICE is bit 10: 0x400, for root; nothing for another user.
  EXPECT_EQ(sh(*sandbox, "grep CapEff /proc/self/status").stdout_data, "CapEff:\t0000000000000400\n");
  ExecRequest request;
  request.argv = {"sh", "-c", "grep -E 'CapEff|CapBnd|NoNewPrivs' /proc/self/status"};
  request.user = "1000";
  auto result = sandbox->exec(request);
  EXPECT_EQ(result.stdout_data, "CapEff:\t0000000000000000\nCapBnd:\t0000000000000400\nNoNewPrivs:\t1\n");
}

INSTANTIATE_TEST_SUITE_P(Paths, DockerBothPathsTest, ::testing::Values(AgentMode::on, AgentMode::off), agent_mode_name);

}  // namespace
}  // namespace hutch::docker::test
