// The connection the service's port proxy asks for (Handle::connect_port): a TCP socket to a
// port on the loopback of the network namespace the calling process is in. Made by whatever
// runs inside the sandbox's network namespace: the subcontainer fs helper (which joined it) and
// the agent's shepherds (PID 1's children, in the container's own).
#pragma once

#include "unique_fd.hpp"

#include <cstdint>
#include <string>

namespace hutch::agent {

struct LoopbackConnection {
  UniqueFd socket;         // connected, close-on-exec; empty on failure
  bool bad_port = false;   // `port` is outside 1-65535
  std::string error;       // what failed, naming the port (empty on success)
};

// Connects to 127.0.0.1:`port`, else [::1]:`port` (a server bound to "localhost" may listen on
// either). No exceptions: the agent's static executables are built from this too.
LoopbackConnection connect_loopback(std::uint32_t port);

}  // namespace hutch::agent
