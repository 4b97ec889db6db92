#include "interrupt.hpp"

#include "raw_terminal.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <optional>
#include <utility>

namespace hutch::cli {

namespace {

constexpr int kWatchedSignals[] = {SIGINT, SIGTERM, SIGHUP};
constexpr unsigned char kStopWatching = 0;
// One signal is often delivered twice (`timeout` signals its child and then its process
// group, a terminal's Ctrl-C reaches the whole foreground group): signals this close to the
// first count as the first. A later one forces the exit.
constexpr std::int64_t kSameSignalWindowNs = 500'000'000;

// Touched by the signal handler: plain sig_atomic_t and clock_gettime are what an
// async-signal-safe handler may use.
volatile sig_atomic_t g_interrupt_pipe = -1;
volatile sig_atomic_t g_first_signal_seen = 0;
std::int64_t g_first_signal_ns = 0;  // written once, by the handler, before g_first_signal_seen

std::int64_t monotonic_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void forward_signal_to_pipe(int signal_number) {
  const int saved_errno = errno;
  if (!g_first_signal_seen) {
    g_first_signal_ns = monotonic_ns();
    g_first_signal_seen = 1;
  } else if (monotonic_ns() - g_first_signal_ns >= kSameSignalWindowNs) {
    restore_terminal_now();  // the default action skips every destructor
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
  }
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  if (g_interrupt_pipe >= 0) {
    [[maybe_unused]] auto written = ::write(g_interrupt_pipe, &byte, 1);
  }
  errno = saved_errno;
}

void do_nothing(int) {}

void set_handler(int signal_number, void (*handler)(int), int flags) {
  struct sigaction action = {};
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  if (::sigaction(signal_number, &action, nullptr) != 0)
    throw_system_error("installing a signal handler", errno);
}

}  // namespace

void survive_broken_pipes() { set_handler(SIGPIPE, do_nothing, SA_RESTART); }

InterruptWatcher::InterruptWatcher() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_system_error("creating the signal pipe", errno);
  pipe_read_ = fds[0];
  pipe_write_ = fds[1];
  // A flood of signals must never block the handler; the first one is all that matters.
  ::fcntl(pipe_write_, F_SETFL, O_NONBLOCK);
  g_interrupt_pipe = pipe_write_;
  g_first_signal_seen = 0;
  try {
    for (int signal_number : kWatchedSignals)
      set_handler(signal_number, forward_signal_to_pipe, SA_RESTART);
    // A signal that arrives before the thread runs waits in the pipe.
    thread_ = std::thread([this] { watch(); });
  } catch (...) {
    for (int signal_number : kWatchedSignals) ::signal(signal_number, SIG_DFL);
    g_interrupt_pipe = -1;
    ::close(pipe_read_);
    ::close(pipe_write_);
    throw;
  }
}

InterruptWatcher::~InterruptWatcher() {
  for (int signal_number : kWatchedSignals) ::signal(signal_number, SIG_DFL);
  g_interrupt_pipe = -1;
  const unsigned char stop = kStopWatching;
  while (::write(pipe_write_, &stop, 1) < 0 && errno == EINTR) {
  }
  thread_.join();
  ::close(pipe_read_);
  ::close(pipe_write_);
}

void InterruptWatcher::on_interrupt(std::function<void()> action) {
  std::lock_guard lock(mutex_);
  action_ = std::move(action);
  if (action_ && signal_.load() != 0) action_();
}

void InterruptWatcher::watch() {
  std::optional<std::chrono::steady_clock::time_point> give_up;
  for (;;) {
    int wait_ms = -1;
    if (give_up)
      wait_ms = static_cast<int>(std::max<std::int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(*give_up - std::chrono::steady_clock::now()).count()));
    pollfd readable{pipe_read_, POLLIN, 0};
    const int ready = ::poll(&readable, 1, wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      // Cleanup hangs (an engine that does not answer, ...): what was asked for is an exit.
      const int signal_number = signal_.load();
      static constexpr char kMessage[] = "hutch: cleanup after the signal did not finish in time; exiting\n";
      restore_terminal_now();
      [[maybe_unused]] auto written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
      ::_exit(128 + signal_number);
    }
    unsigned char byte = 0;
    const auto got = ::read(pipe_read_, &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || byte == kStopWatching) return;
    int expected = 0;
    signal_.compare_exchange_strong(expected, byte);
    if (!give_up) give_up = std::chrono::steady_clock::now() + kCleanupDeadline;
    std::lock_guard lock(mutex_);
    if (action_) {
      try {
        action_();
      } catch (...) {
        // The command may already have ended; the main path reports what happened to it.
      }
    }
  }
}

}  // namespace hutch::cli
