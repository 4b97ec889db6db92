#include "instance_firewall.hpp"

#include "egress_policy.hpp"

#include <hutch/error.hpp>

#include <cstdint>
#include <cstdio>

namespace hutch::subcontainer::network {

namespace {

std::string statements(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += "    " + line + "\n";
  return out;
}

}  // namespace

std::string instance_ruleset(const InstanceFirewall& firewall) {
  const std::string table = "inet " + firewall.table;
  const std::string port_table = "netdev " + firewall.table;
  const std::string bridge = nft_quoted(firewall.bridge);
  const std::string subnet = format_cidr({firewall.subnet.network(), firewall.subnet.prefix});
  const std::string gateway = format_ipv4(firewall.subnet.network() + 1);
  // Created if missing, so that the deletes cannot fail; the new tables replace them in the
  // same transaction.
  return "add table " + table + "\n" +
         "delete table " + table + "\n" +
         "add table " + port_table + "\n" +
         "delete table " + port_table + "\n" +
         "table " + table + " {\n" +
         "  comment " + nft_quoted(firewall.label) + "\n" +
         policy_declarations() +
         "  chain forward {\n" +
         "    type filter hook forward priority filter; policy accept;\n" +
         // A sandbox is root in its network namespace and may send from any address: one
         // outside the subnet would leave unmasqueraded.
         "    iifname " + bridge + " ip saddr != " + subnet + " drop\n" +
         "    iifname " + bridge + " meta nfproto ipv6 ip6 saddr != fe80::/10 drop\n" +
         statements(forward_policy("iifname " + bridge)) +
         "  }\n" +
         "  chain input {\n" +
         "    type filter hook input priority filter; policy accept;\n" +
         statements(input_policy("iifname " + bridge, gateway)) +
         "  }\n" +
         "  chain postrouting {\n" +
         "    type nat hook postrouting priority srcnat; policy accept;\n" +
         "    ip saddr " + subnet + " oifname != " + bridge + " masquerade\n" +
         "  }\n" +
         "}\n" +
         "table " + port_table + " {\n" +
         "  comment " + nft_quoted(firewall.label) + "\n" +
         "}\n";
}

void install(Nftables& nft, const InstanceFirewall& firewall) {
  nft.run(instance_ruleset(firewall), "install table inet " + firewall.table + " for bridge " + firewall.bridge);
}

void remove_table(Nftables& nft, const std::string& table) {
  nft.run("add table inet " + table + "\ndelete table inet " + table + "\nadd table netdev " + table +
              "\ndelete table netdev " + table + "\n",
          "delete tables inet and netdev " + table);
}

bool table_exists(Nftables& nft, const std::string& table) {
  try {
    nft.run("list table inet " + table + "\n", "list table inet " + table);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace hutch::subcontainer::network
