// Turns the mounts of a SandboxSpec into host sources the mount code can bind, applying the
// policy: which host paths may be bound, where named volumes and backups live.
#pragma once

#include <hutch/types.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hutch::subcontainer {

struct MountPolicy {
  std::vector<std::string> bind_allow;  // host path prefixes a bind may use (component-wise)
  std::filesystem::path volumes_dir;    // <state_dir>/subcontainer/volumes
  std::filesystem::path backups_dir;    // <state_dir>/subcontainer/backups
  // Host ids of root inside the sandbox (uid_base when the host is root). Volume and backup
  // directories created here are given to them, so root inside can write its volumes.
  // Unset (rootless): they belong to the caller, which is root inside anyway.
  std::optional<std::uint32_t> owner_uid;
  std::optional<std::uint32_t> owner_gid;
};

struct ResolvedMount {
  std::filesystem::path host_source;  // empty for tmpfs
  std::string target;                 // absolute path inside the sandbox
  bool read_only = false;
  bool is_file = false;               // bind a file (create a file mount point), not a dir
  std::optional<hutch::IdMap> idmap;
  bool tmpfs = false;
  std::uint64_t tmpfs_size = 0;       // 0: the kernel default
};

// volume: <volumes_dir>/<name>, created on first use; pointer: an existing volume
// (Errc::not_found otherwise); assets: read-only always; backup: <backups_dir>/<name>,
// created on first use; bind: the canonical host path, Errc::permission_denied unless it lies
// under a bind_allow prefix (hutch::check_host_path_allowed); tmpfs. `subpath` is applied inside the source and may not leave
// it. Names: hutch::validate_volume_name (<hutch/workspace.hpp>). Errc::invalid_argument otherwise.
ResolvedMount resolve_mount(const hutch::Mount& mount, const MountPolicy& policy);

// Checks a volume/backup name against the rules above; throws invalid_argument.
void validate_volume_name(const std::string& name, const char* what);

}  // namespace hutch::subcontainer
