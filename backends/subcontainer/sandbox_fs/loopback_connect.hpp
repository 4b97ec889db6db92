// The connection the service's port proxy asks for (Handle::connect_port): a TCP socket to a
// port on the loopback of the network namespace the calling process is in (the fs helper has
// joined the sandbox's).
#pragma once

#include "agent/unique_fd.hpp"

#include <cstdint>

namespace hutch::subcontainer {

// Connects to 127.0.0.1:`port`, else [::1]:`port` (a server bound to "localhost" may listen on
// either). Throws TreeError (root_tree.hpp) with Errc::invalid_argument for a port outside
// 1-65535 and Errc::io naming the port when neither accepts.
agent::UniqueFd connect_loopback(std::uint32_t port);

}  // namespace hutch::subcontainer
