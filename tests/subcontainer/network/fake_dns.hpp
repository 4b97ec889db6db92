// A DNS server of the fake internet (fake_internet.hpp), so that no query leaves this machine:
// every test's upstream_dns. It answers A queries for the names of `zone` (each with
// kFakeDnsTtl), NOERROR with no record for their other types, NXDOMAIN for any other name, over
// UDP and TCP on port 53 of `address` in the namespace it is made in (bound to it, so that
// its answers come from the address asked, as a resolver expects). It parses and
// builds messages with ldns, as the resolver does, and remembers every datagram's payload, so
// a test can tell whether something reached it bypassing the sandbox's resolver.
#pragma once

#include "egress_names.hpp"
#include "ipv4.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hutch::subcontainer::test {

inline constexpr std::uint32_t kFakeDnsTtl = 2;

class FakeDns {
 public:
  // name (no trailing dot) -> IPv4 address
  FakeDns(const std::string& address, std::map<std::string, std::string> zone) : zone_(std::move(zone)) {
    udp_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    tcp_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int yes = 1;
    ::setsockopt(tcp_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(53);
    any.sin_addr.s_addr = htonl(*network::parse_ipv4(address));
    if (udp_ < 0 || tcp_ < 0 || ::bind(udp_, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 ||
        ::bind(tcp_, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || ::listen(tcp_, 16) != 0 ||
        ::pipe2(stop_, O_CLOEXEC) != 0)
      throw std::runtime_error("FakeDns: cannot listen on port 53");
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDns() {
    (void)!::write(stop_[1], "x", 1);
    thread_.join();
    for (int fd : {udp_, tcp_, stop_[0], stop_[1]}) ::close(fd);
  }
  FakeDns(const FakeDns&) = delete;
  FakeDns& operator=(const FakeDns&) = delete;

  // The payload of every UDP datagram so far, and the names asked (lower case, no dot).
  std::vector<std::string> datagrams() {
    std::lock_guard<std::mutex> lock(mutex_);
    return datagrams_;
  }
  std::vector<std::string> names_asked() {
    std::lock_guard<std::mutex> lock(mutex_);
    return names_;
  }

 private:
  void serve() {
    for (;;) {
      pollfd fds[3] = {{udp_, POLLIN, 0}, {tcp_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) continue;
      if (fds[2].revents != 0) return;
      if (fds[0].revents != 0) serve_datagram();
      if (fds[1].revents != 0) serve_connection();
    }
  }

  void serve_datagram() {
    std::uint8_t buffer[4096];
    sockaddr_in peer{};
    socklen_t size = sizeof peer;
    const ssize_t got = ::recvfrom(udp_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&peer), &size);
    if (got <= 0) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      datagrams_.emplace_back(reinterpret_cast<char*>(buffer), static_cast<std::size_t>(got));
    }
    const std::vector<std::uint8_t> answer = respond(buffer, static_cast<std::size_t>(got));
    if (!answer.empty()) ::sendto(udp_, answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&peer), size);
  }

  // One query per connection is all the resolver sends.
  void serve_connection() {
    const int client = ::accept4(tcp_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    std::uint8_t length[2], buffer[65535];
    pollfd readable{client, POLLIN, 0};
    if (::poll(&readable, 1, 2000) == 1 && ::recv(client, length, 2, MSG_WAITALL) == 2) {
      const std::size_t size = static_cast<std::size_t>(length[0]) << 8 | length[1];
      if (::recv(client, buffer, size, MSG_WAITALL) == static_cast<ssize_t>(size)) {
        std::vector<std::uint8_t> answer = respond(buffer, size);
        const std::uint8_t prefix[2] = {static_cast<std::uint8_t>(answer.size() >> 8),
                                        static_cast<std::uint8_t>(answer.size() & 0xff)};
        (void)!::send(client, prefix, 2, MSG_NOSIGNAL);
        (void)!::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
      }
    }
    ::close(client);
  }

  // The answer to the query in `wire` (fake_dns.cpp: ldns is kept out of this header, its
  // C macros for bool break gmock), or nothing for what is no query.
  std::vector<std::uint8_t> respond(const std::uint8_t* wire, std::size_t size);

  std::map<std::string, std::string> zone_;
  int udp_ = -1, tcp_ = -1;
  int stop_[2] = {-1, -1};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> datagrams_, names_;
};

}  // namespace hutch::subcontainer::test
