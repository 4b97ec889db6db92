// The fake's command interpreter. A fake sandbox runs no host program: exec and spawn
// interpret this small vocabulary, enough to test the Handle/Process contract:
//   echo ARGS...        ARGS joined by spaces, and a newline, on stdout
//   cat [FILE]          stdin (or FILE from the sandbox's Fs) to stdout
//   exit N              exits with status N
//   sleep SECONDS       sleeps (fractions allowed); a timeout or kill ends it
//   kill-self N         ends as if killed by signal N
//   yes-flood BYTES     writes BYTES bytes of "y\n" to stdout
//   printenv [K]        the value of K (exit 1 if unset), or every K=V
//   pwd                 the working directory
//   stderr TEXT...      TEXT joined by spaces, and a newline, on stderr
//   on-term READY DONE  writes READY, waits for SIGTERM, then writes "bye\n" to DONE, exits 0
//   ignore-term READY   writes READY, ignores SIGTERM and sleeps until killed
// Anything else exits 127 with "fake: command not found: NAME" on stderr, like a shell.
#pragma once

#include <hutch/fs.hpp>
#include <hutch/process.hpp>
#include <hutch/types.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hutch::fake {

// Where a command's input and output go. Each call may end the command (a kill or a
// timeout) by throwing an exception that is not a hutch::Error; commands let it pass.
class CommandIo {
 public:
  virtual ~CommandIo() = default;
  virtual void write(StreamId stream, std::string_view data) = 0;
  // The next piece of stdin; nullopt at end of input.
  virtual std::optional<std::string> read_stdin() = 0;
  virtual void sleep_for(std::chrono::duration<double> seconds) = 0;
  // From now on SIGTERM does not end the command: trapped, it is reported by wait_for_term;
  // ignored, it has no effect at all.
  virtual void ignore_term() = 0;
  // Traps SIGTERM and waits up to `limit` for it: true when it came.
  virtual bool wait_for_term(std::chrono::duration<double> limit) = 0;
};

struct CommandContext {
  Env env;          // the sandbox's env overlaid with the request's
  std::string cwd;  // absolute, inside the sandbox
  Fs* fs = nullptr; // the sandbox's files, for `cat FILE`
};

struct CommandOutcome {
  int exit_code = 0;
  int signal = 0;  // non-zero: ended "by signal N"
};

CommandOutcome run_command(const std::vector<std::string>& argv, const CommandContext& context,
                           CommandIo& io);

}  // namespace hutch::fake
