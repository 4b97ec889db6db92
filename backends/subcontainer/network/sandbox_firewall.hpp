// One bridge sandbox's entries in its instance's tables (instance_firewall.hpp): a chain on the
// ingress of its port that drops IPv4 and ARP from any other source address ("port_<id>", the
// netdev table), and, when it has egress rules, a chain of its own ("egress_<id>", the inet
// table) that sandbox_egress sends its traffic through before the default policy.
// The egress chain and its domain sets are the shared ones (egress/egress_chain.hpp).
#pragma once

#include "egress_chain.hpp"
#include "egress_names.hpp"
#include "nftables.hpp"

#include <hutch/types.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hutch::subcontainer::network {

struct SandboxFirewall {
  std::string table;      // the instance's (instance_table_name)
  std::string id;         // the sandbox's
  std::string host_link;  // its port on the bridge
  std::uint32_t address = 0;
};

// Its egress entries (egress/egress_chain.hpp).
EgressChain egress_chain(const SandboxFirewall& sandbox);
// The domain sets of the sandbox's that the (inet) table holds now.
std::vector<std::string> installed_domain_sets(Nftables& nft, const SandboxFirewall& sandbox);

// The commands that add the sandbox's entries (replacing any it had; `installed_sets`: what
// installed_domain_sets says), for install and tests.
std::string sandbox_ruleset(const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules,
                            const std::vector<std::string>& installed_sets = {});
// Runs sandbox_ruleset, after the table's listing of the sandbox's sets (an earlier start
// may have left some).
void install(Nftables& nft, const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules);
// The commands that replace the sandbox's egress rules alone (Handle::set_egress): its old
// chain and map entry go and the new ones come in the same transaction, so every packet meets
// either the old rules or the new ones; the port chain stays. The sets of domain rules that
// stay the same (same text, same place) stay with what they learned; the others go.
std::string egress_ruleset(const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules,
                           const std::vector<std::string>& installed_sets = {});
void replace_egress(Nftables& nft, const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules);
// Removes the sandbox's entries; nothing for those it does not have. The tables must exist.
// Installed once its port exists (the ingress chain names the device).
void remove(Nftables& nft, const SandboxFirewall& sandbox);

}  // namespace hutch::subcontainer::network
