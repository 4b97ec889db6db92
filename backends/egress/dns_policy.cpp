#include "dns_policy.hpp"

#include "stable_hash.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace hutch::egress {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// The address and prefix length of an address rule; nullopt for "all" and domains.
struct Network {
  unsigned char bytes[16] = {};
  std::size_t size = 0;
  int prefix = 0;
};

std::optional<Network> network_of(const std::string& destination) {
  const auto slash = destination.find('/');
  const std::string address = destination.substr(0, slash);
  Network network;
  const bool v6 = address.find(':') != std::string::npos;
  if (::inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), network.bytes) != 1) return std::nullopt;
  network.size = v6 ? 16 : 4;
  network.prefix = slash == std::string::npos ? static_cast<int>(network.size * 8)
                                              : std::atoi(destination.c_str() + slash + 1);
  return network;
}

bool holds(const Network& network, const unsigned char* address, std::size_t size) {
  if (size != network.size) return false;
  for (int bit = 0; bit < network.prefix; ++bit) {
    const unsigned char mask = static_cast<unsigned char>(0x80 >> (bit % 8));
    if ((network.bytes[bit / 8] & mask) != (address[bit / 8] & mask)) return false;
  }
  return true;
}

}  // namespace

bool is_domain_rule(const EgressRule& rule) {
  return rule.destination != "all" && !network_of(rule.destination).has_value();
}

bool domain_matches(const std::string& pattern, std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  const std::string wanted = lower(pattern), asked = lower(name);
  if (!wanted.starts_with("*.")) return asked == wanted;
  const std::string_view parent = std::string_view(wanted).substr(1);  // ".example.com"
  return asked.size() > parent.size() && asked.ends_with(parent);
}

NameVerdict judge_name(const std::vector<EgressRule>& rules, std::string_view name) {
  bool network_allowed_before = false;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const EgressRule& rule = rules[i];
    const bool allow = rule.action == EgressAction::allow;
    if (rule.destination == "all") {
      if (allow) return {NameVerdict::Kind::answer, std::nullopt};
      if (network_allowed_before) return {NameVerdict::Kind::answer_if_address_allowed, std::nullopt, i};
      return {NameVerdict::Kind::refuse};
    }
    if (!is_domain_rule(rule)) {
      network_allowed_before = network_allowed_before || allow;
      continue;
    }
    if (domain_matches(rule.destination, name))
      return allow ? NameVerdict{NameVerdict::Kind::answer, i} : NameVerdict{NameVerdict::Kind::refuse};
  }
  return {NameVerdict::Kind::answer, std::nullopt};
}

bool address_allowed_before(const std::vector<EgressRule>& rules, std::size_t end, const unsigned char* address,
                            std::size_t size) {
  for (std::size_t i = 0; i < end && i < rules.size(); ++i) {
    const auto network = network_of(rules[i].destination);
    if (network && holds(*network, address, size)) return rules[i].action == EgressAction::allow;
  }
  return false;
}

std::string domain_set_prefix(const std::string& sandbox_id, int family) {
  return (family == 6 ? "dns6_" : "dns4_") + sandbox_id + "_";
}

std::string domain_set_name(const std::string& sandbox_id, std::size_t index, const EgressRule& rule, int family) {
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "%zu_%08x", index + 1,
                stable_hash(std::string(to_string(rule.action)) + " " + lower(rule.destination)));
  return domain_set_prefix(sandbox_id, family) + suffix;
}

}  // namespace hutch::egress
