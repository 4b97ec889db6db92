// What the backend, its handles, processes and Fs objects share: the engine client, the
// configuration, the logger. Held by shared_ptr so a handle stays usable after its backend
// object is gone.
#pragma once

#include "config.hpp"
#include "engine/client.hpp"
#include "engine_cgroups.hpp"

#include <hutch/error.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace spdlog {
class logger;
}

namespace hutch::docker {

struct Context {
  std::string backend_name = "docker";
  DockerConfig config;
  std::shared_ptr<EngineClient> client;
  std::shared_ptr<spdlog::logger> logger;  // never null
  // Set when new sandboxes run hutch-agent as PID 1 (see sandbox_agent.hpp).
  std::optional<std::filesystem::path> agent_binary;
  std::filesystem::path state_dir;  // <hutch state dir>/docker: per-sandbox host directories
  // The engine is reached through a unix socket, so it runs on this host and reads this
  // host's configuration files (see podman_default_ulimits.hpp).
  bool engine_is_local = false;
  // Its socket is not root's, or it is remote (engine_cgroups.hpp engine_may_be_rootless).
  bool engine_may_be_rootless = false;
  // Whether the engine applies resource limits (engine_cgroups.hpp); never null.
  std::shared_ptr<EngineCgroupSupport> cgroup_support = std::make_shared<EngineCgroupSupport>(false);
};

// Runs `call`; a "No such container" from the daemon means the sandbox was destroyed
// (possibly through another handle or process) and becomes Errc::state, as the SDK asks.
template <class Call>
decltype(auto) while_sandbox_exists(const std::string& id, Call&& call);

// A random lowercase hex string of `length` characters (ids, exec markers).
std::string random_hex(std::size_t length);

bool is_container_gone(const Error& error);

template <class Call>
decltype(auto) while_sandbox_exists(const std::string& id, Call&& call) {
  try {
    return call();
  } catch (const Error& e) {
    if (is_container_gone(e))
      throw Error(Errc::state, "sandbox " + id + " no longer exists (destroyed elsewhere?): " + e.what());
    throw;
  }
}

}  // namespace hutch::docker
