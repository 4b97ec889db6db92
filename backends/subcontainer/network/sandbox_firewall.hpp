// One bridge sandbox's entries in its instance's tables (instance_firewall.hpp): a chain on the
// ingress of its port that drops IPv4 and ARP from any other source address ("port_<id>", the
// netdev table), and, when it has egress rules, a chain of its own ("egress_<id>", the inet
// table) that sandbox_egress sends its traffic through before the default policy.
#pragma once

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

// The sandbox's chain of rules as nft statements, one per rule, in order: allow -> accept,
// deny -> reject. The destinations are validated ones (hutch::validate).
std::vector<std::string> egress_statements(const std::vector<EgressRule>& rules);

// The commands that add the sandbox's entries (replacing any it had), for install and tests.
std::string sandbox_ruleset(const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules);
void install(Nftables& nft, const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules);
// The commands that replace the sandbox's egress rules alone (Handle::set_egress): its old
// chain and map entry go and the new ones come in the same transaction, so every packet meets
// either the old rules or the new ones; the port chain stays.
std::string egress_ruleset(const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules);
void replace_egress(Nftables& nft, const SandboxFirewall& sandbox, const std::vector<EgressRule>& rules);
// Removes the sandbox's entries; nothing for those it does not have. The tables must exist.
// Installed once its port exists (the ingress chain names the device).
void remove(Nftables& nft, const SandboxFirewall& sandbox);

}  // namespace hutch::subcontainer::network
