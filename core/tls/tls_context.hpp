// TLS between `hutch serve` and its clients (the remote backend): the server's and the client's
// contexts made from PEM files, the name the server's certificate must carry, and why a
// handshake failed, said plainly (unknown CA, name mismatch, expired, a refused client
// certificate) from OpenSSL's verify result.
#pragma once

#include "pem_file.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <optional>
#include <string>

namespace hutch::tls {

// The service's context: its certificate chain and key; with `client_ca`, a client must show a
// certificate signed by it (the handshake fails otherwise). TLS 1.2 or newer. Errc::config
// naming the setting and the file when one is missing, unreadable, not PEM, or the key does
// not match the certificate.
boost::asio::ssl::context make_server_context(const PemFile& cert, const PemFile& key,
                                              const std::optional<PemFile>& client_ca);

// A client's context: the server is verified against `ca` (default: the system's CA store);
// `cert` and `key` (both or neither) are the client's certificate. Errc::config as above.
boost::asio::ssl::context make_client_context(const std::optional<PemFile>& ca, const std::optional<PemFile>& cert,
                                              const std::optional<PemFile>& key);

// Prepares the client connection `ssl` for server `host`: SNI for a name, and the name or IP
// address the server's certificate must carry (checked in the handshake).
void expect_peer(SSL* ssl, const std::string& host);

// Why TLS with `peer` ("the service at https://...") failed: the verdict of the certificate
// check when that failed (what failed, and what to check), a refusal of this client's
// certificate (an alert naming a certificate, which TLS 1.3 delivers at the first read), else
// `reason`. `ssl` may be null (then only `reason` is read). `client_files` says where the
// client's certificate is set, `ca_setting` where the CA is.
std::string describe_failure(SSL* ssl, const std::string& reason, const std::string& peer, const std::string& ca_setting,
                             const std::string& client_files);

}  // namespace hutch::tls
