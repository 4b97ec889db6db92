// The resolver's side of the domain rules' sets (network/sandbox_firewall.hpp): the addresses
// of an answer join the set of their family for their TTL.
#pragma once

#include "dns_message.hpp"
#include "nftables.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace hutch::egress::resolver {

class AddressSets {
 public:
  explicit AddressSets(std::string table) : table_(std::move(table)) {}

  // Adds each address to `set4` or `set6` of the table, expiring after its TTL, held between
  // kMinTimeout (the client connects right after the answer, and an answer with TTL 0 must
  // still let it) and kMaxTimeout. An address already there gets the new timeout. Errc::backend
  // when nft refuses (the set is gone: the sandbox's rules changed meanwhile).
  void learn(const std::string& set4, const std::string& set6, const std::vector<AnsweredAddress>& addresses);

  static constexpr std::chrono::seconds kMinTimeout{10};
  static constexpr std::chrono::seconds kMaxTimeout{24 * 3600};

 private:
  std::string table_;
  egress::Nftables nft_;
};

}  // namespace hutch::egress::resolver
