// What the backend object and every handle share: configuration, logger, image store, and
// the identity sandboxes get on this host.
#pragma once

#include "config.hpp"
#include "image_store.hpp"

#include <cstdint>
#include <memory>

namespace spdlog {
class logger;
}

namespace hutch::subcontainer {

struct Runtime {
  BackendConfig config;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<ImageStore> images;
  // Root inside is uid_base.. outside when hutch runs as root; rootless, only the caller's own
  // uid/gid is mapped (to root inside).
  bool rootless = false;
  // Rootless with a cgroup v2 subtree delegated to the caller: sandboxes get cgroups there,
  // and with them pause, stats and cgroup.kill (SandboxCgroup::delegated_base).
  bool delegated_cgroups = false;
  std::uint32_t root_uid = 0, root_gid = 0, id_count = 1;
};

std::shared_ptr<Runtime> make_runtime(BackendConfig config, std::shared_ptr<spdlog::logger> log);

}  // namespace hutch::subcontainer
