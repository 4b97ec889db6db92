// Where the Docker daemon listens: a Unix socket or a TCP address, with or without TLS.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hutch::docker {

// TLS to a daemon on TCP, as the docker CLI sets it up (--tlsverify, DOCKER_TLS_VERIFY,
// DOCKER_CERT_PATH with ca.pem, cert.pem and key.pem).
struct TlsFiles {
  std::string ca;    // PEM file the daemon's certificate must chain to; empty: the system's CAs
  std::string cert;  // the client's certificate and key (PEM), both or neither
  std::string key;
  bool verify = true;  // false: encrypt, but accept any certificate the daemon shows (docker --tls)
};

struct Endpoint {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string path;  // unix socket path
  std::string host;  // tcp host
  std::uint16_t port = 0;
  std::optional<TlsFiles> tls;  // tcp only

  // "unix:///var/run/docker.sock", "tcp://127.0.0.1:2375" or "tcp://127.0.0.1:2376 (TLS)", for messages.
  std::string to_string() const;
};

inline constexpr const char* kDefaultDockerHost = "unix:///var/run/docker.sock";

// Parses "unix:///path", "/path" (a socket path) or "tcp://host[:port]" (the port defaults to
// 2376 with `tls`, else 2375). "ssh://" and other schemes are refused with
// Errc::invalid_argument naming the value.
Endpoint parse_endpoint(const std::string& text, bool tls = false);

// What [backends.docker] says about the daemon's address.
struct EndpointSettings {
  std::optional<std::string> host;       // host
  std::optional<bool> tls_verify;        // tls_verify: TLS, checking the daemon's certificate (or not)
  std::optional<std::string> cert_path;  // cert_path: the directory of ca.pem, cert.pem, key.pem
};

// The endpoint to use, as the docker CLI chooses it: the configured `host` (with TLS when
// tls_verify or cert_path is set), else $DOCKER_HOST (with TLS when $DOCKER_TLS_VERIFY or
// $DOCKER_TLS is set; certificates from $DOCKER_CERT_PATH, default ~/.docker), else the docker
// context named by $DOCKER_CONTEXT or current in the docker CLI's config.json
// (docker_context.hpp), else the default socket. Errc::config naming the source when a named
// context does not exist or a certificate file is missing.
Endpoint choose_endpoint(const EndpointSettings& settings);

}  // namespace hutch::docker
