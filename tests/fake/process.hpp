// FakeProcess: a command of the fake, interpreted on its own thread. Output goes through a
// bounded queue (the command blocks when the reader lags, as a pipe would); the request's
// output_limit is applied as the command writes, so memory stays bounded even when nobody
// reads; the timeout and kill() end the command at its next write, read or sleep.
#pragma once

#include "commands.hpp"

#include <hutch/process.hpp>

#include <functional>
#include <hutch/types.hpp>

#include <memory>
#include <string>
#include <thread>

namespace hutch::fake {

class RunState;

class FakeProcess final : public Process {
 public:
  // `on_end` runs once the command has ended, before wait() returns.
  FakeProcess(ExecRequest request, CommandContext context, std::string sandbox_id,
              std::function<void()> on_end = {});
  ~FakeProcess() override;

  std::optional<OutputChunk> read_output() override;
  void write_stdin(std::string_view data) override;
  void close_stdin() override;
  ExecResult wait() override;
  void kill(int signal = 9) override;

  // Shared with the owner of the sandbox so destroy() can end its commands.
  std::weak_ptr<RunState> state() const { return state_; }

 private:
  std::shared_ptr<RunState> state_;
  std::thread worker_;
};

// Ends a running command as kill(signal) would; no effect once it has ended.
void kill_run(RunState& state, int signal);
// SIGTERM as a real sandbox's stop sends it: ends the command, unless it traps SIGTERM (it is
// told) or ignores it (nothing happens).
void terminate_run(RunState& state);
// Waits until the command has ended or `deadline` passed; true when it has ended.
bool wait_run_ended(RunState& state, std::chrono::steady_clock::time_point deadline);

}  // namespace hutch::fake
