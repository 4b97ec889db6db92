// The pid namespace the sandbox's commands run in, below the agent's own (the subcontainer
// backend; issue 12, finding 7).
//
// The leader (PID 1 of the sandbox's pid namespace) and its shepherds stay in the outer
// namespace; every command, exec'd or launched, starts in one inner namespace, a child of it.
// A process sees, and so can signal, ptrace or open /proc/<pid>/... of, only processes of its
// own pid namespace and those below: root in the sandbox, whatever capabilities it keeps, can
// name neither the leader nor a shepherd, and kill(-1, ...) does not reach them.
//
// The inner namespace's init is a process of its own, forked by the leader before it is
// confined: it mounts the inner namespace's procfs over /proc (so /proc in the sandbox lists
// the commands only, and PID 1 there is this init, which no signal from inside can stop or
// kill), then drops every capability, confines itself and only reaps the orphans it inherits.
// The agent keeps a procfs of the outer namespace open (process_tree.hpp reads the commands'
// trees through it, in the pids the shepherds use).
//
// A shepherd joins the inner namespace for its children (setns(CLONE_NEWPID)) when it starts;
// the default seccomp filter lets setns through for CLONE_NEWPID alone (seccomp_policy.hpp).
#pragma once

#include "command.hpp"
#include "unique_fd.hpp"

#include <sys/types.h>

#include <string>

namespace hutch::agent {

struct CommandPidNamespace {
  UniqueFd namespace_fd;  // its nsfs file, for setns(CLONE_NEWPID)
  UniqueFd agent_proc;    // a procfs of the caller's (outer) namespace, opened before the overmount
  pid_t init = 0;         // the inner namespace's init, in the caller's namespace
};

// Makes the inner namespace: forks its init, waits until it has mounted its procfs on /proc,
// and points process_tree.hpp at the outer procfs. Call in the leader-to-be, single-threaded,
// after pivot_root and the cgroup join, before confine_leader (it needs CAP_SYS_ADMIN and
// unshare(CLONE_NEWPID)). Empty on success, else what failed.
std::string start_command_pid_namespace(CommandPidNamespace& out);

// Records `space` in `policy` (CommandPolicy::command_pid_namespace): shepherds join it, the
// leader ends with its init. `space` must outlive the leader's use of `policy`.
void use_command_pid_namespace(const CommandPidNamespace& space, CommandPolicy& policy);

// In a shepherd: the processes it starts from now on are in the commands' namespace (no-op when
// the policy has none). False when setns failed: the shepherd must not serve then.
bool join_command_pid_namespace(const CommandPolicy& policy);

}  // namespace hutch::agent
