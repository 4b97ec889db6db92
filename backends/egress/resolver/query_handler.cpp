#include "query_handler.hpp"

#include "dns_policy.hpp"
#include "ipv4.hpp"
#include "resolver_policies.hpp"

#include <ldns/ldns.h>

#include <iostream>

namespace hutch::egress::resolver {
namespace asio = boost::asio;
using egress::NameVerdict;

asio::awaitable<std::optional<Wire>> QueryHandler::respond(Wire wire, std::uint32_t source, bool tcp) {
  const auto query = DnsMessage::parse(wire);
  if (!query) co_return std::nullopt;
  if (!query->is_plain_query()) co_return query->reply(LDNS_RCODE_NOTIMPL);
  const auto policy = egress::read_policy(policies_, source);
  if (!policy) co_return query->reply(LDNS_RCODE_REFUSED);
  const std::string name = query->question_name();
  const NameVerdict verdict = egress::judge_name(policy->rules, name);
  if (verdict.kind == NameVerdict::Kind::refuse) co_return query->reply(LDNS_RCODE_NXDOMAIN);

  auto answer = co_await upstreams_.exchange(*query, std::move(wire), tcp);
  if (!answer) co_return query->reply(LDNS_RCODE_SERVFAIL);
  const auto parsed = DnsMessage::parse(*answer);
  const auto addresses = parsed ? parsed->addresses() : std::vector<AnsweredAddress>{};
  if (verdict.kind == NameVerdict::Kind::answer_if_address_allowed) {
    for (const auto& address : addresses)
      if (egress::address_allowed_before(policy->rules, verdict.deny_all, address.bytes.data(), address.size))
        co_return answer;
    // No address at all (an AAAA query of an IPv4-only name, an MX query): no record either,
    // so that the A query's answer stands; addresses and none allowed: no such name.
    co_return query->reply(addresses.empty() ? LDNS_RCODE_NOERROR : LDNS_RCODE_NXDOMAIN);
  }
  if (verdict.rule && !addresses.empty()) {
    const auto& rule = policy->rules[*verdict.rule];
    try {
      sets_.learn(egress::domain_set_name(policy->sandbox_id, *verdict.rule, rule, 4),
                  egress::domain_set_name(policy->sandbox_id, *verdict.rule, rule, 6), addresses);
    } catch (const std::exception& e) {
      // Its rules changed since the file was read: the answer stands, the new rules decide.
      std::cerr << "hutch-resolver: sandbox " << policy->sandbox_id << ": " << name << ": " << e.what()
                << "\n";
    }
  }
  co_return answer;
}

}  // namespace hutch::egress::resolver
