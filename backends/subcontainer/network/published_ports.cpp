#include "published_ports.hpp"

#include <hutch/error.hpp>
#include <hutch/ports.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <type_traits>

namespace hutch::subcontainer::network {
namespace {

namespace asio = boost::asio;

// A socket of `Protocol` bound to address:port, as a plain descriptor (close-on-exec from the
// start: the host may be starting other programs meanwhile).
template <class Protocol>
UniqueFd bind_socket(asio::io_context& io, const asio::ip::address& address, std::uint16_t port,
                     boost::system::error_code& error) {
  const typename Protocol::endpoint endpoint(address, port);
  const Protocol protocol = endpoint.protocol();
  UniqueFd fd(::socket(protocol.family(), protocol.type() | SOCK_CLOEXEC, protocol.protocol()));
  if (!fd) {
    error.assign(errno, boost::system::system_category());
    return {};
  }
  if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
    asio::ip::tcp::acceptor acceptor(io);
    acceptor.assign(protocol, fd.release(), error);
    // As every TCP server: connections of an earlier forwarder in TIME_WAIT do not block it.
    // (Not for UDP, where it would let two sockets share the port.)
    if (!error) acceptor.set_option(asio::socket_base::reuse_address(true), error);
    if (!error) acceptor.bind(endpoint, error);
    if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
    return UniqueFd(error ? -1 : acceptor.release());
  } else {
    asio::ip::udp::socket socket(io);
    socket.assign(protocol, fd.release(), error);
    if (!error) socket.bind(endpoint, error);
    return UniqueFd(error ? -1 : socket.release());
  }
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  return address.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port)
                                       : ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
}

}  // namespace

HostPorts bind_host_ports(const std::vector<PortMapping>& ports, const std::vector<PortBinding>& previous,
                          const std::string& id) {
  asio::io_context io;
  HostPorts host;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const PortMapping& mapping = ports[i];
    const std::string what = "sandbox " + id + ": published port " + std::to_string(i + 1) + " (" +
                             format_port_mapping(mapping) + ")";
    boost::system::error_code error;
    const auto address = asio::ip::make_address(mapping.host_ip, error);
    if (error) throw Error(Errc::invalid_argument, what + ": '" + mapping.host_ip + "' is not an IP address");
    auto bind = [&](std::uint16_t port) {
      error.clear();
      return mapping.protocol == PortProtocol::udp ? bind_socket<asio::ip::udp>(io, address, port, error)
                                                   : bind_socket<asio::ip::tcp>(io, address, port, error);
    };
    UniqueFd socket;
    if (mapping.host_port == 0 && i < previous.size() && previous[i].sandbox_port == mapping.sandbox_port &&
        previous[i].protocol == mapping.protocol && previous[i].host_port != 0)
      socket = bind(previous[i].host_port);
    if (!socket) socket = bind(mapping.host_port);
    if (!socket) {
      if (error == asio::error::address_in_use)
        throw Error(Errc::state, what + ": host port " + std::to_string(mapping.host_port) + "/" +
                                     to_string(mapping.protocol) + " on " + mapping.host_ip +
                                     " is in use; publish another port, or 0 for a free one");
      if (error.value() == EADDRNOTAVAIL)
        throw Error(Errc::invalid_argument, what + ": " + mapping.host_ip + " is not an address of this host");
      if (error == asio::error::access_denied)
        throw Error(Errc::backend, what + ": binding host port " + std::to_string(mapping.host_port) +
                                       " needs privilege (ports below 1024)");
      throw Error(Errc::backend, what + ": bind: " + error.message());
    }
    PortBinding binding;
    binding.sandbox_port = mapping.sandbox_port;
    binding.host_address = mapping.host_ip;
    binding.host_port = bound_port(socket.get());
    binding.protocol = mapping.protocol;
    host.bindings.push_back(std::move(binding));
    host.sockets.push_back(std::move(socket));
  }
  return host;
}

}  // namespace hutch::subcontainer::network
