// The process tree of one command. Each command runs under its own "shepherd", a child
// subreaper of the leader: whatever the command forks, even after setsid() or a double fork,
// stays a descendant of the shepherd until the command ends, so the tree can be found in
// /proc and signalled as a whole. (The per-sandbox cgroup bounds and kills the sandbox; a
// per-command tree does not need cgroup delegation, so it works rootless too.)
#pragma once

#include <sys/types.h>

namespace hutch::agent {

// Sends `signal` to every descendant of `shepherd` (not to the shepherd). For SIGKILL it
// repeats until none is left, so a fork racing the kill is caught too.
void signal_tree(pid_t shepherd, int signal);

// Reaps every child of the caller that has ended; true when `command` was among them (its
// wait status in `status`).
bool reap_children(pid_t command, int& status);

}  // namespace hutch::agent
