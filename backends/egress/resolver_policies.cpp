#include "resolver_policies.hpp"

#include "atomic_file.hpp"
#include "ipv4.hpp"

#include <fstream>
#include <sstream>

namespace hutch::egress {

void write_policy(const std::filesystem::path& dir, std::uint32_t address, const SandboxPolicy& policy) {
  std::string content = "id " + policy.sandbox_id + "\n";
  for (const auto& rule : policy.rules) content += std::string(to_string(rule.action)) + " " + rule.destination + "\n";
  std::filesystem::create_directories(dir);
  // The resolver's copy of rules the nft table holds: both are gone after a reboot.
  write_file_atomic(dir / format_ipv4(address), content, 0600, std::nullopt, Durability::process_crash);
}

std::optional<SandboxPolicy> read_policy(const std::filesystem::path& dir, std::uint32_t address) {
  std::ifstream file(dir / format_ipv4(address));
  if (!file) return std::nullopt;
  SandboxPolicy policy;
  std::string line;
  for (bool first = true; std::getline(file, line); first = false) {
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value)) return std::nullopt;
    if (first) {
      if (key != "id") return std::nullopt;
      policy.sandbox_id = value;
    } else if (key == "allow" || key == "deny") {
      policy.rules.push_back({key == "allow" ? EgressAction::allow : EgressAction::deny, value});
    } else {
      return std::nullopt;
    }
  }
  if (policy.sandbox_id.empty()) return std::nullopt;
  return policy;
}

void remove_policy(const std::filesystem::path& dir, std::uint32_t address) noexcept {
  std::error_code ignored;
  std::filesystem::remove(dir / format_ipv4(address), ignored);
}

}  // namespace hutch::egress
