// The shepherd of a launch (the sandbox's main command), agent side. It asks the leader for
// the main command slot, waits until the previous main command is gone, starts the command,
// answers the host, and from then on depends on no connection: it pumps the command's output
// into the capped log, and records the start and the end in the status file (wire.hpp).
#pragma once

#include "command.hpp"
#include "unique_fd.hpp"
#include "wire.hpp"

namespace hutch::agent {

struct LaunchRequest {
  UniqueFd connection;
  UniqueFd stdin_file, log, rotated_log, status;
  wire::ExecMessage message;
};

// Runs in a shepherd (a subreaper child of the leader) that received a launch request.
// `notify_fd` is the leader's notice pipe (shepherd_notice.hpp). kStartMainSignal,
// kAbortMainSignal and SIGCHLD must be blocked. Exits once the command and everything it left
// running are gone.
[[noreturn]] void run_main_command(LaunchRequest request, int notify_fd, const CommandPolicy& policy);

}  // namespace hutch::agent
