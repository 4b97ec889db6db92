// Signals: SIGINT/SIGTERM/SIGHUP while hutch runs a command must not leave a sandbox behind,
// and one of them must be enough to end hutch. The handlers only write the signal number to a
// pipe; a watcher thread turns it into the action the caller registered (kill the running
// command), and the normal path then cleans up (destroys the sandbox of `hutch run`). That
// cleanup is bounded: the host gives a killed command's sandbox a short while to confirm
// (agent/exec_process.hpp), and should cleanup still hang, the watcher ends hutch once
// kCleanupDeadline has passed. A second signal (not the same one delivered twice) ends hutch
// at once.
#pragma once

#include <atomic>
#include <chrono>
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
  // How long cleanup may take after the first signal before hutch exits anyway (128 + signal).
  static constexpr std::chrono::seconds kCleanupDeadline{20};

  // Installs the handlers (one watcher at a time). A second signal gets the default action,
  // so a user can still force hutch to stop at once.
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
