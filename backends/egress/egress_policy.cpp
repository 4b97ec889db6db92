#include "egress_policy.hpp"

#include "stable_hash.hpp"

#include <cstdio>

namespace hutch::egress {

const std::vector<std::string> kDeniedIpv4{
    "0.0.0.0/8",     "10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4",   "240.0.0.0/4"};
const std::vector<std::string> kDeniedIpv6{"::1/128", "fc00::/7", "fe80::/10", "ff00::/8"};

namespace {

// DNS, and DNS over TLS (and over QUIC, on UDP).
constexpr const char* kDnsPorts = "{ 53, 853 }";

// Each of `statements` behind the match `from`.
std::vector<std::string> behind(const std::string& from, std::vector<std::string> statements) {
  for (auto& statement : statements) statement = from + " " + statement;
  return statements;
}

void append(std::vector<std::string>& to, const std::vector<std::string>& more) { to.insert(to.end(), more.begin(), more.end()); }

}  // namespace

std::string nft_quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text)
    if (c != '"' && c != '\\' && c != '\n') out.push_back(c);
  return out + "\"";
}

std::string set_elements(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string denied_set_declarations() {
  return "  set denied_v4 { type ipv4_addr; flags interval; elements = { " + set_elements(kDeniedIpv4) + " } }\n" +
         "  set denied_v6 { type ipv6_addr; flags interval; elements = { " + set_elements(kDeniedIpv6) + " } }\n";
}

std::vector<std::string> dns_rejections() {
  return {std::string("meta l4proto tcp th dport ") + kDnsPorts + " reject with tcp reset",
          std::string("meta l4proto udp th dport ") + kDnsPorts + " reject"};
}

std::vector<std::string> default_denials(bool ipv6) {
  std::vector<std::string> statements{"ip daddr @denied_v4 reject with icmp type admin-prohibited"};
  if (ipv6) statements.push_back("ip6 daddr @denied_v6 reject with icmpv6 type admin-prohibited");
  return statements;
}

std::string policy_declarations() { return denied_set_declarations() + "  map sandbox_egress { type ipv4_addr : verdict; }\n"; }

std::vector<std::string> forward_policy(const std::string& from, bool ipv6) {
  std::vector<std::string> statements{from + " ct state established,related accept"};
  // Names go through the sandbox's resolver, whatever its rules allow: another server would
  // answer names the rules do not allow (plain DNS, and DNS over TLS or QUIC).
  append(statements, behind(from, dns_rejections()));
  statements.push_back(from + " ip saddr vmap @sandbox_egress");
  append(statements, behind(from, default_denials(ipv6)));
  return statements;
}

std::vector<std::string> input_policy(const std::string& from, const std::string& resolver) {
  std::vector<std::string> statements{
      from + " ct state established,related accept",
      // The resolver on its address; any other DNS server on the host is another server (see
      // forward_policy).
      from + " ip daddr " + resolver + " meta l4proto { tcp, udp } th dport 53 accept"};
  append(statements, behind(from, dns_rejections()));
  append(statements, {from + " ip saddr vmap @sandbox_egress", from + " meta l4proto tcp reject with tcp reset",
                      from + " reject with icmpx type admin-prohibited"});
  return statements;
}

std::string instance_table_name(const std::filesystem::path& state_root) {
  char name[16];
  std::snprintf(name, sizeof name, "hutch_%08x", stable_hash(std::filesystem::absolute(state_root).lexically_normal().string()));
  return name;
}

std::string instance_label(const std::filesystem::path& state_root) {
  return "hutch.managed state=" + std::filesystem::absolute(state_root).lexically_normal().string();
}

}  // namespace hutch::egress
