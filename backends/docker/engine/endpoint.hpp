// Where the Docker daemon listens: a Unix socket or a plain TCP address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hutch::docker {

struct Endpoint {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string path;  // unix socket path
  std::string host;  // tcp host
  std::uint16_t port = 0;

  // "unix:///var/run/docker.sock" or "tcp://127.0.0.1:2375", for messages.
  std::string to_string() const;
};

inline constexpr const char* kDefaultDockerHost = "unix:///var/run/docker.sock";

// Parses "unix:///path", "/path" (a socket path) or "tcp://host:port". TLS is not supported:
// "https://" and "ssh://" are refused with Errc::invalid_argument naming the value.
Endpoint parse_endpoint(const std::string& text);

// The endpoint to use: the configured `host` if given, else $DOCKER_HOST, else the default.
Endpoint choose_endpoint(const std::optional<std::string>& configured_host);

}  // namespace hutch::docker
