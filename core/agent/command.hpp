// How sandboxed commands are confined. The sandbox-wide part (capability bounding set,
// no_new_privs, seccomp) is applied once to the leader and inherited by every command; the
// per-command part is resolved by the shepherd (prepare_command) and carried out in the
// command process (exec_prepared: session, user, capabilities, cwd, exec).
#pragma once

#include "wire.hpp"
#include "user_lookup.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace hutch::agent {

struct CommandPolicy {
  std::vector<int> keep_caps;
  bool seccomp = false;  // install the default filter (seccomp_filter.hpp)
  bool can_setgroups = true;
  // What a request that leaves them empty gets. The subcontainer host always sends the full
  // env, cwd and user; hutch-agent in a container serves the container's own (its environment,
  // working directory and configured user).
  std::vector<std::string> base_env;  // "K=V", overridden by the request's entries
  std::string default_cwd = "/";
  std::string default_user;  // empty: root
  // Serve only clients outside the agent's pid namespace (the host): set where the socket is
  // also reachable from inside the sandbox, so a sandboxed process cannot ask for another user.
  bool host_clients_only = false;
  // Set: each shepherd takes this real and saved uid (its effective uid stays 0, and with it its
  // capabilities), so that a sandboxed process needs CAP_KILL, not only uid 0, to signal it —
  // to SIGSTOP it and hold the host's requests. The id must be used by nothing in the sandbox.
  // Only where ids are not mapped (a container without a user namespace).
  std::optional<uid_t> shepherd_uid;
  // Set (the subcontainer backend): the pid namespace, below the agent's, that every command
  // runs in (its nsfs fd, which each shepherd joins for its children), and its init, whose end
  // ends the leader (command_pid_namespace.hpp). -1/0: commands share the agent's namespace.
  int command_pid_namespace = -1;
  pid_t command_pid_namespace_init = 0;
  // When the host stops the sandbox (SIGTERM to PID 1): how long its processes get between
  // SIGTERM and SIGKILL (sandbox_stop.hpp).
  std::uint32_t stop_grace_ms = 10000;
  // The sandbox's lifetimes (lifetime.hpp; 0: none) until the host sets others, and where PID 1
  // records its expiry (-1: nowhere).
  std::int64_t ttl_deadline_ms = 0;
  std::int64_t idle_timeout_ms = 0;
  int expiry_fd = -1;
  // Set where the agent runs at a higher priority than its commands (the subcontainer helper
  // lowers the leader's nice value while it is still host root): each command's process sets
  // this nice value before its exec, so commands run at the caller's priority while shepherds
  // win the CPU against a sandbox full of busy processes (and answer the host's kill at once).
  std::optional<int> command_nice;
};

// Applies the sandbox-wide part of `policy` to the calling process, the leader-to-be, after
// the last call the seccomp filter denies (mounts, unshare). Empty on success, else what failed.
std::string confine_leader(const CommandPolicy& policy);

// Whether confine_leader ran in this process (or an ancestor): run_leader refuses to serve
// otherwise, so no command can run unconfined.
bool leader_confined();

// A command with everything resolved ahead: user, cwd, env, argv and where to look for the
// program. Made in the shepherd before the command process exists, because that process
// shares the shepherd's memory until it execs (CLONE_VM): what it allocated would never be
// freed, and a reused shepherd would leak it with every exec.
struct PreparedCommand {
  ExecUser user;
  std::string user_spec;
  std::string cwd;
  std::vector<std::string> env, args, candidates;  // candidates: paths to try, in PATH order
  std::vector<char*> envp, argv;                   // point into env and args
  // Set when the request cannot run (unknown user): the command process reports it.
  std::string error;
  // stdin is a terminal (command_pty.hpp) that becomes the controlling one of its session.
  bool tty = false;
};

// Resolves `message` under `policy`; `user`, when given, answers the user lookup if it still
// can (user_lookup.hpp).
void prepare_command(const wire::ExecMessage& message, const CommandPolicy& policy, const PreparedUser* user,
                     PreparedCommand& command);

// Never returns: the command process's last steps (session, user, capabilities, cwd, exec).
// stdin/stdout/stderr must already be in place. Makes only system calls until a step fails;
// a failure is reported on stderr as "hutch: ..." with exit code 127 (not found) or 126
// (anything else), as a shell does, after setting *failed_before_exec when given.
[[noreturn]] void exec_prepared(const PreparedCommand& command, const CommandPolicy& policy,
                                volatile bool* failed_before_exec = nullptr);

// prepare_command + exec_prepared, for a command process of its own (forked, not CLONE_VM).
[[noreturn]] void run_command(const wire::ExecMessage& message, const CommandPolicy& policy);

}  // namespace hutch::agent
