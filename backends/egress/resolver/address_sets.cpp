#include "address_sets.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace hutch::egress::resolver {

void AddressSets::learn(const std::string& set4, const std::string& set6, const std::vector<AnsweredAddress>& addresses) {
  std::string commands;
  for (const auto& address : addresses) {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(address.size == 4 ? AF_INET : AF_INET6, address.bytes.data(), text, sizeof text);
    const auto seconds = std::clamp<std::int64_t>(address.ttl, kMinTimeout.count(), kMaxTimeout.count());
    const std::string set = "inet " + table_ + " " + (address.size == 4 ? set4 : set6);
    const std::string element = std::string(" { ") + text + " timeout " + std::to_string(seconds) + "s }\n";
    // Added, deleted and added again in one transaction: the element gets the new timeout
    // whether it was there or not, and no packet sees it missing.
    commands += "add element " + set + element + "delete element " + set + " { " + text + " }\n" + "add element " + set + element;
  }
  if (!commands.empty()) nft_.run(commands, "add the answer's addresses to " + set4 + "/" + set6);
}

}  // namespace hutch::egress::resolver
