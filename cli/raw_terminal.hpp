// `hutch run -it` / `exec -it`: our terminal in raw mode while the command's terminal (in the
// sandbox) does the line editing, echo and signals — Ctrl-C is a byte that its terminal turns
// into SIGINT for the program in the sandbox, not a signal to hutch.
//
// The settings found are restored on every way out: the destructor (normal return, errors,
// timeouts, and the first SIGINT/SIGTERM/SIGHUP, which the InterruptWatcher turns into a
// normal return), and restore_terminal_now() from the paths that end hutch at once (a second
// signal, the cleanup deadline: interrupt.cpp). Only a SIGKILL leaves the terminal raw.
#pragma once

#include <termios.h>

namespace hutch::cli {

class RawTerminal {
 public:
  // Puts `fd` in raw mode when it is a terminal; otherwise does nothing.
  explicit RawTerminal(int fd);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  bool active() const { return active_; }

 private:
  int fd_;
  bool active_ = false;
};

// Restores the settings a live RawTerminal saved. Async-signal-safe (tcsetattr only): for the
// paths out of hutch that skip destructors.
void restore_terminal_now() noexcept;

}  // namespace hutch::cli
