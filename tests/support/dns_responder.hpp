// A tiny DNS server on 127.0.0.1 for tests that resolve a name: it answers A queries for one
// name with one address and everything else with an empty answer, so a test never asks the
// host's upstream resolver (no packet leaves the machine). Serves on a thread until destroyed.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

namespace hutch::test {

class DnsResponder {
 public:
  // Binds 127.0.0.1:`port` (53 needs root); throws std::runtime_error when it cannot.
  DnsResponder(std::string name, std::string ipv4, std::uint16_t port = 53)
      : name_(lower(std::move(name))), address_(std::move(ipv4)) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(port);
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      if (fd_ >= 0) ::close(fd_);
      throw std::runtime_error("DnsResponder: cannot bind 127.0.0.1:" + std::to_string(port));
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~DnsResponder() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  DnsResponder(const DnsResponder&) = delete;
  DnsResponder& operator=(const DnsResponder&) = delete;

  int queries() const { return queries_; }

 private:
  static std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  void serve() {
    while (!stop_) {
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, 100) <= 0) continue;
      unsigned char query[512];
      sockaddr_in peer{};
      socklen_t peer_length = sizeof peer;
      const ssize_t got = ::recvfrom(fd_, query, sizeof query, 0, reinterpret_cast<sockaddr*>(&peer), &peer_length);
      if (got < 12) continue;
      ++queries_;
      // The question: labels up to a zero byte, then type and class.
      std::size_t at = 12;
      std::string qname;
      while (at < static_cast<std::size_t>(got) && query[at] != 0) {
        const std::size_t length = query[at];
        if (at + 1 + length > static_cast<std::size_t>(got)) break;
        if (!qname.empty()) qname += '.';
        qname.append(reinterpret_cast<const char*>(query + at + 1), length);
        at += 1 + length;
      }
      const std::size_t question_end = at + 5;  // the zero byte, type, class
      if (question_end > static_cast<std::size_t>(got)) continue;
      const unsigned qtype = (query[at + 1] << 8) | query[at + 2];
      const bool answer = qtype == 1 && lower(qname) == name_;
      std::string reply(reinterpret_cast<const char*>(query), question_end);
      reply[2] = static_cast<char>(0x81);  // response, recursion desired
      reply[3] = static_cast<char>(0x80);  // recursion available, NOERROR
      reply[6] = 0;
      reply[7] = answer ? 1 : 0;           // ANCOUNT
      reply[8] = reply[9] = reply[10] = reply[11] = 0;
      if (answer) {
        in_addr ip{};
        ::inet_pton(AF_INET, address_.c_str(), &ip);
        const unsigned char record[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
        reply.append(reinterpret_cast<const char*>(record), sizeof record);
        reply.append(reinterpret_cast<const char*>(&ip), 4);
      }
      ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_length);
    }
  }

  std::string name_;
  std::string address_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

}  // namespace hutch::test
