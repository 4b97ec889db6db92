#include "fake_dns.hpp"

#include <ldns/ldns.h>

#include <cctype>
#include <cstdlib>

namespace hutch::subcontainer::test {

std::vector<std::uint8_t> FakeDns::respond(const std::uint8_t* wire, std::size_t size) {
  ldns_pkt* query = nullptr;
  if (ldns_wire2pkt(&query, wire, size) != LDNS_STATUS_OK) return {};
  std::vector<std::uint8_t> out;
  const ldns_rr_list* question = ldns_pkt_question(query);
  if (question != nullptr && ldns_rr_list_rr_count(question) == 1) {
    const ldns_rr* asked = ldns_rr_list_rr(question, 0);
    char* owner = ldns_rdf2str(ldns_rr_owner(asked));
    std::string name = owner;
    std::free(owner);
    if (name.ends_with('.')) name.pop_back();
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      names_.push_back(name);
    }
    ldns_pkt* answer = ldns_pkt_clone(query);
    ldns_pkt_set_qr(answer, true);
    ldns_pkt_set_aa(answer, true);
    const auto found = zone_.find(name);
    if (found == zone_.end()) {
      ldns_pkt_set_rcode(answer, LDNS_RCODE_NXDOMAIN);
    } else if (ldns_rr_get_type(asked) == LDNS_RR_TYPE_A) {
      ldns_rr* record = nullptr;
      const std::string text = name + ". " + std::to_string(kFakeDnsTtl) + " IN A " + found->second;
      if (ldns_rr_new_frm_str(&record, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK) {
        ldns_pkt_push_rr(answer, LDNS_SECTION_ANSWER, record);
      }
    }
    std::uint8_t* bytes = nullptr;
    std::size_t length = 0;
    if (ldns_pkt2wire(&bytes, answer, &length) == LDNS_STATUS_OK) out.assign(bytes, bytes + length);
    std::free(bytes);
    ldns_pkt_free(answer);
  }
  ldns_pkt_free(query);
  return out;
}

}  // namespace hutch::subcontainer::test
