// The leader's bookkeeping of the sandbox's main command (launch): which shepherd runs it,
// which launches wait for it to be gone, and the stop in progress. Launches take the slot in
// the order they arrived, and only once the previous main command's whole tree is gone (its
// shepherd exits only then); of several waiting launches only the last one starts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>

namespace hutch::agent {

class MainSlot {
 public:
  // A launch's shepherd has its request and waits for kStartMainSignal.
  void queue(pid_t shepherd, std::uint32_t stop_grace_ms);
  // The leader reaped `pid` (any child).
  void reaped(pid_t pid);
  // Signals what is due now: SIGTERM to the current tree when a launch waits, SIGKILL once
  // the grace has passed (repeated until it is gone), the start of the next launch.
  void advance();
  // How long the leader may sleep before advance() has work again; -1: until an event.
  int poll_timeout_ms() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Waiting {
    pid_t shepherd;
    std::uint32_t stop_grace_ms;
  };

  pid_t current_ = -1;  // the shepherd of the running main command
  std::deque<Waiting> waiting_;
  bool stopping_ = false;
  Clock::time_point kill_at_{};
};

}  // namespace hutch::agent
