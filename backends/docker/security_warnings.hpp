// What `hutch backends` tells an operator about a Docker engine's isolation (SandboxBackend::
// warnings): what hutch cannot fix from its side, and the engine setting that does.
#pragma once

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace hutch::docker {

// From the engine's GET /info answer (`info`) and how this backend runs commands:
//   - SecurityOptions without "name=userns" (userns-remap) or "name=rootless", and not Podman's
//     "Rootless": true: container root
//     is host root to the kernel, so a sandbox can use up host root's per-user quotas
//     (inotify/fanotify instances and watches, ...) and every root program then fails;
//   - commands not through the agent (`agent_in_use` false) with Docker's default profile
//     (`own_seccomp_profile` false): io_uring and vsock sockets stay allowed.
std::vector<std::string> security_warnings(const boost::json::object& info, bool agent_in_use,
                                           bool own_seccomp_profile);

}  // namespace hutch::docker
