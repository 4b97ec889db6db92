#include "service_client.hpp"

#include <hutch/error.hpp>
#include <hutch/percent_encoding.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <array>
#include <charconv>
#include <future>
#include <thread>

namespace hutch::remote {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using Socket = net::generic::stream_protocol::socket;

struct ServiceClient::Connection {
  net::io_context io;
  Socket socket{io};
  beast::flat_buffer buffer;
};

namespace {

constexpr std::size_t kChunkSize = 64 * 1024;

Errc errc_named(std::string_view name, unsigned status) {
  for (int value = 0; value <= static_cast<int>(Errc::rate_limited); ++value)
    if (to_string(static_cast<Errc>(value)) == name) return static_cast<Errc>(value);
  switch (status) {
    case 400: return Errc::invalid_argument;
    case 401: return Errc::unauthenticated;
    case 403: return Errc::permission_denied;
    case 404: return Errc::not_found;
    case 409: return Errc::state;
    case 413: return Errc::too_large;
    case 429: return Errc::rate_limited;
    case 501: return Errc::unsupported;
    case 504: return Errc::timeout;
    default: return Errc::backend;
  }
}

template <class Message>
void authorize(Message& message, const std::string& authorization) {
  message.set(http::field::host, "localhost");
  if (!authorization.empty()) message.set(http::field::authorization, authorization);
}

// Reads the body of the response `parser` has the header of, a chunk at a time, until its end
// or until `take` returns false (then false).
template <class Parser, class Take>
bool read_chunks(ServiceClient::Connection& connection, Parser& parser, Take&& take, const std::string& what) {
  std::array<char, kChunkSize> chunk;
  while (!parser.is_done()) {
    auto& body = parser.get().body();
    body.data = chunk.data();
    body.size = chunk.size();
    beast::error_code ec;
    http::read(connection.socket, connection.buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw Error(Errc::io, what + ": " + ec.message());
    const std::size_t got = chunk.size() - parser.get().body().size;
    if (got > 0 && !take(std::string_view(chunk.data(), got))) return false;
  }
  return true;
}

json::value parse_answer(const std::string& body, const std::string& what) {
  if (body.empty()) return nullptr;
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) throw Error(Errc::backend, what + ": the service answered something that is not JSON: " + body.substr(0, 200));
  return value;
}

// A streamed command's WebSocket. Its connection's io_context runs on a thread of its own;
// read() and write() start their operation there and wait for it, so one of each may run at
// once (what Beast allows) while the callers block as Process's contract wants.
class CommandWebSocket final : public CommandSocket {
 public:
  CommandWebSocket(std::unique_ptr<ServiceClient::Connection> connection, const std::string& target,
                   const std::string& authorization, const std::string& address)
      : connection_(std::move(connection)), ws_(connection_->socket), work_(net::make_work_guard(connection_->io)) {
    ws_.set_option(websocket::stream_base::decorator([authorization](websocket::request_type& request) {
      if (!authorization.empty()) request.set(http::field::authorization, authorization);
    }));
    ws_.read_message_max(1 << 20);
    websocket::response_type response;
    beast::error_code ec;
    ws_.handshake(response, "localhost", target, ec);
    const std::string what = "streamed command " + target + " at " + address;
    if (ec && response.result_int() >= 400) throw_service_error(response.result_int(), response.body(), what);
    if (ec) throw Error(Errc::io, what + ": " + ec.message());
    thread_ = std::thread([this] { connection_->io.run(); });
  }

  ~CommandWebSocket() override {
    net::post(connection_->io, [this] {
      beast::error_code ignored;
      connection_->socket.close(ignored);
    });
    work_.reset();
    thread_.join();
  }

  std::optional<WsMessage> read() override {
    auto [ec, n] = wait_io([&](auto handler) { ws_.async_read(read_buffer_, std::move(handler)); });
    if (ec) return std::nullopt;
    WsMessage message{ws_.got_text(), beast::buffers_to_string(read_buffer_.data())};
    read_buffer_.consume(read_buffer_.size());
    return message;
  }

  void write(bool text, std::string_view data) override {
    std::lock_guard lock(write_mutex_);
    auto [ec, n] = wait_io([&](auto handler) {
      ws_.text(text);
      ws_.async_write(net::const_buffer(data.data(), data.size()), std::move(handler));
    });
    if (ec) throw Error(Errc::io, "writing to a streamed command's WebSocket: " + ec.message());
  }

  void close() override {
    std::lock_guard lock(write_mutex_);
    wait_io([&](auto handler) {
      ws_.async_close(websocket::close_code::normal, [handler = std::move(handler)](beast::error_code ec) mutable { handler(ec, 0); });
    });
  }

 private:
  template <class Op>
  std::pair<beast::error_code, std::size_t> wait_io(Op op) {
    std::promise<std::pair<beast::error_code, std::size_t>> done;
    auto result = done.get_future();
    net::dispatch(connection_->io, [&] { op([&done](beast::error_code ec, std::size_t n) { done.set_value({ec, n}); }); });
    return result.get();
  }

  std::unique_ptr<ServiceClient::Connection> connection_;
  websocket::stream<Socket&> ws_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::thread thread_;
  beast::flat_buffer read_buffer_;
  std::mutex write_mutex_;
};

}  // namespace

void throw_service_error(unsigned status, std::string_view body, const std::string& what) {
  boost::system::error_code ec;
  json::value document = json::parse(body, ec);
  if (!ec && document.is_object())
    if (const auto* error = document.as_object().if_contains("error"); error && error->is_object()) {
      const auto* code = error->as_object().if_contains("code");
      const auto* message = error->as_object().if_contains("message");
      if (code && code->is_string() && message && message->is_string())
        throw Error(errc_named(code->as_string(), status), std::string(message->as_string()));
    }
  throw Error(errc_named("", status), what + ": the service answered " + std::to_string(status) + ": " +
                                          std::string(body.substr(0, 200)));
}

std::string encode(std::string_view text) { return percent_encode(text); }

ServiceClient::ServiceClient(ServiceAddress address, std::string token)
    : address_(std::move(address)), authorization_(token.empty() ? "" : "Bearer " + token) {}

ServiceClient::~ServiceClient() = default;

std::unique_ptr<ServiceClient::Connection> ServiceClient::connect() {
  auto connection = std::make_unique<Connection>();
  beast::error_code ec;
  if (address_.kind == ServiceAddress::Kind::unix_socket) {
    connection->socket.connect(net::generic::stream_protocol::endpoint(net::local::stream_protocol::endpoint(address_.path)), ec);
  } else {
    net::ip::tcp::resolver resolver(connection->io);
    auto results = resolver.resolve(address_.host, std::to_string(address_.port), ec);
    if (!ec) {
      ec = net::error::host_not_found;
      for (const auto& entry : results) {
        beast::error_code ignored;
        connection->socket.close(ignored);
        connection->socket.connect(net::generic::stream_protocol::endpoint(entry.endpoint()), ec);
        if (!ec) break;
      }
    }
  }
  if (ec)
    throw Error(Errc::io, "cannot reach the hutch service at " + address_.text() + ": " + ec.message() +
                              " (is `hutch serve` running there? see HUTCH_HOST / --host)");
  return connection;
}

std::unique_ptr<ServiceClient::Connection> ServiceClient::take_connection(bool& reused) {
  {
    std::lock_guard lock(idle_mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      reused = true;
      return connection;
    }
  }
  reused = false;
  return connect();
}

void ServiceClient::drop_idle_connections() {
  std::lock_guard lock(idle_mutex_);
  idle_.clear();
}

void ServiceClient::keep_connection(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(idle_mutex_);
  if (idle_.size() < 4) idle_.push_back(std::move(connection));
}

template <class Request, class Parser, class Read>
std::unique_ptr<ServiceClient::Connection> ServiceClient::send(const Request& request, std::optional<Parser>& parser, Read read,
                                                               const std::string& what) {
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto connection = attempt == 0 ? take_connection(reused) : connect();
    beast::error_code ec;
    http::write(connection->socket, request, ec);
    // The answer is the service's, which bounds it (a command's output by its limit).
    parser.emplace();
    parser->body_limit(boost::none);
    if (!ec) read(connection->socket, connection->buffer, *parser, ec);
    // A kept connection the service has closed meanwhile (its header timeout): once more, on a
    // new connection. The other kept ones have waited at least as long, so they go too.
    if (ec && reused && attempt == 0) {
      drop_idle_connections();
      continue;
    }
    if (ec) throw Error(Errc::io, what + ": " + ec.message());
    return connection;
  }
}

json::value ServiceClient::call(const std::string& method, const std::string& target, const json::value& body) {
  const std::string what = method + " " + target + " at " + address_.text();
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  authorize(request, authorization_);
  if (!body.is_null()) {
    request.set(http::field::content_type, "application/json");
    request.body() = json::serialize(body);
  }
  request.prepare_payload();
  std::optional<http::response_parser<http::string_body>> parser;
  auto connection = send(request, parser, [](auto& socket, auto& buffer, auto& p, auto& ec) { http::read(socket, buffer, p, ec); }, what);
  http::response<http::string_body> response = parser->release();
  if (response.keep_alive()) keep_connection(std::move(connection));
  if (response.result_int() >= 400) throw_service_error(response.result_int(), response.body(), what);
  return parse_answer(response.body(), what);
}

void ServiceClient::download(const std::string& target, const ChunkSink& sink) {
  const std::string what = "GET " + target + " at " + address_.text();
  http::request<http::empty_body> request{http::verb::get, target, 11};
  authorize(request, authorization_);
  std::optional<http::response_parser<http::buffer_body>> parser;
  auto connection =
      send(request, parser, [](auto& socket, auto& buffer, auto& p, auto& ec) { http::read_header(socket, buffer, p, ec); }, what);
  const unsigned status = parser->get().result_int();
  if (status >= 400) {
    std::string error;
    read_chunks(*connection, *parser, [&](std::string_view chunk) { return error.append(chunk), error.size() < (1 << 20); }, what);
    throw_service_error(status, error, what);
  }
  // A sink that stops early leaves the rest unread: that connection cannot be used again.
  if (read_chunks(*connection, *parser, sink, what) && parser->get().keep_alive()) keep_connection(std::move(connection));
}

json::value ServiceClient::upload(const std::string& target, const ChunkSource& source) {
  const std::string what = "PUT " + target + " at " + address_.text();
  http::request<http::empty_body> request{http::verb::put, target, 11};
  authorize(request, authorization_);
  request.set(http::field::content_type, "application/octet-stream");
  request.chunked(true);
  // Never a kept connection: the source can be read once only, so there is no second attempt.
  auto connection = connect();
  beast::error_code ec;
  http::request_serializer<http::empty_body> serializer{request};
  http::write_header(connection->socket, serializer, ec);
  for (std::string_view chunk = ec ? std::string_view() : source(); !chunk.empty(); chunk = source()) {
    net::write(connection->socket, http::make_chunk(net::const_buffer(chunk.data(), chunk.size())), ec);
    if (ec) break;
  }
  if (!ec) net::write(connection->socket, http::make_chunk_last(), ec);
  // Read the answer even when writing failed: the service answers an early error (no such
  // directory) and closes without reading the rest.
  http::response<http::string_body> response;
  beast::error_code read_ec;
  http::read(connection->socket, connection->buffer, response, read_ec);
  if (read_ec) throw Error(Errc::io, what + ": " + (ec ? ec : read_ec).message());
  if (response.result_int() >= 400) throw_service_error(response.result_int(), response.body(), what);
  if (!ec && response.keep_alive()) keep_connection(std::move(connection));
  return parse_answer(response.body(), what);
}

std::unique_ptr<CommandSocket> ServiceClient::open_socket(const std::string& target) {
  return std::make_unique<CommandWebSocket>(connect(), target, authorization_, address_.text());
}

}  // namespace hutch::remote
