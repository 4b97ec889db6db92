// The sandbox's files below its root fd; see root_tree.hpp for the rules.
#include "sandbox_fs/root_tree.hpp"

#include "sandbox_fs/kernel_filesystems.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace hutch::subcontainer {

using agent::UniqueDir;
using agent::UniqueFd;

namespace {

constexpr std::uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
// As many symlinks as the kernel follows in one path (MAXSYMLINKS), for the final component
// of a write that the tree follows itself.
constexpr int kMaxFinalLinks = 40;

int sys_openat2(int dir_fd, const char* path, std::uint64_t flags, std::uint64_t mode) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = kResolve;
  for (;;) {
    const long fd = ::syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) return static_cast<int>(fd);
    // EAGAIN: a concurrent rename raced the resolution; the kernel asks for a retry.
  }
}

Errc errc_for(int err) {
  switch (err) {
    case ENOENT: return Errc::not_found;
    case EEXIST:
    case ENOTEMPTY: return Errc::already_exists;
    case EACCES:
    case EPERM:
    case EXDEV:
    case EROFS: return Errc::permission_denied;
    case ENOTDIR:
    case EISDIR:
    case EINVAL:
    case ELOOP:
    case ENAMETOOLONG: return Errc::invalid_argument;
    default: return Errc::io;
  }
}

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw TreeError(errc_for(err), "sandbox fs: cannot " + what + " '" + path + "': " + std::strerror(err));
}

[[noreturn]] void refuse_special_file(const std::string& what, const std::string& path) {
  throw TreeError(Errc::invalid_argument,
                  "sandbox fs: cannot " + what + " '" + path + "': not a regular file (a FIFO, device or socket)");
}

// The host normalizes paths (normalize_sandbox_path); this only refuses what could change the
// meaning of a path given to openat2.
void check_path(const std::string& path) {
  if (path.empty() || path.front() != '/')
    throw TreeError(Errc::invalid_argument, "sandbox fs: path '" + path + "' must be absolute (start with '/')");
  if (path.find('\0') != std::string::npos)
    throw TreeError(Errc::invalid_argument, "sandbox fs: path contains a NUL byte");
}

FileType type_of(mode_t mode) {
  if (S_ISREG(mode)) return FileType::regular;
  if (S_ISDIR(mode)) return FileType::directory;
  if (S_ISLNK(mode)) return FileType::symlink;
  return FileType::other;
}

FileStat stat_at(int dir_fd, const std::string& name, const std::string& path) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0) fail("stat", path, errno);
  FileStat out;
  out.type = type_of(st.st_mode);
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.mode = st.st_mode & 07777;
  out.uid = st.st_uid;
  out.gid = st.st_gid;
  out.mtime = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
    const ssize_t length = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
    if (length < 0) fail("read link", path, errno);
    target.resize(static_cast<std::size_t>(length));
    out.link_target = std::move(target);
  }
  return out;
}

std::string read_link(int dir_fd, const std::string& name, const std::string& path) {
  std::string target(4096, '\0');
  const ssize_t length = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
  if (length < 0) fail("read link", path, errno);
  target.resize(static_cast<std::size_t>(length));
  return target;
}

}  // namespace

RootTree::RootTree(UniqueFd root) : root_(std::move(root)) {
  if (!root_) throw TreeError(Errc::invalid_argument, "sandbox fs: no root directory fd given");
  own_fds_ = UniqueFd(::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!own_fds_) fail("open", "/proc/self/fd", errno);
  int error = 0;
  const char* filesystem = kernel_filesystem_of(own_fds_.get(), error);
  if (filesystem == nullptr || std::strcmp(filesystem, "proc") != 0)
    throw TreeError(Errc::backend, "sandbox fs: /proc/self/fd of the fs helper is not on procfs");
}

UniqueFd RootTree::open_in_root(const std::string& path, int flags, mode_t mode) const {
  check_path(path);
  // "/" relative to the root fd: openat2 treats the leading slash as the root itself.
  const int fd = sys_openat2(root_.get(), path.c_str(), static_cast<std::uint64_t>(flags), mode);
  if (fd < 0) fail("open", path, errno);
  return UniqueFd(fd);
}

RootTree::Parent RootTree::open_parent(const std::string& path) const {
  check_path(path);
  const auto slash = path.rfind('/');
  std::string name = path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..")
    throw TreeError(Errc::invalid_argument,
                    "sandbox fs: path '" + path + "' names no entry (it is the root or ends in '..')");
  std::string parent = slash == 0 ? "/" : path.substr(0, slash);
  UniqueFd dir = open_in_root(parent, O_PATH | O_DIRECTORY);
  return Parent{std::move(dir), std::move(parent), std::move(name)};
}

void RootTree::refuse_kernel_filesystem(int fd, const char* what, const std::string& path) const {
  int error = 0;
  const char* filesystem = kernel_filesystem_of(fd, error);
  if (error != 0) fail("check the filesystem of", path, error);
  if (filesystem != nullptr)
    throw TreeError(Errc::permission_denied, "sandbox fs: refusing to " + std::string(what) + " '" + path + "': it is on " +
                                                 filesystem + ", a kernel interface filesystem; host-side file "
                                                 "operations never open files there");
}

UniqueFd RootTree::resolve_file(const std::string& path, const char* what) const {
  UniqueFd fd = open_in_root(path, O_PATH);
  refuse_kernel_filesystem(fd.get(), what, path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("stat", path, errno);
  if (S_ISDIR(st.st_mode)) fail(what, path, EISDIR);
  if (!S_ISREG(st.st_mode)) refuse_special_file(what, path);
  return fd;
}

UniqueFd RootTree::reopen(const UniqueFd& checked, int flags, const std::string& path) const {
  // The magic link /proc/self/fd/N leads to exactly the checked file, wherever its path now goes.
  const std::string link = std::to_string(checked.get());
  UniqueFd fd(::openat(own_fds_.get(), link.c_str(), flags | O_CLOEXEC));
  if (!fd) fail("open", path, errno);
  return fd;
}

UniqueFd RootTree::open_for_reading(const std::string& path) const {
  return reopen(resolve_file(path, "read"), O_RDONLY | O_NONBLOCK | O_NOCTTY, path);
}

UniqueFd RootTree::open_existing_for_writing(const UniqueFd& checked, mode_t mode, const std::string& path) const {
  UniqueFd file = reopen(checked, O_WRONLY | O_NONBLOCK | O_NOCTTY, path);
  if (::ftruncate(file.get(), 0) != 0) fail("truncate", path, errno);
  // Regular files ignore O_NONBLOCK but for leases; cleared for the writes that follow.
  ::fcntl(file.get(), F_SETFL, ::fcntl(file.get(), F_GETFL) & ~O_NONBLOCK);
  // An existing file keeps its old bits otherwise.
  if (::fchmod(file.get(), mode) != 0) fail("chmod", path, errno);
  return file;
}

UniqueFd RootTree::open_for_writing(const std::string& path, mode_t mode) const {
  // `current` walks the final symlinks, if any; messages name the path the caller gave.
  std::string current = path;
  for (int links = 0;;) {
    const Parent parent = open_parent(current);
    refuse_kernel_filesystem(parent.dir.get(), "write", path);
    // A new file, made right in the checked directory; O_EXCL never follows a symlink.
    UniqueFd created(::openat(parent.dir.get(), parent.name.c_str(),
                              O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode));
    if (created) {
      ::fcntl(created.get(), F_SETFL, ::fcntl(created.get(), F_GETFL) & ~O_NONBLOCK);
      // O_CREAT applied the umask.
      if (::fchmod(created.get(), mode) != 0) fail("chmod", path, errno);
      return created;
    }
    if (errno != EEXIST) fail("create", path, errno);
    // Something is there: a file (or a chain of links to one) is checked and reopened.
    const int existing = sys_openat2(root_.get(), current.c_str(), O_PATH, 0);
    if (existing >= 0) {
      const UniqueFd reached(existing);
      refuse_kernel_filesystem(reached.get(), "write", path);
      struct stat st {};
      if (::fstat(reached.get(), &st) != 0) fail("stat", path, errno);
      if (S_ISDIR(st.st_mode)) fail("write", path, EISDIR);
      if (!S_ISREG(st.st_mode)) refuse_special_file("write", path);
      return open_existing_for_writing(reached, mode, path);
    }
    if (errno != ENOENT) fail("open", path, errno);
    // A dangling symlink (or the entry went meanwhile): its target is created, one link at a
    // time, each from its own checked directory.
    struct stat st {};
    if (::fstatat(parent.dir.get(), parent.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      if (++links > kMaxFinalLinks) fail("create", path, ELOOP);
      const std::string target = read_link(parent.dir.get(), parent.name, path);
      if (target.empty()) fail("create", path, ENOENT);
      // Relative targets start at the link's directory, as the kernel resolves them.
      current = target.front() == '/' ? target : (parent.path == "/" ? "" : parent.path) + "/" + target;
    } else if (++links > kMaxFinalLinks) {
      fail("create", path, ENOENT);  // the entry keeps vanishing and coming back
    }
  }
}

void RootTree::mkdir(const std::string& path, bool parents, mode_t mode) const {
  check_path(path);
  if (path == "/") {
    if (parents) return;
    fail("create directory", path, EEXIST);
  }
  if (parents) {
    // Each prefix is resolved from the root, so a symlinked component stays confined.
    for (std::size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1))
      make_directory(path.substr(0, pos), mode, /*exist_ok=*/true);
  }
  make_directory(path, mode, parents);
}

void RootTree::make_directory(const std::string& path, mode_t mode, bool exist_ok) const {
  const Parent parent = open_parent(path);
  refuse_kernel_filesystem(parent.dir.get(), "create directory", path);
  if (::mkdirat(parent.dir.get(), parent.name.c_str(), mode & 07777) != 0) {
    const int err = errno;
    if (err == EEXIST && exist_ok) {
      // An existing directory, or a symlink to one inside the root, satisfies mkdir -p.
      const int dir = sys_openat2(root_.get(), path.c_str(), O_PATH | O_DIRECTORY, 0);
      if (dir >= 0) {
        ::close(dir);
        return;
      }
    }
    fail("create directory", path, err);
  }
  // mkdirat applied the umask; the caller asked for exactly these bits.
  const UniqueFd dir = open_child_directory(parent.dir.get(), parent.name, "create directory", path);
  if (::fchmod(dir.get(), mode & 07777) != 0) fail("chmod", path, errno);
}

UniqueFd RootTree::open_child_directory(int dir_fd, const std::string& name, const char* what,
                                        const std::string& path) const {
  const UniqueFd reached(::openat(dir_fd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!reached) fail("open", path, errno);
  // A mount point: the sandbox may have mounted anything there.
  refuse_kernel_filesystem(reached.get(), what, path);
  return reopen(reached, O_RDONLY | O_DIRECTORY, path);
}

std::vector<DirEntry> RootTree::list(const std::string& path) const {
  const UniqueFd reached = open_in_root(path, O_PATH | O_DIRECTORY);
  refuse_kernel_filesystem(reached.get(), "list", path);
  const UniqueDir dir = agent::open_dir_stream(reopen(reached, O_RDONLY | O_DIRECTORY, path));
  if (!dir) fail("list", path, errno);
  const int dir_fd = ::dirfd(dir.get());
  std::vector<DirEntry> entries;
  errno = 0;
  while (dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..")
      entries.push_back({name, stat_at(dir_fd, name, path == "/" ? "/" + name : path + "/" + name)});
    errno = 0;
  }
  if (errno != 0) fail("list", path, errno);
  std::sort(entries.begin(), entries.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

FileStat RootTree::stat(const std::string& path) const {
  check_path(path);
  // An lstat opens nothing, on any filesystem.
  if (path == "/") return stat_at(root_.get(), "", path);
  const Parent parent = open_parent(path);
  return stat_at(parent.dir.get(), parent.name, path);
}

// rm -r below an open directory; never follows symlinks (unlinkat removes the link itself).
void RootTree::remove_children(int dir_fd, const std::string& path) const {
  UniqueFd listing_fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!listing_fd) fail("open", path, errno);
  const UniqueDir dir = agent::open_dir_stream(std::move(listing_fd));
  if (!dir) fail("list", path, errno);
  std::vector<std::pair<std::string, bool>> children;
  while (dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") children.emplace_back(name, entry->d_type == DT_DIR);
  }
  for (const auto& [name, is_dir_hint] : children) {
    const std::string child_path = path + "/" + name;
    bool is_dir = is_dir_hint;
    if (!is_dir) {
      struct stat st {};
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) is_dir = S_ISDIR(st.st_mode);
    }
    if (is_dir) {
      const UniqueFd child = open_child_directory(dir_fd, name, "remove", child_path);
      remove_children(child.get(), child_path);
      if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0) fail("remove", child_path, errno);
    } else if (::unlinkat(dir_fd, name.c_str(), 0) != 0) {
      fail("remove", child_path, errno);
    }
  }
}

void RootTree::remove(const std::string& path, bool recursive) const {
  check_path(path);
  if (path == "/") throw TreeError(Errc::invalid_argument, "sandbox fs: refusing to remove the root directory");
  const Parent parent = open_parent(path);
  refuse_kernel_filesystem(parent.dir.get(), "remove", path);
  struct stat st {};
  if (::fstatat(parent.dir.get(), parent.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail("remove", path, errno);
  if (S_ISDIR(st.st_mode)) {
    if (recursive) {
      const UniqueFd dir = open_child_directory(parent.dir.get(), parent.name, "remove", path);
      remove_children(dir.get(), path);
    }
    if (::unlinkat(parent.dir.get(), parent.name.c_str(), AT_REMOVEDIR) != 0) fail("remove", path, errno);
    return;
  }
  if (::unlinkat(parent.dir.get(), parent.name.c_str(), 0) != 0) fail("remove", path, errno);
}

void RootTree::rename(const std::string& from, const std::string& to) const {
  const Parent source = open_parent(from);
  refuse_kernel_filesystem(source.dir.get(), "rename", from);
  const Parent target = open_parent(to);
  refuse_kernel_filesystem(target.dir.get(), "rename", to);
  if (::renameat(source.dir.get(), source.name.c_str(), target.dir.get(), target.name.c_str()) != 0)
    fail("rename '" + from + "' to", to, errno);
}

void RootTree::symlink(const std::string& target, const std::string& path) const {
  if (target.empty() || target.find('\0') != std::string::npos)
    throw TreeError(Errc::invalid_argument, "sandbox fs: symlink target for '" + path + "' is empty or has a NUL byte");
  const Parent parent = open_parent(path);
  refuse_kernel_filesystem(parent.dir.get(), "create symlink", path);
  if (::symlinkat(target.c_str(), parent.dir.get(), parent.name.c_str()) != 0) fail("create symlink", path, errno);
}

}  // namespace hutch::subcontainer
