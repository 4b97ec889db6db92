// Serving DNS on the bridge's address, port 53, over UDP and TCP (Boost.Asio, one thread):
// each query is a coroutine of its own, so a slow upstream holds up no other sandbox. Bounded:
// at most kMaxPendingUdp UDP queries wait for their answer (more are dropped, as a busy server
// drops them) and kMaxTcpClients TCP connections are open, each idle for at most kTcpIdle.
#pragma once

#include "query_handler.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <cstddef>

namespace hutch::egress::resolver {

class DnsServer {
 public:
  // `udp` and `tcp` are bound (and listening) already.
  DnsServer(boost::asio::io_context& io, boost::asio::ip::udp::socket udp, boost::asio::ip::tcp::acceptor tcp,
            QueryHandler& handler);
  // Starts serving on `io`; io.run() serves.
  void start();

  static constexpr std::size_t kMaxPendingUdp = 512;
  static constexpr std::size_t kMaxTcpClients = 64;
  static constexpr std::chrono::seconds kTcpIdle{10};

 private:
  boost::asio::awaitable<void> serve_udp();
  boost::asio::awaitable<void> answer_udp(Wire query, boost::asio::ip::udp::endpoint client);
  boost::asio::awaitable<void> serve_tcp();
  boost::asio::awaitable<void> serve_tcp_client(boost::asio::ip::tcp::socket client);

  boost::asio::io_context& io_;
  boost::asio::ip::udp::socket udp_;
  boost::asio::ip::tcp::acceptor tcp_;
  QueryHandler& handler_;
  std::size_t pending_udp_ = 0;
  std::size_t tcp_clients_ = 0;
};

}  // namespace hutch::egress::resolver
