#include "raw_terminal.hpp"

#include <hutch/error.hpp>

#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace hutch::cli {
namespace {

// What restore_terminal_now() puts back; read from signal handlers, hence plain globals.
termios g_saved{};
volatile sig_atomic_t g_saved_fd = -1;

}  // namespace

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  if (::isatty(fd) != 1) return;
  termios saved{};
  if (::tcgetattr(fd, &saved) != 0) throw_system_error("read the terminal's settings", errno);
  termios raw = saved;
  ::cfmakeraw(&raw);
  g_saved = saved;
  g_saved_fd = fd;
  if (::tcsetattr(fd, TCSANOW, &raw) != 0) {
    g_saved_fd = -1;
    throw_system_error("put the terminal in raw mode", errno);
  }
  active_ = true;
}

RawTerminal::~RawTerminal() {
  if (!active_) return;
  restore_terminal_now();
}

void restore_terminal_now() noexcept {
  const int fd = g_saved_fd;
  if (fd < 0) return;
  // TCSADRAIN: what the command wrote last reaches the screen in raw mode first.
  ::tcsetattr(fd, TCSADRAIN, &g_saved);
  g_saved_fd = -1;
}

}  // namespace hutch::cli
