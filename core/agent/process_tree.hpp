// The process tree of one command. Each command runs under its own "shepherd", a child
// subreaper of the leader: whatever the command forks, even after setsid() or a double fork,
// stays a descendant of the shepherd until the command ends, so the tree can be found in
// /proc and signalled as a whole. (Where commands run in a pid namespace below the shepherds',
// orphans do not cross it: the subreaper is then the exec'd command itself, or a launch's
// reaper, both inside; command_pid_namespace.hpp.) (The per-sandbox cgroup bounds and kills the sandbox; a
// per-command tree does not need cgroup delegation, so it works rootless too.)
#pragma once

#include <sys/types.h>

namespace hutch::agent {

// Where the process tables below are read: `proc_dir`, a procfs of the caller's pid namespace
// opened by the agent (the mounted /proc may belong to the commands' namespace below it,
// command_pid_namespace.hpp), or -1 for the mounted /proc (the default). Inherited by fork.
void read_processes_through(int proc_dir);

// Sends `signal` to every descendant of `shepherd` (not to the shepherd). For SIGKILL it first
// stops the process group of each child that leads its own (at once, in the kernel), and
// repeats until none is left, so a fork racing the kill is caught too.
void signal_tree(pid_t shepherd, int signal);

// Reaps every child of the caller that has ended; true when `command` was among them (its
// wait status in `status`).
bool reap_children(pid_t command, int& status);

}  // namespace hutch::agent
