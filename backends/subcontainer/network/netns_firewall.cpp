#include "netns_firewall.hpp"

#include "egress_names.hpp"
#include "egress_policy.hpp"
#include "sandbox_firewall.hpp"

namespace hutch::subcontainer::network {
namespace {

constexpr const char* kTable = "inet hutch";

// An empty set takes no `elements` clause.
std::string host_set(const std::string& name, const std::string& type, const std::vector<std::string>& addresses) {
  return "  set " + name + " { type " + type + "; flags interval; auto-merge;" +
         (addresses.empty() ? std::string() : " elements = { " + set_elements(addresses) + " }") + " }\n";
}

}  // namespace

std::string netns_ruleset(const NetnsFirewall& firewall, const std::vector<EgressRule>& rules) {
  std::string egress;
  for (const auto& statement : egress_statements(firewall.id, rules)) egress += "    " + statement + "\n";
  std::string dns;
  if (!firewall.nameserver.empty())
    dns = "    ip daddr " + firewall.nameserver + " meta l4proto { tcp, udp } th dport 53 accept\n";
  for (const auto& statement : dns_rejections()) dns += "    " + statement + "\n";
  std::string denials;
  for (const auto& statement : default_denials()) denials += "    " + statement + "\n";
  // Created if missing, so that the delete cannot fail; the new table replaces it in the same
  // transaction.
  return std::string("add table ") + kTable + "\n" + "delete table " + kTable + "\n" + "table " + kTable + " {\n" +
         "  comment \"hutch.managed sandbox=" + firewall.id + "\"\n" + denied_set_declarations() +
         host_set("host_v4", "ipv4_addr", firewall.host_ipv4) + host_set("host_v6", "ipv6_addr", firewall.host_ipv6) +
         "  chain egress {\n" + egress + "  }\n" +
         "  chain output {\n" +
         "    type filter hook output priority filter; policy accept;\n" +
         "    oifname \"lo\" accept\n" +
         "    ct state established,related accept\n" + dns +
         "    jump egress\n" +
         "    ip daddr @host_v4 reject with icmp type admin-prohibited\n" +
         "    ip6 daddr @host_v6 reject with icmpv6 type admin-prohibited\n" + denials +
         "  }\n" +
         "}\n";
}

}  // namespace hutch::subcontainer::network
