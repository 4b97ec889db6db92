// The forwarder of one sandbox's published ports (hutch-port-forwarder, see
// port_forwarder/protocol.hpp) as the host sees it: started with the bound host sockets once
// the sandbox's leader runs and its bridge address is up, owned by a PortForwarder while a
// call works with it, and by the sandbox's record (its pid and start time) in between, so that
// stop, destroy and prune of any later process end it.
//
// It also ends by itself when the leader does (it watches the leader's pidfd): a sandbox whose
// creator was killed leaves no forwarder behind once prune has ended its leader.
#pragma once

#include "unique_fd.hpp"

#include <hutch/types.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hutch::subcontainer::network {

// Owns a running forwarder: ends it (SIGKILL through its pidfd) and waits until it is gone
// when destroyed, unless released to the record first. Move-only.
class PortForwarder {
 public:
  PortForwarder() = default;
  // Starts `program` for sandbox `id`, whose leader is `leader`, relaying `ports[i]` from
  // `sockets[i]` to sandbox_address:ports[i].sandbox_port. Returns once it forwards.
  // Errc::backend naming the sandbox when it cannot be started (its own reason included).
  static PortForwarder start(const std::filesystem::path& program, const std::string& id, pid_t leader,
                             std::uint32_t sandbox_address, const std::vector<PortMapping>& ports,
                             const std::vector<UniqueFd>& sockets);
  // The forwarder a record names: owned again, to be ended. Empty when that process is gone
  // (or its pid is another process's by now: `start_time` differs).
  static PortForwarder adopt(pid_t pid, std::uint64_t start_time);

  PortForwarder(PortForwarder&& other) noexcept;
  PortForwarder& operator=(PortForwarder&& other) noexcept;
  ~PortForwarder();

  pid_t pid() const { return pid_; }
  std::uint64_t start_time() const { return start_time_; }
  // Leaves it running: from now on the record (pid(), start_time()) owns it.
  void release() noexcept;

 private:
  void end() noexcept;

  pid_t pid_ = 0;
  std::uint64_t start_time_ = 0;
  UniqueFd pidfd_;
};

// Whether the forwarder of that pid and start time still runs.
bool port_forwarder_alive(pid_t pid, std::uint64_t start_time);

}  // namespace hutch::subcontainer::network
