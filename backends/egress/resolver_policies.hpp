// What the resolver (resolver_process.hpp) knows of each bridge sandbox: a file per sandbox
// address in `dir`, named after it ("10.213.0.2"), holding the sandbox's id and its egress
// rules, one per line:
//
//   id 3f2a9c1b0d4e
//   allow *.good.test
//   deny all
//
// BridgeNetwork writes it (attach, replace_egress) with the lease lock held, after the
// firewall has the same rules, and removes it with the lease. The resolver reads it for each
// query (a small file; no cache to go stale): a source address without a file gets REFUSED.
// Each write replaces the file whole (rename), so a reader sees the old rules or the new.
#pragma once

#include <hutch/types.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hutch::egress {

struct SandboxPolicy {
  std::string sandbox_id;
  std::vector<EgressRule> rules;
};

// Errc::io naming the file.
void write_policy(const std::filesystem::path& dir, std::uint32_t address, const SandboxPolicy& policy);
// nullopt when there is none (or it is unreadable: then no sandbox may rely on it).
std::optional<SandboxPolicy> read_policy(const std::filesystem::path& dir, std::uint32_t address);
// Never throws; nothing when there is none.
void remove_policy(const std::filesystem::path& dir, std::uint32_t address) noexcept;

}  // namespace hutch::egress
