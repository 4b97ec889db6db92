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
  std::string root, upper, work;
  std::vector<std::string> lower;
  bool read_only_root = false;
  std::vector<BindStep> binds;
  std::vector<TmpfsStep> tmpfs;
  std::string socket_path;
  std::vector<std::string> cgroups;
  std::vector<int> keep_caps;
  bool seccomp = true;
};

// Reads the plan file; on a malformed line returns false with `error` set.
bool read_plan(const char* path, Plan& plan, std::string& error);

}  // namespace hutch::subcontainer::helper
