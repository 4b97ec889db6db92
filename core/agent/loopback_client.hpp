// The host's side of a connect request (wire.hpp 'p', Handle::connect_port through an agent):
// the agent connects to a port on the sandbox's loopback from inside the sandbox's network
// namespace and passes the connected socket back.
#pragma once

#include "unique_fd.hpp"

#include <hutch/types.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace hutch::agent {

// A TCP connection to `port` (1-65535) on the loopback of the sandbox whose agent listens on
// `socket`, checked to be a connected TCP stream socket (anything else the agent might pass is
// refused: Errc::permission_denied). `agent_pid`, `start_timeout` and the errors of the
// connection to the agent as send_request's (control_client.hpp: Errc::state when the agent
// does not listen, Errc::timeout when it does not answer in time). Errc::invalid_argument for
// port 0; Errc::io naming the port when nothing accepts there.
UniqueFd request_loopback_connection(const std::filesystem::path& socket, const std::string& id, std::uint16_t port,
                                     pid_t agent_pid = 0, Duration start_timeout = kDefaultStartTimeout);

}  // namespace hutch::agent
