// What shepherds tell the leader, and the signals the leader answers a launch with. Internal
// to the agent (leader.cpp, main_command.cpp, main_slot.cpp).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>

namespace sbx::agent {

// Written (atomically: smaller than PIPE_BUF) on the leader's pipe when a shepherd accepted a
// connection, so the leader forks the next one; a launch's shepherd writes a second one that
// asks for the main command slot.
struct ShepherdNotice {
  pid_t shepherd = 0;
  std::uint32_t stop_grace_ms = 0;  // launch: how long the replaced main command gets
  std::uint8_t launch = 0;
};

// Leader -> a launch's shepherd, once the previous main command is gone: start yours.
inline constexpr int kStartMainSignal = SIGUSR1;
// Leader -> a launch's shepherd: a later launch superseded yours before it started.
inline constexpr int kAbortMainSignal = SIGUSR2;

}  // namespace sbx::agent
