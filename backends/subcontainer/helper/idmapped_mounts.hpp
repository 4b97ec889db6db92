// Detached mounts the helper parent prepares while it is still root in the host namespaces:
// idmapped binds and the overlay's lower layers. Setting MOUNT_ATTR_IDMAP needs privilege over
// the source filesystem, which the sandbox's user namespace does not have, and the image store
// is not reachable for the sandbox's host ids at all. The detached mounts are inherited by the
// sandbox child, which attaches them (move_mount) in its own mount tree.
#pragma once

#include "plan.hpp"

namespace hutch::subcontainer::helper {

// For every bind with an idmap: a detached recursive copy of the source with that idmap (and
// read-only when asked) in bind.prepared_tree. For every lower layer with a mount point: a
// detached read-only copy of the layer, idmapped when it has a map, in lower.prepared_tree.
// Binds and layers with the same map share one user namespace (each costs a fork).
void prepare_detached_mounts(Plan& plan);

}  // namespace hutch::subcontainer::helper
