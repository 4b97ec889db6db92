// The main command's reaper: the process a launch's shepherd forks to start the sandbox's main
// command (main_command.hpp), in the commands' pid namespace where there is one.
//
// An orphan goes to the nearest subreaper of its own pid namespace and never crosses into the
// shepherd's (command_pid_namespace.hpp), so the subreaper that keeps what the command leaves
// (double forks included) in the command's tree must be inside: this reaper. Once the command
// ends, it kills what is left in its tree, reaps it, and ends as the command ended (the same
// exit code, or the same signal), so the shepherd reads the command's wait status from it. It
// blocks every signal: a stop's SIGTERM to the shepherd's tree reaches the command, not it.
#pragma once

#include <sys/types.h>

#include <functional>

namespace hutch::agent {

struct MainProcess {
  pid_t reaper = -1;   // the caller's child, which ends as the command does
  pid_t command = -1;  // the command, in the pids of the namespace it runs in
};

// Forks the reaper, which forks the command and calls `start_command` in it (which must exec
// or exit). Returns once the command's pid is known; reaper < 0 (errno set) when a fork failed.
MainProcess start_main_process(const std::function<void()>& start_command);

}  // namespace hutch::agent
