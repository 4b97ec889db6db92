// DNS messages through ldns (wire format in, wire format out): the resolver never parses or
// builds DNS by hand.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct ldns_struct_pkt;

namespace hutch::egress::resolver {

using Wire = std::vector<std::uint8_t>;

// An address of an answer's A or AAAA record, and the record's TTL in seconds.
struct AnsweredAddress {
  std::array<unsigned char, 16> bytes{};
  std::size_t size = 0;  // 4 or 16
  std::uint32_t ttl = 0;
};

class DnsMessage {
 public:
  // nullopt when `wire` is not a DNS message ldns can read.
  static std::optional<DnsMessage> parse(std::span<const std::uint8_t> wire);

  // A standard query (QR clear, opcode QUERY) with exactly one question.
  bool is_plain_query() const;
  // A response (QR set) to `query`: the same id and question.
  bool answers(const DnsMessage& query) const;
  // The question's name in lower case without the root's dot ("a.good.test"), and type.
  std::string question_name() const;
  std::uint16_t question_type() const;
  std::uint16_t id() const;
  // The A and AAAA records of the answer section (a CNAME chain's included).
  std::vector<AnsweredAddress> addresses() const;
  // A response to this query with no records and `rcode` (LDNS_RCODE_*), in wire format.
  Wire reply(std::uint8_t rcode) const;

 private:
  struct Free {
    void operator()(ldns_struct_pkt* packet) const;
  };
  explicit DnsMessage(ldns_struct_pkt* packet) : packet_(packet) {}
  std::unique_ptr<ldns_struct_pkt, Free> packet_;
};

// Rewrites the id of a message in wire format (its first two bytes); the rest stays as it is,
// so a forwarded message is exactly the one the client or the upstream sent.
void set_id(Wire& wire, std::uint16_t id);

}  // namespace hutch::egress::resolver
