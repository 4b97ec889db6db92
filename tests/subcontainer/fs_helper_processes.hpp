// The fs helpers (`hutch-subcontainer-helper fs`) this test process has started, found in /proc.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace hutch::subcontainer::test {

inline std::string read_proc_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::vector<pid_t> fs_helper_processes() {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string args = read_proc_file(entry.path() / "cmdline");
    const std::string stat = read_proc_file(entry.path() / "stat");
    const auto comm_end = stat.rfind(')');
    if (comm_end == std::string::npos || args.find("hutch-subcontainer-helper") == std::string::npos ||
        args.find(std::string("\0fs\0", 4)) == std::string::npos)
      continue;
    // "<pid> (<comm>) <state> <ppid> ..."
    if (std::stol(stat.substr(comm_end + 4)) == ::getpid()) found.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return found;
}

}  // namespace hutch::subcontainer::test
