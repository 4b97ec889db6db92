// A TCP client for the published-port tests: connects to a numeric address on this host,
// optionally sends a line, and reads until the other side closes (or a deadline). Test traffic
// stays on this machine: callers pass loopback addresses or ones of a namespace they made.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

namespace hutch::test {

// What a connection to address:port reads until EOF (at most `timeout`), after writing `send`
// and, with `half_close`, shutting its sending side; nullopt when the connection is refused or
// cannot be made. (busybox nc ends its connection when it reads EOF: a server of nc that
// answers what it reads needs the client to keep its side open.)
inline std::optional<std::string> tcp_exchange(const std::string& address, std::uint16_t port,
                                               const std::string& send = {},
                                               std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                               bool half_close = true) {
  sockaddr_storage storage{};
  socklen_t size = 0;
  const bool v6 = address.find(':') != std::string::npos;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (::inet_pton(AF_INET6, address.c_str(), &a->sin6_addr) != 1) return std::nullopt;
    size = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (::inet_pton(AF_INET, address.c_str(), &a->sin_addr) != 1) return std::nullopt;
    size = sizeof *a;
  }
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&storage), size) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  if (!send.empty()) (void)!::write(fd, send.data(), send.size());
  if (half_close) ::shutdown(fd, SHUT_WR);
  std::string received;
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < give_up) {
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, 100) <= 0) continue;
    char buffer[4096];
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got <= 0) break;
    received.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return received;
}

// tcp_exchange, tried until it reads something non-empty (a server in a sandbox takes a moment
// to listen) or `attempts` have passed; the last result.
inline std::optional<std::string> tcp_exchange_when_up(const std::string& address, std::uint16_t port,
                                                       const std::string& send = {}, bool half_close = true,
                                                       int attempts = 100) {
  std::optional<std::string> got;
  for (int i = 0; i < attempts; ++i) {
    got = tcp_exchange(address, port, send, std::chrono::seconds(2), half_close);
    if (got && !got->empty()) return got;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return got;
}

// Whether nothing accepts on address:port (the connection is refused or cannot be made).
inline bool tcp_refused(const std::string& address, std::uint16_t port) {
  return !tcp_exchange(address, port, {}, std::chrono::milliseconds(500)).has_value();
}

// A port nothing on `address` listens on right now (bound and released: a later bind may lose
// a race with another program, which a test then reports as "in use").
inline std::uint16_t free_tcp_port(const std::string& address = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
  socklen_t size = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace hutch::test
