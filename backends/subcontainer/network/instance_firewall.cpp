#include "instance_firewall.hpp"

#include "stable_hash.hpp"

#include <hutch/error.hpp>

#include <cstdint>
#include <cstdio>

namespace hutch::subcontainer::network {

namespace {

// `statements`, one line each in a chain, every one behind `match`.
std::string lines(const std::string& match, const std::vector<std::string>& statements) {
  std::string out;
  for (const auto& statement : statements) out += "    " + match + " " + statement + "\n";
  return out;
}

// The name and label go into nft's language inside double quotes.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text)
    if (c != '"' && c != '\\' && c != '\n') out.push_back(c);
  return out + "\"";
}

}  // namespace

std::string instance_table_name(const std::filesystem::path& state_root) {
  char name[16];
  std::snprintf(name, sizeof name, "hutch_%08x", stable_hash(std::filesystem::absolute(state_root).lexically_normal().string()));
  return name;
}

std::string instance_label(const std::filesystem::path& state_root) {
  return "hutch.managed state=" + std::filesystem::absolute(state_root).lexically_normal().string();
}

std::string instance_ruleset(const InstanceFirewall& firewall) {
  const std::string table = "inet " + firewall.table;
  const std::string port_table = "netdev " + firewall.table;
  const std::string bridge = quoted(firewall.bridge);
  const std::string subnet = format_cidr({firewall.subnet.network(), firewall.subnet.prefix});
  const std::string gateway = format_ipv4(firewall.subnet.network() + 1);
  // Created if missing, so that the deletes cannot fail; the new tables replace them in the
  // same transaction.
  return "add table " + table + "\n" +
         "delete table " + table + "\n" +
         "add table " + port_table + "\n" +
         "delete table " + port_table + "\n" +
         "table " + table + " {\n" +
         "  comment " + quoted(firewall.label) + "\n" +
         denied_set_declarations() +
         "  map sandbox_egress { type ipv4_addr : verdict; }\n" +
         "  chain forward {\n" +
         "    type filter hook forward priority filter; policy accept;\n" +
         // A sandbox is root in its network namespace and may send from any address: one
         // outside the subnet would leave unmasqueraded.
         "    iifname " + bridge + " ip saddr != " + subnet + " drop\n" +
         "    iifname " + bridge + " meta nfproto ipv6 ip6 saddr != fe80::/10 drop\n" +
         "    iifname " + bridge + " ct state established,related accept\n" +
         // Names go through the sandbox's resolver, whatever its rules allow: another server
         // would answer names the rules do not allow (plain DNS, and DNS over TLS or QUIC).
         lines("iifname " + bridge, dns_rejections()) +
         "    iifname " + bridge + " ip saddr vmap @sandbox_egress\n" +
         lines("iifname " + bridge, default_denials()) +
         "  }\n" +
         "  chain input {\n" +
         "    type filter hook input priority filter; policy accept;\n" +
         "    iifname " + bridge + " ct state established,related accept\n" +
         // The resolver (resolver_process.hpp) on the bridge's address; any other DNS server on
         // the host is another server (see forward).
         "    iifname " + bridge + " ip daddr " + gateway + " meta l4proto { tcp, udp } th dport 53 accept\n" +
         lines("iifname " + bridge, dns_rejections()) +
         "    iifname " + bridge + " ip saddr vmap @sandbox_egress\n" +
         "    iifname " + bridge + " meta l4proto tcp reject with tcp reset\n" +
         "    iifname " + bridge + " reject with icmpx type admin-prohibited\n" +
         "  }\n" +
         "  chain postrouting {\n" +
         "    type nat hook postrouting priority srcnat; policy accept;\n" +
         "    ip saddr " + subnet + " oifname != " + bridge + " masquerade\n" +
         "  }\n" +
         "}\n" +
         "table " + port_table + " {\n" +
         "  comment " + quoted(firewall.label) + "\n" +
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
