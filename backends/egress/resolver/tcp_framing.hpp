// DNS over TCP (RFC 1035 4.2.2; RFC 7766): each message goes with a two-byte length in front.
// Shared by the resolver's server side and its upstream side.
#pragma once

#include "dns_message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace hutch::egress::resolver {

inline boost::asio::awaitable<Wire> read_framed(boost::asio::ip::tcp::socket& socket) {
  std::array<std::uint8_t, 2> length{};
  co_await boost::asio::async_read(socket, boost::asio::buffer(length), boost::asio::use_awaitable);
  Wire message(static_cast<std::size_t>(length[0]) << 8 | length[1]);
  co_await boost::asio::async_read(socket, boost::asio::buffer(message), boost::asio::use_awaitable);
  co_return message;
}

inline boost::asio::awaitable<void> write_framed(boost::asio::ip::tcp::socket& socket, const Wire& message) {
  const std::array<std::uint8_t, 2> length{static_cast<std::uint8_t>(message.size() >> 8),
                                           static_cast<std::uint8_t>(message.size() & 0xff)};
  co_await boost::asio::async_write(socket, std::array{boost::asio::buffer(length), boost::asio::buffer(message)},
                                    boost::asio::use_awaitable);
}

}  // namespace hutch::egress::resolver
