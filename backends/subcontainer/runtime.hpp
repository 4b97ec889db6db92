// What the backend object and every handle share: configuration, logger, image store, and
// the identity sandboxes get on this host.
#pragma once

#include "config.hpp"
#include "id_ranges.hpp"
#include "image_pull.hpp"
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
  std::unique_ptr<ImagePuller> puller;  // fills `images` from registries
  // As root, each sandbox gets a range of host ids of its own from `id_ranges` (see
  // id_ranges.hpp) and the image store keeps its files in the store range; rootless, only
  // the caller's own uid/gid (`caller_uid`, `caller_gid`) is mapped, to root inside.
  bool rootless = false;
  // Rootless with a cgroup v2 subtree delegated to the caller: sandboxes get cgroups there,
  // and with them pause, stats and cgroup.kill (SandboxCgroup::delegated_base).
  bool delegated_cgroups = false;
  std::uint32_t caller_uid = 0, caller_gid = 0;
  std::unique_ptr<IdRangeRegistry> id_ranges;  // as root only
  std::unique_ptr<network::BridgeNetwork> network;  // as root only: `--network bridge`
  // Rootless only: `--network bridge` through pasta, when available() (there is a pasta).
  std::unique_ptr<network::PastaNetwork> pasta;
};

// As root, this also registers the id block in config.subuid_file/subgid_file
// (subordinate_ids.hpp): Errc::config when the block overlaps another user's entry there; a
// file that cannot be written is only a warning in the log.
std::shared_ptr<Runtime> make_runtime(BackendConfig config, std::shared_ptr<spdlog::logger> log);

}  // namespace hutch::subcontainer
