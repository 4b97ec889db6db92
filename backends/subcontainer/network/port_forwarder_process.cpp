#include "port_forwarder_process.hpp"

#include "egress_names.hpp"
#include "ipv4.hpp"
#include "port_forwarder/protocol.hpp"

#include <hutch/error.hpp>

#include <unistd.h>

#include <cerrno>

namespace hutch::subcontainer::network {

PortForwarder start_port_forwarder(const std::filesystem::path& program, const std::string& id, pid_t leader,
                                   std::uint32_t sandbox_address, const std::vector<PortMapping>& ports,
                                   const std::vector<UniqueFd>& sockets) {
  if (::access(program.c_str(), X_OK) != 0)
    throw Error(Errc::backend, "sandbox " + id + ": the port forwarder " + program.string() +
                                   " is not executable; set [backends.subcontainer] port_forwarder = "
                                   "\"/path/to/hutch-port-forwarder\"");
  const UniqueFd leader_fd = open_pidfd(leader);
  if (!leader_fd) throw_system_error("sandbox " + id + ": pidfd_open of its leader " + std::to_string(leader), errno);
  static_assert(port_forwarder::kReportFd == 1, "OwnedProcess::start reads the report on fd 1");
  std::vector<int> fds(static_cast<std::size_t>(port_forwarder::kFirstSocketFd), -1);
  fds[port_forwarder::kLeaderFd] = leader_fd.get();
  std::vector<std::string> args{id, format_ipv4(sandbox_address)};
  for (std::size_t i = 0; i < ports.size(); ++i) {
    args.push_back(std::string(to_string(ports[i].protocol)) + ":" + std::to_string(ports[i].sandbox_port));
    fds.push_back(sockets.at(i).get());
  }
  return OwnedProcess::start(program, args, std::move(fds), id, "the port forwarder");
}

}  // namespace hutch::subcontainer::network
