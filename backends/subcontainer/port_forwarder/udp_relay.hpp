// The UDP half of the forwarder (docker-proxy's UDP proxy): datagrams from each client
// address on the host socket go to the sandbox's port from a socket of that client's own, and
// what the sandbox answers there goes back to the client from the host socket. A client's
// socket is closed after kUdpIdle without traffic; at most kUdpClients at once (the datagrams
// of a client beyond them are dropped, as a full queue would).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <cstddef>

namespace hutch::subcontainer::port_forwarder {

// What Linux's conntrack keeps a UDP stream for, as docker-proxy does.
inline constexpr std::chrono::seconds kUdpIdle{90};
inline constexpr std::size_t kUdpClients = 1024;

// Starts reading `host_socket` (bound) and relaying to `target`; runs on `io` until it stops.
void start_udp_relay(boost::asio::io_context& io, boost::asio::ip::udp::socket host_socket,
                     boost::asio::ip::udp::endpoint target);

}  // namespace hutch::subcontainer::port_forwarder
