// `hutch run -t` / `exec -t`: the command's terminal follows the size of ours. A SIGWINCH
// handler wakes a thread that reads our size (TIOCGWINSZ) and calls Process::resize.
#pragma once

#include <hutch/process.hpp>

#include <cstdint>
#include <optional>
#include <thread>
#include <utility>

namespace hutch::cli {

// The size of the terminal on `fd` as {cols, rows}; nullopt when it is not a terminal.
std::optional<std::pair<std::uint16_t, std::uint16_t>> terminal_size(int fd);

class WindowSizeForwarder {
 public:
  // Forwards the size of the terminal on `fd` to `process` on every SIGWINCH until destroyed
  // (one forwarder at a time). Does nothing when `fd` is not a terminal.
  WindowSizeForwarder(Process& process, int fd);
  ~WindowSizeForwarder();
  WindowSizeForwarder(const WindowSizeForwarder&) = delete;
  WindowSizeForwarder& operator=(const WindowSizeForwarder&) = delete;

 private:
  void watch();

  Process& process_;
  int fd_;
  int pipe_read_ = -1;
  int pipe_write_ = -1;
  std::thread thread_;
};

}  // namespace hutch::cli
