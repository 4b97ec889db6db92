// The resolver of one instance's bridge sandboxes (resolver/main.cpp): a process of its own
// that serves DNS on the bridge's address, port 53, for every sandbox on the bridge, each by
// its own egress rules (told apart by the source address, which the sandbox's port checks).
//
// Why one per bridge and a process of its own: a sandbox's /etc/resolv.conf can name one
// address on port 53 only, and the bridge's address is the one every sandbox reaches; the
// resolver must outlive the hutch that made a detached sandbox, so it is nobody's child
// (it forks away once bound, see main.cpp) and is found again through its pid file.
//
// Who owns it: BridgeNetwork, with the lease lock held. The first attach starts it (any attach
// starts it again if it died), the release of the last lease stops it, with the bridge and
// the table; prune (reclaim) does the same after a crash. The pid file holds the pid and the
// start time, so a reused pid is never killed. It takes the upstream servers of the hutch
// that started it; a change of upstream_dns applies once it is started again.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hutch::egress {

struct ResolverLaunch {
  std::filesystem::path executable;     // hutch-resolver
  std::string listen;                   // the bridge's address
  std::string table;                    // the instance's inet table (the domain rules' sets)
  std::filesystem::path policies;       // resolver_policies.hpp
  std::vector<std::string> upstreams;   // addresses
};

class ResolverProcess {
 public:
  // Its pid file and log in `dir` (<state>/network).
  explicit ResolverProcess(std::filesystem::path dir);

  // The running resolver's pid, if the recorded one runs.
  std::optional<pid_t> running() const;
  // Starts the resolver unless it runs, and returns once it serves. Errc::backend with its
  // own words (from its log) when it cannot start, e.g. when another server holds port 53 of
  // the address.
  void ensure_running(const ResolverLaunch& launch);
  // Kills the recorded resolver if it runs, waits for its end, removes the pid file. Never
  // throws; returns what failed, or empty.
  std::string stop() noexcept;

  std::filesystem::path pid_file() const { return dir_ / "resolver.pid"; }
  std::filesystem::path log_file() const { return dir_ / "resolver.log"; }

 private:
  std::filesystem::path dir_;
};

}  // namespace hutch::egress
