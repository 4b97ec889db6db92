#include "cgroup.hpp"

#include <hutch/error.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

namespace hutch::subcontainer {
namespace fs = std::filesystem;
namespace {

constexpr const char* kV1Controllers[] = {"memory", "pids", "cpu", "cpuacct", "freezer"};

bool is_fs(const fs::path& path, long magic) {
  struct statfs info {};
  return ::statfs(path.c_str(), &info) == 0 && info.f_type == magic;
}

bool write_file(const fs::path& file, const std::string& value) {
  std::ofstream out(file);
  out << value;
  out.flush();
  return static_cast<bool>(out);
}

std::optional<std::string> read_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::uint64_t read_number(const fs::path& file) {
  auto text = read_file(file);
  if (!text) return 0;
  try {
    return std::stoull(*text);
  } catch (...) {
    return 0;
  }
}

void write_limit(const fs::path& file, const std::string& value, const std::string& id) {
  if (!write_file(file, value))
    throw Error(Errc::backend, "sandbox " + id + ": cannot set " + file.string() + " to " + value);
}

[[noreturn]] void refuse_limits(const std::string& why) {
  throw Error(Errc::unsupported, "subcontainer: resource limits need a writable cgroup hierarchy, and " + why +
                                     "; run as root or drop --memory/--cpus/--pids");
}

bool any_limit(const Limits& limits) { return limits.memory_bytes || limits.cpus || limits.pids; }

// v2: controllers must be enabled in every ancestor's cgroup.subtree_control, from `top`
// (the hierarchy's root, or a delegated subtree whose own ancestors are not ours to change)
// down to `dir`. One at a time: a write naming a controller the level does not have fails as
// a whole.
void enable_v2_controllers(const fs::path& top, const fs::path& dir) {
  for (fs::path level = top; level != dir;) {
    auto available = read_file(level / "cgroup.controllers").value_or("");
    for (const char* controller : {"memory", "pids", "cpu"})
      if (available.find(controller) != std::string::npos) write_file(level / "cgroup.subtree_control", std::string("+") + controller);
    auto rel = fs::relative(dir, level);
    level /= *rel.begin();
  }
}

// v2: the limit file exists only when its controller is enabled for the sandbox's cgroup.
void write_v2_limit(const fs::path& dir, const char* file, const std::string& value, const char* controller,
                    const std::string& id) {
  if (!fs::exists(dir / file))
    refuse_limits(std::string("the cgroup v2 ") + controller + " controller is not available in " +
                  dir.parent_path().string() + " (see its cgroup.controllers)");
  write_limit(dir / file, value, id);
}

// Where the sandbox cgroups go: the cgroup version and <hierarchy>/<root_name> for each
// hierarchy (one on v2; on v1 one per mounted controller, co-mounted ones counted once).
// A sandbox always joins the cpu controller, with or without a quota: the scheduler then weighs
// the whole sandbox as one entity against each host task, so a thousand busy processes inside
// (a fork bomb held at its pids limit) cannot starve the host of CPU.
std::pair<int, std::vector<fs::path>> sandbox_roots(const std::string& root_name, const fs::path& mount) {
  if (is_fs(mount, CGROUP2_SUPER_MAGIC)) return {2, {mount / root_name}};
  std::vector<fs::path> roots;
  for (const char* controller : kV1Controllers) {
    fs::path hierarchy = mount / controller;
    if (!is_fs(hierarchy, CGROUP_SUPER_MAGIC)) continue;
    auto root = fs::canonical(hierarchy) / root_name;
    if (std::find(roots.begin(), roots.end(), root) == roots.end()) roots.push_back(root);
  }
  return {1, roots};
}

// Gives the group every sandbox is in its CPU weight (see BackendConfig::cpu_weight), rewritten
// only when it differs. v1: the hierarchy holding the cpu controller has cpu.shares; the others
// have no such file and are left alone.
void weigh_root(int version, const fs::path& root, std::uint32_t weight) {
  const fs::path file = root / (version == 2 ? "cpu.weight" : "cpu.shares");
  const std::uint64_t value = version == 2 ? weight : std::max<std::uint64_t>(2, std::uint64_t(weight) * 1024 / 100);
  if (!fs::exists(file) || read_number(file) == value) return;
  write_file(file, std::to_string(value));
}

}  // namespace

SandboxCgroup::SandboxCgroup(int version, std::vector<std::string> dirs, std::string id)
    : version_(version), dirs_(std::move(dirs)), id_(std::move(id)) {}

std::optional<SandboxCgroup> SandboxCgroup::create(const std::string& root_name, std::uint32_t root_cpu_weight,
                                                   const std::string& id, const Limits& limits, const fs::path& mount) {
  const auto [version, roots] = sandbox_roots(root_name, mount);
  if (roots.empty()) {
    if (any_limit(limits)) refuse_limits("this host has no cgroup hierarchy mounted at " + mount.string());
    return std::nullopt;
  }
  return create_in(version, roots, mount, root_cpu_weight, id, limits);
}

std::optional<fs::path> SandboxCgroup::delegated_base() {
  fs::path mount;
  // Pure v2 hosts mount it at /sys/fs/cgroup; hybrid ones (v1 controllers) at .../unified.
  for (const char* candidate : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"})
    if (is_fs(candidate, CGROUP2_SUPER_MAGIC)) {
      mount = candidate;
      break;
    }
  if (mount.empty()) return std::nullopt;
  std::ifstream self("/proc/self/cgroup");
  std::string line, own;
  while (std::getline(self, line))
    if (line.rfind("0::/", 0) == 0) own = line.substr(4);
  if (own.empty()) return std::nullopt;  // in the root cgroup, which is never delegated
  const fs::path base = (mount / own).parent_path();
  if (base == mount) return std::nullopt;
  // Delegated means: we may make cgroups in it (the directory) and move processes between
  // them (its cgroup.procs, the common ancestor of where the helper and the leader are).
  if (::access(base.c_str(), W_OK) != 0 || ::access((base / "cgroup.procs").c_str(), W_OK) != 0)
    return std::nullopt;
  return base;
}

std::optional<std::string> SandboxCgroup::limits_problem(bool rootless, const fs::path& mount) {
  if (rootless) {
    const auto base = delegated_base();
    if (!base)
      return "uid " + std::to_string(::getuid()) +
             " has no cgroup v2 subtree delegated to it (run hutch inside one, e.g. under `systemd-run --user --scope`)";
    const std::string controllers = read_file(*base / "cgroup.controllers").value_or("");
    for (const char* controller : {"memory", "pids"})
      if (controllers.find(controller) == std::string::npos)
        return std::string("the delegated cgroup ") + base->string() + " has no " + controller + " controller";
    return std::nullopt;
  }
  if (is_fs(mount, CGROUP2_SUPER_MAGIC)) return std::nullopt;
  for (const char* controller : {"memory", "pids"})
    if (!is_fs(mount / controller, CGROUP_SUPER_MAGIC))
      return std::string("the cgroup v1 ") + controller + " controller is not mounted at " + (mount / controller).string();
  return std::nullopt;
}

std::optional<SandboxCgroup> SandboxCgroup::create_delegated(const std::string& root_name,
                                                             std::uint32_t root_cpu_weight, const std::string& id,
                                                             const Limits& limits) {
  const auto base = delegated_base();
  if (!base) {
    if (any_limit(limits))
      refuse_limits("uid " + std::to_string(::getuid()) +
                    " has no cgroup v2 subtree delegated to it (run hutch inside one, e.g. under "
                    "`systemd-run --user --scope`)");
    return std::nullopt;
  }
  return create_in(2, {*base / root_name}, *base, root_cpu_weight, id, limits);
}

std::optional<SandboxCgroup> SandboxCgroup::create_in(int version, const std::vector<fs::path>& roots,
                                                      const fs::path& enable_from, std::uint32_t root_cpu_weight,
                                                      const std::string& id, const Limits& limits) {
  std::vector<std::string> dirs;
  for (const auto& root : roots) dirs.push_back((root / id).string());
  SandboxCgroup cgroup(version, {}, id);
  for (const auto& dir : dirs) {
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) {
      cgroup.remove();
      if (error == std::errc::permission_denied || error == std::errc::read_only_file_system) {
        if (any_limit(limits))
          refuse_limits("uid " + std::to_string(::getuid()) + " may not create " + dir);
        return std::nullopt;
      }
      throw Error(Errc::backend, "sandbox " + id + ": cannot create cgroup " + dir + ": " + error.message());
    }
    cgroup.dirs_.push_back(dir);
  }
  try {
    if (version == 2) enable_v2_controllers(enable_from, dirs[0]);
    for (const auto& root : roots) weigh_root(version, root, root_cpu_weight);
    if (version == 2) {
      fs::path dir = dirs[0];
      if (limits.memory_bytes) {
        write_v2_limit(dir, "memory.max", std::to_string(*limits.memory_bytes), "memory", id);
        write_file(dir / "memory.swap.max", "0");
      }
      if (limits.pids) write_v2_limit(dir, "pids.max", std::to_string(*limits.pids), "pids", id);
      if (limits.cpus)
        write_v2_limit(dir, "cpu.max", std::to_string(std::llround(*limits.cpus * 100000)) + " 100000", "cpu", id);
    } else {
      if (limits.memory_bytes) {
        auto dir = cgroup.dir_with("memory.limit_in_bytes");
        if (!dir) refuse_limits("the v1 memory controller is not mounted");
        write_limit(fs::path(*dir) / "memory.limit_in_bytes", std::to_string(*limits.memory_bytes), id);
        // Without swap accounting this file is absent; the memory limit alone then applies.
        if (fs::exists(fs::path(*dir) / "memory.memsw.limit_in_bytes"))
          write_file(fs::path(*dir) / "memory.memsw.limit_in_bytes", std::to_string(*limits.memory_bytes));
      }
      if (limits.pids) {
        auto dir = cgroup.dir_with("pids.max");
        if (!dir) refuse_limits("the v1 pids controller is not mounted");
        write_limit(fs::path(*dir) / "pids.max", std::to_string(*limits.pids), id);
      }
      if (limits.cpus) {
        auto dir = cgroup.dir_with("cpu.cfs_quota_us");
        if (!dir) refuse_limits("the v1 cpu controller is not mounted");
        write_limit(fs::path(*dir) / "cpu.cfs_period_us", "100000", id);
        write_limit(fs::path(*dir) / "cpu.cfs_quota_us", std::to_string(std::llround(*limits.cpus * 100000)), id);
      }
    }
  } catch (...) {
    cgroup.remove();
    throw;
  }
  return cgroup;
}

std::map<std::string, SandboxCgroup> SandboxCgroup::existing(const std::string& root_name, const fs::path& mount) {
  std::map<std::string, SandboxCgroup> found;
  const auto [version, roots] = sandbox_roots(root_name, mount);
  for (const auto& root : roots) {
    std::error_code error;
    for (fs::directory_iterator it(root, error), end; !error && it != end; it.increment(error)) {
      std::error_code not_a_directory;
      if (!it->is_directory(not_a_directory)) continue;
      const std::string name = it->path().filename().string();
      found.try_emplace(name, version, std::vector<std::string>{}, name).first->second.dirs_.push_back(it->path().string());
    }
  }
  return found;
}

std::vector<pid_t> SandboxCgroup::processes() const {
  std::vector<pid_t> pids;
  for (const auto& dir : dirs_) {
    std::istringstream procs(read_file(fs::path(dir) / "cgroup.procs").value_or(""));
    for (pid_t pid = 0; procs >> pid;) pids.push_back(pid);
  }
  std::sort(pids.begin(), pids.end());
  pids.erase(std::unique(pids.begin(), pids.end()), pids.end());
  return pids;
}

std::optional<std::string> SandboxCgroup::dir_with(const std::string& file) const {
  for (const auto& dir : dirs_)
    if (fs::exists(fs::path(dir) / file)) return dir;
  return std::nullopt;
}

bool SandboxCgroup::can_freeze() const {
  return dir_with(version_ == 2 ? "cgroup.freeze" : "freezer.state").has_value();
}

void SandboxCgroup::freeze() {
  auto dir = dir_with(version_ == 2 ? "cgroup.freeze" : "freezer.state");
  if (!dir) throw Error(Errc::unsupported, "sandbox " + id_ + ": no freezer cgroup (pause needs root on cgroup v1)");
  auto file = fs::path(*dir) / (version_ == 2 ? "cgroup.freeze" : "freezer.state");
  write_limit(file, version_ == 2 ? "1" : "FROZEN", id_);
  // Freezing is asynchronous: wait until every task is stopped. v1 wakes each task once; one
  // that was running then and went into a killable-only sleep (a shepherd waiting for its
  // vfork-style command process to exec) stays unfrozen until another pass, so repeat the write.
  for (int i = 0; i < 500 && !frozen(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (version_ == 1 && !frozen()) write_limit(file, "FROZEN", id_);
  }
  if (!frozen()) throw Error(Errc::backend, "sandbox " + id_ + ": processes did not freeze within 1 s");
}

void SandboxCgroup::thaw() {
  auto dir = dir_with(version_ == 2 ? "cgroup.freeze" : "freezer.state");
  if (!dir) throw Error(Errc::unsupported, "sandbox " + id_ + ": no freezer cgroup (pause needs root on cgroup v1)");
  write_limit(fs::path(*dir) / (version_ == 2 ? "cgroup.freeze" : "freezer.state"), version_ == 2 ? "0" : "THAWED", id_);
}

bool SandboxCgroup::frozen() const {
  if (version_ == 2) {
    auto events = read_file(fs::path(dirs_.at(0)) / "cgroup.events");
    return events && events->find("frozen 1") != std::string::npos;
  }
  auto dir = dir_with("freezer.state");
  auto state = dir ? read_file(fs::path(*dir) / "freezer.state") : std::nullopt;
  return state && state->rfind("FROZEN", 0) == 0;
}

Stats SandboxCgroup::stats() const {
  Stats stats;
  if (version_ == 2) {
    fs::path dir = dirs_.at(0);
    stats.memory_bytes = read_number(dir / "memory.current");
    if (auto max = read_file(dir / "memory.max"); max && max->rfind("max", 0) != 0) stats.memory_limit_bytes = std::stoull(*max);
    // Without the pids controller (not delegated, or bound to v1), count the members.
    stats.pids = static_cast<std::uint32_t>(fs::exists(dir / "pids.current") ? read_number(dir / "pids.current")
                                                                              : processes().size());
    if (auto cpu = read_file(dir / "cpu.stat")) {
      auto pos = cpu->find("usage_usec ");
      if (pos != std::string::npos) stats.cpu_usage_ns = std::stoull(cpu->substr(pos + 11)) * 1000;
    }
    return stats;
  }
  if (auto dir = dir_with("memory.usage_in_bytes")) {
    stats.memory_bytes = read_number(fs::path(*dir) / "memory.usage_in_bytes");
    auto limit = read_number(fs::path(*dir) / "memory.limit_in_bytes");
    if (limit > 0 && limit < (1ULL << 62)) stats.memory_limit_bytes = limit;
  }
  if (auto dir = dir_with("pids.current")) stats.pids = static_cast<std::uint32_t>(read_number(fs::path(*dir) / "pids.current"));
  if (auto dir = dir_with("cpuacct.usage")) stats.cpu_usage_ns = read_number(fs::path(*dir) / "cpuacct.usage");
  return stats;
}

void SandboxCgroup::remove() {
  if (version_ == 2 && !dirs_.empty()) write_file(fs::path(dirs_[0]) / "cgroup.kill", "1");
  if (can_freeze()) {
    try {
      thaw();
    } catch (...) {
    }
  }
  for (const auto& dir : dirs_) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      if (!fs::exists(dir)) break;
      if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) break;
      if (auto procs = read_file(fs::path(dir) / "cgroup.procs")) {
        std::istringstream pids(*procs);
        pid_t pid;
        while (pids >> pid) ::kill(pid, SIGKILL);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

}  // namespace hutch::subcontainer
