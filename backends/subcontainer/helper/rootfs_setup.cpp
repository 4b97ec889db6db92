#include "rootfs_setup.hpp"

#include "fail.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <string_view>

namespace hutch::subcontainer::helper {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

std::string relative(const std::string& target) {
  auto start = target.find_first_not_of('/');
  return start == std::string::npos ? std::string(".") : target.substr(start);
}

int open_in_root(int root_fd, const std::string& path, std::uint64_t flags) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root_fd, relative(path).c_str(), &how, sizeof how));
}

// mkdir -p inside the root; every component resolved in the root.
void make_directories(int root_fd, const std::string& path) {
  std::string rel = relative(path);
  if (rel == ".") return;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = rel.find('/', pos + 1);
    std::string prefix = rel.substr(0, pos);
    int fd = open_in_root(root_fd, prefix, O_PATH | O_DIRECTORY);
    if (fd >= 0) {
      ::close(fd);
      continue;
    }
    if (errno != ENOENT) fail_errno("open mount point parent", prefix.c_str());
    auto slash = prefix.rfind('/');
    std::string parent = slash == std::string::npos ? "." : prefix.substr(0, slash);
    std::string name = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
    Fd parent_fd(open_in_root(root_fd, parent, O_PATH | O_DIRECTORY));
    if (parent_fd.get() < 0) fail_errno("open", parent.c_str());
    if (::mkdirat(parent_fd.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
      fail_errno("mkdir mount point", prefix.c_str());
  }
}

void make_file(int root_fd, const std::string& path) {
  std::string rel = relative(path);
  auto slash = rel.rfind('/');
  if (slash != std::string::npos) make_directories(root_fd, rel.substr(0, slash));
  std::string parent = slash == std::string::npos ? "." : rel.substr(0, slash);
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  Fd parent_fd(open_in_root(root_fd, parent, O_PATH | O_DIRECTORY));
  if (parent_fd.get() < 0) fail_errno("open", parent.c_str());
  int fd = ::openat(parent_fd.get(), name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EISDIR) fail_errno("create file mount point", path.c_str());
  if (fd >= 0) ::close(fd);
}

// Attaches a detached copy of host `source` on `target` (inside the root), read-only
// (recursively, submounts included) when asked. The copy is made read-only before it is
// attached, so it is never visible writable.
void bind_host_path(int root_fd, const std::string& source, const std::string& target, bool read_only,
                    int prepared_tree = -1) {
  Fd tree(prepared_tree >= 0 ? prepared_tree
                             : static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, source.c_str(),
                                                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
  if (tree.get() < 0) fail_errno("open_tree", source.c_str());
  if (read_only && prepared_tree < 0) {
    mount_attr attr{};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (::syscall(SYS_mount_setattr, tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
      fail_errno("make read-only", source.c_str());
  }
  Fd target_fd(open_in_root(root_fd, target, O_PATH));
  if (target_fd.get() < 0) fail_errno("open mount point", target.c_str());
  if (::syscall(SYS_move_mount, tree.get(), "", target_fd.get(), "",
                MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    fail_errno("attach bind mount on", target.c_str());
}

void mount_fs_at(int root_fd, const std::string& target, const char* type, unsigned long flags,
                 const std::string& options) {
  Fd target_fd(open_in_root(root_fd, target, O_PATH | O_DIRECTORY));
  if (target_fd.get() < 0) fail_errno("open mount point", target.c_str());
  if (::mount(type, fd_path(target_fd.get()).c_str(), type, flags,
              options.empty() ? nullptr : options.c_str()) != 0)
    fail_errno((std::string("mount ") + type + " on").c_str(), target.c_str());
}

void set_read_only(int fd, unsigned int at_flags, const char* what) {
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (::syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | at_flags, &attr, sizeof attr) != 0)
    fail_errno("make read-only", what);
}

}  // namespace

void make_mounts_private() {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    fail_errno("make mounts private");
}

// Attached, not handed to overlayfs as /proc/self/fd paths: overlayfs clones each layer's
// mount (clone_private_mount), which older kernels, Debian 12's 6.1 among them, allow only for
// a mount attached in the caller's own mount namespace. Idmapped lower layers need 5.19.
void attach_lower_layers(const Plan& plan) {
  for (const auto& lower : plan.lower) {
    if (lower.prepared_tree < 0) continue;
    Fd tree(lower.prepared_tree);
    if (::syscall(SYS_move_mount, tree.get(), "", AT_FDCWD, lower.mount_point.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
      fail_errno("attach the image layer on", lower.mount_point.c_str());
  }
}

int mount_root_overlay(const Plan& plan) {
  std::string options = "lowerdir=";
  for (std::size_t i = 0; i < plan.lower.size(); ++i)
    options += (i ? ":" : "") + (plan.lower[i].mount_point.empty() ? plan.lower[i].dir : plan.lower[i].mount_point);
  // userxattr: a user namespace may not write trusted.* xattrs; overlay keeps its metadata
  // in user.overlay.* instead.
  options += ",upperdir=" + plan.upper + ",workdir=" + plan.work + ",userxattr";
  // volatile: no sync of the upper filesystem, above all none when the overlay is unmounted as
  // the sandbox dies (a sync and a disk flush: 3-7 ms of every destroy here). Durability of
  // the root filesystem buys nothing: a sandbox does not survive a host crash (its leader is
  // gone and prune removes it); what must persist lives in volumes, which are bind mounts.
  // Kernels before 5.10 do not know the option and mount without it.
  if (::mount("overlay", plan.root.c_str(), "overlay", MS_NOSUID | MS_NODEV, (options + ",volatile").c_str()) != 0 &&
      (errno != EINVAL ||
       ::mount("overlay", plan.root.c_str(), "overlay", MS_NOSUID | MS_NODEV, options.c_str()) != 0))
    fail_errno("mount overlay root on", plan.root.c_str());
  int fd = ::open(plan.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno("open root", plan.root.c_str());
  return fd;
}

void create_mount_points(int root_fd, const Plan& plan) {
  int tmp = open_in_root(root_fd, "/tmp", O_PATH | O_DIRECTORY);
  if (tmp >= 0) {
    ::close(tmp);
  } else {
    // An image without /tmp gets the usual world-writable sticky one.
    make_directories(root_fd, "/tmp");
    if (::fchmodat(root_fd, "tmp", 01777, 0) != 0) fail_errno("chmod /tmp");
  }
  for (const char* dir : {"/proc", "/dev"}) make_directories(root_fd, dir);
  for (const auto& bind : plan.binds) {
    if (bind.is_file)
      make_file(root_fd, bind.target);
    else
      make_directories(root_fd, bind.target);
  }
  for (const auto& tmpfs : plan.tmpfs) make_directories(root_fd, tmpfs.target);
}

void mount_binds(int root_fd, const Plan& plan) {
  for (const auto& bind : plan.binds)
    bind_host_path(root_fd, bind.source, bind.target, bind.read_only, bind.prepared_tree);
  for (const auto& tmpfs : plan.tmpfs) {
    std::string options = "mode=755";
    if (tmpfs.size) options += ",size=" + std::to_string(tmpfs.size);
    mount_fs_at(root_fd, tmpfs.target, "tmpfs", MS_NOSUID | MS_NODEV | (tmpfs.read_only ? MS_RDONLY : 0),
                options);
  }
}

void mount_proc(int root_fd) {
  mount_fs_at(root_fd, "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "");
}

void mount_minimal_dev(int root_fd) {
  mount_fs_at(root_fd, "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1m");
  // Everything below is made in that fresh, empty tmpfs, through one fd of it: no path of the
  // image is involved any more, so nothing needs resolving inside the root.
  Fd dev(open_in_root(root_fd, "/dev", O_PATH | O_DIRECTORY));
  if (dev.get() < 0) fail_errno("open /dev");
  // Device nodes cannot be created in a user namespace: bind the host's harmless ones.
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string source = std::string("/dev/") + node;
    int file = ::openat(dev.get(), node, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (file < 0) fail_errno("create mount point", source.c_str());
    ::close(file);
    Fd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)));
    if (tree.get() < 0) fail_errno("open_tree", source.c_str());
    if (::syscall(SYS_move_mount, tree.get(), "", dev.get(), node, MOVE_MOUNT_F_EMPTY_PATH) != 0)
      fail_errno("attach bind mount on", source.c_str());
  }
  for (const char* dir : {"pts", "shm"})
    if (::mkdirat(dev.get(), dir, 0755) != 0) fail_errno("mkdir /dev/", dir);
  mount_fs_at(root_fd, "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620");
  mount_fs_at(root_fd, "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
  const char* links[][2] = {{"pts/ptmx", "ptmx"},       {"/proc/self/fd", "fd"},
                            {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
                            {"/proc/self/fd/2", "stderr"}};
  for (auto& link : links)
    if (::symlinkat(link[0], dev.get(), link[1]) != 0) fail_errno("symlink /dev/", link[1]);
}

void mount_tmp(int root_fd) {
  mount_fs_at(root_fd, "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

void copy_host_network_files(int root_fd) {
  for (const char* path : {"/etc/resolv.conf", "/etc/hosts"}) {
    // Read whole (they are small) before anything is written: the host's file may be a
    // symlink (systemd-resolved), which open follows on the host's side, as it should.
    std::string content;
    {
      Fd host(::open(path, O_RDONLY | O_CLOEXEC));
      if (host.get() < 0) continue;  // the host has none: the image's stays
      char buffer[4096];
      for (;;) {
        const ssize_t got = ::read(host.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail_errno("read the host's", path);
        if (got == 0) break;
        content.append(buffer, static_cast<std::size_t>(got));
        if (content.size() > (1u << 20)) fail("the host's file is larger than 1 MiB:", path);
      }
    }
    write_root_file(root_fd, path, content);
  }
}

void write_root_file(int root_fd, const char* path, const std::string& content) {
  const std::string file = path;
  make_directories(root_fd, file.substr(0, file.rfind('/')));
  open_how how{};
  how.flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
  how.mode = 0644;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  Fd copy(static_cast<int>(::syscall(SYS_openat2, root_fd, relative(path).c_str(), &how, sizeof how)));
  if (copy.get() < 0) fail_errno("write the sandbox's", path);
  std::string_view rest = content;
  while (!rest.empty()) {
    const ssize_t put = ::write(copy.get(), rest.data(), rest.size());
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) fail_errno("write the sandbox's", path);
    rest.remove_prefix(static_cast<std::size_t>(put));
  }
}

void make_root_read_only(int root_fd) { set_read_only(root_fd, 0, "/"); }

void pivot_into(int root_fd) {
  if (::fchdir(root_fd) != 0) fail_errno("chdir into the new root");
  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves only the
  // sandbox's tree (the trick runc uses; no temporary directory needed).
  if (::syscall(SYS_pivot_root, ".", ".") != 0) fail_errno("pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) fail_errno("detach the old root");
  if (::chdir("/") != 0) fail_errno("chdir /");
}

}  // namespace hutch::subcontainer::helper
