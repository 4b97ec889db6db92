// Whether a host process is frozen by its cgroup's freezer, as `docker pause` does to every
// process of a container. Read from /proc/<pid>/cgroup and the freezer file of that cgroup
// under /sys/fs/cgroup: tens of microseconds, where an inspect is a daemon round trip, so a
// command can check it before each request to a sandbox's agent (a frozen agent never
// answers).
#pragma once

#include <sys/types.h>

#include <optional>

namespace hutch::docker {

// True when frozen or freezing (cgroup v1 freezer.state FROZEN/FREEZING, v2 cgroup.freeze 1),
// false when thawed; nullopt when it cannot tell here (no such process, or its cgroup is not
// visible under /sys/fs/cgroup, e.g. another cgroup namespace): ask the daemon instead.
std::optional<bool> process_frozen(pid_t pid);

}  // namespace hutch::docker
