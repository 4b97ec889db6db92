// EngineClient: the Docker Engine API over HTTP/1.1 (Unix socket or TCP).
//
// Boost.Beast and Asio stay in client.cpp; this header is cheap to include. Every call has a
// deadline (the configured request timeout unless the request gives its own), so a daemon that
// dies or stalls makes a call fail with Errc::timeout or Errc::backend naming the endpoint
// instead of hanging. Connections are kept in a small pool and reused.
//
// Errors from the daemon carry its own message and map its status: 400 invalid_argument,
// 401/403 permission_denied, 404 not_found, 409 state, anything else backend.
#pragma once

#include "engine/endpoint.hpp"

#include <hutch/types.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hutch::docker {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

enum class Method { get, head, post, put, delete_ };

struct Request {
  Method method = Method::get;
  std::string target;  // "/containers/x/json?all=true", without the "/v1.xx" prefix
  std::string body;    // sent with content_type when non-empty
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<Duration> timeout;  // whole call; default: the client's request timeout
  std::string what;  // what the call does, for error messages ("start container hutch-1")
  // Error statuses returned as a Response instead of thrown (call() only), for the callers
  // that read headers of an error answer (engine_quirks.hpp: Podman's HEAD of a dangling link).
  std::vector<unsigned> returned_statuses;
};

struct Response {
  unsigned status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // The value of header `name` (case-insensitive), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

// Maps an HTTP status and the daemon's response body to a hutch::Error and throws it.
[[noreturn]] void throw_engine_error(const std::string& endpoint, const std::string& what,
                                     unsigned status, std::string_view body);
// The daemon's own message from an error body ({"message": "..."}), or the trimmed body.
std::string engine_message(std::string_view body);

// A streamed response body (downloads: archives, pull progress, stats).
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  virtual unsigned status() const = 0;
  virtual std::optional<std::string> header(std::string_view name) const = 0;
  // The next piece of the body; an empty view at the end. Each read has the client's
  // request timeout as its deadline.
  virtual std::string_view next() = 0;
};

// A streamed request body sent with chunked transfer encoding (uploads: archives, imports).
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  virtual void write(std::string_view chunk) = 0;
  // Ends the body and reads the response; throws the engine error for a status >= 400.
  virtual Response finish() = 0;
};

// A hijacked connection (attach / exec start): raw bytes both ways after the HTTP header.
// read_some and write_all may be called from two different threads.
class RawStream {
 public:
  virtual ~RawStream() = default;
  // Up to `size` bytes into `out`; 0 at end of stream; nullopt if `deadline` passed first.
  virtual std::optional<std::size_t> read_some(char* out, std::size_t size, Deadline deadline) = 0;
  // Throws Errc::io when the peer closed, Errc::timeout past the deadline.
  virtual void write_all(std::string_view data, Deadline deadline) = 0;
  // Writes what it can of `data` (at least one byte) once the stream takes it; nullopt if
  // `deadline` passed first. Throws Errc::io when the peer closed.
  virtual std::optional<std::size_t> write_some(std::string_view data, Deadline deadline) = 0;
  // Half-closes the sending side: the command sees EOF on stdin.
  virtual void shutdown_send() = 0;
};

// Which engine answers on the endpoint, from its GET /_ping headers (read once, with the API
// version negotiation), or its GET /version where the ping does not say.
struct EngineIdentity {
  enum class Kind { docker, podman };
  Kind kind = Kind::docker;
  std::string version;  // the engine's own version ("24.0.5", "4.3.1"), or empty if unknown
  std::string describe() const;  // "Docker Engine 24.0.5", "Podman 4.3.1"
};

// The identity a GET /version document describes: Podman's lists a component named
// "Podman Engine"; anything else is taken for dockerd.
EngineIdentity identify_engine(const boost::json::value& version_document);

// What a GET /_ping answer's headers say, as the docker CLI negotiates: `Api-Version` (the
// newest API the engine speaks), and who answers — Podman sends `Libpod-Api-Version` (its
// own version), dockerd `Server: Docker/<version> (<os>)`. Empty when `Api-Version` is missing
// (an engine or proxy that does not send it): GET /version must be asked then.
struct PingFacts {
  std::string api_version;
  EngineIdentity identity;
};
std::optional<PingFacts> ping_facts(const std::vector<std::pair<std::string, std::string>>& headers);

struct ClientOptions {
  Endpoint endpoint;
  Duration request_timeout = std::chrono::seconds(60);
  std::optional<std::string> api_version;  // fixed version instead of negotiating
  std::size_t max_idle_connections = 4;
};

// The API versions this client speaks: it negotiates min(daemon's, kMaxApiVersion) and
// refuses a daemon older than kMinApiVersion.
inline constexpr const char* kMinApiVersion = "1.41";
inline constexpr const char* kMaxApiVersion = "1.43";

// Compares "1.41"-style versions: negative, zero or positive like strcmp.
int compare_api_versions(std::string_view a, std::string_view b);

class EngineClient {
 public:
  explicit EngineClient(ClientOptions options);
  ~EngineClient();
  EngineClient(const EngineClient&) = delete;
  EngineClient& operator=(const EngineClient&) = delete;

  // A buffered call. Returns any status < 400 (callers check 304 etc.); throws otherwise.
  Response call(const Request& request);
  // call() and its body parsed as JSON; Errc::backend naming request.what when it is not JSON.
  boost::json::value call_json(const Request& request);
  // A call whose response body is read piece by piece; throws for a status >= 400.
  std::unique_ptr<BodyReader> open_reader(const Request& request);
  // A call whose request body is written piece by piece.
  std::unique_ptr<BodyWriter> open_writer(const Request& request);
  // A call whose connection is taken over (Upgrade: tcp) once the header is read.
  std::unique_ptr<RawStream> hijack(const Request& request);

  // GET /_ping with the request deadline; throws when the daemon does not answer.
  void ping();

  // The negotiated API version ("1.41"); negotiates on first use.
  std::string api_version();
  // The engine behind the endpoint; asks GET /version on first use (with the negotiation).
  EngineIdentity engine();
  std::string endpoint_name() const;
  Duration request_timeout() const;

  struct Impl;  // defined in client.cpp; public only so the stream types there can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hutch::docker
