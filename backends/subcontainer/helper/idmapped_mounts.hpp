// Idmapped binds, prepared by the helper parent while it is still in the host namespaces:
// setting MOUNT_ATTR_IDMAP needs privilege over the source filesystem, which the sandbox's
// user namespace does not have. The detached mounts are inherited by the sandbox child,
// which attaches them (move_mount) in its own mount tree.
#pragma once

#include "plan.hpp"

namespace hutch::subcontainer::helper {

// For every bind with an idmap: a user namespace carrying the map, a detached recursive copy
// of the source with that idmap (and read-only when asked) in bind.prepared_tree.
void prepare_idmapped_binds(Plan& plan);

}  // namespace hutch::subcontainer::helper
