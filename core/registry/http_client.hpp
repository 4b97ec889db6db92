// A small blocking HTTP/1.1 client for the registry client: plain or TLS (the system's CA
// store, SNI, host name checked), every operation under a deadline, bodies streamed in chunks
// so a layer is never held in memory, redirects followed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hutch::registry {

struct Url {
  bool tls = true;
  std::string host;  // name or address, IPv6 without brackets
  std::string port;  // "443", "80", "5000"
  std::string target = "/";

  std::string authority() const;  // "host:port" as in the Host header (brackets for IPv6)
  std::string str() const;
};

// "https://host[:port]/path?query" or "http://..."; Errc::invalid_argument naming `url`.
Url parse_url(std::string_view url);

struct HttpRequest {
  std::string method = "GET";
  Url url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // a form for token POSTs
};

struct HttpResponse {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // names in lower case; the last of repeated ones
  std::string body;  // the body of an answer other than 2xx (at most 64 KiB), for messages
  Url url;           // where the answer came from, after redirects

  std::string header(const std::string& lower_name) const;
};

// Receives a 2xx answer's body chunk by chunk; throwing stops the transfer.
using BodySink = std::function<void(std::string_view chunk)>;

class HttpClient {
 public:
  explicit HttpClient(std::chrono::seconds timeout = std::chrono::seconds(60));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` and follows up to 5 redirects (a redirect to another host or scheme drops
  // the Authorization header, as docker does). A 2xx body goes to `sink`; Errc::invalid_argument
  // when it exceeds `max_body` bytes. Errc::io for the network (naming the URL), Errc::timeout
  // when no byte moved for the client's timeout.
  HttpResponse send(HttpRequest request, const BodySink& sink, std::uint64_t max_body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hutch::registry
