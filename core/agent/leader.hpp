// PID 1 of a sandbox: reaps zombies and runs commands sent over the control socket.
#pragma once

#include "command.hpp"

namespace hutch::agent {

// Serves `listen_fd` until killed. One shepherd (a subreaper) is kept forked ahead, parked in
// accept(): a request wakes only it; it tells the leader to fork the next one, starts the
// command and reports its wait status on the request's connection. Single-threaded: poll()
// over a signalfd and a pipe on which shepherds say that they took a request.
// A launch request is carried out by its shepherd (main_command.hpp); the leader only decides
// when it may start (main_slot.hpp).
// The caller must have applied confine_leader(policy) (command.hpp); otherwise this exits.
// `ready_fd` (or -1): written "OK\n" and closed as soon as the leader serves requests, before
// its first shepherd is forked: that fork and the shepherd's warm-up overlap with what the host
// does when it hears that the sandbox is ready.
[[noreturn]] void run_leader(int listen_fd, const CommandPolicy& policy, int ready_fd = -1);

}  // namespace hutch::agent
