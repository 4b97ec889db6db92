// A tiny HTTP CONNECT proxy on 127.0.0.1 for the registry client's proxy test: it answers each
// CONNECT with 200, counts the tunnels and the hosts they asked for, and joins every tunnel to
// 127.0.0.1 at the asked port, whatever host was named, so a test can use a name no resolver
// knows ("registry.test") and no packet leaves the machine.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hutch::test {

class ConnectProxy {
 public:
  ConnectProxy() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    ::listen(listener_, 16);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~ConnectProxy() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    for (auto& tunnel : tunnels_) tunnel.join();
    ::close(listener_);
  }
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int tunnels() const { return tunnels_opened_; }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }

 private:
  void accept_loop() {
    for (;;) {
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        if (stopping_) return;
        continue;
      }
      tunnels_.emplace_back([this, client] { serve(client); });
    }
  }

  void serve(int client) {
    std::string header;
    char byte;
    while (header.find("\r\n\r\n") == std::string::npos && header.size() < 8192 && ::read(client, &byte, 1) == 1) header += byte;
    // "CONNECT host:port HTTP/1.1"
    const auto space = header.find(' ');
    const auto second = header.find(' ', space + 1);
    if (!header.starts_with("CONNECT ") || second == std::string::npos) {
      const std::string refused = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n";
      (void)!::write(client, refused.data(), refused.size());
      ::close(client);
      return;
    }
    const std::string target = header.substr(space + 1, second - space - 1);
    {
      std::lock_guard lock(mutex_);
      targets_.push_back(target);
    }
    ++tunnels_opened_;
    const int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(std::stoi(target.substr(target.rfind(':') + 1))));
    if (::connect(upstream, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      const std::string failed = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
      (void)!::write(client, failed.data(), failed.size());
      ::close(upstream);
      ::close(client);
      return;
    }
    const std::string established = "HTTP/1.1 200 Connection established\r\n\r\n";
    (void)!::write(client, established.data(), established.size());
    pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
    char buffer[65536];
    while (!stopping_) {
      if (::poll(fds, 2, 200) <= 0) continue;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
        if (got <= 0) {
          done = true;
          break;
        }
        for (ssize_t sent = 0; sent < got;) {
          const ssize_t n = ::write(fds[1 - i].fd, buffer + sent, static_cast<std::size_t>(got - sent));
          if (n <= 0) {
            done = true;
            break;
          }
          sent += n;
        }
      }
      if (done) break;
    }
    ::close(upstream);
    ::close(client);
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> tunnels_opened_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  std::thread acceptor_;
  std::vector<std::thread> tunnels_;  // touched by the acceptor only, joined after it
};

}  // namespace hutch::test
