// A tiny OCI registry on 127.0.0.1 for the pull tests: serves the manifests and blobs a test
// puts in it, counts requests per path, and misbehaves on request (a blob cut off after half
// its bytes, a blob whose content differs from its digest, a blob that never ends, Basic
// auth, a Bearer token server), over TLS when given a certificate. One connection at a time, each closed after its
// answer (the client asks for that).
#pragma once

#include "unique_fd.hpp"

#include <hutch/base64.hpp>

#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace hutch::test {

class FakeRegistry {
 public:
  struct Route {
    std::string content_type = "application/octet-stream";
    std::string body;
    int cut_off_times = 0;  // this many answers end after half the body, the connection closed
    bool endless = false;   // the answer has no length and repeats the body until the client hangs up
  };

  // token: /token hands the Bearer token to `user:password` only; anonymous_token: to anyone,
  // as Docker Hub does for public images.
  enum class Auth { none, basic, token, anonymous_token };

  struct TlsFiles {
    std::string certificate;  // PEM, for 127.0.0.1
    std::string key;
  };

  explicit FakeRegistry(std::optional<TlsFiles> tls = std::nullopt) {
    if (tls) {
      tls_.reset(::SSL_CTX_new(::TLS_server_method()));
      if (!tls_ || ::SSL_CTX_use_certificate_chain_file(tls_.get(), tls->certificate.c_str()) != 1 ||
          ::SSL_CTX_use_PrivateKey_file(tls_.get(), tls->key.c_str(), SSL_FILETYPE_PEM) != 1)
        throw std::runtime_error("fake registry: cannot load the TLS certificate " + tls->certificate);
    }
    listener_ = subcontainer::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (!listener_ || ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_.get(), 16) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0)
      throw std::runtime_error("fake registry: cannot listen on 127.0.0.1");
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeRegistry() {
    stopping_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
  }

  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string scheme() const { return tls_ ? "https" : "http"; }

  void put(const std::string& path, Route route) {
    std::lock_guard lock(mutex_);
    routes_[path] = std::move(route);
  }
  int requests(const std::string& path) {
    std::lock_guard lock(mutex_);
    return counts_[path];
  }
  // Basic: every /v2/ request needs `user:password`. Token: /v2/ requests need the Bearer token
  // that /token hands out for `user:password`.
  void require(Auth auth, std::string user_password) {
    std::lock_guard lock(mutex_);
    auth_ = auth;
    user_password_ = std::move(user_password);
  }

 private:
  static constexpr const char* kToken = "fake-registry-token";

  void serve() {
    while (!stopping_) {
      subcontainer::UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!client) {
        if (stopping_) return;
        continue;
      }
      Connection connection{client.get(), nullptr};
      if (tls_) {
        connection.ssl = ::SSL_new(tls_.get());
        ::SSL_set_fd(connection.ssl, client.get());
        if (::SSL_accept(connection.ssl) != 1) {  // e.g. the client did not trust the certificate
          ::SSL_free(connection.ssl);
          continue;
        }
      }
      answer(connection);
      if (connection.ssl != nullptr) {
        ::SSL_shutdown(connection.ssl);
        ::SSL_free(connection.ssl);
      }
    }
  }

  // A client connection, plain or TLS.
  struct Connection {
    int fd;
    SSL* ssl;
    ssize_t read(char* buffer, std::size_t size) const {
      return ssl != nullptr ? ::SSL_read(ssl, buffer, static_cast<int>(size)) : ::recv(fd, buffer, size, 0);
    }
    ssize_t write(std::string_view data) const {
      return ssl != nullptr ? ::SSL_write(ssl, data.data(), static_cast<int>(data.size()))
                            : ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    }
  };

  static void send_all(const Connection& fd, std::string_view data) {
    while (!data.empty()) {
      const ssize_t sent = fd.write(data);
      if (sent <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(sent));
    }
  }

  static void reply(const Connection& fd, int status, const std::string& extra_headers, const std::string& content_type,
                    std::string_view body, std::size_t content_length) {
    std::string head = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
                       "\r\nContent-Length: " + std::to_string(content_length) + "\r\nConnection: close\r\n" +
                       extra_headers + "\r\n";
    send_all(fd, head);
    send_all(fd, body);
  }

  // A body without a length, delimited by the end of the connection, that never ends: only
  // the client can stop it. Returns once the client hung up or the registry stops.
  void send_endlessly(const Connection& fd, const std::string& type, const std::string& piece) {
    send_all(fd, "HTTP/1.1 200 X\r\nContent-Type: " + type + "\r\nConnection: close\r\n\r\n");
    while (!stopping_)
      if (fd.write(piece) <= 0) return;
  }

  void answer(const Connection& fd) {
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t got = fd.read(buffer, sizeof buffer);
      if (got <= 0) return;
      request.append(buffer, static_cast<std::size_t>(got));
    }
    const auto first_space = request.find(' ');
    const std::string path = request.substr(first_space + 1, request.find(' ', first_space + 1) - first_space - 1);
    std::string authorization;
    if (const auto at = request.find("\r\nAuthorization: "); at != std::string::npos) {
      const auto start = at + 17;
      authorization = request.substr(start, request.find("\r\n", start) - start);
    }
    std::unique_lock lock(mutex_);
    ++counts_[path.substr(0, path.find('?'))];
    const std::string basic = "Basic " + base64_encode(user_password_);
    if (path.starts_with("/token")) {
      lock.unlock();
      if (auth_ != Auth::anonymous_token && authorization != basic) return reply(fd, 401, "", "text/plain", "", 0);
      const std::string body = std::string("{\"token\":\"") + kToken + "\"}";
      return reply(fd, 200, "", "application/json", body, body.size());
    }
    if (auth_ == Auth::basic && authorization != basic)
      return reply(fd, 401, "WWW-Authenticate: Basic realm=\"fake\"\r\n", "text/plain", "", 0);
    if ((auth_ == Auth::token || auth_ == Auth::anonymous_token) && authorization != std::string("Bearer ") + kToken)
      return reply(fd, 401,
                   "WWW-Authenticate: Bearer realm=\"" + scheme() + "://" + host() + "/token\",service=\"fake\"\r\n",
                   "text/plain", "", 0);
    const auto route = routes_.find(path);
    if (route == routes_.end()) return reply(fd, 404, "", "application/json", "{}", 2);
    Route& found = route->second;
    const std::string body = found.body;
    const std::string type = found.content_type;
    const bool cut = found.cut_off_times > 0;
    if (cut) --found.cut_off_times;
    const bool endless = found.endless;
    lock.unlock();
    if (endless) return send_endlessly(fd, type, body);
    if (cut) return reply(fd, 200, "", type, std::string_view(body).substr(0, body.size() / 2), body.size());
    reply(fd, 200, "", type, body, body.size());
  }

  struct FreeContext {
    void operator()(SSL_CTX* context) const { ::SSL_CTX_free(context); }
  };
  std::unique_ptr<SSL_CTX, FreeContext> tls_;
  subcontainer::UniqueFd listener_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::map<std::string, Route> routes_;
  std::map<std::string, int> counts_;
  Auth auth_ = Auth::none;
  std::string user_password_;
  std::thread thread_;
};

}  // namespace hutch::test
