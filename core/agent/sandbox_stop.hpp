// The end of a sandbox as its PID 1 (the leader, or hutch-agent in a container) carries it
// out: SIGTERM to every process, SIGKILL to what is left once the grace has passed, and done
// once nothing but PID 1 is left — so that a program that traps SIGTERM gets to finish its
// work (write its files, close its connections) before the sandbox stops.
//
// The host starts it with SIGTERM to PID 1 (subcontainer: through the leader's pidfd; docker:
// `docker stop`, whose own SIGKILL after the grace is the backstop); the sandbox's lifetime
// starts it itself (lifetime.hpp). Internal to the agent.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace hutch::agent {

class SandboxStop {
 public:
  // Sends SIGTERM to every process of the sandbox but the shepherds, which have it blocked and
  // are told to retire instead: each exits once its command has ended (and reported its
  // status) or, for the main command's, once the main command is gone, so its last output
  // still reaches the log. `shepherds`: every shepherd alive. grace_ms 0: SIGKILL at once.
  // A second call does nothing (a stop already runs; its grace stands).
  void begin(std::uint32_t grace_ms, const std::vector<pid_t>& shepherds);
  bool begun() const { return phase_ != Phase::idle; }
  // Called after the caller reaped its children. Once the grace has passed: SIGKILL to the
  // shepherds' command trees (their shepherds report them killed), a moment later to every
  // process left. True once no process but the caller is left.
  bool advance();
  // How long the caller may sleep before advance() has work again; -1 before begin().
  int poll_timeout_ms() const;

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase { idle, terminating, killing };
  Phase phase_ = Phase::idle;
  std::vector<pid_t> shepherds_;
  Clock::time_point kill_at_{};  // the end of the grace, then of the shepherds' time to report
};

}  // namespace hutch::agent
