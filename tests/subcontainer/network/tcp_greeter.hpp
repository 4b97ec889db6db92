// A TCP server for the network tests: it answers each connection with "hello <the address it
// was reached on>\n" and remembers who connected. Its socket belongs to the network namespace
// of the thread that constructs it; it serves on a thread of its own until destroyed.
#pragma once

#include "egress_names.hpp"
#include "ipv4.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hutch::subcontainer::test {

class TcpGreeter {
 public:
  explicit TcpGreeter(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int yes = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(port);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0 || ::listen(fd_, 16) != 0 ||
        ::pipe2(stop_, O_CLOEXEC) != 0)
      throw std::runtime_error("TcpGreeter: cannot listen on port " + std::to_string(port));
    thread_ = std::thread([this] { serve(); });
  }
  ~TcpGreeter() {
    (void)!::write(stop_[1], "x", 1);
    thread_.join();
    ::close(fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  TcpGreeter(const TcpGreeter&) = delete;
  TcpGreeter& operator=(const TcpGreeter&) = delete;

  // The source addresses of the connections so far.
  std::vector<std::string> peers() {
    std::lock_guard<std::mutex> lock(mutex_);
    return peers_;
  }

 private:
  void serve() {
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      sockaddr_in peer{}, local{};
      socklen_t peer_size = sizeof peer, local_size = sizeof local;
      const int client = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &peer_size, SOCK_CLOEXEC);
      if (client < 0) continue;
      ::getsockname(client, reinterpret_cast<sockaddr*>(&local), &local_size);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        peers_.push_back(network::format_ipv4(ntohl(peer.sin_addr.s_addr)));
      }
      const std::string line = "hello " + network::format_ipv4(ntohl(local.sin_addr.s_addr)) + "\n";
      (void)!::write(client, line.data(), line.size());
      ::close(client);
    }
  }

  int fd_ = -1;
  int stop_[2] = {-1, -1};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> peers_;
};

}  // namespace hutch::subcontainer::test
