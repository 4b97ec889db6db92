#include "loopback_connect.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace hutch::agent {

namespace {

// A connected socket to `address`, or an empty one with errno set.
UniqueFd connect_to(const sockaddr* address, socklen_t length) {
  UniqueFd socket(::socket(address->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket) return socket;
  while (::connect(socket.get(), address, length) != 0)
    if (errno != EINTR) return UniqueFd();
  return socket;
}

}  // namespace

LoopbackConnection connect_loopback(std::uint32_t port) {
  LoopbackConnection result;
  if (port == 0 || port > 65535) {
    result.bad_port = true;
    result.error = "port " + std::to_string(port) + " is not 1-65535";
    return result;
  }
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  v4.sin_port = htons(static_cast<std::uint16_t>(port));
  v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  result.socket = connect_to(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
  if (result.socket) return result;
  const int v4_error = errno;
  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  v6.sin6_port = htons(static_cast<std::uint16_t>(port));
  v6.sin6_addr = in6addr_loopback;
  result.socket = connect_to(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
  if (result.socket) return result;
  result.error = "nothing accepts connections on port " + std::to_string(port) + " inside the sandbox (127.0.0.1: " +
                 std::strerror(v4_error) + "; [::1]: " + std::strerror(errno) + ")";
  return result;
}

}  // namespace hutch::agent
