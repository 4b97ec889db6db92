// The TCP half of the forwarder (docker-proxy's TCP proxy): each connection accepted on the
// host socket gets a connection of its own to the sandbox's port, and bytes are copied both
// ways until both sides have finished; a side's end of stream is passed on as a half close.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace hutch::subcontainer::port_forwarder {

// Starts accepting on `listener` (bound and listening) and relaying to `target`; runs on
// `io` until it stops. A connection the sandbox refuses is closed at once.
void start_tcp_relay(boost::asio::io_context& io, boost::asio::ip::tcp::acceptor listener,
                     boost::asio::ip::tcp::endpoint target);

}  // namespace hutch::subcontainer::port_forwarder
