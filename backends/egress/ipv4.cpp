#include "ipv4.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace hutch::egress {

std::optional<std::uint32_t> parse_ipv4(const std::string& text) {
  in_addr parsed{};
  // inet_pton takes exactly the dotted quad (no octal, no short forms), unlike inet_aton.
  if (::inet_pton(AF_INET, text.c_str(), &parsed) != 1) return std::nullopt;
  return ntohl(parsed.s_addr);
}

std::optional<Ipv4Cidr> parse_ipv4_cidr(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  const auto address = parse_ipv4(text.substr(0, slash));
  int prefix = -1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data() + slash + 1, end, prefix);
  if (!address || ec != std::errc() || ptr != end || prefix < 0 || prefix > 32) return std::nullopt;
  return Ipv4Cidr{*address, prefix};
}

std::string format_ipv4(std::uint32_t address) {
  in_addr raw{htonl(address)};
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &raw, text, sizeof text);
  return text;
}

std::string format_cidr(const Ipv4Cidr& cidr) { return format_ipv4(cidr.address) + "/" + std::to_string(cidr.prefix); }

}  // namespace hutch::egress
