// The [backends.subcontainer] table, read once when the plugin is loaded.
#pragma once

#include "agent/capability_names.hpp"
#include "network/bridge_network.hpp"
#include "network/pasta_network.hpp"

#include <hutch/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hutch::subcontainer {

struct BackendConfig {
  std::string name = "subcontainer";
  std::filesystem::path state_root;     // <state_dir>/subcontainer
  std::filesystem::path sandboxes_dir;  // <state_root>/sandboxes
  std::filesystem::path image_store;    // image_store key, default <state_root>/images
  std::filesystem::path volumes_dir;    // <state_root>/volumes
  std::filesystem::path backups_dir;    // <state_root>/backups
  // When hutch runs as root, sandboxes get host ids from one block hutch owns (id_ranges.hpp):
  // [uid_base, uid_base + (uid_ranges + 1) * uid_count), the first uid_count ids for the image
  // store, then one range of uid_count ids per sandbox. The default base sits far above the
  // ranges useradd hands out in /etc/subuid (100000 up to 600100000 by default).
  std::uint32_t uid_base = 1000000000;
  std::uint32_t uid_count = 65536;      // ids of each sandbox (and of the store range)
  std::uint32_t uid_ranges = 4096;      // how many sandboxes can hold a range at once
  // Where the block is registered (subordinate_ids.hpp) and where the ranges in use are
  // recorded (id_ranges.hpp): host-wide, shared by every state dir. Not TOML keys; tests
  // point them elsewhere.
  std::filesystem::path subuid_file = "/etc/subuid";
  std::filesystem::path subgid_file = "/etc/subgid";
  std::filesystem::path id_ranges_dir = "/var/lib/hutch/id-ranges";
  std::vector<std::string> bind_allow;
  std::vector<int> keep_caps;           // capability numbers commands keep
  bool seccomp = true;
  std::string cgroup_root = "hutch";
  // The CPU weight of cgroup_root itself, i.e. of all sandboxes together, against a host task's
  // default of 100 (the cgroup v2 scale, 1-10000; v1 gets cpu.shares = weight * 1024 / 100).
  // It only matters when the CPUs are contended. The default is the kernel's; a low weight makes
  // sandboxes yield to the host (a fork bomb held at its pids limit then no longer slows the
  // host's own process creation to seconds), at the price of slow sandboxes on a busy host.
  std::uint32_t cpu_weight = 100;
  std::filesystem::path helper;         // the hutch-subcontainer-helper executable
  // The hutch-port-forwarder executable (published ports); default: next to the helper.
  std::filesystem::path port_forwarder;
  // Where ephemeral sandboxes (`hutch run`) keep their directory: "auto" (a tmpfs, see
  // ephemeral_dir.hpp), a path, or "" for the state dir.
  std::string ephemeral_dir = "auto";
  // Run as root, each of them gets a tmpfs of this size of its own there; 0: none of its own.
  std::uint64_t ephemeral_size = 1ull << 30;
  // SIGTERM to SIGKILL on stop, destroy and a launch's replaced main command, for sandboxes
  // whose spec sets no stop_grace (the deprecated [backends.<name>] stop_grace).
  std::chrono::milliseconds stop_grace = kDefaultStopGrace;
  ImageSettings image_settings;         // the [images] table (pull policy, registries, auth)
  std::uint64_t log_limit = 8u << 20;   // launch: main.log + main.log.1 stay about this size
  // `--network bridge` (root only): the keys bridge, bridge_subnet, upstream_dns and resolver.
  network::BridgeSettings bridge;
  // `--network bridge` without root (network/pasta_network.hpp): the pasta executable (key
  // `pasta`; default: `pasta` in $PATH, empty when there is none) and hutch-pasta-helper (key
  // `pasta_helper`; default: next to the helper). upstream_dns is the bridge's.
  std::filesystem::path pasta;
  std::filesystem::path pasta_helper;
};

// Docker's default set: what ordinary programs (package managers, servers) expect of root.
inline const std::vector<std::string> kDefaultCapabilities{
    "chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
    "net_bind_service", "net_raw", "sys_chroot", "mknod", "audit_write", "setfcap"};

// "chown", "CAP_CHOWN", "cap_chown" -> its number; nullopt for an unknown name (shared
// with the docker backend, in core/agent).
using agent::capability_from_name;

// Reads and checks the table (unknown keys are Errc::config with file:line:col).
BackendConfig read_backend_config(const PluginContext& context);

// Where the helper is when no `helper` key is set: next to the plugin module.
std::filesystem::path default_helper_path();
// The same for the bridge sandboxes' DNS resolver (`resolver` key).
std::filesystem::path default_resolver_path();

}  // namespace hutch::subcontainer
