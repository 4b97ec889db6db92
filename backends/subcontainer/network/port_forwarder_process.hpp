// The forwarder of one sandbox's published ports (hutch-port-forwarder, see
// port_forwarder/protocol.hpp) as the host sees it: started with the bound host sockets once
// the sandbox's leader runs and its bridge address is up, and owned as owned_process.hpp says.
//
// It also ends by itself when the leader does (it watches the leader's pidfd): a sandbox whose
// creator was killed leaves no forwarder behind once prune has ended its leader.
#pragma once

#include "owned_process.hpp"

#include <hutch/types.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hutch::subcontainer::network {

using PortForwarder = OwnedProcess;

// Starts `program` for sandbox `id`, whose leader is `leader`, relaying `ports[i]` from
// `sockets[i]` to sandbox_address:ports[i].sandbox_port. Returns once it forwards.
// Errc::backend naming the sandbox when it cannot be started (its own reason included).
PortForwarder start_port_forwarder(const std::filesystem::path& program, const std::string& id, pid_t leader,
                                   std::uint32_t sandbox_address, const std::vector<PortMapping>& ports,
                                   const std::vector<UniqueFd>& sockets);

}  // namespace hutch::subcontainer::network
