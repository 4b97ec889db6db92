#include <hutch/error.hpp>
#include <hutch/ports.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <string>

namespace hutch {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(Errc::invalid_argument, message); }

bool is_ipv6(const std::string& address) { return address.find(':') != std::string::npos; }

bool parses_as_address(const std::string& address) {
  unsigned char bytes[16];
  return ::inet_pton(is_ipv6(address) ? AF_INET6 : AF_INET, address.c_str(), bytes) == 1;
}

// A port number from `lowest` to 65535, or the error naming `what` and the whole value.
std::uint16_t parse_port(std::string_view digits, unsigned lowest, const char* what, std::string_view text) {
  unsigned value = 0;
  const char* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, value);
  if (digits.empty() || ec != std::errc() || ptr != end || value < lowest || value > 65535)
    invalid("'" + std::string(text) + "': " + what + " '" + std::string(digits) + "' is not a port number from " +
            std::to_string(lowest) + " to 65535");
  return static_cast<std::uint16_t>(value);
}

bool same_host_port(const PortMapping& a, const PortMapping& b) {
  if (a.host_port == 0 || a.host_port != b.host_port || a.protocol != b.protocol) return false;
  return a.host_ip == b.host_ip || is_wildcard_address(a.host_ip) || is_wildcard_address(b.host_ip);
}

std::string host_part(const std::string& address) { return is_ipv6(address) ? "[" + address + "]" : address; }

}  // namespace

PortMapping parse_port_mapping(std::string_view text) {
  static constexpr const char* kSyntax = "[HOST_IP:]HOST_PORT:SANDBOX_PORT[/tcp|udp]";
  PortMapping mapping;
  std::string_view rest = text;
  if (const auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    try {
      mapping.protocol = parse_port_protocol(std::string(rest.substr(slash + 1)));
    } catch (const Error& error) {
      invalid("'" + std::string(text) + "': " + error.what());
    }
    rest = rest.substr(0, slash);
  }
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
      invalid("'" + std::string(text) + "' must look like " + kSyntax + " (an IPv6 address as [::1])");
    mapping.host_ip = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 2);
    if (!is_ipv6(mapping.host_ip)) invalid("'" + std::string(text) + "': '" + mapping.host_ip + "' in brackets is not an IPv6 address");
  } else if (const auto colons = std::count(rest.begin(), rest.end(), ':'); colons == 2) {
    const auto first = rest.find(':');
    mapping.host_ip = std::string(rest.substr(0, first));
    rest = rest.substr(first + 1);
  } else if (colons > 2) {
    invalid("'" + std::string(text) + "' must look like " + kSyntax + "; write an IPv6 host address in brackets: [::1]:8080:80");
  }
  const auto colon = rest.find(':');
  if (colon != std::string_view::npos) {
    mapping.host_port = parse_port(rest.substr(0, colon), 0, "HOST_PORT", text);
    rest = rest.substr(colon + 1);
  }
  if (rest.find(':') != std::string_view::npos) invalid("'" + std::string(text) + "' must look like " + kSyntax);
  mapping.sandbox_port = parse_port(rest, 1, "SANDBOX_PORT", text);
  if (!parses_as_address(mapping.host_ip))
    invalid("'" + std::string(text) + "': HOST_IP '" + mapping.host_ip + "' is not an IPv4 or IPv6 address");
  return mapping;
}

std::string format_port_mapping(const PortMapping& mapping) {
  return host_part(mapping.host_ip) + ":" + std::to_string(mapping.host_port) + ":" +
         std::to_string(mapping.sandbox_port) + "/" + to_string(mapping.protocol);
}

std::optional<std::string> port_mapping_problem(const PortMapping& mapping) {
  if (mapping.sandbox_port == 0) return std::string("the sandbox port must be from 1 to 65535, got 0");
  if (!parses_as_address(mapping.host_ip))
    return "host address '" + mapping.host_ip + "' is not an IPv4 or IPv6 address";
  return std::nullopt;
}

void validate_ports(const std::vector<PortMapping>& ports, NetworkMode network) {
  auto name = [&](std::size_t i) {
    return "published port " + std::to_string(i + 1) + " (" + format_port_mapping(ports[i]) + ")";
  };
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (auto problem = port_mapping_problem(ports[i])) invalid(name(i) + ": " + *problem);
    for (std::size_t j = 0; j < i; ++j)
      if (same_host_port(ports[j], ports[i]))
        invalid(name(i) + ": host port " + std::to_string(ports[i].host_port) + "/" + to_string(ports[i].protocol) +
                " is published twice (also by published port " + std::to_string(j + 1) + ", " +
                format_port_mapping(ports[j]) + ")");
  }
  if (!ports.empty() && network != NetworkMode::bridge)
    invalid(name(0) + ": publishing ports needs network \"bridge\"; network is \"" +
            std::string(to_string(network)) + "\"");
}

bool is_wildcard_address(const std::string& address) {
  unsigned char bytes[16] = {};
  const bool v6 = is_ipv6(address);
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes) != 1) return false;
  for (int i = 0; i < (v6 ? 16 : 4); ++i)
    if (bytes[i] != 0) return false;
  return true;
}

bool is_loopback_address(const std::string& address) {
  unsigned char bytes[16] = {};
  if (!is_ipv6(address)) return ::inet_pton(AF_INET, address.c_str(), bytes) == 1 && bytes[0] == 127;
  if (::inet_pton(AF_INET6, address.c_str(), bytes) != 1) return false;
  for (int i = 0; i < 15; ++i)
    if (bytes[i] != 0) return false;
  return bytes[15] == 1;
}

std::string connect_address(const PortBinding& binding) {
  std::string host = binding.host_address;
  if (is_wildcard_address(host)) host = is_ipv6(host) ? "::1" : "127.0.0.1";
  return host_part(host) + ":" + std::to_string(binding.host_port);
}

std::optional<std::string> http_url(const PortBinding& binding) {
  if (binding.protocol != PortProtocol::tcp) return std::nullopt;
  return "http://" + connect_address(binding);
}

std::string describe(const PortBinding& binding) {
  return host_part(binding.host_address) + ":" + std::to_string(binding.host_port) + "->" +
         std::to_string(binding.sandbox_port) + "/" + to_string(binding.protocol);
}

}  // namespace hutch
