#include "egress_config.hpp"

#include <boost/asio/ip/address.hpp>

#include <fstream>
#include <sstream>

namespace hutch::egress {

std::vector<std::string> resolv_conf_nameservers(const std::filesystem::path& file) {
  std::vector<std::string> servers;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key, address;
    boost::system::error_code invalid;
    if (words >> key >> address && key == "nameserver" && (boost::asio::ip::make_address(address, invalid), !invalid))
      servers.push_back(address);
  }
  return servers;
}

std::vector<std::string> read_upstream_dns(const ConfigTable& table) {
  auto servers = table.get_string_array("upstream_dns");
  if (!servers) return resolv_conf_nameservers("/etc/resolv.conf");
  for (const auto& address : *servers) {
    boost::system::error_code invalid;
    boost::asio::ip::make_address(address, invalid);
    if (invalid) table.fail("upstream_dns", "'" + address + "' is not an IPv4 or IPv6 address (port 53 is used)");
  }
  return *servers;
}

Ipv4Cidr read_subnet(const ConfigTable& table, const std::string& key, Ipv4Cidr fallback) {
  auto text = table.get_string(key);
  if (!text) return fallback;
  const auto subnet = parse_ipv4_cidr(*text);
  if (!subnet || subnet->prefix < 8 || subnet->prefix > 29 || subnet->address != subnet->network())
    table.fail(key, "'" + *text + "' is not an IPv4 network with a prefix of 8 to 29 bits, like \"10.213.0.0/16\"");
  return *subnet;
}

}  // namespace hutch::egress
