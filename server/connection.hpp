// One client connection (HTTP/1.1, keep-alive): reads each request's header on the I/O thread
// under a deadline, then hands the request to a worker thread as an Exchange (exchange.hpp),
// and reads the next request once that one is answered. Unix sockets, TCP and TLS over TCP
// alike: one class, generic over the stream, so WebSockets, streamed bodies and the port proxy
// work the same on each.
#pragma once

#include "router.hpp"
#include "service.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>

namespace hutch::server {

struct ConnectionLimits {
  // The whole request header (and the wait for it on a kept-alive connection) must arrive
  // within this: a client that sends a byte now and then cannot hold a connection.
  std::chrono::milliseconds header_timeout{30000};
  // Each read of a request body and each write of a response must make progress within this.
  std::chrono::milliseconds idle_timeout{60000};
  std::uint32_t header_limit = 16 * 1024;         // bytes of request line and headers
};

struct ConnectionContext {
  const Router& router;
  Service& service;
  boost::asio::thread_pool& workers;
  ConnectionLimits limits;
  // Set: a TCP connection speaks TLS with this context (the handshake has the header timeout);
  // a client that sends plain HTTP gets a plain 400 saying so.
  boost::asio::ssl::context* tls = nullptr;
};

// Serves `socket` until the client closes it, a deadline passes, or the server stops
// (close_all). The socket's executor must be a strand.
void serve_connection(boost::asio::ip::tcp::socket socket, const ConnectionContext& context);
void serve_connection(boost::asio::local::stream_protocol::socket socket, const ConnectionContext& context);

}  // namespace hutch::server
