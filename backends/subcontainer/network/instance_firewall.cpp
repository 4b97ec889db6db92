#include "instance_firewall.hpp"

#include "stable_hash.hpp"

#include <hutch/error.hpp>

#include <cstdint>
#include <cstdio>

namespace hutch::subcontainer::network {

const std::vector<std::string> kDeniedIpv4{
    "0.0.0.0/8",     "10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4",   "240.0.0.0/4"};
const std::vector<std::string> kDeniedIpv6{"::1/128", "fc00::/7", "fe80::/10", "ff00::/8"};

namespace {

// DNS, and DNS over TLS (and over QUIC, on UDP).
constexpr const char* kDnsPorts = "{ 53, 853 }";

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
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
         "  set denied_v4 { type ipv4_addr; flags interval; elements = { " + joined(kDeniedIpv4) + " } }\n" +
         "  set denied_v6 { type ipv6_addr; flags interval; elements = { " + joined(kDeniedIpv6) + " } }\n" +
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
         "    iifname " + bridge + " meta l4proto tcp th dport " + kDnsPorts + " reject with tcp reset\n" +
         "    iifname " + bridge + " meta l4proto udp th dport " + kDnsPorts + " reject\n" +
         "    iifname " + bridge + " ip saddr vmap @sandbox_egress\n" +
         // reject rather than drop: a blocked connection fails at once instead of timing out.
         "    iifname " + bridge + " ip daddr @denied_v4 reject with icmp type admin-prohibited\n" +
         "    iifname " + bridge + " ip6 daddr @denied_v6 reject with icmpv6 type admin-prohibited\n" +
         "  }\n" +
         "  chain input {\n" +
         "    type filter hook input priority filter; policy accept;\n" +
         "    iifname " + bridge + " ct state established,related accept\n" +
         // The resolver (resolver_process.hpp) on the bridge's address; any other DNS server on
         // the host is another server (see forward).
         "    iifname " + bridge + " ip daddr " + gateway + " meta l4proto { tcp, udp } th dport 53 accept\n" +
         "    iifname " + bridge + " meta l4proto tcp th dport " + kDnsPorts + " reject with tcp reset\n" +
         "    iifname " + bridge + " meta l4proto udp th dport " + kDnsPorts + " reject\n" +
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
