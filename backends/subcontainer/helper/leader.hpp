// PID 1 of a sandbox: reaps zombies and runs commands sent over the control socket.
#pragma once

#include "command.hpp"

namespace sbx::subcontainer::helper {

// Serves `listen_fd` until killed. Each request forks a shepherd (a subreaper that forks and
// waits for the command) and the shepherd reports the command's wait status on the request's
// connection. Single-threaded: poll() over the socket, the connections and a signalfd.
[[noreturn]] void run_leader(int listen_fd, const CommandPolicy& policy);

}  // namespace sbx::subcontainer::helper
