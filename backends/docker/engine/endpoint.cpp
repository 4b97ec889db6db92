#include "engine/endpoint.hpp"

#include <hutch/error.hpp>

#include <cstdlib>
#include <string_view>

namespace hutch::docker {

std::string Endpoint::to_string() const {
  if (kind == Kind::unix_socket) return "unix://" + path;
  return "tcp://" + host + ":" + std::to_string(port);
}

Endpoint parse_endpoint(const std::string& text) {
  auto refuse = [&](const std::string& why) -> Endpoint {
    throw Error(Errc::invalid_argument, "docker host '" + text + "': " + why +
                                            " (use unix:///path/to/docker.sock or tcp://host:port)");
  };
  std::string_view view = text;
  Endpoint endpoint;
  if (view.starts_with("unix://") || view.starts_with("/")) {
    if (view.starts_with("unix://")) view.remove_prefix(7);
    if (view.empty() || view.front() != '/') return refuse("the socket path must be absolute");
    endpoint.kind = Endpoint::Kind::unix_socket;
    endpoint.path = std::string(view);
    return endpoint;
  }
  if (view.starts_with("tcp://") || view.starts_with("http://")) {
    view.remove_prefix(view.find("://") + 3);
    while (!view.empty() && view.back() == '/') view.remove_suffix(1);
    std::string_view host = view;
    std::string_view port = "2375";
    if (!view.empty() && view.front() == '[') {  // [::1]:2375
      auto close = view.find(']');
      if (close == std::string_view::npos) return refuse("unbalanced '['");
      host = view.substr(1, close - 1);
      if (close + 1 < view.size()) {
        if (view[close + 1] != ':') return refuse("expected ':' after ']'");
        port = view.substr(close + 2);
      }
    } else if (auto colon = view.rfind(':'); colon != std::string_view::npos) {
      host = view.substr(0, colon);
      port = view.substr(colon + 1);
    }
    if (host.empty()) return refuse("no host name");
    unsigned long number = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return refuse("the port is not a number");
      number = number * 10 + static_cast<unsigned long>(c - '0');
      if (number > 65535) return refuse("the port is out of range");
    }
    if (port.empty() || number == 0) return refuse("the port is missing or zero");
    endpoint.kind = Endpoint::Kind::tcp;
    endpoint.host = std::string(host);
    endpoint.port = static_cast<std::uint16_t>(number);
    return endpoint;
  }
  return refuse("unsupported scheme (TLS and ssh are not supported)");
}

Endpoint choose_endpoint(const std::optional<std::string>& configured_host) {
  if (configured_host && !configured_host->empty()) return parse_endpoint(*configured_host);
  if (const char* env = std::getenv("DOCKER_HOST"); env != nullptr && *env != '\0')
    return parse_endpoint(env);
  return parse_endpoint(kDefaultDockerHost);
}

}  // namespace hutch::docker
