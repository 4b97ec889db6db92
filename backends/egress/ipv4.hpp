// IPv4 addresses and prefixes as the bridge network uses them: parsed from configuration,
// handed to netlink and nftables, named in file names and messages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace hutch::egress {

// An address with its prefix length, "10.213.0.0/16". `address` is in host byte order.
struct Ipv4Cidr {
  std::uint32_t address = 0;
  int prefix = 0;

  std::uint32_t mask() const { return prefix == 0 ? 0 : ~std::uint32_t(0) << (32 - prefix); }
  std::uint32_t network() const { return address & mask(); }
  std::uint32_t broadcast() const { return network() | ~mask(); }
  bool contains(std::uint32_t other) const { return (other & mask()) == network(); }
};

// "a.b.c.d" -> the address in host byte order; nullopt when it is not one.
std::optional<std::uint32_t> parse_ipv4(const std::string& text);
// "a.b.c.d/n" (n 0..32) or nullopt.
std::optional<Ipv4Cidr> parse_ipv4_cidr(const std::string& text);

std::string format_ipv4(std::uint32_t address);
std::string format_cidr(const Ipv4Cidr& cidr);  // "a.b.c.d/n"

}  // namespace hutch::egress
