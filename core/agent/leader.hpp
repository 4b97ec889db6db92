// PID 1 of a sandbox: reaps zombies and runs commands sent over the control socket.
#pragma once

#include "command.hpp"

namespace sbx::agent {

// Serves `listen_fd` until killed. One shepherd (a subreaper) and its command process are kept
// forked ahead, the command process parked in accept(): a request wakes only it, and it
// becomes the command. The shepherd reports the command's wait status on the request's
// connection and the leader forks the next pair. Single-threaded: poll() over a signalfd and
// a pipe on which shepherds say that their command took a request.
// A launch request is carried out by its shepherd (main_command.hpp); the leader only decides
// when it may start (main_slot.hpp).
[[noreturn]] void run_leader(int listen_fd, const CommandPolicy& policy);

}  // namespace sbx::agent
