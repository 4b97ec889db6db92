#include "sandbox_firewall.hpp"

#include "ipv4.hpp"

namespace hutch::subcontainer::network {
namespace {

std::string port_chain_name(const SandboxFirewall& sandbox) { return "port_" + sandbox.id; }

// The commands that remove whatever of the sandbox's entries exist (see egress_removal).
std::string removal(const SandboxFirewall& sandbox, const std::vector<std::string>& installed_sets) {
  const std::string port_chain = "netdev " + sandbox.table + " " + port_chain_name(sandbox);
  return "add chain " + port_chain + "\n" +
         "flush chain " + port_chain + "\n" +
         "delete chain " + port_chain + "\n" + egress_removal(egress_chain(sandbox), installed_sets, {});
}

}  // namespace

EgressChain egress_chain(const SandboxFirewall& sandbox) { return {sandbox.table, sandbox.id, sandbox.address}; }

std::vector<std::string> installed_domain_sets(Nftables& nft, const SandboxFirewall& sandbox) {
  return installed_domain_sets(nft, egress_chain(sandbox));
}

std::string sandbox_ruleset(const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules,
                            const std::vector<std::string>& installed_sets) {
  const std::string address = format_ipv4(sandbox.address);
  const std::string port_chain = "netdev " + sandbox.table + " " + port_chain_name(sandbox);
  std::string commands = removal(sandbox, installed_sets);
  commands += "add chain " + port_chain + " { type filter hook ingress device \"" + sandbox.host_link +
              "\" priority filter; policy accept; }\n";
  commands += "add rule " + port_chain + " ether type ip ip saddr != " + address + " drop\n";
  commands += "add rule " + port_chain + " ether type arp arp saddr ip != " + address + " drop\n";
  return commands + egress_addition(egress_chain(sandbox), rules);
}

std::string egress_ruleset(const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules,
                           const std::vector<std::string>& installed_sets) {
  return egress_ruleset(egress_chain(sandbox), rules, installed_sets);
}

void install(Nftables& nft, const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules) {
  nft.run(sandbox_ruleset(sandbox, rules, installed_domain_sets(nft, sandbox)),
          "install the egress rules of sandbox " + sandbox.id);
}

void replace_egress(Nftables& nft, const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules) {
  replace_egress(nft, egress_chain(sandbox), rules);
}

void remove(Nftables& nft, const SandboxFirewall& sandbox) {
  nft.run(removal(sandbox, installed_domain_sets(nft, sandbox)), "remove the egress rules of sandbox " + sandbox.id);
}

}  // namespace hutch::subcontainer::network
