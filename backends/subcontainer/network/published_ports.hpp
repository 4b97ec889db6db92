// The host sockets of a sandbox's published ports (SandboxSpec::ports), bound by the process
// that creates or starts the sandbox: a port in use fails that call, naming it, and a port 0
// gets its number before the call returns. The forwarder (port_forwarder_process.hpp) then
// holds them for as long as the sandbox runs.
#pragma once

#include "unique_fd.hpp"

#include <hutch/types.hpp>

#include <string>
#include <vector>

namespace hutch::subcontainer::network {

struct HostPorts {
  std::vector<UniqueFd> sockets;      // one per mapping, in order: tcp listening, udp bound
  std::vector<PortBinding> bindings;  // where each one is bound, the port of a 0 filled in
};

// Binds every mapping of `ports` (validated) on the host, in the calling thread's network
// namespace. A host_port of 0 takes `previous`'s port of the same mapping if one is given and
// still free (a sandbox started again keeps its address where it can), else a free port.
// Errc::state naming the mapping when its host port is in use; Errc::invalid_argument when
// its host address is none of this host's; Errc::backend for other refusals. `id` names the
// sandbox in errors. On failure nothing stays bound.
HostPorts bind_host_ports(const std::vector<PortMapping>& ports, const std::vector<PortBinding>& previous,
                          const std::string& id);

}  // namespace hutch::subcontainer::network
