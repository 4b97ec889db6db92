#include "freezer_state.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace hutch::docker {
namespace {

const std::filesystem::path kCgroupRoot = "/sys/fs/cgroup";

std::optional<std::string> first_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

// "<hierarchy id>:<controllers>:<path>" lines of /proc/<pid>/cgroup: the v1 freezer
// hierarchy's path when there is one, else the v2 (unified) path, with which freezer file.
struct FreezerFile {
  std::filesystem::path path;
  bool v1 = false;
};

std::optional<FreezerFile> freezer_file(pid_t pid) {
  // Through rdbuf(): a process that exits while it is read makes the read fail, not throw.
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  std::optional<std::string> unified;
  for (std::string line; std::getline(text, line);) {
    auto first = line.find(':');
    auto second = first == std::string::npos ? std::string::npos : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (("," + controllers + ",").find(",freezer,") != std::string::npos)
      return FreezerFile{kCgroupRoot / "freezer" / std::filesystem::path(path).relative_path() / "freezer.state", true};
    if (controllers.empty() && line.rfind("0:", 0) == 0) unified = path;
  }
  // cgroup v2 only when /sys/fs/cgroup is the unified hierarchy itself.
  if (!unified || !std::filesystem::exists(kCgroupRoot / "cgroup.controllers")) return std::nullopt;
  return FreezerFile{kCgroupRoot / std::filesystem::path(*unified).relative_path() / "cgroup.freeze", false};
}

}  // namespace

std::optional<bool> process_frozen(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto file = freezer_file(pid);
  if (!file) return std::nullopt;
  auto state = first_line(file->path);
  if (!state) return std::nullopt;
  if (file->v1) {
    if (*state == "THAWED") return false;
    if (*state == "FROZEN" || *state == "FREEZING") return true;
    return std::nullopt;
  }
  if (*state == "0") return false;
  if (*state == "1") return true;
  return std::nullopt;
}

}  // namespace hutch::docker
