// A PEM file named by a setting: what the TLS settings of the service and of the remote backend
// hold (cheap to include: no OpenSSL, no Asio).
#pragma once

#include <string>

namespace hutch::tls {

// The file and the setting it came from, for error messages: {"/etc/hutch/cert.pem",
// "hutch.toml:12:1: [serve] tls_cert"}, {"...", "--tls-cert"}, {"...", "$HUTCH_TLS_CA"}.
struct PemFile {
  std::string path;
  std::string setting;
};

}  // namespace hutch::tls
