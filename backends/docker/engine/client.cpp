// The Engine client's transport: Beast for HTTP framing, Asio sockets (and Asio SSL for TLS)
// for I/O. Every blocking step runs on the connection's private io_context with a steady_timer
// that cancels the socket when the deadline passes, so no step can wait forever. Hijacked
// streams switch to plain poll()/recv()/send() on the socket (OpenSSL on it for TLS,
// tls_transport.hpp) so a reader thread and a stdin writer can share it.
#include "engine/client.hpp"

#include "engine/tls_transport.hpp"

#include <hutch/error.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <sstream>
#include <variant>

namespace hutch::docker {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using error_code = boost::system::error_code;
using UnixSocket = asio::local::stream_protocol::socket;
using TcpSocket = asio::ip::tcp::socket;
using TlsSocket = asio::ssl::stream<TcpSocket>;

constexpr std::uint64_t kBufferedBodyLimit = 512ull << 20;

using AnySocket = std::variant<UnixSocket, TcpSocket, TlsSocket>;

// `tls`: the client context of a TLS endpoint, else null.
AnySocket make_socket(asio::io_context& ioc, Endpoint::Kind kind, asio::ssl::context* tls) {
  if (kind == Endpoint::Kind::unix_socket) return AnySocket(std::in_place_type<UnixSocket>, ioc);
  if (tls != nullptr) return AnySocket(std::in_place_type<TlsSocket>, ioc, *tls);
  return AnySocket(std::in_place_type<TcpSocket>, ioc);
}

// One connection to the daemon, with its own io_context so calls on different connections
// never share an event loop.
struct Connection {
  asio::io_context ioc;
  asio::steady_timer timer{ioc};
  asio::ip::tcp::resolver resolver{ioc};
  AnySocket socket;
  beast::flat_buffer buffer;

  Connection(Endpoint::Kind kind, asio::ssl::context* tls) : socket(make_socket(ioc, kind, tls)) {}

  void cancel() {
    std::visit([](auto& s) { error_code ignored; beast::get_lowest_layer(s).cancel(ignored); }, socket);
    resolver.cancel();
  }
  int native_handle() {
    return std::visit([](auto& s) { return static_cast<int>(beast::get_lowest_layer(s).native_handle()); }, socket);
  }
  // The TCP socket (under TLS, the layer below it).
  TcpSocket& tcp() {
    if (auto* tls = std::get_if<TlsSocket>(&socket)) return tls->next_layer();
    return std::get<TcpSocket>(socket);
  }
  template <class F>
  decltype(auto) with_socket(F&& f) {
    return std::visit(std::forward<F>(f), socket);
  }
};

struct OpResult {
  error_code ec;
  std::size_t bytes = 0;
  bool timed_out = false;
};

// Runs one asynchronous step to completion or until `deadline`.
// `start(done)` must begin the step and arrange for done(ec, bytes) to be called.
template <class Start>
OpResult run_step(Connection& c, Deadline deadline, Start&& start) {
  OpResult result;
  bool finished = false;
  c.timer.expires_at(deadline);
  c.timer.async_wait([&](error_code ec) {
    if (ec || finished) return;
    result.timed_out = true;
    c.cancel();
  });
  start([&](error_code ec, std::size_t bytes) {
    finished = true;
    result.ec = ec;
    result.bytes = bytes;
    c.timer.cancel();
  });
  c.ioc.restart();
  c.ioc.run();
  if (!result.timed_out || !result.ec) result.timed_out = false;
  return result;
}

http::verb to_verb(Method method) {
  switch (method) {
    case Method::get: return http::verb::get;
    case Method::head: return http::verb::head;
    case Method::post: return http::verb::post;
    case Method::put: return http::verb::put;
    case Method::delete_: return http::verb::delete_;
  }
  return http::verb::get;
}

const char* method_name(Method method) {
  switch (method) {
    case Method::get: return "GET";
    case Method::head: return "HEAD";
    case Method::post: return "POST";
    case Method::put: return "PUT";
    case Method::delete_: return "DELETE";
  }
  return "GET";
}

std::string format_timeout(Duration d) {
  auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

bool is_stale_connection_error(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == http::error::partial_message;
}

template <class Fields>
std::vector<std::pair<std::string, std::string>> copy_headers(const Fields& fields) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& field : fields)
    out.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return out;
}

std::optional<std::string> find_header(const std::vector<std::pair<std::string, std::string>>& headers,
                                       std::string_view name) {
  for (const auto& [key, value] : headers)
    if (beast::iequals(key, name)) return value;
  return std::nullopt;
}

Errc errc_for_status(unsigned status) {
  switch (status) {
    case 400: return Errc::invalid_argument;
    case 401:
    case 403: return Errc::permission_denied;
    case 404: return Errc::not_found;
    case 409: return Errc::state;
    default: return Errc::backend;
  }
}

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  return find_header(headers, name);
}

std::string engine_message(std::string_view body) {
  error_code ec;
  auto value = boost::json::parse(body, ec);
  if (!ec && value.is_object()) {
    const auto& object = value.as_object();
    for (const char* key : {"message", "error"})
      if (auto* found = object.if_contains(key); found && found->is_string())
        return std::string(found->as_string());
  }
  std::string text(body);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  if (text.size() > 2000) text = text.substr(0, 2000) + "...";
  return text.empty() ? std::string("(no message)") : text;
}

void throw_engine_error(const std::string& endpoint, const std::string& what, unsigned status,
                        std::string_view body) {
  throw Error(errc_for_status(status), "docker (" + endpoint + "): " + what + ": " +
                                           engine_message(body) + " (HTTP " +
                                           std::to_string(status) + ")");
}

int compare_api_versions(std::string_view a, std::string_view b) {
  auto parse = [](std::string_view v) {
    std::array<long, 2> parts{0, 0};
    std::size_t index = 0;
    for (char c : v) {
      if (c == '.') {
        if (++index >= parts.size()) break;
      } else if (c >= '0' && c <= '9') {
        parts[index] = parts[index] * 10 + (c - '0');
      }
    }
    return parts;
  };
  auto left = parse(a);
  auto right = parse(b);
  if (left != right) return left < right ? -1 : 1;
  return 0;
}

struct EngineClient::Impl {
  ClientOptions options;
  std::string endpoint_name;
  std::optional<asio::ssl::context> tls;  // for a TLS endpoint
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Connection>> idle;
  std::mutex version_mutex;
  std::optional<std::string> version;
  std::optional<EngineIdentity> identity;

  explicit Impl(ClientOptions o) : options(std::move(o)), endpoint_name(options.endpoint.to_string()) {
    if (options.endpoint.tls) tls.emplace(make_tls_context(*options.endpoint.tls, endpoint_name));
  }

  Deadline deadline_for(const Request& request) const {
    return Clock::now() + request.timeout.value_or(options.request_timeout);
  }

  [[noreturn]] void fail_step(const OpResult& step, const std::string& what, const char* stage,
                              Duration timeout) const {
    if (step.timed_out)
      throw Error(Errc::timeout, "docker (" + endpoint_name + "): " + what + ": no answer within " +
                                     format_timeout(timeout) + " while " + stage +
                                     "; is the daemon running and responsive?");
    if (step.ec.category() == asio::error::get_ssl_category())
      throw Error(Errc::backend, "docker (" + endpoint_name + "): " + what + ": " + stage + ": " +
                                     describe_handshake_failure(nullptr, step.ec.message()));
    throw Error(Errc::backend, "docker (" + endpoint_name + "): " + what + ": " + stage +
                                   " failed: " + step.ec.message());
  }

  // A new connection, its TLS handshake done unless `handshake` is false (the caller then
  // shakes hands itself on the TCP socket: hijack()).
  std::unique_ptr<Connection> connect(Deadline deadline, const std::string& what, Duration timeout,
                                      bool handshake = true) {
    auto connection = std::make_unique<Connection>(options.endpoint.kind, tls ? &*tls : nullptr);
    Connection& c = *connection;
    if (options.endpoint.kind == Endpoint::Kind::unix_socket) {
      auto step = run_step(c, deadline, [&](auto done) {
        std::get<UnixSocket>(c.socket).async_connect(
            asio::local::stream_protocol::endpoint(options.endpoint.path),
            [done](error_code ec) mutable { done(ec, 0); });
      });
      if (step.ec && !step.timed_out)
        throw Error(Errc::backend, "docker (" + endpoint_name + "): " + what +
                                       ": cannot connect: " + step.ec.message() +
                                       "; is dockerd running? (start it, or set DOCKER_HOST or "
                                       "[backends.docker] host)");
      if (step.ec) fail_step(step, what, "connecting", timeout);
      return connection;
    }
    asio::ip::tcp::resolver::results_type endpoints;
    auto resolved = run_step(c, deadline, [&](auto done) {
      c.resolver.async_resolve(options.endpoint.host, std::to_string(options.endpoint.port),
                               [done, &endpoints](error_code ec, auto results) mutable {
                                 endpoints = results;
                                 done(ec, 0);
                               });
    });
    if (resolved.ec) fail_step(resolved, what, "resolving the daemon's address", timeout);
    auto step = run_step(c, deadline, [&](auto done) {
      asio::async_connect(c.tcp(), endpoints, [done](error_code ec, const auto&) mutable { done(ec, 0); });
    });
    if (step.ec && !step.timed_out)
      throw Error(Errc::backend, "docker (" + endpoint_name + "): " + what +
                                     ": cannot connect: " + step.ec.message() +
                                     "; is dockerd listening there?");
    if (step.ec) fail_step(step, what, "connecting", timeout);
    if (auto* stream = std::get_if<TlsSocket>(&c.socket); stream != nullptr && handshake) {
      expect_peer(stream->native_handle(), options.endpoint.host, options.endpoint.tls->verify);
      auto shook = run_step(c, deadline, [&](auto done) {
        stream->async_handshake(asio::ssl::stream_base::client, [done](error_code ec) mutable { done(ec, 0); });
      });
      if (shook.timed_out) fail_step(shook, what, "the TLS handshake", timeout);
      if (shook.ec)
        throw Error(Errc::backend, "docker (" + endpoint_name + "): " + what + ": " +
                                       describe_handshake_failure(stream->native_handle(), shook.ec.message()));
    }
    return connection;
  }

  std::unique_ptr<Connection> acquire(Deadline deadline, const std::string& what, Duration timeout,
                                      bool& reused) {
    {
      std::lock_guard lock(pool_mutex);
      if (!idle.empty()) {
        auto connection = std::move(idle.back());
        idle.pop_back();
        reused = true;
        return connection;
      }
    }
    reused = false;
    return connect(deadline, what, timeout);
  }

  void release(std::unique_ptr<Connection> connection) {
    if (connection->buffer.size() != 0) return;  // unread bytes: not at a message boundary
    std::lock_guard lock(pool_mutex);
    if (idle.size() < options.max_idle_connections) idle.push_back(std::move(connection));
  }

  std::string versioned(const std::string& target) { return "/v" + negotiated_version() + target; }

  http::request<http::string_body> build(const Request& request, const std::string& target) const {
    http::request<http::string_body> message{to_verb(request.method), target, 11};
    message.set(http::field::host, "docker");
    message.set(http::field::user_agent, "hutch");
    for (const auto& [name, value] : request.headers) message.set(name, value);
    if (!request.body.empty()) {
      message.set(http::field::content_type, request.content_type);
      message.body() = request.body;
    }
    message.prepare_payload();
    return message;
  }

  std::string describe(const Request& request) const {
    if (!request.what.empty()) return request.what;
    return std::string(method_name(request.method)) + " " + request.target;
  }

  // Sends `request` to `target` (already versioned) and reads the whole response. Retries
  // once on a fresh connection when a pooled one turns out to have been closed by the daemon.
  Response exchange(const Request& request, const std::string& target) {
    const std::string what = describe(request);
    const Duration timeout = request.timeout.value_or(options.request_timeout);
    const Deadline deadline = Clock::now() + timeout;
    auto message = build(request, target);
    for (int attempt = 0;; ++attempt) {
      bool reused = false;
      auto connection = acquire(deadline, what, timeout, reused);
      Connection& c = *connection;
      auto wrote = run_step(c, deadline, [&](auto done) {
        c.with_socket([&](auto& s) { http::async_write(s, message, done); });
      });
      http::response_parser<http::string_body> parser;
      parser.body_limit(kBufferedBodyLimit);
      if (request.method == Method::head) parser.skip(true);
      OpResult read;
      if (!wrote.ec) {
        read = run_step(c, deadline, [&](auto done) {
          c.with_socket([&](auto& s) { http::async_read(s, c.buffer, parser, done); });
        });
      }
      const OpResult& failed = wrote.ec ? wrote : read;
      if (failed.ec) {
        if (reused && attempt == 0 && !failed.timed_out && is_stale_connection_error(failed.ec))
          continue;
        fail_step(failed, what, wrote.ec ? "sending the request" : "reading the response", timeout);
      }
      auto& result = parser.get();
      Response response;
      response.status = result.result_int();
      response.headers = copy_headers(result);
      response.body = std::move(result.body());
      if (parser.keep_alive()) release(std::move(connection));
      if (response.status >= 400 && std::find(request.returned_statuses.begin(), request.returned_statuses.end(),
                                               response.status) == request.returned_statuses.end())
        throw_engine_error(endpoint_name, what, response.status, response.body);
      return response;
    }
  }

  // GET /version, parsed; Errc::backend when the answer is not a JSON object.
  boost::json::value version_document(const std::string& why) {
    Request request;
    request.target = "/version";
    request.what = why + " (GET /version)";
    auto response = exchange(request, request.target);
    boost::system::error_code ec;
    auto parsed = boost::json::parse(response.body, ec);
    if (ec || !parsed.is_object())
      throw Error(Errc::backend, "docker (" + endpoint_name + "): GET /version did not answer a JSON object; is this a "
                                 "Docker Engine?");
    return parsed;
  }

  std::string negotiated_version() {
    std::lock_guard lock(version_mutex);
    if (version) return *version;
    if (options.api_version) {
      version = *options.api_version;
      return *version;
    }
    // The ping first: Podman takes seconds to answer GET /version (it asks its runtime, conmon
    // and every other component for their versions), and every hutch command starts here.
    std::string daemon;
    if (auto facts = ask_ping("negotiate the API version")) {
      identity = facts->identity;
      daemon = facts->api_version;
    } else {
      auto parsed = version_document("negotiate the API version");
      identity = identify_engine(parsed);
      const boost::json::value* daemon_version = parsed.as_object().if_contains("ApiVersion");
      if (daemon_version == nullptr || !daemon_version->is_string())
        throw Error(Errc::backend, "docker (" + endpoint_name +
                                       "): GET /version did not report ApiVersion; is this a Docker "
                                       "Engine?");
      daemon = std::string(daemon_version->as_string());
    }
    if (compare_api_versions(daemon, kMinApiVersion) < 0)
      throw Error(Errc::backend, "docker (" + endpoint_name + "): the daemon speaks API " + daemon +
                                     ", hutch needs " + kMinApiVersion +
                                     " or newer (Docker Engine 20.10+); upgrade the daemon");
    version = compare_api_versions(daemon, kMaxApiVersion) < 0 ? daemon : std::string(kMaxApiVersion);
    return *version;
  }

  EngineIdentity engine() {
    negotiated_version();
    std::lock_guard lock(version_mutex);
    // A fixed API version skipped the negotiation.
    if (!identity) {
      auto facts = ask_ping("identify the engine");
      identity = facts ? facts->identity : identify_engine(version_document("identify the engine"));
    }
    return *identity;
  }

  std::optional<PingFacts> ask_ping(const std::string& why) {
    Request ping;
    ping.target = "/_ping";
    ping.what = why + " (GET /_ping)";
    return ping_facts(exchange(ping, ping.target).headers);
  }
};

namespace {

class PooledBodyReader final : public BodyReader {
 public:
  PooledBodyReader(EngineClient::Impl& client, std::string what) : client_(client), what_(std::move(what)) {}

  // Sends the request on `connection` and reads the response header. On failure the
  // connection is dropped and the failed step returned.
  OpResult start(std::unique_ptr<Connection> connection, const http::request<http::string_body>& message,
                 Deadline deadline, bool head) {
    connection_ = std::move(connection);
    Connection& c = *connection_;
    parser_.emplace();
    parser_->body_limit(boost::none);
    if (head) parser_->skip(true);
    auto wrote = run_step(c, deadline, [&](auto done) {
      c.with_socket([&](auto& s) { http::async_write(s, message, done); });
    });
    if (wrote.ec) {
      connection_.reset();
      return wrote;
    }
    auto read = run_step(c, deadline, [&](auto done) {
      c.with_socket([&](auto& s) { http::async_read_header(s, c.buffer, *parser_, done); });
    });
    if (read.ec) {
      connection_.reset();
      return read;
    }
    headers_ = copy_headers(parser_->get());
    return read;
  }

  unsigned status() const override { return parser_->get().result_int(); }
  std::optional<std::string> header(std::string_view name) const override {
    return find_header(headers_, name);
  }

  std::string_view next() override {
    while (connection_ && !parser_->is_done()) {
      Connection& c = *connection_;
      parser_->get().body().data = chunk_.data();
      parser_->get().body().size = chunk_.size();
      parser_->get().body().more = true;
      Duration timeout = client_.options.request_timeout;
      auto step = run_step(c, Clock::now() + timeout, [&](auto done) {
        // read_some: hand out what has arrived instead of waiting for a full chunk.
        c.with_socket([&](auto& s) { http::async_read_some(s, c.buffer, *parser_, done); });
      });
      if (step.ec && step.ec != http::error::need_buffer) {
        connection_.reset();
        client_.fail_step(step, what_, "reading the response body", timeout);
      }
      std::size_t filled = chunk_.size() - parser_->get().body().size;
      if (filled > 0) return {chunk_.data(), filled};
    }
    if (connection_ && parser_->keep_alive()) client_.release(std::move(connection_));
    connection_.reset();
    return {};
  }

 private:
  EngineClient::Impl& client_;
  std::string what_;
  std::unique_ptr<Connection> connection_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::array<char, 64 * 1024> chunk_{};
};

class ChunkedBodyWriter final : public BodyWriter {
 public:
  ChunkedBodyWriter(EngineClient::Impl& client, std::unique_ptr<Connection> connection,
                    std::string what, Duration timeout)
      : client_(client), connection_(std::move(connection)), what_(std::move(what)), timeout_(timeout) {}

  void start(http::request<http::empty_body>& message) {
    http::request_serializer<http::empty_body> serializer{message};
    Connection& c = *connection_;
    auto step = run_step(c, Clock::now() + timeout_, [&](auto done) {
      c.with_socket([&](auto& s) { http::async_write_header(s, serializer, done); });
    });
    if (step.ec) client_.fail_step(step, what_, "sending the request header", timeout_);
  }

  void write(std::string_view chunk) override {
    if (chunk.empty()) return;
    Connection& c = *connection_;
    auto step = run_step(c, Clock::now() + timeout_, [&](auto done) {
      c.with_socket([&](auto& s) {
        asio::async_write(s, http::make_chunk(asio::const_buffer(chunk.data(), chunk.size())), done);
      });
    });
    if (step.ec) fail_with_response(step, "sending the request body");
  }

  Response finish() override {
    Connection& c = *connection_;
    auto step = run_step(c, Clock::now() + timeout_, [&](auto done) {
      c.with_socket([&](auto& s) { asio::async_write(s, http::make_chunk_last(), done); });
    });
    if (step.ec) fail_with_response(step, "ending the request body");
    auto response = read_response(timeout_);
    if (!response) client_.fail_step(last_read_, what_, "reading the response", timeout_);
    if (response->status >= 400)
      throw_engine_error(client_.endpoint_name, what_, response->status, response->body);
    return *response;
  }

 private:
  std::optional<Response> read_response(Duration timeout) {
    Connection& c = *connection_;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBufferedBodyLimit);
    last_read_ = run_step(c, Clock::now() + timeout, [&](auto done) {
      c.with_socket([&](auto& s) { http::async_read(s, c.buffer, parser, done); });
    });
    if (last_read_.ec) return std::nullopt;
    Response response;
    response.status = parser.get().result_int();
    response.headers = copy_headers(parser.get());
    response.body = std::move(parser.get().body());
    return response;
  }

  // The daemon may answer (with an error) and close before the whole body is sent: report its
  // answer rather than the broken pipe.
  [[noreturn]] void fail_with_response(const OpResult& step, const char* stage) {
    if (!step.timed_out) {
      if (auto response = read_response(std::chrono::seconds(5)); response && response->status >= 400)
        throw_engine_error(client_.endpoint_name, what_, response->status, response->body);
    }
    client_.fail_step(step, what_, stage, timeout_);
  }

  EngineClient::Impl& client_;
  std::unique_ptr<Connection> connection_;
  std::string what_;
  Duration timeout_;
  OpResult last_read_;
};

class HijackedStream final : public RawStream {
 public:
  HijackedStream(std::unique_ptr<Connection> connection, std::string leftover, std::string what)
      : connection_(std::move(connection)), fd_(connection_->native_handle()),
        leftover_(std::move(leftover)), what_(std::move(what)) {}

  std::optional<std::size_t> read_some(char* out, std::size_t size, Deadline deadline) override {
    if (leftover_offset_ < leftover_.size()) {
      std::size_t take = std::min(size, leftover_.size() - leftover_offset_);
      std::memcpy(out, leftover_.data() + leftover_offset_, take);
      leftover_offset_ += take;
      return take;
    }
    for (;;) {
      if (!wait_for(POLLIN, deadline)) return std::nullopt;
      ssize_t n = ::recv(fd_, out, size, 0);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == ECONNRESET) return 0;
      throw Error(Errc::io, what_ + ": reading the stream failed: " + std::strerror(errno));
    }
  }

  void write_all(std::string_view data, Deadline deadline) override {
    while (!data.empty()) {
      auto n = write_some(data, deadline);
      if (!n) throw Error(Errc::timeout, what_ + ": writing to stdin did not progress before the deadline");
      data.remove_prefix(*n);
    }
  }

  std::optional<std::size_t> write_some(std::string_view data, Deadline deadline) override {
    for (;;) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        if (!wait_for(POLLOUT, deadline)) return std::nullopt;
        continue;
      }
      throw Error(Errc::io, what_ + ": writing to stdin failed (" + std::strerror(errno) +
                                "); the command may have closed its stdin or ended");
    }
  }

  void shutdown_send() override { ::shutdown(fd_, SHUT_WR); }

 private:
  // Waits until `events` or the deadline; false on deadline.
  bool wait_for(short events, Deadline deadline) {
    for (;;) {
      int timeout_ms = -1;
      if (deadline != Deadline::max()) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        timeout_ms = static_cast<int>(std::min<long long>(left, 1 << 30));
      }
      pollfd entry{fd_, events, 0};
      int ready = ::poll(&entry, 1, timeout_ms);
      if (ready > 0) return true;
      if (ready == 0) return false;
      if (errno != EINTR) throw_system_error("poll on the docker stream", errno);
    }
  }

  std::unique_ptr<Connection> connection_;
  int fd_;
  std::string leftover_;
  std::size_t leftover_offset_ = 0;
  std::string what_;
};

// hijack() over TLS: a new TCP connection handed to OpenSSL (TlsSocketStream), the request
// written and the response header read through it.
std::unique_ptr<RawStream> hijack_over_tls(EngineClient::Impl& impl, const http::request<http::string_body>& message,
                                           const std::string& what, Duration timeout, Deadline deadline) {
  auto connection = impl.connect(deadline, what, timeout, /*handshake=*/false);
  const int fd = ::dup(connection->native_handle());
  if (fd < 0) throw_system_error("docker (" + impl.endpoint_name + "): " + what + ": dup", errno);
  connection.reset();
  auto stream = std::make_unique<TlsSocketStream>(fd, impl.tls->native_handle(), impl.options.endpoint.host,
                                                  impl.options.endpoint.tls->verify, deadline, what, impl.endpoint_name);
  std::ostringstream request_text;
  request_text << message;
  stream->write_all(request_text.str(), deadline);

  auto fail = [&](Errc code, const std::string& why) -> void {
    throw Error(code, "docker (" + impl.endpoint_name + "): " + what + ": " + why);
  };
  // Reads more of the answer into `pending`; false at its end.
  std::string pending;
  auto read_more = [&](Deadline until) {
    char buffer[16384];
    auto n = stream->read_some(buffer, sizeof buffer, until);
    if (!n) fail(Errc::timeout, "no answer within " + format_timeout(timeout) + " while reading the response header");
    pending.append(buffer, *n);
    return *n != 0;
  };
  // Feeds `pending` to `parser`, dropping what it took.
  auto feed = [&](auto& parser) {
    error_code ec;
    const std::size_t used = parser.put(asio::buffer(pending), ec);
    if (ec && ec != http::error::need_more) fail(Errc::backend, "the daemon's answer is not HTTP: " + ec.message());
    pending.erase(0, used);
  };
  http::response_parser<http::empty_body> header;
  while (!header.is_header_done()) {
    if (!read_more(deadline)) fail(Errc::backend, "the daemon closed the connection before its answer's header");
    feed(header);
  }
  const unsigned status = header.get().result_int();
  if (status >= 400) {
    http::response_parser<http::string_body> body{std::move(header)};
    const Deadline body_deadline = Clock::now() + std::chrono::seconds(5);
    feed(body);
    while (!body.is_done() && read_more(body_deadline)) feed(body);
    throw_engine_error(impl.endpoint_name, what, status, body.get().body());
  }
  stream->unread(std::move(pending));
  return stream;
}

}  // namespace

EngineClient::EngineClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
EngineClient::~EngineClient() = default;

Response EngineClient::call(const Request& request) {
  return impl_->exchange(request, impl_->versioned(request.target));
}

boost::json::value EngineClient::call_json(const Request& request) {
  const Response response = call(request);
  error_code ec;
  auto value = boost::json::parse(response.body, ec);
  if (ec)
    throw Error(Errc::backend, "docker (" + impl_->endpoint_name + "): " + request.what + ": the daemon answered HTTP " +
                                   std::to_string(response.status) + " with a body that is not JSON (" + ec.message() +
                                   "): " + response.body.substr(0, 200));
  return value;
}

std::unique_ptr<BodyReader> EngineClient::open_reader(const Request& request) {
  Impl& impl = *impl_;
  const std::string target = impl.versioned(request.target);
  const std::string what = impl.describe(request);
  const Duration timeout = request.timeout.value_or(impl.options.request_timeout);
  const Deadline deadline = Clock::now() + timeout;
  auto message = impl.build(request, target);
  auto reader = std::make_unique<PooledBodyReader>(impl, what);
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto connection = impl.acquire(deadline, what, timeout, reused);
    auto step = reader->start(std::move(connection), message, deadline, request.method == Method::head);
    if (step.ec) {
      if (reused && attempt == 0 && !step.timed_out && is_stale_connection_error(step.ec)) continue;
      impl.fail_step(step, what, "sending the request or reading the response", timeout);
    }
    break;
  }
  if (reader->status() >= 400) {
    std::string body;
    for (auto piece = reader->next(); !piece.empty() && body.size() < 65536; piece = reader->next())
      body.append(piece);
    throw_engine_error(impl.endpoint_name, what, reader->status(), body);
  }
  return reader;
}

std::unique_ptr<BodyWriter> EngineClient::open_writer(const Request& request) {
  Impl& impl = *impl_;
  const std::string target = impl.versioned(request.target);
  const std::string what = impl.describe(request);
  const Duration timeout = request.timeout.value_or(impl.options.request_timeout);
  auto connection = impl.connect(Clock::now() + timeout, what, timeout);
  http::request<http::empty_body> message{to_verb(request.method), target, 11};
  message.set(http::field::host, "docker");
  message.set(http::field::user_agent, "hutch");
  message.set(http::field::content_type, request.content_type);
  for (const auto& [name, value] : request.headers) message.set(name, value);
  message.chunked(true);
  auto writer = std::make_unique<ChunkedBodyWriter>(impl, std::move(connection), what, timeout);
  writer->start(message);
  return writer;
}

std::unique_ptr<RawStream> EngineClient::hijack(const Request& request) {
  Impl& impl = *impl_;
  const std::string target = impl.versioned(request.target);
  const std::string what = impl.describe(request);
  const Duration timeout = request.timeout.value_or(impl.options.request_timeout);
  const Deadline deadline = Clock::now() + timeout;
  auto message = impl.build(request, target);
  message.set(http::field::connection, "Upgrade");
  message.set(http::field::upgrade, "tcp");
  if (impl.tls) return hijack_over_tls(impl, message, what, timeout, deadline);
  // An idle pooled connection saves a connect (for TCP also a resolve and a handshake) on
  // every exec. The daemon may have closed it meanwhile: a stale one is retried once on a
  // fresh connection, as exchange() does. The taken-over connection never goes back.
  std::unique_ptr<Connection> connection;
  std::optional<http::response_parser<http::empty_body>> header_parser;
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    connection = impl.acquire(deadline, what, timeout, reused);
    Connection& c = *connection;
    auto wrote = run_step(c, deadline, [&](auto done) {
      c.with_socket([&](auto& s) { http::async_write(s, message, done); });
    });
    header_parser.emplace();
    OpResult read;
    if (!wrote.ec) {
      read = run_step(c, deadline, [&](auto done) {
        c.with_socket([&](auto& s) { http::async_read_header(s, c.buffer, *header_parser, done); });
      });
    }
    const OpResult& failed = wrote.ec ? wrote : read;
    if (!failed.ec) break;
    if (reused && attempt == 0 && !failed.timed_out && is_stale_connection_error(failed.ec)) continue;
    impl.fail_step(failed, what, wrote.ec ? "sending the request" : "reading the response header", timeout);
  }
  Connection& c = *connection;
  unsigned status = header_parser->get().result_int();
  if (status >= 400) {
    http::response_parser<http::string_body> body_parser{std::move(*header_parser)};
    run_step(c, Clock::now() + std::chrono::seconds(5), [&](auto done) {
      c.with_socket([&](auto& s) { http::async_read(s, c.buffer, body_parser, done); });
    });
    throw_engine_error(impl.endpoint_name, what, status, body_parser.get().body());
  }
  // Whatever Beast read past the header already belongs to the stream.
  auto data = c.buffer.data();
  std::string leftover(static_cast<const char*>(data.data()), data.size());
  c.buffer.consume(data.size());
  return std::make_unique<HijackedStream>(std::move(connection), std::move(leftover), what);
}

void EngineClient::ping() {
  Request request;
  request.target = "/_ping";
  request.what = "ping the daemon";
  impl_->exchange(request, request.target);
}

std::string EngineClient::api_version() { return impl_->negotiated_version(); }
EngineIdentity EngineClient::engine() { return impl_->engine(); }

std::string EngineIdentity::describe() const {
  std::string name = kind == Kind::podman ? "Podman" : "Docker Engine";
  return version.empty() ? name : name + " " + version;
}

EngineIdentity identify_engine(const boost::json::value& version_document) {
  EngineIdentity identity;
  const auto* object = version_document.if_object();
  if (object == nullptr) return identity;
  if (const auto* version = object->if_contains("Version"); version != nullptr && version->is_string())
    identity.version = std::string(version->as_string());
  const auto* components = object->if_contains("Components");
  if (components == nullptr || !components->is_array()) return identity;
  for (const auto& component : components->as_array()) {
    const auto* entry = component.if_object();
    if (entry == nullptr) continue;
    const auto* name = entry->if_contains("Name");
    if (name == nullptr || !name->is_string() || name->as_string() != "Podman Engine") continue;
    identity.kind = EngineIdentity::Kind::podman;
    if (const auto* version = entry->if_contains("Version"); version != nullptr && version->is_string())
      identity.version = std::string(version->as_string());
  }
  return identity;
}
std::optional<PingFacts> ping_facts(const std::vector<std::pair<std::string, std::string>>& headers) {
  auto api_version = find_header(headers, "Api-Version");
  if (!api_version || api_version->empty()) return std::nullopt;
  PingFacts facts;
  facts.api_version = *api_version;
  if (auto libpod = find_header(headers, "Libpod-Api-Version")) {
    facts.identity.kind = EngineIdentity::Kind::podman;
    facts.identity.version = *libpod;
  } else if (auto server = find_header(headers, "Server"); server && server->rfind("Docker/", 0) == 0) {
    const std::string rest = server->substr(std::string_view("Docker/").size());
    facts.identity.version = rest.substr(0, rest.find(' '));
  }
  return facts;
}

std::string EngineClient::endpoint_name() const { return impl_->endpoint_name; }
Duration EngineClient::request_timeout() const { return impl_->options.request_timeout; }

}  // namespace hutch::docker
