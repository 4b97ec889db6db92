// Running code in another network namespace: a netlink or nftables socket belongs to the
// namespace of the thread that opens it, and a thread may switch namespaces (setns) where a
// multi-threaded process may not. So the code runs on a short-lived thread of its own, which
// leaves this host's threads where they are.
#pragma once

#include "unique_fd.hpp"

#include <sys/types.h>

#include <functional>

namespace hutch::subcontainer::network {

// The network namespace of process `pid` (/proc/<pid>/ns/net). Errc::not_found when the
// process is gone; Errc::backend otherwise.
UniqueFd open_network_namespace(pid_t pid);

// Runs `work` on a new thread that has joined the network namespace `namespace_fd`, waits
// for it, and rethrows what it threw. Errc::backend when the thread cannot join.
void run_in_network_namespace(int namespace_fd, const std::function<void()>& work);

}  // namespace hutch::subcontainer::network
