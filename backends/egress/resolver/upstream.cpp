#include "upstream.hpp"

#include "tcp_framing.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <variant>

namespace hutch::egress::resolver {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::use_awaitable;

namespace {

constexpr std::uint16_t kDnsPort = 53;
// The largest UDP message (EDNS may allow up to this).
constexpr std::size_t kMaxUdpMessage = 65535;

// The answer to `sent` in `wire`, if it is one.
std::optional<Wire> if_answer(const DnsMessage& sent, Wire wire) {
  const auto message = DnsMessage::parse(wire);
  if (!message || !message->answers(sent)) return std::nullopt;
  return wire;
}

}  // namespace

Upstreams::Upstreams(asio::any_io_executor executor, std::vector<asio::ip::address> servers)
    : executor_(std::move(executor)), servers_(std::move(servers)) {}

asio::awaitable<std::optional<Wire>> Upstreams::exchange(const DnsMessage& query, Wire wire, bool tcp) {
  const std::uint16_t client_id = query.id();
  set_id(wire, static_cast<std::uint16_t>(random_()));
  for (const auto& server : servers_) {
    asio::steady_timer timeout(executor_, kTimeout);
    std::variant<std::optional<Wire>, std::monostate> outcome;
    try {
      // A named awaitable: GCC 12 destroys a temporary one made in a conditional expression
      // inside co_await twice.
      asio::awaitable<std::optional<Wire>> attempt = tcp ? over_tcp(server, wire) : over_udp(server, wire);
      outcome = co_await (std::move(attempt) || timeout.async_wait(use_awaitable));
    } catch (const std::exception&) {
      continue;  // unreachable or refused: the next server
    }
    if (outcome.index() != 0 || !std::get<0>(outcome)) continue;
    Wire answer = std::move(*std::get<0>(outcome));
    set_id(answer, client_id);
    co_return answer;
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<Wire>> Upstreams::over_udp(const asio::ip::address& server, const Wire& wire) {
  const auto sent = DnsMessage::parse(wire);
  asio::ip::udp::socket socket(executor_);
  // Connected: the kernel drops datagrams from any other address and port.
  co_await socket.async_connect({server, kDnsPort}, use_awaitable);
  co_await socket.async_send(asio::buffer(wire), use_awaitable);
  Wire buffer(kMaxUdpMessage);
  for (;;) {
    const std::size_t got = co_await socket.async_receive(asio::buffer(buffer), use_awaitable);
    if (auto answer = if_answer(*sent, Wire(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got))))
      co_return answer;
  }
}

asio::awaitable<std::optional<Wire>> Upstreams::over_tcp(const asio::ip::address& server, const Wire& wire) {
  const auto sent = DnsMessage::parse(wire);
  asio::ip::tcp::socket socket(executor_);
  co_await socket.async_connect({server, kDnsPort}, use_awaitable);
  co_await write_framed(socket, wire);
  co_return if_answer(*sent, co_await read_framed(socket));
}

}  // namespace hutch::egress::resolver
