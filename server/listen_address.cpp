#include "listen_address.hpp"

#include <hutch/error.hpp>

#include <charconv>
#include <cstdlib>
#include <unistd.h>

namespace hutch::server {

namespace {

[[noreturn]] void bad(const std::string& text, const std::string& why, bool allow_https) {
  throw Error(Errc::invalid_argument, std::string(allow_https ? "address" : "listen address") + " '" + text + "': " + why +
                                          " (expected unix:///PATH, tcp://HOST:PORT" + (allow_https ? " or https://HOST:PORT)" : ")"));
}

}  // namespace

std::string ListenAddress::text() const {
  if (kind == Kind::unix_socket) return "unix://" + path;
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https://" : "tcp://") + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ListenAddress parse_listen_address(const std::string& text, bool allow_https) {
  auto bad = [&](const std::string& text, const std::string& why) { server::bad(text, why, allow_https); };
  ListenAddress address;
  if (text.rfind("unix://", 0) == 0) {
    address.kind = ListenAddress::Kind::unix_socket;
    address.path = text.substr(7);
    if (address.path.empty() || address.path.front() != '/') bad(text, "the socket path must be absolute");
    // sockaddr_un holds 108 bytes with the terminating NUL.
    if (address.path.size() > 107) bad(text, "the socket path is longer than 107 bytes");
    return address;
  }
  address.tls = allow_https && text.rfind("https://", 0) == 0;
  if (text.rfind("tcp://", 0) != 0 && !address.tls) bad(text, "unknown scheme");
  address.kind = ListenAddress::Kind::tcp;
  std::string rest = text.substr(address.tls ? 8 : 6);
  std::string port_text;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') bad(text, "expected [IPV6]:PORT");
    address.host = rest.substr(1, close - 1);
    port_text = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos) bad(text, "no port");
    address.host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  }
  if (address.host.empty()) bad(text, "no host");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
    bad(text, "the port must be a number from 0 to 65535");
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

ListenAddress default_listen_address() {
  ListenAddress address;
  if (::geteuid() == 0) {
    address.path = "/run/hutch/hutch.sock";
    return address;
  }
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  if (runtime == nullptr || *runtime != '/')
    throw Error(Errc::config, "XDG_RUNTIME_DIR is not set, so there is no default socket for a non-root service: "
                              "give one with --listen unix:///PATH");
  address.path = std::string(runtime) + "/hutch/hutch.sock";
  return address;
}

}  // namespace hutch::server
