// Exchange: one HTTP request and its response, as a handler sees them. The connection
// (connection.cpp) reads the request's header on its I/O thread and hands the exchange to a
// worker thread; every call below runs on that worker and blocks until the I/O thread has done
// its part, so a handler is plain sequential code while the I/O threads never block. Each read
// and write has the connection's deadline (a stalled client ends the exchange with
// Errc::timeout), and since the worker waits for every write, a slow reader slows the producer
// (back-pressure) instead of filling memory.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hutch::server {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> params;               // from the route: {id}
  std::string authorization;
  // Every header, names lower-cased, in order (the E2B layer reads X-API-Key, E2b-Sandbox-Id,
  // Content-Type and others).
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::uint64_t> content_length;  // unset: chunked or none
  bool has_body = false;

  // The first value of query parameter `name`.
  std::optional<std::string> query_value(const std::string& name) const;
  // Every value of `name` (label=a=b&label=c=d).
  std::vector<std::string> query_values(const std::string& name) const;
  // The first value of header `name` (given lower-case).
  std::optional<std::string> header(std::string_view name) const;
};

// A request upgraded to a WebSocket (server/STREAMS.md). Every call blocks the worker until the
// I/O thread has done it; one read and one write may run at once (from two threads), writes
// are serialized. Messages are at most 1 MiB.
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  struct Message {
    bool text = false;
    std::string data;
  };
  // The next message; nullopt once the client closed the socket or went away.
  virtual std::optional<Message> read() = 0;
  // Sends one message; Errc::io / Errc::timeout when the client is gone or stopped reading.
  virtual void write(bool text, std::string_view data) = 0;
  // Sends a close frame with `code` (1000 normal, 1008 policy, 1011 error); no error if the
  // client is already gone.
  virtual void close(std::uint16_t code, std::string_view reason) = 0;
};

// Response header fields beyond those the connection sets (Content-Type, Content-Length...).
using Headers = std::vector<std::pair<std::string, std::string>>;

class Exchange {
 public:
  virtual ~Exchange() = default;

  virtual Request& request() = 0;

  // The next piece of the request body; empty at its end. Errc::timeout when the client
  // stalls, Errc::io when it goes away or sends a malformed body.
  virtual std::string_view read_body_chunk() = 0;
  // The whole body, refused with Errc::too_large past `limit` bytes (before reading it when
  // Content-Length says so).
  virtual std::string read_body(std::uint64_t limit) = 0;

  // A whole response, with `headers` added.
  virtual void respond(unsigned status, std::string_view content_type, std::string body, const Headers& headers = {}) = 0;
  // A streamed response: the header, then chunks (chunked transfer encoding), then the end.
  // write_chunk waits until the chunk is written; Errc::io / Errc::timeout when the client
  // went away or stopped reading.
  virtual void begin_stream(unsigned status, std::string_view content_type) = 0;
  virtual void write_chunk(std::string_view data) = 0;
  virtual void end_stream() = 0;
  // Answers a WebSocket upgrade request (101) and returns the socket; after it, the exchange
  // has responded and the connection ends with the socket. Errc::invalid_argument when the
  // request is not an upgrade.
  virtual WebSocket& accept_websocket() = 0;
  // Hands the connection over to `upstream` (a connected stream socket, owned from now on): the
  // request's header is sent there with its target's first `strip_segments` path segments
  // removed, its Authorization header and those named in `drop_headers` (lower-case; other
  // credentials of the service) dropped and, unless it is an upgrade, "Connection: close"
  // (one request per proxied connection: a later one on the same connection would skip this
  // route); then bytes are relayed both ways, each way through one bounded buffer, until both
  // sides have ended. Returns at once; the exchange counts as responded and the connection ends
  // with the relay. `held` (a stream cap's place) is kept until the relay has ended, whichever
  // way it ends, and released then.
  virtual void tunnel(int upstream, std::size_t strip_segments, const std::vector<std::string>& drop_headers = {},
                      std::shared_ptr<void> held = nullptr) = 0;
  // Whether a response (or its header) was sent already.
  virtual bool responded() const = 0;
};

}  // namespace hutch::server
