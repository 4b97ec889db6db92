// What the resolver does with one query from a sandbox: the sandbox is known by the source
// address (the bridge port drops any other, instance_firewall.hpp), its rules are read from
// its policy file (resolver_policies.hpp) at each query, and dns_policy.hpp
// judges the name.
//
//   not a DNS message            dropped
//   not a plain query            NOTIMP
//   source without a policy      REFUSED (the host, another bridge, a sandbox being removed)
//   a name the rules refuse      NXDOMAIN: to the sandbox the name does not exist, so
//                                programs fail at once ("could not resolve host") instead
//                                of retrying as they do on REFUSED or SERVFAIL
//   a name after "deny all" and  forwarded; the answer if one of its addresses is allowed,
//   allow rules for networks     NXDOMAIN if none is, an empty answer if it has none
//   an allowed name              forwarded upstream; the answer as it comes (SERVFAIL when
//                                no upstream answers); when an allowing domain rule matched,
//                                the answer's A and AAAA addresses join that rule's sets
//                                before the sandbox gets the answer, so its first connection
//                                passes
#pragma once

#include "address_sets.hpp"
#include "dns_message.hpp"
#include "upstream.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>

namespace hutch::egress::resolver {

class QueryHandler {
 public:
  QueryHandler(std::filesystem::path policies, Upstreams& upstreams, AddressSets& sets)
      : policies_(std::move(policies)), upstreams_(upstreams), sets_(sets) {}

  // The response to `wire` from `source` (IPv4, host order), or nullopt: none is sent.
  boost::asio::awaitable<std::optional<Wire>> respond(Wire wire, std::uint32_t source, bool tcp);

 private:
  std::filesystem::path policies_;
  Upstreams& upstreams_;
  AddressSets& sets_;
};

}  // namespace hutch::egress::resolver
