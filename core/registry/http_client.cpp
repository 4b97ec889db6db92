// Blocking HTTP over Asio: each operation is started asynchronously and the io_context run
// for at most the timeout, so a stalled registry ends in Errc::timeout instead of a hang.
#include "http_client.hpp"

#include "proxy.hpp"

#include <hutch/error.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace hutch::registry {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr int kMaxRedirects = 5;
constexpr std::uint64_t kMaxErrorBody = 64 * 1024;
constexpr std::size_t kChunk = 64 * 1024;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// The deadline of one operation: run the io_context until the handler ran or time is up.
class Runner {
 public:
  Runner(asio::io_context& io, std::chrono::seconds timeout) : io_(io), timeout_(timeout) {}

  // Runs `start(handler)`; on a timeout `cancel()` closes the socket and the wait goes on until
  // the handler ran (with operation_aborted).
  template <class Start, class Cancel>
  std::size_t run(const Url& url, const std::string& what, Start start, Cancel cancel) {
    std::optional<error_code> result;
    std::size_t transferred = 0;
    start([&](error_code ec, auto&&... rest) {
      result = ec;
      ((transferred = size_of(rest)), ...);
    });
    io_.restart();
    io_.run_for(timeout_);
    if (!result) {
      cancel();
      io_.restart();
      io_.run();
      throw Error(Errc::timeout, "registry request " + url.str() + ": " + what + " took longer than " +
                                     std::to_string(timeout_.count()) + "s");
    }
    last_error = *result;
    return transferred;
  }

  error_code last_error;

 private:
  template <class T>
  static std::size_t size_of(const T& value) {
    if constexpr (std::is_convertible_v<T, std::size_t>) return static_cast<std::size_t>(value);
    else return 0;
  }
  asio::io_context& io_;
  std::chrono::seconds timeout_;
};

[[noreturn]] void network_error(const Url& url, const std::string& what, const error_code& ec) {
  throw Error(Errc::io, "registry request " + url.str() + ": " + what + ": " + ec.message());
}

// One request on one connection (closed afterwards: the registry client's requests are few
// and large, a new connection each costs little next to a layer).
template <class Stream>
HttpResponse exchange(Stream& stream, Runner& runner, const HttpRequest& request, const BodySink& sink,
                      std::uint64_t max_body, const std::function<void()>& cancel) {
  http::request<http::string_body> message{http::string_to_verb(request.method), request.url.target, 11};
  message.set(http::field::host, request.url.authority());
  message.set(http::field::user_agent, "hutch");
  message.set(http::field::connection, "close");
  for (const auto& [name, value] : request.headers) message.set(name, value);
  if (!request.body.empty()) {
    message.set(http::field::content_type, "application/x-www-form-urlencoded");
    message.body() = request.body;
  }
  message.prepare_payload();
  runner.run(request.url, "sending the request", [&](auto handler) { http::async_write(stream, message, handler); }, cancel);
  if (runner.last_error) network_error(request.url, "sending the request", runner.last_error);

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  runner.run(request.url, "reading the answer", [&](auto handler) { http::async_read_header(stream, buffer, parser, handler); }, cancel);
  if (runner.last_error) network_error(request.url, "reading the answer", runner.last_error);

  HttpResponse response;
  response.url = request.url;
  response.status = parser.get().result_int();
  for (const auto& field : parser.get()) response.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  const bool success = response.status >= 200 && response.status < 300;
  const std::uint64_t limit = success ? max_body : kMaxErrorBody;
  std::uint64_t received = 0;
  std::vector<char> chunk(kChunk);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    runner.run(request.url, "reading the body", [&](auto handler) { http::async_read(stream, buffer, parser, handler); }, cancel);
    if (runner.last_error && runner.last_error != http::error::need_buffer)
      network_error(request.url, "reading the body", runner.last_error);
    const std::size_t got = chunk.size() - parser.get().body().size;
    received += got;
    if (received > limit) {
      if (!success) break;  // the start of an error page is enough for a message
      throw Error(Errc::invalid_argument, "registry answer " + request.url.str() + " is larger than " +
                                              std::to_string(max_body) + " bytes");
    }
    if (got == 0) continue;
    if (success) sink(std::string_view(chunk.data(), got));
    else response.body.append(chunk.data(), got);
  }
  return response;
}

// Asks the proxy on `socket` for a tunnel to `url`'s host and port (RFC 9110 CONNECT); the
// socket then carries the registry's bytes.
void open_tunnel(tcp::socket& socket, Runner& runner, const Url& url, const Url& proxy, const std::function<void()>& cancel) {
  const std::string target = (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" + url.port;
  http::request<http::empty_body> connect{http::verb::connect, target, 11};
  connect.set(http::field::host, target);
  connect.set(http::field::user_agent, "hutch");
  const std::string what = "opening a tunnel through the proxy " + proxy.authority();
  runner.run(url, what, [&](auto handler) { http::async_write(socket, connect, handler); }, cancel);
  if (runner.last_error) network_error(url, what, runner.last_error);
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> parser;
  parser.skip(true);  // the answer to a CONNECT has no body: the tunnel follows the header
  runner.run(url, what, [&](auto handler) { http::async_read_header(socket, buffer, parser, handler); }, cancel);
  if (runner.last_error) network_error(url, what, runner.last_error);
  const unsigned status = parser.get().result_int();
  if (status < 200 || status >= 300)
    throw Error(status == 407 ? Errc::permission_denied : Errc::io,
                "registry request " + url.str() + ": the proxy " + proxy.authority() + " refused the tunnel with HTTP " +
                    std::to_string(status) + (status == 407 ? " (it wants credentials, which hutch does not send)" : ""));
  if (buffer.size() != 0)
    throw Error(Errc::io, "registry request " + url.str() + ": the proxy " + proxy.authority() + " sent data before the tunnel opened");
}

}  // namespace

std::string Url::authority() const {
  const std::string shown = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const bool default_port = (tls && port == "443") || (!tls && port == "80");
  return default_port ? shown : shown + ":" + port;
}

std::string Url::str() const { return (tls ? "https://" : "http://") + authority() + target; }

Url parse_url(std::string_view text) {
  Url url;
  std::string_view rest;
  if (text.starts_with("https://")) {
    rest = text.substr(8);
  } else if (text.starts_with("http://")) {
    url.tls = false;
    rest = text.substr(7);
  } else {
    throw Error(Errc::invalid_argument, "URL '" + std::string(text) + "' is not http:// or https://");
  }
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (url.target.front() == '?') url.target = "/" + url.target;
  url.port = url.tls ? "443" : "80";
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw Error(Errc::invalid_argument, "URL '" + std::string(text) + "' has a malformed IPv6 host");
    url.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') url.port = std::string(authority.substr(close + 2));
  } else {
    const auto colon = authority.find(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) url.port = std::string(authority.substr(colon + 1));
  }
  if (url.host.empty() || url.port.empty() || authority.find('@') != std::string_view::npos)
    throw Error(Errc::invalid_argument, "URL '" + std::string(text) + "' has no usable host");
  return url;
}

std::string HttpResponse::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Impl {
  std::chrono::seconds timeout;
  asio::io_context io;
  ssl::context tls{ssl::context::tls_client};
  bool tls_ready = false;

  ssl::context& tls_context() {
    if (!tls_ready) {
      tls.set_default_verify_paths();  // the system store; honours SSL_CERT_FILE / SSL_CERT_DIR
      tls.set_verify_mode(ssl::verify_peer);
      tls.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      tls_ready = true;
    }
    return tls;
  }

  HttpResponse once(const HttpRequest& request, const BodySink& sink, std::uint64_t max_body) {
    Runner runner(io, timeout);
    // Through a proxy, the connection goes to it, and a CONNECT tunnel on to the registry.
    const std::optional<Url> proxy = proxy_for(request.url);
    const Url& dial = proxy ? *proxy : request.url;
    tcp::resolver resolver(io);
    tcp::resolver::results_type endpoints;
    runner.run(request.url, proxy ? "resolving the proxy " + dial.authority() : std::string("resolving the host"),
               [&](auto handler) {
                 resolver.async_resolve(dial.host, dial.port,
                                        [&endpoints, handler](error_code ec, tcp::resolver::results_type results) mutable {
                                          endpoints = std::move(results);
                                          handler(ec);
                                        });
               },
               [&] { resolver.cancel(); });
    if (runner.last_error) network_error(request.url, "resolving the host", runner.last_error);

    tcp::socket socket(io);
    const auto close_socket = [&] {
      error_code ignored;
      socket.close(ignored);
    };
    runner.run(request.url, "connecting",
               [&](auto handler) { asio::async_connect(socket, endpoints, [handler](error_code ec, const tcp::endpoint&) mutable { handler(ec); }); },
               close_socket);
    if (runner.last_error) network_error(request.url, proxy ? "connecting to the proxy " + dial.authority() : std::string("connecting"), runner.last_error);
    if (proxy) open_tunnel(socket, runner, request.url, *proxy, close_socket);
    if (!request.url.tls) return exchange(socket, runner, request, sink, max_body, close_socket);

    ssl::stream<tcp::socket&> stream(socket, tls_context());
    // SNI names hosts, never addresses (RFC 6066); the certificate is checked either way.
    error_code not_an_address;
    asio::ip::make_address(request.url.host, not_an_address);
    if (not_an_address && ::SSL_set_tlsext_host_name(stream.native_handle(), request.url.host.c_str()) != 1)
      throw Error(Errc::io, "registry request " + request.url.str() + ": cannot set the TLS server name");
    stream.set_verify_callback(ssl::host_name_verification(request.url.host));
    runner.run(request.url, "the TLS handshake", [&](auto handler) { stream.async_handshake(ssl::stream_base::client, handler); },
               close_socket);
    if (runner.last_error) network_error(request.url, "the TLS handshake", runner.last_error);
    return exchange(stream, runner, request, sink, max_body, close_socket);
  }
};

HttpClient::HttpClient(std::chrono::seconds timeout) : impl_(std::make_unique<Impl>()) { impl_->timeout = timeout; }
HttpClient::~HttpClient() = default;

HttpResponse HttpClient::send(HttpRequest request, const BodySink& sink, std::uint64_t max_body) {
  for (int redirects = 0;; ++redirects) {
    HttpResponse response = impl_->once(request, sink, max_body);
    const bool redirect = response.status == 301 || response.status == 302 || response.status == 303 ||
                          response.status == 307 || response.status == 308;
    const std::string location = response.header("location");
    if (!redirect || location.empty()) return response;
    if (redirects == kMaxRedirects)
      throw Error(Errc::io, "registry request " + request.url.str() + ": more than " + std::to_string(kMaxRedirects) + " redirects");
    Url next;
    if (location.front() == '/') {
      next = request.url;
      next.target = location;
    } else {
      next = parse_url(location);
    }
    if (request.url.tls && !next.tls)
      throw Error(Errc::permission_denied, "registry request " + request.url.str() + " redirects to plain HTTP (" +
                                               next.str() + "); refusing to follow it");
    // Blob downloads are redirected to storage (S3, a CDN) that must not see the registry's token.
    if (next.host != request.url.host || next.port != request.url.port || next.tls != request.url.tls)
      std::erase_if(request.headers, [](const auto& header) { return lower(header.first) == "authorization"; });
    if (response.status == 303) request.method = "GET", request.body.clear();
    request.url = std::move(next);
  }
}

}  // namespace hutch::registry
