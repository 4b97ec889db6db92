// The files of a sandbox's leader that its fs helper needs, opened by the host.
#pragma once

#include "sandbox_fs/helper_process.hpp"
#include "sandbox_record.hpp"

namespace hutch::subcontainer {

// The leader's user and network namespaces and root, both of the process the record names (pid and start
// time): opened through one /proc/<pid> directory checked after it was opened, so a pid taken
// over by another process meanwhile yields nothing of that process. Errc::state when the leader
// is gone.
LeaderFiles open_leader_files(const SandboxRecord& record);

}  // namespace hutch::subcontainer
