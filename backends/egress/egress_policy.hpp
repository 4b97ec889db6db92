// The default egress policy of a hutch instance's sandboxes, as pieces of its inet table that
// every backend's table holds the same way (subcontainer: instance_firewall.hpp; docker:
// egress_network.hpp):
//
//   set denied_v4, set denied_v6   what a sandbox may not reach unless a rule allows it
//   map sandbox_egress             sandbox address -> jump to its chain (egress_chain.hpp)
//   forward (statements)           sandbox -> elsewhere: replies pass; DNS (53, and 853 for DNS
//                                  over TLS/QUIC) rejected whatever the rules say; the
//                                  sandbox's own rules; then the denied ranges rejected
//   input (statements)             sandbox -> this host (any of its addresses): replies pass;
//                                  DNS to the resolver passes, other DNS is rejected; the
//                                  sandbox's own rules; then reject
//
// Each statement starts with `from`, the match that tells a sandbox's packet (the bridge's
// interface, or the sandboxes' subnet).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace hutch::egress {

// What a sandbox may not reach unless a rule allows it (issue 19): private and shared ranges,
// loopback, link-local (cloud metadata at 169.254.169.254), multicast and reserved.
// 198.18.0.0/15 (benchmarking) is not among them.
extern const std::vector<std::string> kDeniedIpv4;
extern const std::vector<std::string> kDeniedIpv6;

// "a, b, c": `items` as the elements of an nft set.
std::string set_elements(const std::vector<std::string>& items);
// The sets "denied_v4" and "denied_v6" (kDeniedIpv4, kDeniedIpv6), one line each, for inside a
// `table ... { }` block.
std::string denied_set_declarations();
// Statements that reject DNS (53, and 853 for DNS over TLS and over QUIC) on TCP and UDP: names
// go through the sandbox's own resolver, whatever its rules allow.
std::vector<std::string> dns_rejections();
// Statements that reject what the default denies (the sets above), after the sandbox's rules:
// IPv4, and IPv6 with `ipv6`. reject rather than drop: a blocked connection fails at once
// instead of timing out.
std::vector<std::string> default_denials(bool ipv6 = true);

// The sets and the map, as lines of a `table inet NAME { ... }` block.
std::string policy_declarations();
// The forward chain's statements for packets `from` sandboxes; `ipv6`: also the IPv6 ranges
// (false when `from` matches IPv4 addresses, which no IPv6 packet has).
std::vector<std::string> forward_policy(const std::string& from, bool ipv6 = true);
// The input chain's statements for packets `from` sandboxes; `resolver` is the address the
// sandboxes' DNS resolver listens on (port 53).
std::vector<std::string> input_policy(const std::string& from, const std::string& resolver);

// "hutch_" and 8 hex digits of a hash of the state dir: stable for one state dir, different
// for two.
std::string instance_table_name(const std::filesystem::path& state_root);
// The label of the instance on `state_root`: the table's comment.
std::string instance_label(const std::filesystem::path& state_root);

// The name and label go into nft's language inside double quotes.
std::string nft_quoted(const std::string& text);

}  // namespace hutch::egress
