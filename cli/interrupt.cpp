#include "interrupt.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace hutch::cli {

namespace {

constexpr int kWatchedSignals[] = {SIGINT, SIGTERM, SIGHUP};
constexpr unsigned char kStopWatching = 0;
// One signal is often delivered twice (`timeout` signals its child and then its process
// group), so only the third one gives up on cleaning up.
constexpr sig_atomic_t kSignalsThatForceExit = 3;

// Touched by the signal handler: plain sig_atomic_t is what an async-signal-safe handler may use.
volatile sig_atomic_t g_interrupt_pipe = -1;
volatile sig_atomic_t g_signals_received = 0;

void forward_signal_to_pipe(int signal_number) {
  const int saved_errno = errno;
  g_signals_received = g_signals_received + 1;  // C++20 deprecates ++ on a volatile
  if (g_signals_received >= kSignalsThatForceExit) {
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
  g_signals_received = 0;
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
  for (;;) {
    unsigned char byte = 0;
    const auto got = ::read(pipe_read_, &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || byte == kStopWatching) return;
    int expected = 0;
    signal_.compare_exchange_strong(expected, byte);
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
