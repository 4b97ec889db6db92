// The resolver's upstream servers ([backends.subcontainer] upstream_dns): a query goes to each
// in turn until one answers it, over UDP, or over TCP for a query that came over TCP (its
// client was told, over UDP, that the answer does not fit).
#pragma once

#include "dns_message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <optional>
#include <random>
#include <vector>

namespace hutch::egress::resolver {

class Upstreams {
 public:
  Upstreams(boost::asio::any_io_executor executor, std::vector<boost::asio::ip::address> servers);

  // The first answer to `query` (`wire` is its wire format) that comes back from a server:
  // sent under an id of its own (random, as the sandbox's was meant to be unguessable), and
  // accepted only with that id and the same question from the server asked; given back
  // with the client's id. Each server gets kTimeout. nullopt when none answered.
  boost::asio::awaitable<std::optional<Wire>> exchange(const DnsMessage& query, Wire wire, bool tcp);

  static constexpr std::chrono::milliseconds kTimeout{2000};

 private:
  boost::asio::awaitable<std::optional<Wire>> over_udp(const boost::asio::ip::address& server, const Wire& wire);
  boost::asio::awaitable<std::optional<Wire>> over_tcp(const boost::asio::ip::address& server, const Wire& wire);

  boost::asio::any_io_executor executor_;
  std::vector<boost::asio::ip::address> servers_;
  std::mt19937 random_{std::random_device{}()};
};

}  // namespace hutch::egress::resolver
