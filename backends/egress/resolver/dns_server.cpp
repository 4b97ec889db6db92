#include "dns_server.hpp"

#include "tcp_framing.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <variant>

namespace hutch::egress::resolver {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::use_awaitable;

namespace {

// A query over UDP fits in this (EDNS buffers above 4096 are not honoured by upstreams).
constexpr std::size_t kMaxUdpQuery = 4096;
// One client's queries on one connection before it is closed.
constexpr int kMaxQueriesPerConnection = 100;

std::uint32_t ipv4_of(const asio::ip::address& address) {
  return address.is_v4() ? address.to_v4().to_uint() : 0;
}

}  // namespace

DnsServer::DnsServer(asio::io_context& io, asio::ip::udp::socket udp, asio::ip::tcp::acceptor tcp, QueryHandler& handler)
    : io_(io), udp_(std::move(udp)), tcp_(std::move(tcp)), handler_(handler) {}

void DnsServer::start() {
  asio::co_spawn(io_, serve_udp(), asio::detached);
  asio::co_spawn(io_, serve_tcp(), asio::detached);
}

asio::awaitable<void> DnsServer::serve_udp() {
  Wire buffer(kMaxUdpQuery);
  for (;;) {
    asio::ip::udp::endpoint client;
    std::size_t got = 0;
    try {
      got = co_await udp_.async_receive_from(asio::buffer(buffer), client, use_awaitable);
    } catch (const std::exception& e) {
      std::cerr << "hutch-resolver: udp: " << e.what() << "\n";
      continue;
    }
    if (pending_udp_ >= kMaxPendingUdp) continue;
    ++pending_udp_;
    asio::co_spawn(io_, answer_udp(Wire(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got)), client),
                   [this](std::exception_ptr) { --pending_udp_; });
  }
}

asio::awaitable<void> DnsServer::answer_udp(Wire query, asio::ip::udp::endpoint client) {
  auto response = co_await handler_.respond(std::move(query), ipv4_of(client.address()), false);
  if (response) co_await udp_.async_send_to(asio::buffer(*response), client, use_awaitable);
}

asio::awaitable<void> DnsServer::serve_tcp() {
  for (;;) {
    asio::ip::tcp::socket client(io_);
    try {
      client = co_await tcp_.async_accept(use_awaitable);
    } catch (const std::exception& e) {
      std::cerr << "hutch-resolver: tcp: " << e.what() << "\n";
      continue;
    }
    if (tcp_clients_ >= kMaxTcpClients) continue;  // closed at once
    ++tcp_clients_;
    asio::co_spawn(io_, serve_tcp_client(std::move(client)), [this](std::exception_ptr) { --tcp_clients_; });
  }
}

asio::awaitable<void> DnsServer::serve_tcp_client(asio::ip::tcp::socket client) {
  const std::uint32_t source = ipv4_of(client.remote_endpoint().address());
  for (int i = 0; i < kMaxQueriesPerConnection; ++i) {
    asio::steady_timer idle(io_, kTcpIdle);
    auto query = co_await (read_framed(client) || idle.async_wait(use_awaitable));
    if (query.index() != 0) co_return;
    auto response = co_await handler_.respond(std::move(std::get<0>(query)), source, true);
    if (!response) co_return;
    co_await write_framed(client, *response);
  }
}

}  // namespace hutch::egress::resolver
