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

namespace hutch::subcontainer::helper {
namespace {

void write_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    fail_errno("write idmap", path.c_str());
  ::close(fd);
}

// A user namespace whose only purpose is to carry `map` (for uids and gids alike): a child
// unshares it and waits; we write its maps, keep a reference to the namespace, end the child.
int userns_with_map(const IdMapLine& map) {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) fail_errno("pipe");
  pid_t child = ::fork();
  if (child < 0) fail_errno("fork for idmap user namespace");
  if (child == 0) {
    ::close(ready[0]);
    if (::unshare(CLONE_NEWUSER) != 0) ::_exit(1);
    (void)!::write(ready[1], "1", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte;
  bool ok = ::read(ready[0], &byte, 1) == 1;
  ::close(ready[0]);
  if (!ok) fail("could not create the user namespace of an idmapped mount");
  std::string prefix = "/proc/" + std::to_string(child) + "/";
  std::string line = std::to_string(map.inside) + " " + std::to_string(map.outside) + " " + std::to_string(map.count) + "\n";
  write_file(prefix + "uid_map", line);
  write_file(prefix + "gid_map", line);
  int fd = ::open((prefix + "ns/user").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_errno("open idmap user namespace");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  return fd;
}

}  // namespace

void prepare_idmapped_binds(Plan& plan) {
  for (auto& bind : plan.binds) {
    if (bind.idmap.count == 0) continue;
    int userns = userns_with_map(bind.idmap);
    int tree = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, bind.source.c_str(),
                                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (tree < 0) fail_errno("open_tree", bind.source.c_str());
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_IDMAP | (bind.read_only ? MOUNT_ATTR_RDONLY : 0);
    attr.userns_fd = static_cast<unsigned long long>(userns);
    if (::syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
      fail_errno("idmap the mount of", bind.source.c_str());
    ::close(userns);
    bind.prepared_tree = tree;
  }
}

}  // namespace hutch::subcontainer::helper
