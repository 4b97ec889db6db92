#include "stream_exec.hpp"

#include "raw_terminal.hpp"
#include "stdin_pump.hpp"
#include "window_size.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
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

int fd_of(StreamId stream) {
  return stream == StreamId::stdout_stream ? STDOUT_FILENO : STDERR_FILENO;
}

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

}  // namespace

int stream_process(Process& process, InterruptWatcher& watcher, bool forward_stdin, bool tty) {
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

  bool output_reader_gone = false;
  auto copy_out = [&](StreamId stream, std::string_view data) {
    if (data.empty() || output_reader_gone) return;
    if (!write_all(fd_of(stream), data)) {
      // Like a shell pipeline: when our reader goes away, so does the writer.
      output_reader_gone = true;
      logger()->debug("output closed; stopping the command with SIGPIPE");
      process.kill(SIGPIPE);
    }
  };

  ExecResult result;
  try {
    while (auto chunk = process.read_output()) copy_out(chunk->stream, chunk->data);
    result = process.wait();
  } catch (const Error& error) {
    // Interrupted: the command was killed on our behalf, and a sandbox that did not confirm it
    // in time (its agent's processes stopped) is no reason to report anything but the signal.
    const int signal_number = watcher.received_signal();
    if (signal_number == 0) throw;
    logger()->warn("after signal {}: {}", signal_number, error.what());
    return 128 + signal_number;
  }
  copy_out(StreamId::stdout_stream, result.stdout_data);
  copy_out(StreamId::stderr_stream, result.stderr_data);
  stdin_pump.reset();

  if (result.stdout_truncated || result.stderr_truncated)
    logger()->warn("the backend dropped part of the command's output (output limit reached)");
  if (const int signal_number = watcher.received_signal(); signal_number != 0)
    return 128 + signal_number;
  return result.shell_status();
}

}  // namespace hutch::cli
