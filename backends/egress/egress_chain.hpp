// One sandbox's egress rules as nftables objects in its instance's inet table (egress_policy.hpp
// declares what the table holds): a chain of its own, "egress_<id>", which the table's
// sandbox_egress map sends the sandbox's traffic through (keyed on its address) before the
// default policy. Shared by the backends: subcontainer bridge sandboxes and docker sandboxes on
// hutch's network.
//
// A domain rule that allows has two sets of its own, "dns4_<id>_<n>_<hash>" and "dns6_..."
// (dns_policy.hpp, `flags timeout`), which the resolver fills with the addresses it answers for
// the rule's names, each for the answer's TTL; the rule's place in the chain is a lookup in
// them. A learned address does not open what the default policy denies (metadata, private
// ranges, the host's own addresses...): only an address rule can, so a hostile name server
// cannot point an allowed name at 169.254.169.254. A domain rule that denies has no statement:
// the resolver refuses its names, and no address is learned for it.
#pragma once

#include "nftables.hpp"

#include <hutch/types.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hutch::egress {

struct EgressChain {
  std::string table;  // the instance's inet table
  std::string id;     // the sandbox's
  std::uint32_t address = 0;
};

// The sandbox's chain of rules as nft statements, in order: allow -> accept, deny -> reject;
// an allowing domain rule gives two (its sets), a denying one none. The destinations are
// validated ones (hutch::validate).
std::vector<std::string> egress_statements(const std::string& sandbox_id, const std::vector<EgressRule>& rules);
// The names of the sets the sandbox's allowing domain rules use.
std::vector<std::string> domain_sets(const std::string& sandbox_id, const std::vector<EgressRule>& rules);
// The domain sets of the sandbox's that the (inet) table holds now.
std::vector<std::string> installed_domain_sets(Nftables& nft, const EgressChain& sandbox);

// The commands that remove whatever of the sandbox's egress entries exist: each is first added
// (a no-op when it is there), so that no delete can fail on a missing object. Sets in
// `installed_sets` but not in `kept_sets` go after the chain that used them.
std::string egress_removal(const EgressChain& sandbox, const std::vector<std::string>& installed_sets,
                           const std::vector<std::string>& kept_sets);
// The commands that give the sandbox its chain of `rules` and send its traffic there; none for
// no rules (the default policy alone). A set that exists already stays as it is.
std::string egress_addition(const EgressChain& sandbox, const std::vector<EgressRule>& rules);

// The commands that replace the sandbox's egress rules (Handle::set_egress): its old chain and
// map entry go and the new ones come in the same transaction, so every packet meets either the
// old rules or the new ones. The sets of domain rules that stay the same (same text, same
// place) stay with what they learned; the others go.
std::string egress_ruleset(const EgressChain& sandbox, const std::vector<EgressRule>& rules,
                           const std::vector<std::string>& installed_sets = {});
void replace_egress(Nftables& nft, const EgressChain& sandbox, const std::vector<EgressRule>& rules);
// Removes the sandbox's egress entries; nothing for those it does not have. The table must exist.
void remove_egress(Nftables& nft, const EgressChain& sandbox);

}  // namespace hutch::egress
