#include "default_policy.hpp"

namespace hutch::subcontainer::network {

const std::vector<std::string> kDeniedIpv4{
    "0.0.0.0/8",     "10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4",   "240.0.0.0/4"};
const std::vector<std::string> kDeniedIpv6{"::1/128", "fc00::/7", "fe80::/10", "ff00::/8"};

namespace {

// DNS, and DNS over TLS (and over QUIC, on UDP).
constexpr const char* kDnsPorts = "{ 53, 853 }";

}  // namespace

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

std::vector<std::string> default_denials() {
  return {"ip daddr @denied_v4 reject with icmp type admin-prohibited",
          "ip6 daddr @denied_v6 reject with icmpv6 type admin-prohibited"};
}

}  // namespace hutch::subcontainer::network
