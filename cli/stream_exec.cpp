#include "stream_exec.hpp"

#include "raw_terminal.hpp"
#include "stdin_pump.hpp"
#include "window_size.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>
#include <hutch/units.hpp>

#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <iostream>
#include <limits>
#include <optional>
#include <string_view>

namespace hutch::cli {

namespace {

// Writes everything; false when the reader is gone (EPIPE) or the fd is unusable.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

const char* name_of(StreamId stream) { return stream == StreamId::stdout_stream ? "stdout" : "stderr"; }

// Clears the watcher's action on every path out, before the Process it refers to goes away.
class InterruptAction {
 public:
  InterruptAction(InterruptWatcher& watcher, Process& process) : watcher_(watcher) {
    watcher_.on_interrupt([&process] { process.kill(SIGKILL); });
  }
  ~InterruptAction() { watcher_.on_interrupt({}); }
  InterruptAction(const InterruptAction&) = delete;
  InterruptAction& operator=(const InterruptAction&) = delete;

 private:
  InterruptWatcher& watcher_;
};

// Takes the command's output chunk by chunk: writes it to our fds or keeps it in `result`,
// up to the policy's cap per stream.
class OutputSink {
 public:
  OutputSink(const OutputPolicy& policy, Process& process, ExecResult& result)
      : policy_(policy), process_(process), result_(result) {}

  void take(StreamId stream, std::string_view data) {
    const bool is_stdout = stream == StreamId::stdout_stream;
    std::uint64_t& used = is_stdout ? stdout_used_ : stderr_used_;
    bool& truncated = is_stdout ? result_.stdout_truncated : result_.stderr_truncated;
    const std::uint64_t cap = policy_.max_output.value_or(std::numeric_limits<std::uint64_t>::max());
    const std::uint64_t room = cap - used;
    if (data.size() > room) {
      if (!truncated && !policy_.collect)
        std::cerr << "hutch: warning: the command's " << name_of(stream) << " passed --max-output "
                  << format_size(cap) << "; the rest of it is dropped" << std::endl;
      truncated = true;
      data = data.substr(0, static_cast<std::size_t>(room));
    }
    used += data.size();
    if (data.empty()) return;
    if (policy_.collect) {
      (is_stdout ? result_.stdout_data : result_.stderr_data).append(data);
      return;
    }
    if (reader_gone_) return;
    if (!write_all(is_stdout ? STDOUT_FILENO : STDERR_FILENO, data)) {
      // Like a shell pipeline: when our reader goes away, so does the writer.
      reader_gone_ = true;
      logger()->debug("output closed; stopping the command with SIGPIPE");
      process_.kill(SIGPIPE);
    }
  }

 private:
  const OutputPolicy& policy_;
  Process& process_;
  ExecResult& result_;
  std::uint64_t stdout_used_ = 0;
  std::uint64_t stderr_used_ = 0;
  bool reader_gone_ = false;
};

}  // namespace

StreamOutcome stream_process(Process& process, InterruptWatcher& watcher, bool forward_stdin,
                             const OutputPolicy& policy, bool tty) {
  const auto started = std::chrono::steady_clock::now();
  InterruptAction interrupt_action(watcher, process);
  // Declared before the pump: the terminal is restored once nothing reads it any more.
  std::optional<RawTerminal> raw_terminal;
  std::optional<WindowSizeForwarder> window_size;
  if (tty) {
    window_size.emplace(process, ::isatty(STDIN_FILENO) == 1 ? STDIN_FILENO : STDOUT_FILENO);
    if (forward_stdin) raw_terminal.emplace(STDIN_FILENO);
  }
  std::optional<StdinPump> stdin_pump;
  if (forward_stdin) stdin_pump.emplace(process);

  StreamOutcome outcome;
  ExecResult& kept = outcome.result;
  OutputSink sink(policy, process, kept);
  ExecResult ended;
  try {
    while (auto chunk = process.read_output()) sink.take(chunk->stream, chunk->data);
    ended = process.wait();
  } catch (const Error& error) {
    // Interrupted: the command was killed on our behalf, and a sandbox that did not confirm it
    // in time (its agent's processes stopped) is no reason to report anything but the signal.
    const int signal_number = watcher.received_signal();
    if (signal_number == 0) throw;
    logger()->warn("after signal {}: {}", signal_number, error.what());
    kept.signal = signal_number;
    kept.duration = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
    outcome.status = 128 + signal_number;
    return outcome;
  }
  sink.take(StreamId::stdout_stream, ended.stdout_data);
  sink.take(StreamId::stderr_stream, ended.stderr_data);
  stdin_pump.reset();

  if ((ended.stdout_truncated || ended.stderr_truncated) && !policy.collect)
    logger()->warn("the backend dropped part of the command's output (output limit reached)");
  kept.exit_code = ended.exit_code;
  kept.signal = ended.signal;
  kept.timed_out = ended.timed_out;
  kept.stdout_truncated = kept.stdout_truncated || ended.stdout_truncated;
  kept.stderr_truncated = kept.stderr_truncated || ended.stderr_truncated;
  // A backend that does not time its commands still gets an honest duration.
  kept.duration = ended.duration.count() != 0
                      ? ended.duration
                      : std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - started);
  outcome.status = ended.shell_status();
  if (const int signal_number = watcher.received_signal(); signal_number != 0) outcome.status = 128 + signal_number;
  return outcome;
}

}  // namespace hutch::cli
