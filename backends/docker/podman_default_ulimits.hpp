// The ulimits Podman gives a container when its create request names none: the
// `default_ulimits` of containers.conf. Podman 4.3 drops them as soon as a request names any
// ulimit (hutch names fsize for SandboxSpec::max_file_bytes) and falls back to its built-in
// nofile/nproc of 1048576, which a service running under lower hard limits cannot set: runc
// then fails the start with "error setting rlimit type 7: operation not permitted". Sending
// these defaults along keeps the container's limits what they are without fsize.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hutch::docker {

struct Ulimit {
  std::string name;  // "nofile", as the Engine API names them
  std::int64_t soft = 0;
  std::int64_t hard = 0;
  bool operator==(const Ulimit&) const = default;
};

// Parses containers.conf's "NAME=SOFT:HARD" or "NAME=VALUE" (soft = hard; -1 is unlimited).
// Throws Errc::invalid_argument naming the entry when it is neither.
Ulimit parse_podman_ulimit(const std::string& entry);

// The containers.conf files Podman reads, in its order (a later file's key wins): the
// distribution's, the administrator's, the drop-ins of containers.conf.d, and — when hutch
// does not run as root, the usual case being the user's own rootless service — the user's.
std::vector<std::filesystem::path> podman_containers_conf_files();

// The default_ulimits of the last of `files` that sets them, or none. A file that cannot be
// read or parsed, or a malformed entry, is skipped with a warning in hutch's log: the limits
// are Podman's to apply, and Podman reports its own configuration errors.
std::vector<Ulimit> podman_default_ulimits(const std::vector<std::filesystem::path>& files);

}  // namespace hutch::docker
