// Signals: SIGINT/SIGTERM/SIGHUP while hutch runs a command must not leave a sandbox behind.
// The handlers only write the signal number to a pipe; a watcher thread turns it into the
// action the caller registered (kill the running command), and the normal path then cleans up.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

namespace hutch::cli {

// Replaces the default SIGPIPE action (exit without cleanup) with a no-op handler, so a write
// to a closed stdout fails with EPIPE instead. A handler rather than SIG_IGN: handlers are
// reset by exec, so processes a backend starts still get the default.
void survive_broken_pipes();

class InterruptWatcher {
 public:
  // Installs the handlers (one watcher at a time). The third signal gets the default action,
  // so a user can still force hutch to stop if cleanup hangs.
  InterruptWatcher();
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  // Sets what to do on a signal; runs it at once if one has already arrived. Pass {} before
  // destroying what the action refers to: this waits for a running action to finish.
  void on_interrupt(std::function<void()> action);

  // The first signal received, or 0.
  int received_signal() const { return signal_.load(); }

 private:
  void watch();

  int pipe_read_ = -1;
  int pipe_write_ = -1;
  std::atomic<int> signal_{0};
  std::mutex mutex_;
  std::function<void()> action_;
  std::thread thread_;
};

}  // namespace hutch::cli
