// What the host knows about one sandbox, on disk as <sandbox dir>/state.json so any later
// process (`hutch exec ID`, `hutch rm ID`, prune) finds it again. Written atomically.
#pragma once

#include "child_process.hpp"
#include "image_store.hpp"

#include <hutch/types.hpp>

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hutch::subcontainer {

struct SandboxPaths {
  std::filesystem::path dir;     // <sandboxes_dir>/<id>
  std::filesystem::path root;    // the overlay mount point (inside the sandbox's mount ns)
  std::filesystem::path upper;   // overlay upper layer: the sandbox's changes
  std::filesystem::path work;    // overlay work dir
  std::filesystem::path socket;  // the leader's control socket
  std::filesystem::path record;  // state.json
  std::filesystem::path plan;    // the helper's setup plan (kept for debugging)
  // The stored image the sandbox stands on, written as soon as create resolved it, before
  // the record: a snapshot delete must see a sandbox that is still being made.
  std::filesystem::path image_pin;
  // Why the leader ended the sandbox when a lifetime passed ("ttl"/"idle" and when); empty
  // otherwise (agent/lifetime.hpp).
  std::filesystem::path expiry;
  // Locked (FileLock) by whoever reads, changes and saves the record after create.
  std::filesystem::path record_lock;
};

// The expiry the leader recorded in paths.expiry ("ttl" or "idle"), or empty.
std::string read_expiry(const SandboxPaths& paths);

SandboxPaths sandbox_paths(const std::filesystem::path& sandboxes_dir, const std::string& id);

// Replaces `file` with `text` whole (temporary file + rename).
void write_sandbox_file(const std::filesystem::path& file, const std::string& text, const std::string& id);

// The image ref in paths.image_pin; empty when there is none (yet).
std::string read_image_pin(const SandboxPaths& paths);

struct SandboxRecord {
  std::string id;
  SandboxSpec spec;             // as created, defaults filled in
  std::string image_ref;        // canonical, as ImageStore::resolve returned it
  ImageConfig image_config;
  pid_t leader_pid = 0;         // host pid of the sandbox's PID 1
  std::uint64_t leader_start = 0;  // its start time (/proc/<pid>/stat), against pid reuse
  std::string owner;            // hutch::current_owner() of the creator
  std::int64_t created_ms = 0;  // unix epoch
  int cgroup_version = 0;       // 0: no cgroup
  std::vector<std::string> cgroup_dirs;
  std::uint32_t root_uid = 0, root_gid = 0;  // host ids of root inside
  std::uint32_t id_count = 1;
  // Stopped on purpose (Handle::stop) and not started since: its leader is gone by design,
  // not by a crash, and prune keeps it by the same rules as a running one.
  bool stopped = false;
  // The lifetimes the leader enforces (agent/lifetime.hpp), 0: none: from the spec at create,
  // changed by Handle::set_lifetime.
  std::int64_t ttl_deadline_ms = 0;  // unix epoch
  std::int64_t idle_timeout_ms = 0;
  // While it runs: where its published ports (spec.ports) are bound (Handle::ports), and the
  // forwarder that holds them (network/port_forwarder_process.hpp), which whoever stops or
  // destroys the sandbox ends. Empty and 0 while stopped, and without published ports.
  std::vector<PortBinding> published;
  pid_t forwarder_pid = 0;
  std::uint64_t forwarder_start = 0;  // its start time, against pid reuse
  // Rootless, while a bridge sandbox runs: its pasta (network/pasta_network.hpp), which also
  // holds its published ports (there is no forwarder then). 0 while stopped.
  pid_t pasta_pid = 0;
  std::uint64_t pasta_start = 0;
};

void save_record(const std::filesystem::path& file, const SandboxRecord& record);
// Errc::not_found when missing; Errc::backend when unreadable.
SandboxRecord load_record(const std::filesystem::path& file, const std::string& id);

// Start time of a process (egress/child_process.hpp).
using egress::process_start_time;
// True while the recorded leader is the running process of that pid.
bool leader_alive(const SandboxRecord& record);

}  // namespace hutch::subcontainer
