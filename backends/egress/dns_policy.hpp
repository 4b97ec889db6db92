// What the egress rules of a bridge sandbox (EgressRule, validated) mean for names, shared by
// the firewall (sandbox_firewall.hpp), which gives each allowing domain rule its sets of
// addresses, and the resolver (resolver/), which decides each query and fills those sets.
//
// A name is answered when a connection to it could be allowed: the first rule that speaks
// about the name decides — a domain rule that matches it, or "all". Address rules (CIDRs)
// speak about addresses, not names, and are passed over; with no deciding rule the name is
// answered (the default policy allows the public internet, the firewall does the rest). One
// exception keeps an allowlist of addresses usable: a name that meets "deny all" after allow
// rules for networks is answered only when an address of its answer is in one of them.
#pragma once

#include <hutch/types.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hutch::egress {

// "example.com" or "*.example.com", as opposed to "all" and addresses.
bool is_domain_rule(const EgressRule& rule);
// Whether `name` (lower or upper case, with or without the root's trailing dot) is what the
// rule's domain names: example.com itself, or for *.example.com a name below it (any depth),
// not example.com.
bool domain_matches(const std::string& pattern, std::string_view name);

struct NameVerdict {
  enum class Kind {
    refuse,              // NXDOMAIN (resolver/dns_server.hpp says why NXDOMAIN)
    answer,              // forward, answer as upstream does
    answer_if_address_allowed,  // forward; refuse unless an address of the answer is allowed
  };
  Kind kind = Kind::answer;
  // For answer: the allowing domain rule whose sets get the answer's addresses.
  std::optional<std::size_t> rule;
  // For answer_if_address_allowed: the index of the "deny all" that the name met.
  std::size_t deny_all = 0;
};

NameVerdict judge_name(const std::vector<EgressRule>& rules, std::string_view name);

// For NameVerdict::answer_if_address_allowed: whether the first address rule before
// `rules[end]` that holds `address` (4 or 16 bytes, network order) allows it.
bool address_allowed_before(const std::vector<EgressRule>& rules, std::size_t end, const unsigned char* address,
                            std::size_t size);

// The nftables sets (in the instance's inet table) that hold the addresses learned for rule
// `index` of sandbox `sandbox_id` (an allowing domain rule): "dns4_<id>_<n>_<hash>" and
// "dns6_...", n = index + 1 and the hash of the rule's text, so that a set never outlives a
// change of its rule under the same name (a late answer cannot fill the set of another rule).
std::string domain_set_name(const std::string& sandbox_id, std::size_t index, const EgressRule& rule, int family);
// The prefix every set of the sandbox's has ("dns4_<id>_" with family 4).
std::string domain_set_prefix(const std::string& sandbox_id, int family);

}  // namespace hutch::egress
