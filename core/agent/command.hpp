// The last steps before a sandboxed command runs, in the forked command process: session,
// user, capabilities, cwd, env, no_new_privs, seccomp (last), exec.
#pragma once

#include "wire.hpp"
#include "seccomp_filter.hpp"

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

// Never returns. stdin/stdout/stderr must already be in place; failures are reported on
// stderr as "sbx: ..." with exit code 127 (not found) or 126 (anything else), as a shell does.
[[noreturn]] void run_command(const wire::ExecMessage& message, const CommandPolicy& policy);

}  // namespace sbx::agent
