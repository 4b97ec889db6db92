#include "window_size.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>

namespace hutch::cli {
namespace {

constexpr unsigned char kResized = 1;
constexpr unsigned char kStop = 0;
volatile sig_atomic_t g_resize_pipe = -1;

void on_window_change(int) {
  const int saved_errno = errno;
  const unsigned char byte = kResized;
  if (g_resize_pipe >= 0) [[maybe_unused]] auto written = ::write(g_resize_pipe, &byte, 1);
  errno = saved_errno;
}

}  // namespace

std::optional<std::pair<std::uint16_t, std::uint16_t>> terminal_size(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_col == 0 || size.ws_row == 0) return std::nullopt;
  return std::pair{size.ws_col, size.ws_row};
}

WindowSizeForwarder::WindowSizeForwarder(Process& process, int fd) : process_(process), fd_(fd) {
  if (::isatty(fd) != 1) return;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_system_error("create the window-size pipe", errno);
  pipe_read_ = fds[0];
  pipe_write_ = fds[1];
  // A burst of resizes must never block the handler: one byte in the pipe is enough.
  ::fcntl(pipe_write_, F_SETFL, O_NONBLOCK);
  g_resize_pipe = pipe_write_;
  struct sigaction action = {};
  action.sa_handler = on_window_change;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGWINCH, &action, nullptr);
  thread_ = std::thread([this] { watch(); });
}

WindowSizeForwarder::~WindowSizeForwarder() {
  if (pipe_read_ < 0) return;
  ::signal(SIGWINCH, SIG_DFL);
  g_resize_pipe = -1;
  const unsigned char stop = kStop;
  // Blocking for this one byte: the thread drains the pipe, so it cannot stay full.
  ::fcntl(pipe_write_, F_SETFL, 0);
  while (::write(pipe_write_, &stop, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
  ::close(pipe_read_);
  ::close(pipe_write_);
}

void WindowSizeForwarder::watch() {
  for (;;) {
    unsigned char byte = kStop;
    const auto got = ::read(pipe_read_, &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || byte == kStop) return;
    if (auto size = terminal_size(fd_)) {
      try {
        process_.resize(size->first, size->second);
      } catch (const std::exception& error) {
        logger()->debug("resizing the command's terminal failed: {}", error.what());
      }
    }
  }
}

}  // namespace hutch::cli
