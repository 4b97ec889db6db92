// Where the service listens: `unix:///PATH` or `tcp://HOST:PORT` (--listen, [serve] listen).
#pragma once

#include <cstdint>
#include <string>

namespace hutch::server {

struct ListenAddress {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string path;  // unix_socket: the socket's path
  std::string host;  // tcp: an IP address or "localhost"
  std::uint16_t port = 0;
  // tcp with TLS: the remote backend's "https://HOST:PORT" (a service's listeners take TLS from
  // its tls_cert instead).
  bool tls = false;

  // As written: "unix:///run/hutch/hutch.sock", "tcp://127.0.0.1:8080", "https://host:8443".
  std::string text() const;
};

// Parses "unix:///PATH" or "tcp://HOST:PORT" (an IPv6 host in brackets: "tcp://[::1]:8080"),
// and with `allow_https` "https://HOST:PORT" (tls set). Errc::invalid_argument naming the text
// and the accepted forms.
ListenAddress parse_listen_address(const std::string& text, bool allow_https = false);

// /run/hutch/hutch.sock for root, $XDG_RUNTIME_DIR/hutch/hutch.sock otherwise (Errc::config when
// XDG_RUNTIME_DIR is unset: say --listen).
ListenAddress default_listen_address();

}  // namespace hutch::server
