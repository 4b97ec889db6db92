#include "engine/endpoint.hpp"

#include "engine/docker_context.hpp"

#include <hutch/error.hpp>

#include <cstdlib>
#include <filesystem>
#include <string_view>

namespace hutch::docker {

std::string Endpoint::to_string() const {
  if (kind == Kind::unix_socket) return "unix://" + path;
  const bool v6 = host.find(':') != std::string::npos;
  return "tcp://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + (tls ? " (TLS)" : "");
}

Endpoint parse_endpoint(const std::string& text, bool tls) {
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
    std::string_view port = tls ? "2376" : "2375";
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
  return refuse("unsupported scheme (ssh is not supported)");
}

namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// ca.pem, and cert.pem with key.pem where both exist, in `dir`; `source` names where the
// directory came from, for errors.
TlsFiles tls_files_in(const std::filesystem::path& dir, bool verify, const std::string& source) {
  namespace fs = std::filesystem;
  TlsFiles files;
  files.verify = verify;
  std::error_code ignored;
  if (fs::exists(dir / "ca.pem", ignored)) files.ca = (dir / "ca.pem").string();
  else if (verify)
    throw Error(Errc::config, "docker TLS (" + source + "): no ca.pem in " + dir.string() +
                                  " to check the daemon's certificate against");
  const bool cert = fs::exists(dir / "cert.pem", ignored);
  const bool key = fs::exists(dir / "key.pem", ignored);
  if (cert != key)
    throw Error(Errc::config, "docker TLS (" + source + "): " + dir.string() + " has " +
                                  (cert ? "cert.pem but no key.pem" : "key.pem but no cert.pem"));
  if (cert) {
    files.cert = (dir / "cert.pem").string();
    files.key = (dir / "key.pem").string();
  }
  return files;
}

// $DOCKER_CERT_PATH, else the docker CLI's config directory.
std::filesystem::path default_cert_path() {
  if (std::string path = environment("DOCKER_CERT_PATH"); !path.empty()) return path;
  return docker_config_dir();
}

}  // namespace

Endpoint choose_endpoint(const EndpointSettings& settings) {
  if (settings.host && !settings.host->empty()) {
    const bool tls = settings.tls_verify.has_value() || settings.cert_path.has_value();
    Endpoint endpoint = parse_endpoint(*settings.host, tls);
    if (tls && endpoint.kind == Endpoint::Kind::tcp)
      endpoint.tls = tls_files_in(settings.cert_path ? std::filesystem::path(*settings.cert_path) : default_cert_path(),
                                  settings.tls_verify.value_or(true), "[backends.docker] cert_path");
    return endpoint;
  }
  if (std::string host = environment("DOCKER_HOST"); !host.empty()) {
    const bool verify = !environment("DOCKER_TLS_VERIFY").empty();
    const bool tls = verify || !environment("DOCKER_TLS").empty();
    Endpoint endpoint = parse_endpoint(host, tls);
    if (tls && endpoint.kind == Endpoint::Kind::tcp)
      endpoint.tls = tls_files_in(default_cert_path(), verify, "DOCKER_CERT_PATH");
    return endpoint;
  }
  if (auto context = selected_context()) {
    Endpoint endpoint = parse_endpoint(context->host, context->tls_dir.has_value() || context->skip_tls_verify);
    if (endpoint.kind == Endpoint::Kind::tcp && (context->tls_dir || context->skip_tls_verify)) {
      if (context->tls_dir)
        endpoint.tls = tls_files_in(*context->tls_dir, !context->skip_tls_verify, "docker context '" + context->name + "'");
      else
        endpoint.tls = TlsFiles{.verify = false};
    }
    return endpoint;
  }
  return parse_endpoint(kDefaultDockerHost);
}

}  // namespace hutch::docker
