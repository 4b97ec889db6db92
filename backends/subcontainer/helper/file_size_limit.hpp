// SandboxSpec::max_file_bytes inside the sandbox: RLIMIT_FSIZE on the leader, inherited by every
// command, with SIGXFSZ ignored so that a write beyond the limit fails with EFBIG instead of
// killing the writer (an ignored signal stays ignored across execve; the agent resets no
// dispositions).
#pragma once

#include "plan.hpp"

namespace hutch::subcontainer::helper {

// Does nothing when plan.max_file_bytes is 0.
void limit_file_size(const Plan& plan);

}  // namespace hutch::subcontainer::helper
