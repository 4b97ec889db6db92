// How sandboxed commands are confined. The sandbox-wide part (capability bounding set,
// no_new_privs, seccomp) is applied once to the leader and inherited by every command; the
// per-command part (session, user, capabilities, cwd, env, exec) runs in the command process.
#pragma once

#include "wire.hpp"
#include "seccomp_filter.hpp"
#include "user_lookup.hpp"

#include <string>
#include <vector>

namespace sbx::agent {

struct CommandPolicy {
  std::vector<int> keep_caps;
  const SeccompProgram* seccomp = nullptr;  // null: no filter
  bool can_setgroups = true;
  // What a request that leaves them empty gets. The subcontainer host always sends the full
  // env, cwd and user; sbx-agent in a container serves the container's own (its environment,
  // working directory and configured user).
  std::vector<std::string> base_env;  // "K=V", overridden by the request's entries
  std::string default_cwd = "/";
  std::string default_user;  // empty: root
  // Serve only clients outside the agent's pid namespace (the host): set where the socket is
  // also reachable from inside the sandbox, so a sandboxed process cannot ask for another user.
  bool host_clients_only = false;
};

// Applies the sandbox-wide part of `policy` to the calling process, the leader-to-be, after
// the last call the seccomp filter denies (mounts, unshare). Empty on success, else what failed.
std::string confine_leader(const CommandPolicy& policy);

// Whether confine_leader ran in this process (or an ancestor): run_leader refuses to serve
// otherwise, so no command can run unconfined.
bool leader_confined();

// Never returns. stdin/stdout/stderr must already be in place; failures are reported on
// stderr as "sbx: ..." with exit code 127 (not found) or 126 (anything else), as a shell does.
// `prepared`, when given, answers the user lookup if it still can (user_lookup.hpp).
[[noreturn]] void run_command(const wire::ExecMessage& message, const CommandPolicy& policy,
                              const PreparedUser* prepared = nullptr);

}  // namespace sbx::agent
