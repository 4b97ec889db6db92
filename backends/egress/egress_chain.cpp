#include "egress_chain.hpp"

#include "dns_policy.hpp"
#include "ipv4.hpp"

#include <algorithm>
#include <sstream>

namespace hutch::egress {
namespace {

// A learned address is never one of the host's own (which the default denies, input chain).
constexpr const char* kNotTheHost = "fib daddr type != local";

std::string chain_name(const EgressChain& sandbox) { return "egress_" + sandbox.id; }

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

std::string egress_removal(const EgressChain& sandbox, const std::vector<std::string>& installed_sets,
                           const std::vector<std::string>& kept_sets) {
  const std::string inet = "inet " + sandbox.table, chain = chain_name(sandbox);
  const std::string verdict = "{ " + format_ipv4(sandbox.address) + " : jump " + chain + " }";
  std::string commands = "add chain " + inet + " " + chain + "\n" +
                         "add element " + inet + " sandbox_egress " + verdict + "\n" +
                         "delete element " + inet + " sandbox_egress " + verdict + "\n" +
                         "flush chain " + inet + " " + chain + "\n" +
                         "delete chain " + inet + " " + chain + "\n";
  for (const auto& set : installed_sets)
    if (!contains(kept_sets, set)) commands += "delete set " + inet + " " + set + "\n";
  return commands;
}

std::string egress_addition(const EgressChain& sandbox, const std::vector<EgressRule>& rules) {
  if (rules.empty()) return {};
  const std::string inet = "inet " + sandbox.table, chain = chain_name(sandbox);
  std::string commands;
  for (const auto& set : domain_sets(sandbox.id, rules))
    commands += "add set " + inet + " " + set + " { type " + (set.starts_with("dns6_") ? "ipv6_addr" : "ipv4_addr") +
                "; flags timeout; }\n";
  commands += "add chain " + inet + " " + chain + "\n";
  for (const auto& statement : egress_statements(sandbox.id, rules))
    commands += "add rule " + inet + " " + chain + " " + statement + "\n";
  commands += "add element " + inet + " sandbox_egress { " + format_ipv4(sandbox.address) + " : jump " + chain + " }\n";
  return commands;
}

std::vector<std::string> egress_statements(const std::string& sandbox_id, const std::vector<EgressRule>& rules) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const EgressRule& rule = rules[i];
    if (is_domain_rule(rule)) {
      if (rule.action == EgressAction::deny) continue;
      out.push_back("ip daddr @" + domain_set_name(sandbox_id, i, rule, 4) + " ip daddr != @denied_v4 " + kNotTheHost + " accept");
      out.push_back("ip6 daddr @" + domain_set_name(sandbox_id, i, rule, 6) + " ip6 daddr != @denied_v6 " + kNotTheHost +
                    " accept");
      continue;
    }
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

std::vector<std::string> domain_sets(const std::string& sandbox_id, const std::vector<EgressRule>& rules) {
  std::vector<std::string> sets;
  for (std::size_t i = 0; i < rules.size(); ++i)
    if (is_domain_rule(rules[i]) && rules[i].action == EgressAction::allow)
      for (int family : {4, 6}) sets.push_back(domain_set_name(sandbox_id, i, rules[i], family));
  return sets;
}

std::vector<std::string> installed_domain_sets(Nftables& nft, const EgressChain& sandbox) {
  // nft lists each set as a line "set <name> {".
  std::istringstream listing(nft.run("list table inet " + sandbox.table + "\n", "list table inet " + sandbox.table));
  std::vector<std::string> sets;
  for (std::string word, line; std::getline(listing, line);) {
    std::istringstream words(line);
    std::string name;
    if (words >> word >> name && word == "set" &&
        (name.starts_with(domain_set_prefix(sandbox.id, 4)) || name.starts_with(domain_set_prefix(sandbox.id, 6))))
      sets.push_back(name);
  }
  return sets;
}

std::string egress_ruleset(const EgressChain& sandbox, const std::vector<EgressRule>& rules,
                           const std::vector<std::string>& installed_sets) {
  return egress_removal(sandbox, installed_sets, domain_sets(sandbox.id, rules)) + egress_addition(sandbox, rules);
}

void replace_egress(Nftables& nft, const EgressChain& sandbox, const std::vector<EgressRule>& rules) {
  nft.run(egress_ruleset(sandbox, rules, installed_domain_sets(nft, sandbox)),
          "replace the egress rules of sandbox " + sandbox.id);
}

void remove_egress(Nftables& nft, const EgressChain& sandbox) {
  nft.run(egress_removal(sandbox, installed_domain_sets(nft, sandbox), {}),
          "remove the egress rules of sandbox " + sandbox.id);
}

}  // namespace hutch::egress
