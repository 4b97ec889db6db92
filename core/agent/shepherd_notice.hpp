// What shepherds tell the leader, and the signals the leader answers a launch with. Internal
// to the agent (leader.cpp, main_command.cpp, main_slot.cpp).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>

namespace hutch::agent {

// Written (atomically: smaller than PIPE_BUF) on the leader's pipe by shepherds.
struct ShepherdNotice {
  enum class Kind : std::uint8_t {
    took,    // accepted a connection: no longer free
    free,    // served it and waits for the next one
    launch,  // its request is a launch: asks for the main command slot
    lifetime,  // its request set the sandbox's lifetimes (lifetime.hpp)
  };
  pid_t shepherd = 0;
  Kind kind = Kind::took;
  std::uint32_t stop_grace_ms = 0;  // launch: how long the replaced main command gets
  std::int64_t ttl_deadline_ms = 0;  // lifetime
  std::int64_t idle_timeout_ms = 0;  // lifetime
};

// Leader -> a launch's shepherd, once the previous main command is gone: start yours.
inline constexpr int kStartMainSignal = SIGUSR1;
// Leader -> a launch's shepherd: a later launch superseded yours before it started.
inline constexpr int kAbortMainSignal = SIGUSR2;
// Leader -> a free shepherd: another one is free already, exit. A shepherd that took a request
// meanwhile serves it first. Ignored by default, so it is harmless should it ever reach
// another process.
inline constexpr int kRetireSignal = SIGWINCH;

}  // namespace hutch::agent
