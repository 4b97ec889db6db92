// The setup plan the host writes for the helper: one step per line, "key<TAB>field<TAB>...".
// Paths may not contain TAB or newline (the host refuses them). Shared by the writer (host)
// and the reader (helper); header-only, no Boost.
#pragma once

namespace hutch::subcontainer::plan_key {

inline constexpr const char* kId = "id";              // sandbox id
inline constexpr const char* kHostname = "hostname";  // name
inline constexpr const char* kUidMap = "uid_map";     // inside outside count
inline constexpr const char* kGidMap = "gid_map";     // inside outside count
inline constexpr const char* kSetgroups = "setgroups";  // allow | deny
inline constexpr const char* kNetwork = "network";    // none | host | bridge (a namespace of its own but host)
inline constexpr const char* kNameserver = "nameserver";  // bridge: the resolver's address for /etc/resolv.conf
inline constexpr const char* kRoot = "root";          // the merged mount point
inline constexpr const char* kLower = "lower";        // lower dir, top-most first; repeated
    // [mount-point map-inside map-outside map-count]: attached on mount-point from a copy the
    // helper parent makes (idmapped unless map-count is 0); see helper/plan.hpp LowerStep
inline constexpr const char* kUpper = "upper";
inline constexpr const char* kWork = "work";
inline constexpr const char* kReadOnlyRoot = "read_only_root";  // 1
inline constexpr const char* kBind = "bind";          // source target ro(0|1) file(0|1)
    // [map-inside map-outside map-count]: an idmapped bind; ids are host-side, see plan_writer.hpp
inline constexpr const char* kTmpfs = "tmpfs";        // target size-bytes(0 = default) ro(0|1)
inline constexpr const char* kSocket = "socket";      // control socket path
inline constexpr const char* kCgroup = "cgroup";      // a cgroup dir to join; repeated
inline constexpr const char* kKeepCap = "keep_cap";   // capability number kept; repeated
inline constexpr const char* kSeccomp = "seccomp";    // 1 | 0
inline constexpr const char* kUser = "user";          // the default user of an exec; optional
inline constexpr const char* kMaxFileBytes = "max_file_bytes";  // RLIMIT_FSIZE of everything inside; optional
inline constexpr const char* kStopGrace = "stop_grace";  // ms from SIGTERM to SIGKILL on a stop
inline constexpr const char* kLifetime = "lifetime";      // ttl-deadline-unix-ms idle-timeout-ms (0: none)
inline constexpr const char* kExpiryFile = "expiry_file";  // where the leader records its expiry

}  // namespace hutch::subcontainer::plan_key

namespace hutch::subcontainer {

// The helper is started as `hutch-subcontainer-helper start` with the plan file's path in this
// environment variable (and nothing else in its environment): the leader keeps the helper's
// command line, which the whole sandbox can read, while its environment is the host's to read.
inline constexpr const char* kPlanVariable = "HUTCH_SUBCONTAINER_PLAN";

}  // namespace hutch::subcontainer
