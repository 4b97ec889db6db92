// The nftables table of one hutch instance (one state dir): NAT for its bridge subnet and the
// default egress policy of every bridge sandbox.
//
//   table inet hutch_<8 hex of the state dir>   comment "hutch.managed state=<state dir>"
//     map sandbox_egress  sandbox address -> jump to its own chain of egress rules
//                         (sandbox_firewall.hpp), for sandboxes that have rules
//     forward      sandbox -> elsewhere: drop a forged source address; let replies pass;
//                  reject DNS (53, and 853 for DNS over TLS/QUIC) whatever the rules say;
//                  the sandbox's own rules; then reject the ranges below (kDeniedIpv4,
//                  kDeniedIpv6)
//     input        sandbox -> this host (any of its addresses): replies pass; DNS to the
//                  resolver on the bridge's address passes, other DNS is rejected; the
//                  sandbox's own rules; then reject
//     postrouting  masquerade the subnet's traffic that leaves through another interface
//   table netdev hutch_<same>
//     port_<id>    one chain per sandbox on the ingress of its port "hv<id>" (sandbox_firewall.hpp):
//                  IPv4 and ARP with a source address that is not the sandbox's are dropped, so
//                  that a sandbox (root with CAP_NET_RAW) cannot pass for another one and get
//                  its rules. (netdev rather than a bridge-family table: kernels built without
//                  CONFIG_NF_TABLES_BRIDGE, like this CI host's, have no bridge family.)
//
// One pair of tables per instance, never a change to anybody else's tables (docker's, podman's,
// the administrator's): the tables are replaced or deleted whole, in one transaction.
#pragma once

#include "egress_names.hpp"
#include "egress_policy.hpp"
#include "ipv4.hpp"
#include "nftables.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace hutch::subcontainer::network {


struct InstanceFirewall {
  std::string table;   // instance_table_name()
  std::string bridge;  // the sandboxes' bridge
  Ipv4Cidr subnet;     // its subnet
  std::string label;   // the table's comment: how prune and people tell whose it is
};

// instance_table_name and instance_label: egress/egress_policy.hpp.

// The whole table as nft commands (creating or replacing it), for install and for tests.
std::string instance_ruleset(const InstanceFirewall& firewall);
// Creates or replaces the table.
void install(Nftables& nft, const InstanceFirewall& firewall);
// Deletes the tables; nothing when there are none.
void remove_table(Nftables& nft, const std::string& table);
// Whether the (inet) table exists.
bool table_exists(Nftables& nft, const std::string& table);

}  // namespace hutch::subcontainer::network
