// ServiceClient: the remote backend's connection to a `hutch serve` (/v1 API): buffered JSON
// calls, streamed downloads and uploads (a chunk at a time, never a whole file), and the
// WebSocket of a streamed command (server/STREAMS.md).
//
// Beast and Asio stay in the .cpp files; this header is cheap to include. Idle HTTP
// connections are kept and reused (an exec round trip then costs no connect). An answer with a
// status >= 400 is thrown as the hutch::Error the service names in its body
// ({"error":{"code","message"}}), so a caller of the remote backend sees the same Errc as a
// caller of the backend behind the service.
#pragma once

#include "listen_address.hpp"

#include <hutch/fs.hpp>

#include <boost/json/value.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hutch::remote {

// Where the service listens, parsed as `hutch serve --listen` parses it (server/listen_address).
using ServiceAddress = server::ListenAddress;

// One message of a streamed command's WebSocket.
struct WsMessage {
  bool text = false;
  std::string data;
};

// The client side of a streamed command: one read and one write may run at once (from two
// threads); writes are serialized.
class CommandSocket {
 public:
  virtual ~CommandSocket() = default;
  // The next message; nullopt once the service closed the socket.
  virtual std::optional<WsMessage> read() = 0;
  // Errc::io when the socket is gone.
  virtual void write(bool text, std::string_view data) = 0;
  // Closes the socket (normal closure); no error if it is gone already.
  virtual void close() = 0;
};

class ServiceClient {
 public:
  ServiceClient(ServiceAddress address, std::string token);
  ~ServiceClient();
  ServiceClient(const ServiceClient&) = delete;
  ServiceClient& operator=(const ServiceClient&) = delete;

  // A buffered call with a JSON body (none when `body` is null); the answer's JSON (null for an
  // empty body). `target` is the path with its query, already percent-encoded.
  boost::json::value call(const std::string& method, const std::string& target,
                          const boost::json::value& body = nullptr);

  // GET `target`, the body handed to `sink` a chunk at a time; stops when the sink says so.
  void download(const std::string& target, const ChunkSink& sink);
  // PUT `target` with the chunks of `source` (chunked transfer encoding); the answer's JSON.
  boost::json::value upload(const std::string& target, const ChunkSource& source);

  // Upgrades GET `target` to a WebSocket.
  std::unique_ptr<CommandSocket> open_socket(const std::string& target);

  std::string address_text() const { return address_.text(); }

  struct Connection;  // a connected socket and its read buffer (service_client.cpp)

 private:
  // An idle connection (`reused` set) or a new one; Errc::io naming the address when connecting fails.
  std::unique_ptr<Connection> take_connection(bool& reused);
  std::unique_ptr<Connection> connect();
  // Sends `request` and reads the answer into a fresh `parser` with `read` (all of it, or the
  // header); on a kept connection the service closed meanwhile, once more on a new one.
  // Returns the connection, for the rest of the body and for keeping.
  template <class Request, class Parser, class Read>
  std::unique_ptr<Connection> send(const Request& request, std::optional<Parser>& parser, Read read, const std::string& what);
  void keep_connection(std::unique_ptr<Connection> connection);
  void drop_idle_connections();

  ServiceAddress address_;
  std::string authorization_;  // "Bearer <token>", or empty
  std::mutex idle_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

// Throws the error an answer with `status` and `body` stands for: the Errc its "code" names
// with its "message", or, for a body not of that form, an Errc guessed from the status.
[[noreturn]] void throw_service_error(unsigned status, std::string_view body, const std::string& what);

// `text` percent-encoded for a query value or a path segment.
std::string encode(std::string_view text);

}  // namespace hutch::remote
