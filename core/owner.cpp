// Owner identity: boot id + pid + process start time, so a recycled pid is never mistaken
// for the process that created a sandbox.
#include <hutch/owner.hpp>

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace hutch {
namespace {

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); empty if no process.
std::string start_time(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return {};
  // The command name (field 2) may contain spaces and ')'; fields after it follow the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int index = 3; fields >> field; ++index)
    if (index == 22) return field;
  return {};
}

}  // namespace

std::string current_owner() {
  long pid = static_cast<long>(::getpid());
  return boot_id() + ":" + std::to_string(pid) + ":" + start_time(pid);
}

bool owner_alive(const std::string& owner) {
  auto first = owner.find(':');
  auto second = owner.find(':', first == std::string::npos ? first : first + 1);
  if (first == std::string::npos || second == std::string::npos) return false;
  if (owner.substr(0, first) != boot_id()) return false;
  long pid = 0;
  try {
    pid = std::stol(owner.substr(first + 1, second - first - 1));
  } catch (...) {
    return false;
  }
  if (pid <= 0) return false;
  std::string started = start_time(pid);
  return !started.empty() && started == owner.substr(second + 1);
}

std::string owner_for(const SandboxSpec& spec) {
  return spec.detached ? std::string(kDetachedOwner) : current_owner();
}

bool owner_gone(const std::string& owner) {
  return owner != kDetachedOwner && !owner_alive(owner);
}

}  // namespace hutch
