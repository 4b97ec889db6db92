// Writes the setup plan the helper executes (format: plan_format.hpp). Building the plan is
// plain data work, so it is testable without root; the helper only carries it out.
#pragma once

#include <hutch/types.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hutch::subcontainer {

struct PlanBind {
  std::string source, target;
  bool read_only = false;
  bool is_file = false;
  // An idmapped bind: files owned on disk by host id `to + i` appear as id `from + i` inside
  // the sandbox. Made by the helper parent in the host namespaces (creating an idmapped
  // mount needs privilege over the source filesystem: root only).
  std::optional<hutch::IdMap> idmap;
};

// A lower layer of the overlay root. With a mount point (as root), the helper parent makes a
// read-only copy of `dir`, idmapped by `idmap` as a bind's (on-disk `to` shows as `from` of the
// sandbox), and the sandbox attaches it there; without one (rootless) the overlay takes `dir`.
struct PlanLower {
  std::string dir;
  std::string mount_point;
  std::optional<hutch::IdMap> idmap;
};

struct PlanTmpfs {
  std::string target;
  std::uint64_t size = 0;
  bool read_only = false;
};

struct SetupPlan {
  std::string id;
  std::string hostname;
  std::string default_user;  // what an exec that names no user runs as ("" = root)
  bool rootless = false;  // map only the caller's own ids
  std::uint32_t outside_uid = 0, outside_gid = 0, id_count = 1;
  NetworkMode network = NetworkMode::none;
  std::string nameserver;  // bridge: the sandbox's resolver (egress/resolver_process.hpp)
  std::string root, upper, work;
  std::vector<PlanLower> lower;  // top-most first
  bool read_only_root = false;
  std::vector<PlanBind> binds;     // applied in order
  std::vector<PlanTmpfs> tmpfs;
  std::string socket;
  std::vector<std::string> cgroups;
  std::vector<int> keep_caps;
  bool seccomp = true;
  std::optional<std::uint64_t> max_file_bytes;  // SandboxSpec::max_file_bytes
  std::uint32_t stop_grace_ms = 10000;  // the leader's SIGTERM-to-SIGKILL on a stop
  // The leader's lifetimes (agent/lifetime.hpp; 0: none), and the file it records its expiry in.
  std::int64_t ttl_deadline_ms = 0, idle_timeout_ms = 0;
  std::string expiry_file;
};

// The plan as text. Errc::invalid_argument for a value with a TAB or newline in it.
std::string render_plan(const SetupPlan& plan);
void write_plan(const std::filesystem::path& file, const SetupPlan& plan);
// Replaces the lines of `key` in the plan in `file` with one line per entry of `values`: a
// sandbox started again gets its cgroups anew (a rootless caller's delegated subtree may have
// moved), and its lifetimes as they are now.
void replace_plan_lines(const std::filesystem::path& file, const char* key,
                        const std::vector<std::vector<std::string>>& values, const std::string& id);

}  // namespace hutch::subcontainer
