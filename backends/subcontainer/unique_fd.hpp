// The fd owners live with the agent (core/agent/unique_fd.hpp); the backend's files use them
// under their own namespace.
#pragma once

#include "agent/unique_fd.hpp"

namespace hutch::subcontainer {

using agent::open_dir_stream;
using agent::UniqueDir;
using agent::UniqueFd;

}  // namespace hutch::subcontainer
