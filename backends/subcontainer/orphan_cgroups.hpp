// Sandboxes that outlived their record: the state directory was deleted while they ran (a
// test's temporary directory, an `rm -rf` by hand), so no record leads to them any more, but
// their cgroup <controller>/<cgroup_root>/<id> is still there, maybe with live processes.
// prune finds them by that cgroup.
#pragma once

#include "runtime.hpp"

#include <string>
#include <vector>

namespace hutch::subcontainer {

// Removes the cgroups under the configured cgroup_root that provably belong to no sandbox
// record, and returns their names (sandbox ids):
//  - no process is left in it, and it is over a minute old (a create in progress, of this or
//    another state directory, has made its cgroup but not yet started its leader);
//  - its leader (`hutch-subcontainer-helper start <dir>/<id>/plan`) was started for a sandbox
//    directory that no longer exists: nothing can reach that sandbox any more, so everything
//    in the cgroup is killed.
// A cgroup whose sandbox directory exists (here, or in another state_dir on this host that
// shares cgroup_root) is kept, and so is one whose processes say nothing about their
// directory. Paths are judged in this process's mount namespace: hutch instances that see
// different filesystems must use different cgroup_root names. Rootless, nothing is done:
// rootless sandboxes get no cgroup there, and root's are not ours to judge.
std::vector<std::string> prune_orphan_cgroups(const Runtime& runtime);

}  // namespace hutch::subcontainer
