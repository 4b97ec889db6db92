#include "orphan_cgroups.hpp"

#include "cgroup.hpp"
#include "plan_format.hpp"
#include "unique_fd.hpp"

#include <spdlog/spdlog.h>

#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <optional>

namespace hutch::subcontainer {
namespace fs = std::filesystem;
namespace {

// A create writes its cgroup moments before its leader joins it.
constexpr auto kCreateWindow = std::chrono::minutes(1);

// The NUL-separated entries of /proc/<pid>/<file> (cmdline, environ).
std::vector<std::string> proc_strings(pid_t pid, const char* file) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file, std::ios::binary);
  // Through rdbuf(), not istreambuf_iterator: a /proc file of a process that exits meanwhile
  // fails to read (ESRCH), and the iterator throws where rdbuf() only sets failbit.
  std::stringstream raw_read;
  raw_read << in.rdbuf();
  const std::string raw = raw_read.str();
  std::vector<std::string> args;
  for (std::size_t pos = 0; pos < raw.size();) {
    const std::size_t end = raw.find('\0', pos);
    args.push_back(raw.substr(pos, end - pos));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return args;
}

// The sandbox directory the leader among `pids` was started for: the helper runs with
// <sandboxes_dir>/<id>/plan in kPlanVariable, and the processes it forks keep that
// environment (readable by root only: prune runs this as root). nullopt when none of them
// says (they exec'd something else, or are gone).
std::optional<fs::path> sandbox_dir_of(const std::vector<pid_t>& pids, const std::string& id) {
  const std::string prefix = std::string(kPlanVariable) + "=";
  for (pid_t pid : pids) {
    const auto args = proc_strings(pid, "cmdline");
    if (args.size() != 2 || args[1] != "start") continue;
    std::optional<fs::path> found;
    for (const auto& entry : proc_strings(pid, "environ"))
      if (entry.starts_with(prefix)) found = entry.substr(prefix.size());
    if (!found) continue;
    const fs::path plan = *found;
    if (plan.is_absolute() && plan.filename() == "plan" && plan.parent_path().filename() == id)
      return plan.parent_path();
  }
  return std::nullopt;
}

// True only when `dir` provably does not exist (not for a directory we may not look into).
bool gone(const fs::path& dir) {
  struct stat info {};
  return ::stat(dir.c_str(), &info) != 0 && (errno == ENOENT || errno == ENOTDIR);
}

// Waits (up to 2 s each) until the processes behind `pidfds` have exited: a v1 cgroup can be
// removed as soon as its tasks have left it, a moment before they are gone.
void wait_for_exit(const std::vector<UniqueFd>& pidfds) {
  for (const auto& pidfd : pidfds) {
    pollfd exited{pidfd.get(), POLLIN, 0};
    if (pidfd) ::poll(&exited, 1, 2000);
  }
}

bool older_than_a_create(const std::string& dir) {
  std::error_code error;
  const auto written = fs::last_write_time(dir, error);
  return !error && fs::file_time_type::clock::now() - written > kCreateWindow;
}

}  // namespace

std::vector<std::string> prune_orphan_cgroups(const Runtime& runtime) {
  std::vector<std::string> removed;
  if (runtime.rootless) return removed;
  for (auto& [id, cgroup] : SandboxCgroup::existing(runtime.config.cgroup_root)) {
    // Not a sandbox's (ids are hex), or ours, with a record or in the middle of a create: the
    // record-based prune decides.
    if (id.empty() || id.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
    if (!gone(runtime.config.sandboxes_dir / id)) continue;
    const auto pids = cgroup.processes();
    std::string reason;
    if (pids.empty()) {
      if (!older_than_a_create(cgroup.dirs().front())) continue;
      reason = "no process left and no record";
    } else {
      const auto dir = sandbox_dir_of(pids, id);
      if (!dir || !gone(*dir)) continue;
      reason = "its directory " + dir->string() + " is gone";
    }
    runtime.log->info("prune: removing the cgroup of sandbox {} ({})", id, reason);
    std::vector<UniqueFd> pidfds;
    for (pid_t pid : pids) pidfds.emplace_back(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    cgroup.remove();  // kills what is left in it
    wait_for_exit(pidfds);
    removed.push_back(id);
  }
  return removed;
}

}  // namespace hutch::subcontainer
