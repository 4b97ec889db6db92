#include "connection.hpp"

#include "http_error.hpp"

#include <hutch/error.hpp>
#include <hutch/log.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>

#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <array>
#include <cctype>
#include <functional>
#include <sstream>
#include <future>
#include <mutex>
#include <type_traits>

namespace hutch::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {

// The streams a connection runs on: a socket under Beast's deadlines, and TLS over TCP's.
template <class Protocol>
using PlainStream = beast::basic_stream<Protocol, net::any_io_executor>;
using TlsStream = beast::ssl_stream<PlainStream<net::ip::tcp>>;

// How long a TLS close_notify exchange at the end of a proxied connection may take.
constexpr std::chrono::seconds kTlsCloseTimeout{5};

template <class Stream>
class Connection final : public Exchange,
                         public WebSocket,
                         public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `stream_args` make the Stream: a socket, or a socket and the TLS context.
  template <class... StreamArgs>
  explicit Connection(const ConnectionContext& context, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...), executor_(stream_.get_executor()), context_(context) {}

  void start() {
    if constexpr (kTls)
      detect_tls();
    else
      read_header();
  }

  // Exchange, on the worker thread.
  Request& request() override { return request_; }
  std::string_view read_body_chunk() override;
  std::string read_body(std::uint64_t limit) override;
  void respond(unsigned status, std::string_view content_type, std::string body, const Headers& headers = {}) override;
  void begin_stream(unsigned status, std::string_view content_type) override;
  void write_chunk(std::string_view data) override;
  void end_stream() override;
  bool responded() const override { return responded_; }
  WebSocket& accept_websocket() override;
  void tunnel(int upstream, std::size_t strip_segments, const std::vector<std::string>& drop_headers,
              std::shared_ptr<void> held) override;

  // WebSocket, on worker threads.
  std::optional<Message> read() override;
  void write(bool text, std::string_view data) override;
  void close(std::uint16_t code, std::string_view reason) override;

 private:
  // The socket under the stream, with its deadline (before an upgrade: stream_ moves into ws_).
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  // TLS: a client that sends plain HTTP gets a plain answer saying so; else the handshake,
  // within the header timeout, then the first request.
  void detect_tls();
  void handshake();
  void read_header();
  void on_header(beast::error_code ec);
  void answer_bad_request(unsigned status, const std::string& message);
  // Writes an error answer on `stream` (stream_ or, before TLS, the socket) and closes.
  template <class AnyStream>
  void answer_and_close(AnyStream& stream, unsigned status, const std::string& message);
  void run_on_worker();
  void shutdown_socket();
  // Relays both ways until both ended; `held` goes with the last of its handlers.
  void relay(std::shared_ptr<boost::asio::posix::stream_descriptor> upstream, std::string prefix, std::shared_ptr<void> held);

  // Starts `op(handler)` on the connection's strand and waits (on the worker) until the
  // handler ran; returns what it got. The deadline applies to the operation.
  template <class Op>
  std::pair<beast::error_code, std::size_t> wait_io(Op op) {
    std::promise<std::pair<beast::error_code, std::size_t>> done;
    auto result = done.get_future();
    net::dispatch(executor_, [&] {
      op([&done](beast::error_code ec, std::size_t n) { done.set_value({ec, n}); });
    });
    return result.get();
  }
  // Starts the write `op(handler)` under the idle deadline and waits for it; Errc::timeout or
  // Errc::io naming `what` when it fails.
  template <class Op>
  void write_and_wait(const std::string& what, Op op) {
    auto [ec, n] = wait_io([&](auto handler) {
      lowest().expires_after(context_.limits.idle_timeout);
      op(std::move(handler));
    });
    if (ec) io_failed(what, ec);
  }
  // Errc::timeout or Errc::io for a failed read or write of `what`.
  [[noreturn]] void io_failed(const std::string& what, beast::error_code ec) {
    close_after_ = true;
    if (ec == beast::error::timeout)
      throw Error(Errc::timeout, what + ": the client made no progress for " +
                                     std::to_string(context_.limits.idle_timeout.count()) + " ms");
    throw Error(Errc::io, what + ": " + ec.message());
  }

  Stream stream_;
  // The connection's strand; kept apart because stream_ moves into ws_ on an upgrade.
  net::any_io_executor executor_;
  std::optional<websocket::stream<Stream>> ws_;
  beast::flat_buffer ws_buffer_;
  std::mutex ws_write_mutex_;
  bool upgrade_ = false;
  ConnectionContext context_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  Request request_;
  bool responded_ = false;
  bool close_after_ = false;
  bool tunneled_ = false;  // the connection belongs to a relay (tunnel()) from now on
  std::string raw_target_;
  std::array<char, 64 * 1024> body_chunk_{};
};

template <class Stream>
void Connection<Stream>::detect_tls() {
  lowest().expires_after(context_.limits.header_timeout);
  beast::async_detect_ssl(lowest(), buffer_, [self = this->shared_from_this()](beast::error_code ec, bool tls) {
    if (ec) return self->shutdown_socket();
    if (!tls)
      return self->answer_and_close(self->lowest(), 400,
                                    "this port speaks TLS only: use https:// (plain HTTP is served on loopback "
                                    "listeners of a service without tls_cert)");
    self->handshake();
  });
}

template <class Stream>
void Connection<Stream>::handshake() {
  // What the detection read is the start of the handshake.
  // (The default argument: Boost 1.81's constraint checks this handler against the unbuffered
  // handshake's signature.)
  stream_.async_handshake(net::ssl::stream_base::server, buffer_.data(),
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t used = 0) {
                            self->buffer_.consume(used);
                            if (ec) {
                              beast::error_code ignored;
                              const auto peer = self->lowest().socket().remote_endpoint(ignored);
                              logger()->info("TLS handshake with {}:{} failed: {}", peer.address().to_string(),
                                             peer.port(), ec.message());
                              return self->shutdown_socket();
                            }
                            self->read_header();
                          });
}

template <class Stream>
void Connection<Stream>::read_header() {
  parser_.emplace();
  parser_->header_limit(context_.limits.header_limit);
  parser_->body_limit(boost::none);  // enforced per route: read_body for JSON, none for files
  request_ = Request{};
  responded_ = false;
  close_after_ = false;
  lowest().expires_after(context_.limits.header_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

template <class Stream>
void Connection<Stream>::on_header(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
      ec == net::error::operation_aborted || ec == net::error::connection_reset)
    return shutdown_socket();
  if (ec == http::error::header_limit) return answer_bad_request(431, "the request header is larger than " +
                                                                       std::to_string(context_.limits.header_limit) + " bytes");
  if (ec) return answer_bad_request(400, "malformed request: " + ec.message());

  const auto& header = parser_->get();
  const auto method = header.method_string();
  request_.method.assign(method.data(), method.size());
  const std::string raw_target(header.target().data(), header.target().size());
  raw_target_ = raw_target;
  auto target = boost::urls::parse_origin_form(raw_target);
  if (!target) return answer_bad_request(400, "malformed request target '" + raw_target + "'");
  request_.path = target->path();
  for (auto param : target->params()) request_.query.emplace_back(param.key, param.value);
  if (auto auth = header.find(http::field::authorization); auth != header.end())
    request_.authorization.assign(auth->value().data(), auth->value().size());
  for (const auto& field : header) {
    std::string name(field.name_string().data(), field.name_string().size());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request_.headers.emplace_back(std::move(name), std::string(field.value().data(), field.value().size()));
  }
  if (auto length = parser_->content_length()) request_.content_length = *length;
  request_.has_body = !parser_->is_done();
  upgrade_ = websocket::is_upgrade(parser_->get());
  net::post(context_.workers, [self = this->shared_from_this()] { self->run_on_worker(); });
}

template <class Stream>
void Connection<Stream>::answer_bad_request(unsigned status, const std::string& message) {
  answer_and_close(stream_, status, message);
}

template <class Stream>
template <class AnyStream>
void Connection<Stream>::answer_and_close(AnyStream& stream, unsigned status, const std::string& message) {
  auto response = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
  response->set(http::field::content_type, "application/json");
  response->keep_alive(false);
  response->body() = error_body("invalid_argument", message);
  response->prepare_payload();
  lowest().expires_after(context_.limits.idle_timeout);
  http::async_write(stream, *response, [self = this->shared_from_this(), response](beast::error_code, std::size_t) {
    self->shutdown_socket();
  });
}

template <class Stream>
void Connection<Stream>::run_on_worker() {
  context_.service.request_started();
  bool reuse = context_.router.dispatch(context_.service, *this);
  context_.service.request_ended();
  // A body left unread would be taken for the next request; a draining service takes none.
  reuse = reuse && !close_after_ && parser_->is_done() && parser_->get().keep_alive() && !context_.service.draining();
  net::post(executor_, [self = this->shared_from_this(), reuse] {
    if (self->tunneled_) return;  // the relay ends the connection
    if (reuse)
      self->read_header();
    else
      self->shutdown_socket();
  });
}

template <class Stream>
void Connection<Stream>::shutdown_socket() {
  beast::error_code ignored;
  auto& socket = ws_ ? beast::get_lowest_layer(*ws_).socket() : lowest().socket();
  socket.shutdown(net::socket_base::shutdown_both, ignored);
  socket.close(ignored);
}

template <class Stream>
WebSocket& Connection<Stream>::accept_websocket() {
  if (!upgrade_)
    throw Error(Errc::invalid_argument, request_.method + " " + request_.path +
                                            " is a WebSocket: send an Upgrade: websocket request (see server/STREAMS.md)");
  responded_ = true;
  close_after_ = true;
  auto [ec, n] = wait_io([&](auto handler) {
    ws_.emplace(std::move(stream_));
    // The WebSocket's own deadlines (a ping when idle, a close handshake that must end) take
    // over from the HTTP stream's.
    beast::get_lowest_layer(*ws_).expires_never();
    ws_->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_->read_message_max(1 << 20);
    // One message, one frame, one gathered write: Beast otherwise cuts what the service sends
    // into frames of its 4 KiB write buffer, a write (and for the client a frame) each, which
    // held streamed output to a fraction of what the socket carries. Messages are bounded
    // already (kMaxFramePayload, stream_protocol.hpp).
    ws_->auto_fragment(false);
    auto accepted = [handler = std::move(handler)](beast::error_code ec) mutable { handler(ec, 0); };
    if (buffer_.size() == 0) return ws_->async_accept(parser_->get(), std::move(accepted));
    // The client sent frames right behind its upgrade request (RFC 6455 4.1 says to wait for the
    // 101, not every client does) and they were read with the header. Beast takes such bytes
    // only together with the handshake's own, so the header goes again in front of them;
    // handed the parsed request instead, the WebSocket would never see those frames.
    std::ostringstream header;
    header << parser_->get().base();
    std::string received = header.str() + beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    ws_->async_accept(net::buffer(received), std::move(accepted));  // copies `received` before it returns
  });
  if (ec) io_failed("accepting the WebSocket", ec);
  return *this;
}

// One direction of a relay: reads from `from` into a fixed buffer and writes that to `to` before
// reading more, so a slow receiver slows the sender (bounded memory). `done(clean)` runs once,
// when `from` ended (clean) or either side failed.
template <class From, class To>
class Pump : public std::enable_shared_from_this<Pump<From, To>> {
 public:
  Pump(From& from, To& to, std::function<void(bool)> done) : from_(from), to_(to), done_(std::move(done)) {}
  void start() { read(); }

 private:
  void read() {
    from_.async_read_some(net::buffer(buffer_), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return self->done_(ec == net::error::eof);
      net::async_write(self->to_, net::buffer(self->buffer_.data(), n), [self](beast::error_code ec, std::size_t) {
        if (ec) return self->done_(false);
        self->read();
      });
    });
  }
  From& from_;
  To& to_;
  std::function<void(bool)> done_;
  std::array<char, 64 * 1024> buffer_{};
};

// The request target without its first `strip` path segments ("/v1/sandboxes/x/ports/80/a?b"
// with 5 -> "/a?b"); "/" when nothing is left of the path.
std::string strip_target(const std::string& target, std::size_t strip) {
  const auto query = target.find('?');
  std::string path = target.substr(0, query);
  std::size_t at = 0;
  for (std::size_t i = 0; i < strip && at != std::string::npos; ++i) {
    at = path.find_first_not_of('/', at);
    if (at != std::string::npos) at = path.find('/', at);
  }
  path = at == std::string::npos ? "/" : path.substr(at);
  return path + (query == std::string::npos ? "" : target.substr(query));
}

template <class Stream>
void Connection<Stream>::tunnel(int upstream_fd, std::size_t strip_segments,
                                const std::vector<std::string>& drop_headers, std::shared_ptr<void> held) {
  net::posix::stream_descriptor upstream(executor_, upstream_fd);
  http::request_header<> head(parser_->get().base());
  head.target(strip_target(raw_target_, strip_segments));
  // The service's token is for the service: the program in the sandbox never sees it.
  head.erase(http::field::authorization);
  for (const std::string& name : drop_headers) head.erase(name);
  // Any protocol upgrade (a WebSocket, or another) keeps its Connection header.
  const bool upgrade = head.count(http::field::upgrade) > 0 && http::token_list(head[http::field::connection]).exists("upgrade");
  if (!upgrade) head.set(http::field::connection, "close");
  std::ostringstream serialized;
  serialized << head;
  responded_ = true;
  close_after_ = true;
  tunneled_ = true;
  net::dispatch(executor_, [self = this->shared_from_this(), upstream = std::move(upstream),
                            prefix = serialized.str(), held = std::move(held)]() mutable {
    // What the client sent after the header (the start of a body) follows it upstream.
    prefix += beast::buffers_to_string(self->buffer_.data());
    self->buffer_.consume(self->buffer_.size());
    self->lowest().expires_never();  // a WebSocket through the proxy may be quiet for long
    self->relay(std::make_shared<net::posix::stream_descriptor>(std::move(upstream)), std::move(prefix), std::move(held));
  });
}

template <class Stream>
void Connection<Stream>::relay(std::shared_ptr<net::posix::stream_descriptor> upstream, std::string prefix,
                               std::shared_ptr<void> held) {
  auto self = this->shared_from_this();
  // Both directions end before the sockets close; a direction that ends cleanly passes the end
  // on (shutdown of the other side's write half), a failure closes everything. Every handler
  // of the relay holds close_all, so `held` is released once the last of them is gone.
  auto ended = std::make_shared<int>(0);
  auto close_all = [self, upstream, held = std::move(held)] {
    beast::error_code ignored;
    upstream->close(ignored);
    self->shutdown_socket();
  };
  auto client_done = [self, upstream, ended, close_all](bool clean) {
    if (*ended >= 2) return;  // ended by the upstream's side (TLS)
    if (clean) ::shutdown(upstream->native_handle(), SHUT_WR);
    if (!clean || ++*ended == 2) close_all();
  };
  auto upstream_done = [self, upstream, ended, close_all](bool clean) {
    if constexpr (kTls) {
      // TLS cannot end one direction alone while the other reads (its close_notify is answered
      // on the same session): the client's direction stops, close_notify says the end, then
      // everything closes. HTTP and WebSocket need nothing after the upstream's end.
      if (clean) {
        *ended = 2;
        self->lowest().cancel();
        self->lowest().expires_after(kTlsCloseTimeout);
        return self->stream_.async_shutdown([close_all](beast::error_code) { close_all(); });
      }
    } else {
      beast::error_code ignored;
      if (clean) self->lowest().socket().shutdown(net::socket_base::shutdown_send, ignored);
    }
    if (!clean || ++*ended == 2) close_all();
  };
  auto head = std::make_shared<std::string>(std::move(prefix));
  net::async_write(*upstream, net::buffer(*head), [self, upstream, head, client_done, upstream_done, close_all](beast::error_code ec, std::size_t) {
    if (ec) return close_all();
    std::make_shared<Pump<Stream, net::posix::stream_descriptor>>(self->stream_, *upstream, client_done)->start();
    std::make_shared<Pump<net::posix::stream_descriptor, Stream>>(*upstream, self->stream_, upstream_done)->start();
  });
}

template <class Stream>
std::optional<WebSocket::Message> Connection<Stream>::read() {
  auto [ec, n] = wait_io([&](auto handler) { ws_->async_read(ws_buffer_, std::move(handler)); });
  if (ec) return std::nullopt;  // closed by the client, gone, or timed out: the stream ends
  Message message{ws_->got_text(), beast::buffers_to_string(ws_buffer_.data())};
  ws_buffer_.consume(ws_buffer_.size());
  return message;
}

template <class Stream>
void Connection<Stream>::write(bool text, std::string_view data) {
  std::lock_guard lock(ws_write_mutex_);
  auto [ec, n] = wait_io([&](auto handler) {
    ws_->text(text);
    ws_->async_write(net::const_buffer(data.data(), data.size()), std::move(handler));
  });
  if (ec) io_failed("writing to the WebSocket", ec);
}

template <class Stream>
void Connection<Stream>::close(std::uint16_t code, std::string_view reason) {
  std::lock_guard lock(ws_write_mutex_);
  wait_io([&](auto handler) {
    ws_->async_close(websocket::close_reason(static_cast<websocket::close_code>(code), std::string(reason)),
                     [handler = std::move(handler)](beast::error_code ec) mutable { handler(ec, 0); });
  });
}

template <class Stream>
std::string_view Connection<Stream>::read_body_chunk() {
  while (!parser_->is_done()) {
    auto [ec, n] = wait_io([&](auto handler) {
      auto& body = parser_->get().body();
      body.data = body_chunk_.data();
      body.size = body_chunk_.size();
      lowest().expires_after(context_.limits.idle_timeout);
      http::async_read(stream_, buffer_, *parser_, std::move(handler));
    });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) io_failed("reading the request body", ec);
    const std::size_t got = body_chunk_.size() - parser_->get().body().size;
    if (got > 0) return {body_chunk_.data(), got};
  }
  return {};
}

template <class Stream>
std::string Connection<Stream>::read_body(std::uint64_t limit) {
  auto too_large = [&] {
    close_after_ = true;
    throw Error(Errc::too_large, "the request body is larger than " + std::to_string(limit) + " bytes");
  };
  if (request_.content_length && *request_.content_length > limit) too_large();
  std::string body;
  for (std::string_view chunk = read_body_chunk(); !chunk.empty(); chunk = read_body_chunk()) {
    if (body.size() + chunk.size() > limit) too_large();
    body.append(chunk);
  }
  return body;
}

template <class Stream>
void Connection<Stream>::respond(unsigned status, std::string_view content_type, std::string body, const Headers& headers) {
  http::response<http::string_body> response{static_cast<http::status>(status), 11};
  response.set(http::field::content_type, std::string(content_type));
  for (const auto& [name, value] : headers) response.set(name, value);
  response.keep_alive(parser_->get().keep_alive() && parser_->is_done() && !close_after_);
  response.body() = std::move(body);
  response.prepare_payload();
  responded_ = true;
  write_and_wait("writing the response", [&](auto handler) { http::async_write(stream_, response, std::move(handler)); });
}

template <class Stream>
void Connection<Stream>::begin_stream(unsigned status, std::string_view content_type) {
  http::response<http::empty_body> response{static_cast<http::status>(status), 11};
  response.set(http::field::content_type, std::string(content_type));
  response.chunked(true);
  response.keep_alive(parser_->get().keep_alive() && parser_->is_done() && !close_after_);
  http::response_serializer<http::empty_body> serializer{response};
  responded_ = true;
  write_and_wait("writing the response header",
                 [&](auto handler) { http::async_write_header(stream_, serializer, std::move(handler)); });
}

template <class Stream>
void Connection<Stream>::write_chunk(std::string_view data) {
  if (data.empty()) return;  // an empty chunk would end the body
  write_and_wait("writing the response", [&](auto handler) {
    net::async_write(stream_, http::make_chunk(net::const_buffer(data.data(), data.size())), std::move(handler));
  });
}

template <class Stream>
void Connection<Stream>::end_stream() {
  write_and_wait("ending the response", [&](auto handler) { net::async_write(stream_, http::make_chunk_last(), std::move(handler)); });
}

}  // namespace

std::optional<std::string> Request::query_value(const std::string& name) const {
  for (const auto& [key, value] : query)
    if (key == name) return value;
  return std::nullopt;
}

std::vector<std::string> Request::query_values(const std::string& name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : query)
    if (key == name) values.push_back(value);
  return values;
}

std::optional<std::string> Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers)
    if (key == name) return value;
  return std::nullopt;
}

void serve_connection(net::ip::tcp::socket socket, const ConnectionContext& context) {
  if (context.tls)
    std::make_shared<Connection<TlsStream>>(context, std::move(socket), *context.tls)->start();
  else
    std::make_shared<Connection<PlainStream<net::ip::tcp>>>(context, std::move(socket))->start();
}

void serve_connection(net::local::stream_protocol::socket socket, const ConnectionContext& context) {
  std::make_shared<Connection<PlainStream<net::local::stream_protocol>>>(context, std::move(socket))->start();
}

}  // namespace hutch::server
