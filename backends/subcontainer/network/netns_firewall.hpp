// The egress policy of a rootless bridge sandbox (pasta_network.hpp), as a table inside the
// sandbox's own network namespace: pasta relays whatever leaves the sandbox through the host's
// sockets, so the packets must be judged before they reach pasta, on their way out of the
// sandbox. hutch (the owner of the sandbox's user namespace) installs it; the sandbox's
// processes, without CAP_NET_ADMIN, cannot change it.
//
//   table inet hutch   comment "hutch.managed sandbox=<id>"
//     chain egress   the sandbox's rules (sandbox_firewall.hpp, egress_statements)
//     chain output   loopback and replies pass; DNS passes to the sandbox's nameserver alone,
//                    other DNS is rejected (egress_policy.hpp); the sandbox's
//                    rules; then the host's own addresses and the default's ranges are rejected
//
// The same default as the root path's (instance_firewall.hpp), whose text it shares.
#pragma once

#include <hutch/types.hpp>

#include <string>
#include <vector>

namespace hutch::subcontainer::network {

struct NetnsFirewall {
  std::string id;          // the sandbox's
  std::string nameserver;  // the one DNS server it may reach (tcp and udp 53); empty: none
  // The host's own addresses (pasta connects from the host: they are the host's services).
  std::vector<std::string> host_ipv4, host_ipv6;
};

// The commands that create or replace the table with `rules` (validated, no domain rules) in one
// transaction: every packet meets either the old rules or the new ones.
std::string netns_ruleset(const NetnsFirewall& firewall, const std::vector<EgressRule>& rules);

}  // namespace hutch::subcontainer::network
