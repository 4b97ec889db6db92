// unset_then_exec_argv: the Podman path of Handle::set_env's unset, run by the host's /bin/sh
// exactly as the sandbox's shell runs it.
#include "engine_quirks.hpp"

#include <gtest/gtest.h>

#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace hutch::docker {
namespace {

// Runs argv with `env` as its whole environment; returns its stdout.
std::string run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    args.push_back(nullptr);
    envp.push_back(nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  return text;
}

TEST(UnsetThenExec, TheNamesAreGoneAndTheCommandKeepsItsArgumentsAndTheRest) {
  const std::vector<std::string> env{"GONE=1", "ALSO_GONE=2", "KEPT=3", "PATH=/usr/bin:/bin"};
  const auto argv = unset_then_exec_argv({"GONE", "ALSO_GONE", "$(touch /tmp/x)", "NOT_THERE"},
                                         {"/bin/sh", "-c", "printf '%s|' \"${GONE-unset}\" \"${ALSO_GONE-unset}\" \"$KEPT\" \"$1\" \"$2\"",
                                          "name", "two words", "-n"});
  EXPECT_EQ(run(argv, env), "unset|unset|3|two words|-n|");
  // No names: the command runs unchanged.
  EXPECT_EQ(run(unset_then_exec_argv({}, {"/bin/sh", "-c", "echo \"$GONE\""}), env), "1\n");
}

}  // namespace
}  // namespace hutch::docker
