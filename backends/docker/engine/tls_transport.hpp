// TLS for the Engine client (endpoint.hpp TlsFiles): the client context, the check of the
// daemon's name, handshake failures said plainly, and hijacked streams over TLS.
//
// Buffered calls use Asio's ssl::stream under Beast. A hijacked stream (attach / exec) is read
// by one thread while another writes stdin and half-closes it; Asio's ssl::stream cannot send
// a close_notify alone while a read is pending, so hijacked streams drive OpenSSL directly on
// the socket (TlsSocketStream), one call into OpenSSL at a time, waiting with poll() outside.
#pragma once

#include "engine/client.hpp"
#include "engine/endpoint.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>

namespace hutch::docker {

// A client context for `files`: the CA file (or the system's CAs), the client's certificate
// and key. Errc::config naming the file and OpenSSL's reason when one cannot be loaded.
boost::asio::ssl::context make_tls_context(const TlsFiles& files, const std::string& endpoint_name);

// Prepares `ssl` to talk to `host`: SNI for a name, and, when `verify`, the name or IP
// address the daemon's certificate must carry.
void expect_peer(SSL* ssl, const std::string& host, bool verify);

// Why TLS with the daemon failed, for an error message: the certificate check's verdict when
// that failed (unknown CA, expired, name mismatch), the daemon's refusal of our certificate,
// else `reason`. `ssl` may be null (no verdict to read).
std::string describe_handshake_failure(SSL* ssl, const std::string& reason);

// A hijacked connection over TLS, OpenSSL on a non-blocking socket it owns.
class TlsSocketStream final : public RawStream {
 public:
  // Takes `fd` (a connected TCP socket) and shakes hands before `deadline`; Errc::backend
  // (Errc::timeout past the deadline) saying why, with `what` and `endpoint_name`.
  TlsSocketStream(int fd, SSL_CTX* context, const std::string& host, bool verify, Deadline deadline,
                  std::string what, const std::string& endpoint_name);
  ~TlsSocketStream() override;
  TlsSocketStream(const TlsSocketStream&) = delete;
  TlsSocketStream& operator=(const TlsSocketStream&) = delete;

  // Bytes read past the HTTP header, handed back before anything new is read.
  void unread(std::string bytes);

  std::optional<std::size_t> read_some(char* out, std::size_t size, Deadline deadline) override;
  void write_all(std::string_view data, Deadline deadline) override;
  // Nullopt when the deadline passed first; nothing was taken then.
  std::optional<std::size_t> write_some(std::string_view data, Deadline deadline) override;
  // Sends TLS's close_notify: the daemon sees the end of stdin; reading goes on.
  void shutdown_send() override;

 private:
  // Waits for `events` on the socket until `deadline`; false once it passed.
  bool wait_for(short events, Deadline deadline);

  // What one SSL_read/SSL_write returned: n, and when n <= 0 SSL_get_error's verdict and errno.
  struct Outcome {
    int n = 0;
    int error = SSL_ERROR_NONE;
    int saved_errno = 0;
  };
  // Runs `io` (an SSL_read or SSL_write on ssl_) alone, with OpenSSL's error queue cleared first.
  template <class Io>
  Outcome call(Io&& io);

  int fd_;
  SSL* ssl_ = nullptr;
  std::mutex mutex_;  // one call into OpenSSL at a time
  std::string leftover_;
  std::size_t leftover_offset_ = 0;
  std::string what_;
};

}  // namespace hutch::docker
