// The configuration keys every backend that enforces egress rules reads the same way, in its
// own table ([backends.subcontainer], [backends.docker]):
//   upstream_dns   where the resolver forwards the names it answers (default: the nameservers
//                  of the host's /etc/resolv.conf)
//   <subnet key>   the sandboxes' IPv4 network (bridge_subnet, egress_subnet)
#pragma once

#include "ipv4.hpp"

#include <hutch/config.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace hutch::egress {

// The nameserver addresses of a resolv.conf; none when it cannot be read.
std::vector<std::string> resolv_conf_nameservers(const std::filesystem::path& file);
// `upstream_dns` of `table` (each an IPv4 or IPv6 address, else Errc::config naming it), or
// the host's nameservers.
std::vector<std::string> read_upstream_dns(const ConfigTable& table);
// The subnet under `key` (a network with a prefix of 8 to 29 bits, else Errc::config), or
// `fallback`.
Ipv4Cidr read_subnet(const ConfigTable& table, const std::string& key, Ipv4Cidr fallback);

}  // namespace hutch::egress
