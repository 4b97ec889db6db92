#include "idmapped_mounts.hpp"

#include "fail.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

namespace hutch::subcontainer::helper {
namespace {

bool write_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int error = errno;
  ::close(fd);
  errno = error;
  return ok;
}

// The stack of the child below: it only ever sits in pause(), and there is one at a time.
alignas(16) char carrier_stack[16 * 1024];

int carry_namespace(void*) {
  for (;;) ::syscall(SYS_pause);
}

// A user namespace whose only purpose is to carry `map` (for uids and gids alike): a child is
// cloned into it, we write its maps, keep a reference to the namespace, end the child. The
// child shares our memory (CLONE_VM: nothing to copy) and the namespace exists when clone
// returns, so we never wait for the child to be scheduled, which on a loaded host costs
// milliseconds.
int userns_with_map(const IdMapLine& map) {
  pid_t child = ::clone(carry_namespace, carrier_stack + sizeof carrier_stack, CLONE_NEWUSER | CLONE_VM | SIGCHLD,
                        nullptr);
  if (child < 0) fail_errno("clone the user namespace of an idmapped mount");
  std::string prefix = "/proc/" + std::to_string(child) + "/";
  std::string line = std::to_string(map.inside) + " " + std::to_string(map.outside) + " " + std::to_string(map.count) + "\n";
  const bool mapped = write_file(prefix + "uid_map", line) && write_file(prefix + "gid_map", line);
  const int fd = mapped ? ::open((prefix + "ns/user").c_str(), O_RDONLY | O_CLOEXEC) : -1;
  const int error = errno;
  // Ended before any failure is reported: it would otherwise outlive us.
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  errno = error;
  if (!mapped) fail_errno("write the map of an idmapped mount:", line.c_str());
  if (fd < 0) fail_errno("open idmap user namespace");
  return fd;
}

// The user namespaces that carry the maps, one per distinct map, closed when done.
class MapNamespaces {
 public:
  MapNamespaces() = default;
  MapNamespaces(const MapNamespaces&) = delete;
  MapNamespaces& operator=(const MapNamespaces&) = delete;
  ~MapNamespaces() {
    for (auto& entry : made_) ::close(entry.second);
  }
  int get(const IdMapLine& map) {
    for (auto& entry : made_)
      if (entry.first.inside == map.inside && entry.first.outside == map.outside && entry.first.count == map.count)
        return entry.second;
    made_.emplace_back(map, userns_with_map(map));
    return made_.back().second;
  }

 private:
  std::vector<std::pair<IdMapLine, int>> made_;
};

// A detached copy of `source` (with its submounts when `recursive`), read-only when asked and
// idmapped when `map` has ids; the copy is never visible without its attributes.
int detached_copy(const std::string& source, bool recursive, bool read_only, const IdMapLine& map,
                  MapNamespaces& namespaces) {
  int tree = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, source.c_str(),
                                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0)));
  if (tree < 0) fail_errno("open_tree", source.c_str());
  mount_attr attr{};
  attr.attr_set = (map.count != 0 ? MOUNT_ATTR_IDMAP : 0) | (read_only ? MOUNT_ATTR_RDONLY : 0);
  if (map.count != 0) attr.userns_fd = static_cast<unsigned long long>(namespaces.get(map));
  if (attr.attr_set != 0 &&
      ::syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) != 0)
    fail_errno(map.count != 0 ? "idmap the mount of" : "make read-only", source.c_str());
  return tree;
}

}  // namespace

void prepare_detached_mounts(Plan& plan) {
  MapNamespaces namespaces;
  for (auto& bind : plan.binds)
    if (bind.idmap.count != 0)
      bind.prepared_tree = detached_copy(bind.source, /*recursive=*/true, bind.read_only, bind.idmap, namespaces);
  // A layer is one directory of the store (or a rootfs directory): no submounts to carry.
  for (auto& lower : plan.lower)
    if (!lower.mount_point.empty())
      lower.prepared_tree = detached_copy(lower.dir, /*recursive=*/false, /*read_only=*/true, lower.idmap, namespaces);
}

}  // namespace hutch::subcontainer::helper
