// The helper's view of the setup plan (see ../plan_format.hpp for the file format).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hutch::subcontainer::helper {

struct IdMapLine {
  unsigned long inside = 0, outside = 0, count = 0;
};

struct BindStep {
  std::string source, target;
  bool read_only = false;
  bool is_file = false;
  IdMapLine idmap;        // count 0: not idmapped
  int prepared_tree = -1;  // an idmapped detached mount made by the helper parent
};

// A lower layer of the overlay root. Rootless, the overlay takes `dir` itself. As root the
// helper parent makes a detached read-only copy of it (idmapped when `idmap` has ids: stored
// layers are owned by the store range, id_ranges.hpp) and the sandbox child attaches that on
// `mount_point` (in the sandbox's own directory, which the child, running as the sandbox's
// host ids, can reach; the image store cannot be reached by it) for the overlay to use.
struct LowerStep {
  std::string dir;
  std::string mount_point;  // empty: the overlay takes `dir` as it is
  IdMapLine idmap;          // count 0: not idmapped
  int prepared_tree = -1;
};

struct TmpfsStep {
  std::string target;
  std::uint64_t size = 0;
  bool read_only = false;
};

struct Plan {
  std::string id;
  std::string hostname;
  std::string default_user;
  std::vector<IdMapLine> uid_map, gid_map;
  bool deny_setgroups = false;
  bool new_network = true;
  std::string nameserver;  // what /etc/resolv.conf names (bridge); empty: the image's file stays
  std::string root, upper, work;
  std::vector<LowerStep> lower;  // top-most first
  bool read_only_root = false;
  std::vector<BindStep> binds;
  std::vector<TmpfsStep> tmpfs;
  std::string socket_path;
  std::vector<std::string> cgroups;
  std::vector<int> keep_caps;
  bool seccomp = true;
  std::uint64_t max_file_bytes = 0;  // 0: no RLIMIT_FSIZE
  std::uint32_t stop_grace_ms = 10000;
  std::int64_t ttl_deadline_ms = 0, idle_timeout_ms = 0;
  std::string expiry_file;
  int expiry_fd = -1;  // expiry_file, opened by the helper for the leader
};

// Reads the plan file; on a malformed line returns false with `error` set.
bool read_plan(const char* path, Plan& plan, std::string& error);

}  // namespace hutch::subcontainer::helper
