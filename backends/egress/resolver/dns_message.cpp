#include "dns_message.hpp"

#include <ldns/ldns.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

namespace hutch::egress::resolver {
namespace {

const ldns_rr* question_of(const ldns_pkt* packet) {
  const ldns_rr_list* question = ldns_pkt_question(packet);
  return question != nullptr && ldns_rr_list_rr_count(question) == 1 ? ldns_rr_list_rr(question, 0) : nullptr;
}

// ldns hands out malloc'd strings and buffers.
struct MallocFree {
  void operator()(void* memory) const { std::free(memory); }
};

}  // namespace

void DnsMessage::Free::operator()(ldns_struct_pkt* packet) const { ldns_pkt_free(packet); }

std::optional<DnsMessage> DnsMessage::parse(std::span<const std::uint8_t> wire) {
  ldns_pkt* packet = nullptr;
  if (ldns_wire2pkt(&packet, wire.data(), wire.size()) != LDNS_STATUS_OK) return std::nullopt;
  return DnsMessage(packet);
}

bool DnsMessage::is_plain_query() const {
  return !ldns_pkt_qr(packet_.get()) && ldns_pkt_get_opcode(packet_.get()) == LDNS_PACKET_QUERY &&
         question_of(packet_.get()) != nullptr;
}

bool DnsMessage::answers(const DnsMessage& query) const {
  const ldns_rr* mine = question_of(packet_.get());
  const ldns_rr* theirs = question_of(query.packet_.get());
  return ldns_pkt_qr(packet_.get()) && id() == query.id() && mine != nullptr && theirs != nullptr &&
         ldns_rr_get_type(mine) == ldns_rr_get_type(theirs) && ldns_rr_get_class(mine) == ldns_rr_get_class(theirs) &&
         ldns_dname_compare(ldns_rr_owner(mine), ldns_rr_owner(theirs)) == 0;
}

std::string DnsMessage::question_name() const {
  const ldns_rr* question = question_of(packet_.get());
  if (question == nullptr) return {};
  std::unique_ptr<char, MallocFree> text(ldns_rdf2str(ldns_rr_owner(question)));
  std::string name = text ? text.get() : "";
  if (name.ends_with('.')) name.pop_back();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name;
}

std::uint16_t DnsMessage::question_type() const {
  const ldns_rr* question = question_of(packet_.get());
  return question == nullptr ? 0 : static_cast<std::uint16_t>(ldns_rr_get_type(question));
}

std::uint16_t DnsMessage::id() const { return ldns_pkt_id(packet_.get()); }

std::vector<AnsweredAddress> DnsMessage::addresses() const {
  std::vector<AnsweredAddress> out;
  const ldns_rr_list* answer = ldns_pkt_answer(packet_.get());
  for (std::size_t i = 0; answer != nullptr && i < ldns_rr_list_rr_count(answer); ++i) {
    const ldns_rr* record = ldns_rr_list_rr(answer, i);
    const ldns_rr_type type = ldns_rr_get_type(record);
    if ((type != LDNS_RR_TYPE_A && type != LDNS_RR_TYPE_AAAA) || ldns_rr_rd_count(record) != 1) continue;
    const ldns_rdf* data = ldns_rr_rdf(record, 0);
    const std::size_t size = type == LDNS_RR_TYPE_A ? 4 : 16;
    if (ldns_rdf_size(data) != size) continue;
    AnsweredAddress address;
    std::memcpy(address.bytes.data(), ldns_rdf_data(data), size);
    address.size = size;
    address.ttl = ldns_rr_ttl(record);
    out.push_back(address);
  }
  return out;
}

Wire DnsMessage::reply(std::uint8_t rcode) const {
  std::unique_ptr<ldns_pkt, Free> response(ldns_pkt_clone(packet_.get()));
  if (!response) return {};
  ldns_pkt_set_qr(response.get(), true);
  ldns_pkt_set_ra(response.get(), true);
  ldns_pkt_set_aa(response.get(), false);
  ldns_pkt_set_tc(response.get(), false);
  ldns_pkt_set_rcode(response.get(), rcode);
  std::uint8_t* bytes = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&bytes, response.get(), &size) != LDNS_STATUS_OK) return {};
  std::unique_ptr<std::uint8_t, MallocFree> owned(bytes);
  return Wire(bytes, bytes + size);
}

void set_id(Wire& wire, std::uint16_t id) {
  if (wire.size() < 2) return;
  wire[0] = static_cast<std::uint8_t>(id >> 8);
  wire[1] = static_cast<std::uint8_t>(id & 0xff);
}

}  // namespace hutch::egress::resolver
