// The last steps before a sandboxed command runs, in the forked command process: session,
// user, capabilities, cwd, env, no_new_privs, seccomp (last), exec.
#pragma once

#include "wire.hpp"
#include "seccomp_filter.hpp"

#include <vector>

namespace sbx::agent {

struct CommandPolicy {
  std::vector<int> keep_caps;
  const SeccompProgram* seccomp = nullptr;  // null: no filter
  bool can_setgroups = true;
};

// Never returns. stdin/stdout/stderr must already be in place; failures are reported on
// stderr as "sbx: ..." with exit code 127 (not found) or 126 (anything else), as a shell does.
[[noreturn]] void run_command(const wire::ExecMessage& message, const CommandPolicy& policy);

}  // namespace sbx::agent
