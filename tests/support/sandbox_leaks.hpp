// Sandboxes still running in a directory a test is about to delete. A sandbox whose state
// directory goes away under it runs on with no record that leads to it: only its cgroup and
// `prune --all` can find it again. TempDir checks here before it removes itself, ends what it
// finds through the backend, and fails the test that left it, so such a leak never passes
// silently.
#pragma once

#include <hutch/config.hpp>
#include <hutch/loader.hpp>
#include <hutch/log.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace hutch::test {

struct LeftProcess {
  pid_t pid = 0;
  std::vector<std::string> args;
};

// The NUL-separated strings of /proc/<pid>/<file> (cmdline, environ); empty when unreadable.
inline std::vector<std::string> proc_strings(pid_t pid, const char* file) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file, std::ios::binary);
  // Through rdbuf(), not istreambuf_iterator: a /proc file of a process that exits meanwhile
  // fails to read (ESRCH), and the iterator throws where rdbuf() only sets failbit.
  std::stringstream raw_read;
  raw_read << in.rdbuf();
  const std::string raw = raw_read.str();
  std::vector<std::string> strings;
  for (std::size_t pos = 0; pos < raw.size();) {
    const std::size_t next = std::min(raw.find('\0', pos), raw.size());
    strings.push_back(raw.substr(pos, next - pos));
    pos = next + 1;
  }
  return strings;
}

// The plan a subcontainer leader was started with: the helper runs as
// `hutch-subcontainer-helper start` with HUTCH_SUBCONTAINER_PLAN=<plan> (backends/subcontainer/
// plan_format.hpp) as its environment, which the leader keeps. Empty for another process, or
// one whose environment this process may not read.
inline std::string subcontainer_plan_of(pid_t pid) {
  static const std::string kVariable = "HUTCH_SUBCONTAINER_PLAN=";
  for (const auto& entry : proc_strings(pid, "environ"))
    if (entry.rfind(kVariable, 0) == 0) return entry.substr(kVariable.size());
  return {};
}

// Processes of this host whose command line, or subcontainer plan, names `dir` or a path below
// it: a subcontainer sandbox's leader (its args then end with the plan).
inline std::vector<LeftProcess> processes_started_in(const std::filesystem::path& dir) {
  const std::string prefix = dir.string() + "/";
  auto names_dir = [&](const std::string& arg) { return arg.rfind(prefix, 0) == 0 || arg == dir.string(); };
  std::vector<LeftProcess> found;
  std::error_code error;
  for (std::filesystem::directory_iterator it("/proc", error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    LeftProcess process{pid, proc_strings(pid, "cmdline")};
    bool named = std::any_of(process.args.begin(), process.args.end(), names_dir);
    if (const std::string plan = subcontainer_plan_of(pid); !named && names_dir(plan)) {
      process.args.push_back(plan);
      named = true;
    }
    if (named) found.push_back(std::move(process));
  }
  return found;
}

// The state_dir a subcontainer leader belongs to, from the plan it was started with:
// <state_dir>/subcontainer/sandboxes/<id>/plan.
inline std::optional<std::filesystem::path> subcontainer_state_dir(const LeftProcess& process) {
  if (process.args.size() != 3 || process.args[1] != "start") return std::nullopt;
  const std::filesystem::path sandboxes = std::filesystem::path(process.args[2]).parent_path().parent_path();
  if (sandboxes.filename() != "sandboxes" || sandboxes.parent_path().filename() != "subcontainer")
    return std::nullopt;
  return sandboxes.parent_path().parent_path();
}

// `prune --all` through the subcontainer plugin on `state_dir`; what went wrong, or empty.
inline std::string prune_all_subcontainer_sandboxes(const std::filesystem::path& state_dir) {
  try {
    PluginContext context;
    context.name = "subcontainer";
    context.logger = logger();
    context.state_dir = state_dir.string();
    PluginSearch search;
    search.use_env = false;
    search.use_install_dir = false;
    load_backend(std::string(HUTCH_PLUGIN_OUTPUT_DIR) + "/hutch-subcontainer.so", search, context)->prune(Filter{{}, true});
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

// Fails the calling test when processes still run from below `dir`, and ends them: prune
// --all through the backend for each subcontainer state_dir they belong to (which also
// removes their cgroups), then SIGKILL for whatever is left.
inline void end_sandboxes_left_in(const std::filesystem::path& dir) {
  const auto left = processes_started_in(dir);
  if (left.empty()) return;
  std::string listing;
  std::set<std::filesystem::path> state_dirs;
  for (const auto& process : left) {
    listing += "\n  pid " + std::to_string(process.pid) + ":";
    for (const auto& arg : process.args) listing += " " + arg;
    if (auto state_dir = subcontainer_state_dir(process)) state_dirs.insert(*state_dir);
  }
  ADD_FAILURE() << "processes still run from " << dir << " as it is removed (a sandbox the test did not destroy; "
                << "ended now by prune --all):" << listing;
  for (const auto& state_dir : state_dirs)
    if (auto problem = prune_all_subcontainer_sandboxes(state_dir); !problem.empty())
      ADD_FAILURE() << "prune --all on " << state_dir << " failed: " << problem;
  // Killed with their leader, the processes of a sandbox without a cgroup may take a moment.
  for (int i = 0; i < 200 && !processes_started_in(dir).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (const auto& process : processes_started_in(dir)) {
    ::kill(process.pid, SIGKILL);
    ADD_FAILURE() << "pid " << process.pid << " outlived prune --all; killed it (its cgroup may remain)";
  }
}

}  // namespace hutch::test
