// TLS for the service's TCP listeners: [serve] tls_cert, tls_key and tls_client_ca (or
// --tls-cert, --tls-key, --tls-client-ca over them). With a certificate and key every TCP
// listener speaks TLS only (and may then bind a non-loopback address); with a client CA, a
// client must also show a certificate signed by it. Unix sockets stay plain: their file
// permissions are their access control.
#pragma once

#include "tls_context.hpp"

#include <hutch/config.hpp>

#include <boost/asio/ssl/context.hpp>

#include <optional>

namespace hutch::server {

struct TlsOptions {
  std::optional<tls::PemFile> cert, key, client_ca;
  bool enabled() const { return cert || key || client_ca; }
};

// Reads tls_cert, tls_key and tls_client_ca of [serve] (each PemFile names its key and place).
TlsOptions read_tls_options(const ConfigTable& serve);

// The server context, or none when TLS is not configured. Errc::config when the keys do not
// go together (a certificate without its key, a client CA without a certificate) or a file is
// missing, unreadable or not PEM (naming the setting and the file).
std::optional<boost::asio::ssl::context> make_tls_context(const TlsOptions& options);

}  // namespace hutch::server
