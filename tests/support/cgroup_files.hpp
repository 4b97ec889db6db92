// Small readers for tests that look at cgroup files directly.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace hutch::test {

// The first cgroup2 mount of this host, or empty.
inline std::filesystem::path cgroup2_mount() {
  std::ifstream mounts("/proc/self/mounts");
  std::string device, point, type, rest;
  while (mounts >> device >> point >> type && std::getline(mounts, rest))
    if (type == "cgroup2") return point;
  return {};
}

// A whole (cgroup) file, or "" when it cannot be read.
inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace hutch::test
