#include "engine/tls_transport.hpp"

#include <hutch/error.hpp>

#include <boost/asio/ip/address.hpp>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hutch::docker {
namespace {

namespace ssl = boost::asio::ssl;

// OpenSSL's queued errors as one line (and the queue emptied), or `fallback`.
std::string openssl_errors(const std::string& fallback) {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? fallback : text;
}

int milliseconds_until(Deadline deadline) {
  if (deadline == Deadline::max()) return -1;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

}  // namespace

ssl::context make_tls_context(const TlsFiles& files, const std::string& endpoint_name) {
  ssl::context context(ssl::context::tls_client);
  context.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                      ssl::context::no_tlsv1_1);
  auto load = [&](const std::string& file, const char* what, auto&& step) {
    boost::system::error_code ec;
    step(ec);
    if (ec)
      throw Error(Errc::config, "docker (" + endpoint_name + "): cannot use " + what + " " + file + ": " +
                                    openssl_errors(ec.message()));
  };
  if (!files.ca.empty())
    load(files.ca, "the CA file", [&](auto& ec) { context.load_verify_file(files.ca, ec); });
  else
    load("", "the system's CA store", [&](auto& ec) { context.set_default_verify_paths(ec); });
  if (!files.cert.empty()) {
    load(files.cert, "the client certificate", [&](auto& ec) { context.use_certificate_chain_file(files.cert, ec); });
    load(files.key, "the client key", [&](auto& ec) { context.use_private_key_file(files.key, ssl::context::pem, ec); });
  }
  context.set_verify_mode(files.verify ? ssl::verify_peer : ssl::verify_none);
  return context;
}

void expect_peer(SSL* ssl, const std::string& host, bool verify) {
  boost::system::error_code not_an_address;
  const auto address = boost::asio::ip::make_address(host, not_an_address);
  // SNI carries names only (RFC 6066).
  if (not_an_address) SSL_set_tlsext_host_name(ssl, host.c_str());
  if (!verify) return;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (not_an_address)
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  else
    X509_VERIFY_PARAM_set1_ip_asc(param, address.to_string().c_str());
}

std::string describe_handshake_failure(SSL* ssl, const std::string& reason) {
  const long verdict = ssl == nullptr ? X509_V_OK : SSL_get_verify_result(ssl);
  if (verdict == X509_V_OK) {
    // The daemon's alert about our certificate comes during the handshake (TLS 1.2) or at the
    // first read after it (TLS 1.3).
    if (reason.find("alert") != std::string::npos && reason.find("certificate") != std::string::npos)
      return "the daemon refused this client's certificate, or its absence (" + reason +
             "): give cert.pem and key.pem signed by a CA the daemon trusts (DOCKER_CERT_PATH, or cert_path in "
             "[backends.docker])";
    return "TLS failed: " + reason;
  }
  std::string why = X509_verify_cert_error_string(verdict);
  switch (verdict) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      why += " (the daemon's certificate is not signed by a CA this client trusts: check ca.pem)";
      break;
    case X509_V_ERR_CERT_HAS_EXPIRED: why += " (the daemon's certificate has expired)"; break;
    case X509_V_ERR_CERT_NOT_YET_VALID: why += " (the daemon's certificate is not valid yet: check the clocks)"; break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      why += " (the daemon's certificate is for another name than the one in the docker host)";
      break;
    default: break;
  }
  return "the daemon's certificate was refused: " + why;
}

TlsSocketStream::TlsSocketStream(int fd, SSL_CTX* context, const std::string& host, bool verify, Deadline deadline,
                                 std::string what, const std::string& endpoint_name)
    : fd_(fd), what_(std::move(what)) {
  auto fail = [&](Errc code, const std::string& why) {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ::close(fd_);
    throw Error(code, "docker (" + endpoint_name + "): " + what_ + ": " + why);
  };
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  ssl_ = SSL_new(context);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) fail(Errc::backend, openssl_errors("SSL_new failed"));
  expect_peer(ssl_, host, verify);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  for (;;) {
    ERR_clear_error();
    const int done = SSL_connect(ssl_);
    if (done == 1) break;
    const int error = SSL_get_error(ssl_, done);
    short events = 0;
    if (error == SSL_ERROR_WANT_READ) events = POLLIN;
    else if (error == SSL_ERROR_WANT_WRITE) events = POLLOUT;
    else
      fail(Errc::backend, describe_handshake_failure(ssl_, openssl_errors(error == SSL_ERROR_SYSCALL && errno != 0
                                                                              ? std::strerror(errno)
                                                                              : "the daemon closed the connection")));
    if (!wait_for(events, deadline)) fail(Errc::timeout, "no TLS handshake before the deadline");
  }
}

template <class Io>
TlsSocketStream::Outcome TlsSocketStream::call(Io&& io) {
  std::lock_guard lock(mutex_);
  ERR_clear_error();
  Outcome outcome;
  outcome.n = io();
  if (outcome.n <= 0) {
    outcome.error = SSL_get_error(ssl_, outcome.n);
    outcome.saved_errno = errno;
  }
  return outcome;
}

TlsSocketStream::~TlsSocketStream() {
  SSL_free(ssl_);
  ::close(fd_);
}

void TlsSocketStream::unread(std::string bytes) {
  leftover_ = std::move(bytes);
  leftover_offset_ = 0;
}

bool TlsSocketStream::wait_for(short events, Deadline deadline) {
  for (;;) {
    pollfd entry{fd_, events, 0};
    const int timeout = milliseconds_until(deadline);
    const int ready = ::poll(&entry, 1, timeout);
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) throw_system_error("poll on the docker TLS stream", errno);
  }
}

std::optional<std::size_t> TlsSocketStream::read_some(char* out, std::size_t size, Deadline deadline) {
  if (leftover_offset_ < leftover_.size()) {
    const std::size_t take = std::min(size, leftover_.size() - leftover_offset_);
    std::memcpy(out, leftover_.data() + leftover_offset_, take);
    leftover_offset_ += take;
    return take;
  }
  for (;;) {
    const auto [n, error, saved_errno] =
        call([&] { return SSL_read(ssl_, out, static_cast<int>(std::min<std::size_t>(size, 1 << 30))); });
    if (n > 0) return static_cast<std::size_t>(n);
    if (error == SSL_ERROR_ZERO_RETURN) return 0;  // the daemon's close_notify
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (!wait_for(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return std::nullopt;
      continue;
    }
    // A peer that closes without close_notify ends the stream too (as dockerd does).
    if (error == SSL_ERROR_SYSCALL && (saved_errno == 0 || saved_errno == ECONNRESET)) return 0;
    if (error == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ERR_clear_error();
      return 0;
    }
    throw Error(Errc::io, what_ + ": reading the TLS stream failed: " +
                              openssl_errors(saved_errno != 0 ? std::strerror(saved_errno) : "TLS error"));
  }
}

std::optional<std::size_t> TlsSocketStream::write_some(std::string_view data, Deadline deadline) {
  for (;;) {
    // A write OpenSSL could not finish must be retried with the same bytes; the callers do
    // (write_all, and DockerProcess, which passes what is left after each call).
    const auto [n, error, saved_errno] =
        call([&] { return SSL_write(ssl_, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), 1 << 30))); });
    if (n > 0) return static_cast<std::size_t>(n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      if (!wait_for(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return std::nullopt;
      continue;
    }
    throw Error(Errc::io, what_ + ": writing to stdin failed (" +
                              openssl_errors(saved_errno != 0 ? std::strerror(saved_errno) : "TLS error") +
                              "); the command may have closed its stdin or ended");
  }
}

void TlsSocketStream::write_all(std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    auto n = write_some(data, deadline);
    if (!n) throw Error(Errc::timeout, what_ + ": writing did not progress before the deadline");
    data.remove_prefix(*n);
  }
}

void TlsSocketStream::shutdown_send() {
  const Deadline give_up = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    int error = SSL_ERROR_NONE;
    {
      std::lock_guard lock(mutex_);
      ERR_clear_error();
      // Sends close_notify; 0 means "sent, the daemon's has not come yet", which is all we want.
      const int done = SSL_shutdown(ssl_);
      if (done < 0) error = SSL_get_error(ssl_, done);
      ERR_clear_error();
    }
    // A full socket buffer: wait for room, briefly (the daemon reads stdin as it goes).
    if (error != SSL_ERROR_WANT_WRITE || !wait_for(POLLOUT, give_up)) return;
  }
}

}  // namespace hutch::docker
