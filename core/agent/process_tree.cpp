#include "process_tree.hpp"

#include "unique_fd.hpp"

#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace hutch::agent {
namespace {

int g_proc_dir = -1;  // read_processes_through

// Opens `name` ("<pid>/stat", or "." for the table itself) in the process table.
int open_in_proc(const char* name, int flags) {
  if (g_proc_dir >= 0) return ::openat(g_proc_dir, name, flags | O_CLOEXEC);
  return ::openat(AT_FDCWD, (std::string("/proc/") + name).c_str(), flags | O_CLOEXEC);
}

// One process as /proc/<pid>/stat describes it.
struct ProcessStat {
  char state = '?';
  pid_t ppid = 0;
};

// Reads /proc/<pid>/stat; false when the process is gone.
bool read_stat(pid_t pid, ProcessStat& stat) {
  char path[32];
  std::snprintf(path, sizeof path, "%d/stat", pid);
  int fd = open_in_proc(path, O_RDONLY);
  if (fd < 0) return false;
  char buffer[512];
  ssize_t n = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  if (n <= 0) return false;
  buffer[n] = '\0';
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so parse after the
  // last ')'.
  char* close_paren = std::strrchr(buffer, ')');
  int parent = 0;
  if (close_paren == nullptr || std::sscanf(close_paren + 1, " %c %d", &stat.state, &parent) != 2) return false;
  stat.ppid = parent;
  return true;
}

std::vector<pid_t> descendants(pid_t root) {
  std::multimap<pid_t, pid_t> children;
  if (UniqueDir proc = open_dir_stream(UniqueFd(open_in_proc(".", O_RDONLY | O_DIRECTORY)))) {
    while (dirent* entry = ::readdir(proc.get())) {
      pid_t pid = std::atoi(entry->d_name);
      if (pid <= 0) continue;
      ProcessStat stat;
      if (read_stat(pid, stat)) children.emplace(stat.ppid, pid);
    }
  }
  std::vector<pid_t> found;
  std::vector<pid_t> queue{root};
  while (!queue.empty()) {
    pid_t parent = queue.back();
    queue.pop_back();
    auto [begin, end] = children.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      found.push_back(it->second);
      queue.push_back(it->second);
    }
  }
  return found;
}

// The direct children of `pid`, from /proc/<pid>/task/<pid>/children (one read, without a
// walk of the whole table); empty where the kernel lacks that file.
std::vector<pid_t> direct_children(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "%d/task/%d/children", pid, pid);
  std::vector<pid_t> children;
  UniqueFd fd(open_in_proc(path, O_RDONLY));
  if (!fd) return children;
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd.get(), buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<std::size_t>(n));
  for (const char* at = text.c_str(); *at != '\0';) {
    char* end = nullptr;
    const long child = std::strtol(at, &end, 10);
    if (end == at) break;
    if (child > 0) children.push_back(static_cast<pid_t>(child));
    at = end;
  }
  return children;
}

// Sends `signal` to the process group of each direct child of `root` that leads one of its own
// (a command calls setsid()); never to the caller's own group (shared with the agent).
void signal_child_groups(pid_t root, int signal) {
  const pid_t own_group = ::getpgrp();
  for (pid_t child : direct_children(root)) {
    const pid_t group = ::getpgid(child);
    if (group > 0 && group != own_group) ::kill(-group, signal);
  }
}

}  // namespace

void read_processes_through(int proc_dir) { g_proc_dir = proc_dir; }

void signal_tree(pid_t shepherd, int signal) {
  // Before a kill, stop the commands' groups: one kill(2) reaches a whole group at once, so a
  // fork bomb (one group) stops forking there and then, where a walk of the process table would
  // take seconds while it competes with a thousand of the bomb's processes for its sandbox's
  // CPU. Stopped, not killed: a parent that died now would hand its children (one that called
  // setsid, say) to the namespace's init, out of the tree the walk below must find.
  if (signal == SIGKILL) signal_child_groups(shepherd, SIGSTOP);
  // Every pid signalled: a killed process whose parent died first is handed to the namespace's
  // init and leaves the tree, but the caller must still see it gone before it reports the end.
  std::vector<pid_t> signalled;
  for (int round = 0; round < 1000; ++round) {
    bool alive = false;
    for (pid_t pid : descendants(shepherd)) {
      if (::kill(pid, signal) == 0) {
        alive = true;
        signalled.push_back(pid);
      }
    }
    if (signal != SIGKILL || !alive) return;
    // Zombies (killed, not yet reaped) still show up; give them a moment.
    ::usleep(round < 10 ? 200 : 2000);
    bool only_zombies = true;
    for (pid_t pid : signalled) {
      ProcessStat stat;
      if (read_stat(pid, stat) && stat.state != 'Z') only_zombies = false;
    }
    if (only_zombies) return;
  }
}

bool reap_children(pid_t command, int& status) {
  bool ended = false;
  int child_status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &child_status, WNOHANG)) > 0) {
    if (pid == command) {
      status = child_status;
      ended = true;
    }
  }
  return ended;
}

}  // namespace hutch::agent
