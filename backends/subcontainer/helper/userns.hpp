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

// The owner of a user namespace is the effective uid of the process that creates it, and the
// kernel charges per-user quotas of everything inside (inotify and fanotify instances and
// watches, user namespaces, ...) to that owner. A helper running as host root takes the host
// id that root inside maps to (the first of the sandbox's range, id_ranges.hpp) as its
// effective uid and gid for the clone, so a sandbox exhausts its own quota and never host
// root's. Real and saved ids stay 0: resume_host_root takes root (and its capabilities,
// which the permitted set keeps) back. Both do nothing rootless, where the helper already
// runs as the id root inside maps to.
void act_as_namespace_owner(const Plan& plan);
void resume_host_root(const Plan& plan);

// Inside the new namespace, once the maps exist: become root of it (the ids that map to the
// plan's outside range) and drop the host's supplementary groups where allowed.
void become_namespace_root(const Plan& plan);

}  // namespace hutch::subcontainer::helper
