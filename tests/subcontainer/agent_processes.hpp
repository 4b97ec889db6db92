// The host-side view of a subcontainer sandbox's agent: its leader (started with its plan) and
// the leader's children (the init of the commands' pid namespace, the shepherds), with their
// states and pid namespaces.
#pragma once

#include "sandbox_leaks.hpp"

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace hutch::subcontainer::test {

// pid and state of the leader started with `plan` and of each of its children.
inline std::vector<std::pair<pid_t, char>> sandbox_process_states(const std::filesystem::path& plan) {
  std::vector<std::pair<pid_t, char>> states;
  std::set<pid_t> with_plan;  // the leader, and its children where their environment is readable
  std::vector<std::pair<pid_t, std::string>> stats;  // pid, what follows "(comm) " in its stat
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stoi(name));
    if (hutch::test::subcontainer_plan_of(pid) == plan.string()) with_plan.insert(pid);
    std::ifstream stat(entry.path() / "stat");
    // Through rdbuf(), not istreambuf_iterator: a /proc file of a process that exits meanwhile
    // fails to read (ESRCH), and the iterator throws where rdbuf() only sets failbit.
    std::stringstream line_read;
    line_read << stat.rdbuf();
    std::string line = line_read.str();
    auto paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size()) continue;  // it just ended
    stats.emplace_back(pid, line.substr(paren + 2));
  }
  std::map<pid_t, std::pair<char, pid_t>> state_and_parent;
  for (const auto& [pid, fields] : stats) {
    std::istringstream parts(fields);
    char state = '?';
    pid_t parent = 0;
    parts >> state >> parent;
    state_and_parent[pid] = {state, parent};
  }
  pid_t leader = 0;  // the one with the plan whose parent has none
  for (pid_t pid : with_plan)
    if (state_and_parent.count(pid) && !with_plan.count(state_and_parent[pid].second)) leader = pid;
  for (const auto& [pid, state_parent] : state_and_parent)
    if (leader != 0 && (pid == leader || state_parent.second == leader)) states.emplace_back(pid, state_parent.first);
  return states;
}

// The pid namespace of `pid` ("pid:[<inode>]"), empty when it is gone.
inline std::string pid_namespace_of(pid_t pid) {
  std::error_code error;
  auto target = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/pid", error);
  return error ? std::string() : target.string();
}

// How many pid namespaces `pid` has a pid in (the entries of NSpid in its status): one more
// for each level below the host's; 0 when it is gone.
inline int pid_namespace_depth(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("NSpid:", 0) != 0) continue;
    std::istringstream pids(line.substr(6));
    int depth = 0;
    for (pid_t one; pids >> one;) ++depth;
    return depth;
  }
  return 0;
}

}  // namespace hutch::subcontainer::test
