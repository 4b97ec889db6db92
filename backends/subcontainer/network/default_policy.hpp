// The default egress policy of a sandbox with a network of its own, as nft text: what the
// root path's instance table (instance_firewall.hpp, filtering on the host as packets leave
// the bridge) and the rootless path's table inside the sandbox's network namespace
// (netns_firewall.hpp, filtering its output) both say, so that the two cannot drift apart.
// Each caller puts its own match (the bridge's name, nothing) in front of the statements.
#pragma once

#include <string>
#include <vector>

namespace hutch::subcontainer::network {

// What a sandbox may not reach unless a rule allows it (issue 19): this network,
// private and shared ranges, loopback, link-local (cloud metadata at 169.254.169.254),
// multicast and reserved. 198.18.0.0/15 (benchmarking) is not among them.
extern const std::vector<std::string> kDeniedIpv4;
extern const std::vector<std::string> kDeniedIpv6;

// "a, b, c": `items` as the elements of an nft set.
std::string set_elements(const std::vector<std::string>& items);
// The declarations of the sets "denied_v4" and "denied_v6" (kDeniedIpv4, kDeniedIpv6), one
// line each, for inside a `table ... { }` block.
std::string denied_set_declarations();
// Statements that reject DNS (53, and 853 for DNS over TLS and over QUIC) on TCP and UDP: names
// go through the sandbox's own resolver, whatever its rules allow.
std::vector<std::string> dns_rejections();
// Statements that reject what the default denies (the sets above), after the sandbox's rules.
// reject rather than drop: a blocked connection fails at once instead of timing out.
std::vector<std::string> default_denials();

}  // namespace hutch::subcontainer::network
