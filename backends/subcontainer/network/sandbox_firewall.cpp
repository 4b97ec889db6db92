#include "sandbox_firewall.hpp"

#include "ipv4.hpp"

namespace hutch::subcontainer::network {
namespace {

std::string chain_name(const SandboxFirewall& sandbox) { return "egress_" + sandbox.id; }
std::string port_chain_name(const SandboxFirewall& sandbox) { return "port_" + sandbox.id; }

// The commands that remove whatever of the sandbox's egress entries exist: each is first
// added (a no-op when it is there), so that no delete can fail on a missing object.
std::string egress_removal(const SandboxFirewall& sandbox) {
  const std::string inet = "inet " + sandbox.table, chain = chain_name(sandbox);
  const std::string verdict = "{ " + format_ipv4(sandbox.address) + " : jump " + chain + " }";
  return "add chain " + inet + " " + chain + "\n" +
         "add element " + inet + " sandbox_egress " + verdict + "\n" +
         "delete element " + inet + " sandbox_egress " + verdict + "\n" +
         "flush chain " + inet + " " + chain + "\n" +
         "delete chain " + inet + " " + chain + "\n";
}

// The commands that give the sandbox its chain of `rules` and send its traffic there; none
// for no rules (the default policy alone).
std::string egress_addition(const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules) {
  if (rules.empty()) return {};
  const std::string inet = "inet " + sandbox.table, chain = chain_name(sandbox);
  std::string commands = "add chain " + inet + " " + chain + "\n";
  for (const auto& statement : egress_statements(rules)) commands += "add rule " + inet + " " + chain + " " + statement + "\n";
  commands += "add element " + inet + " sandbox_egress { " + format_ipv4(sandbox.address) + " : jump " + chain + " }\n";
  return commands;
}

// The commands that remove whatever of the sandbox's entries exist (see egress_removal).
std::string removal(const SandboxFirewall& sandbox) {
  const std::string port_chain = "netdev " + sandbox.table + " " + port_chain_name(sandbox);
  return "add chain " + port_chain + "\n" +
         "flush chain " + port_chain + "\n" +
         "delete chain " + port_chain + "\n" + egress_removal(sandbox);
}

}  // namespace

std::vector<std::string> egress_statements(const std::vector<EgressRule>& rules) {
  std::vector<std::string> out;
  for (const auto& rule : rules) {
    const bool all = rule.destination == "all";
    const bool v6 = rule.destination.find(':') != std::string::npos;
    std::string match = all ? "" : (v6 ? "ip6 daddr " : "ip daddr ") + rule.destination + " ";
    std::string verdict = rule.action == EgressAction::allow
                              ? "accept"
                              : (all ? "reject with icmpx type admin-prohibited"
                                     : v6 ? "reject with icmpv6 type admin-prohibited"
                                          : "reject with icmp type admin-prohibited");
    out.push_back(match + verdict);
  }
  return out;
}

std::string sandbox_ruleset(const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules) {
  const std::string address = format_ipv4(sandbox.address);
  const std::string port_chain = "netdev " + sandbox.table + " " + port_chain_name(sandbox);
  std::string commands = removal(sandbox);
  commands += "add chain " + port_chain + " { type filter hook ingress device \"" + sandbox.host_link +
              "\" priority filter; policy accept; }\n";
  commands += "add rule " + port_chain + " ether type ip ip saddr != " + address + " drop\n";
  commands += "add rule " + port_chain + " ether type arp arp saddr ip != " + address + " drop\n";
  return commands + egress_addition(sandbox, rules);
}

std::string egress_ruleset(const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules) {
  return egress_removal(sandbox) + egress_addition(sandbox, rules);
}

void install(Nftables& nft, const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules) {
  nft.run(sandbox_ruleset(sandbox, rules), "install the egress rules of sandbox " + sandbox.id);
}

void replace_egress(Nftables& nft, const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules) {
  nft.run(egress_ruleset(sandbox, rules), "replace the egress rules of sandbox " + sandbox.id);
}

void remove(Nftables& nft, const SandboxFirewall& sandbox) {
  nft.run(removal(sandbox), "remove the egress rules of sandbox " + sandbox.id);
}

}  // namespace hutch::subcontainer::network
