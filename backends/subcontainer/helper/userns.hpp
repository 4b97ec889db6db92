// User namespace id maps, written by the helper's parent (still in the host namespaces) for
// the child that was cloned into a new user namespace.
#pragma once

#include "plan.hpp"

#include <sys/types.h>

#include <string>

namespace hutch::subcontainer::helper {

// Writes setgroups (when denied), uid_map and gid_map of `child`. Empty string on success,
// else what failed.
std::string write_id_maps(pid_t child, const Plan& plan);

// Inside the new namespace, once the maps exist: become root of it (the ids that map to the
// plan's outside range) and drop the host's supplementary groups where allowed.
void become_namespace_root(const Plan& plan);

}  // namespace hutch::subcontainer::helper
