// hutch::Fs over a sandbox root fd; see root_fs.hpp for the resolution rules.
#include "root_fs.hpp"

#include "scoped_fs_ids.hpp"

#include <hutch/error.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace hutch::subcontainer {

namespace {

constexpr std::uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
constexpr std::uint32_t kOverflowId = 65534;

int sys_openat2(int dir_fd, const char* path, std::uint64_t flags, std::uint64_t mode) {
  struct open_how how {};
  how.flags = flags;
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
  throw Error(errc_for(err), "sandbox fs: cannot " + what + " '" + path + "': " + std::strerror(err));
}

[[noreturn]] void refuse_special_file(const std::string& what, const std::string& path) {
  throw Error(Errc::invalid_argument,
              "sandbox fs: cannot " + what + " '" + path + "': not a regular file (a FIFO, device or socket)");
}

FileType type_of(mode_t mode) {
  if (S_ISREG(mode)) return FileType::regular;
  if (S_ISDIR(mode)) return FileType::directory;
  if (S_ISLNK(mode)) return FileType::symlink;
  return FileType::other;
}

void write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t put = ::write(fd, data.data(), data.size());
    if (put < 0) {
      if (errno == EINTR) continue;
      fail("write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(put));
  }
}

}  // namespace

RootFs::RootFs(UniqueFd root, uid_t owner_uid, gid_t owner_gid, std::uint32_t id_count)
    : root_(std::move(root)), owner_uid_(owner_uid), owner_gid_(owner_gid), id_count_(id_count) {
  if (!root_) throw Error(Errc::invalid_argument, "sandbox fs: no root directory fd given");
}

UniqueFd RootFs::open_in_root(const std::string& path, int flags, mode_t mode) const {
  const std::string clean = normalize_sandbox_path(path);
  // "/" relative to the root fd: openat2 treats the leading slash as the root itself.
  const int fd = sys_openat2(root_.get(), clean.c_str(), static_cast<std::uint64_t>(flags | O_CLOEXEC), mode);
  if (fd < 0) fail("open", clean, errno);
  return UniqueFd(fd);
}

RootFs::Parent RootFs::open_parent(const std::string& path) const {
  const std::string clean = normalize_sandbox_path(path);
  const auto slash = clean.rfind('/');
  std::string name = clean.substr(slash + 1);
  if (name.empty() || name == "." || name == "..")
    throw Error(Errc::invalid_argument,
                "sandbox fs: path '" + clean + "' names no entry (it is the root or ends in '..')");
  const std::string parent = slash == 0 ? "/" : clean.substr(0, slash);
  return Parent{open_in_root(parent, O_PATH | O_DIRECTORY), std::move(name)};
}

std::uint32_t RootFs::inside_uid(std::uint32_t host) const {
  return host >= owner_uid_ && host - owner_uid_ < id_count_ ? host - owner_uid_ : kOverflowId;
}

std::uint32_t RootFs::inside_gid(std::uint32_t host) const {
  return host >= owner_gid_ && host - owner_gid_ < id_count_ ? host - owner_gid_ : kOverflowId;
}

FileStat RootFs::stat_at(int dir_fd, const std::string& name, const std::string& path) const {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0)
    fail("stat", path, errno);
  FileStat out;
  out.type = type_of(st.st_mode);
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.mode = st.st_mode & 07777;
  out.uid = inside_uid(st.st_uid);
  out.gid = inside_gid(st.st_gid);
  out.mtime = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
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

void RootFs::read_stream(const std::string& path, const ChunkSink& sink) {
  // Without blocking, and then only a regular file: a FIFO made in the sandbox would hold this
  // (host) process until some writer came, and the devices of its /dev are the host's own.
  const UniqueFd fd = open_in_root(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("stat", path, errno);
  if (S_ISDIR(st.st_mode)) fail("read", path, EISDIR);
  if (!S_ISREG(st.st_mode)) refuse_special_file("read", path);
  std::vector<char> buffer(kChunkSize);
  for (;;) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      fail("read", path, errno);
    }
    if (got == 0 || !sink(std::string_view(buffer.data(), static_cast<std::size_t>(got)))) return;
  }
}

void RootFs::write_stream(const std::string& path, const ChunkSource& source, std::uint32_t mode) {
  (void)open_parent(path);  // rejects "/" and a trailing ".." with a clear message
  const std::string clean = normalize_sandbox_path(path);
  const UniqueFd file = open_for_writing(clean, mode & 07777);
  // Written with the caller's own ids: `source` may read host files.
  for (std::string_view chunk = source(); !chunk.empty(); chunk = source()) write_all(file.get(), chunk, clean);
}

UniqueFd RootFs::open_for_writing(const std::string& clean, mode_t mode) const {
  const ScopedFsIds as_root_inside(owner_uid_, owner_gid_, clean);
  // Created through the full path so a trailing symlink is followed inside the root, like a
  // shell redirect in the sandbox would.
  int fd = sys_openat2(root_.get(), clean.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0 && errno == EEXIST) {
    // An existing file: opened without blocking (a FIFO without a reader fails with ENXIO
    // instead of waiting for one) and without truncating it before it is known to be a
    // regular file.
    fd = sys_openat2(root_.get(), clean.c_str(), O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
    if (fd < 0 && errno == ENOENT) {
      // A dangling symlink: create its target (inside the root), as a shell redirect would.
      fd = sys_openat2(root_.get(), clean.c_str(), O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, mode);
    }
    if (fd < 0 && errno == ENXIO) refuse_special_file("write", clean);
  }
  if (fd < 0) fail("create", clean, errno);
  UniqueFd file(fd);
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) fail("stat", clean, errno);
  if (!S_ISREG(st.st_mode)) refuse_special_file("write", clean);
  if (::ftruncate(file.get(), 0) != 0) fail("truncate", clean, errno);
  // Regular files ignore O_NONBLOCK; cleared all the same, for the writes that follow.
  ::fcntl(file.get(), F_SETFL, ::fcntl(file.get(), F_GETFL) & ~O_NONBLOCK);
  // O_CREAT applies the umask, and an existing file keeps its old bits otherwise.
  if (::fchmod(file.get(), mode) != 0) fail("chmod", clean, errno);
  return file;
}

void RootFs::mkdir(const std::string& path, bool parents, std::uint32_t mode) {
  const std::string clean = normalize_sandbox_path(path);
  if (clean == "/") {
    if (parents) return;
    fail("create directory", clean, EEXIST);
  }
  const ScopedFsIds as_root_inside(owner_uid_, owner_gid_, clean);
  if (parents) {
    // Each prefix is resolved from the root, so a symlinked component stays confined.
    for (std::size_t pos = clean.find('/', 1); pos != std::string::npos; pos = clean.find('/', pos + 1))
      make_directory(clean.substr(0, pos), mode, /*exist_ok=*/true);
  }
  make_directory(clean, mode, parents);
}

void RootFs::make_directory(const std::string& clean, std::uint32_t mode, bool exist_ok) const {
  const Parent parent = open_parent(clean);
  if (::mkdirat(parent.dir.get(), parent.name.c_str(), mode & 07777) != 0) {
    const int err = errno;
    if (err == EEXIST && exist_ok) {
      // An existing directory, or a symlink to one inside the root, satisfies mkdir -p.
      const int dir = sys_openat2(root_.get(), clean.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
      if (dir >= 0) {
        ::close(dir);
        return;
      }
    }
    fail("create directory", clean, err);
  }
  // mkdirat applies the umask; the caller asked for exactly these bits.
  const UniqueFd dir(::openat(parent.dir.get(), parent.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir || ::fchmod(dir.get(), mode & 07777) != 0) fail("chmod", clean, errno);
}

std::vector<DirEntry> RootFs::list(const std::string& path) {
  const std::string clean = normalize_sandbox_path(path);
  const UniqueDir dir = open_dir_stream(open_in_root(clean, O_RDONLY | O_DIRECTORY));
  if (!dir) fail("list", clean, errno);
  const int dir_fd = ::dirfd(dir.get());
  std::vector<DirEntry> entries;
  errno = 0;
  while (dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..")
      entries.push_back({name, stat_at(dir_fd, name, clean == "/" ? "/" + name : clean + "/" + name)});
    errno = 0;
  }
  if (errno != 0) fail("list", clean, errno);
  std::sort(entries.begin(), entries.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

FileStat RootFs::stat(const std::string& path) {
  const std::string clean = normalize_sandbox_path(path);
  if (clean == "/") return stat_at(root_.get(), "", clean);
  const Parent parent = open_parent(clean);
  return stat_at(parent.dir.get(), parent.name, clean);
}

namespace {

// rm -r below an open directory; never follows symlinks (unlinkat removes the link itself).
void remove_children(int dir_fd, const std::string& shown) {
  UniqueFd listing_fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!listing_fd) fail("open", shown, errno);
  const UniqueDir dir = open_dir_stream(std::move(listing_fd));
  if (!dir) fail("list", shown, errno);
  std::vector<std::pair<std::string, bool>> children;
  while (dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") children.emplace_back(name, entry->d_type == DT_DIR);
  }
  for (const auto& [name, is_dir_hint] : children) {
    const std::string child_path = shown + "/" + name;
    bool is_dir = is_dir_hint;
    if (!is_dir) {
      struct stat st {};
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) is_dir = S_ISDIR(st.st_mode);
    }
    if (is_dir) {
      const UniqueFd child(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child) fail("open", child_path, errno);
      remove_children(child.get(), child_path);
      if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0) fail("remove", child_path, errno);
    } else if (::unlinkat(dir_fd, name.c_str(), 0) != 0) {
      fail("remove", child_path, errno);
    }
  }
}

}  // namespace

void RootFs::remove(const std::string& path, bool recursive) {
  const std::string clean = normalize_sandbox_path(path);
  if (clean == "/") throw Error(Errc::invalid_argument, "sandbox fs: refusing to remove the root directory");
  const Parent parent = open_parent(clean);
  const ScopedFsIds as_root_inside(owner_uid_, owner_gid_, clean);
  struct stat st {};
  if (::fstatat(parent.dir.get(), parent.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail("remove", clean, errno);
  if (S_ISDIR(st.st_mode)) {
    if (recursive) {
      const UniqueFd dir(::openat(parent.dir.get(), parent.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dir) fail("open", clean, errno);
      remove_children(dir.get(), clean);
    }
    if (::unlinkat(parent.dir.get(), parent.name.c_str(), AT_REMOVEDIR) != 0) fail("remove", clean, errno);
    return;
  }
  if (::unlinkat(parent.dir.get(), parent.name.c_str(), 0) != 0) fail("remove", clean, errno);
}

void RootFs::rename(const std::string& from, const std::string& to) {
  const Parent source = open_parent(from);
  const Parent target = open_parent(to);
  const ScopedFsIds as_root_inside(owner_uid_, owner_gid_, normalize_sandbox_path(to));
  if (::renameat(source.dir.get(), source.name.c_str(), target.dir.get(), target.name.c_str()) != 0)
    fail("rename '" + normalize_sandbox_path(from) + "' to", normalize_sandbox_path(to), errno);
}

void RootFs::symlink(const std::string& target, const std::string& path) {
  if (target.empty() || target.find('\0') != std::string::npos)
    throw Error(Errc::invalid_argument, "sandbox fs: symlink target for '" + path + "' is empty or has a NUL byte");
  const Parent parent = open_parent(path);
  const std::string clean = normalize_sandbox_path(path);
  const ScopedFsIds as_root_inside(owner_uid_, owner_gid_, clean);
  if (::symlinkat(target.c_str(), parent.dir.get(), parent.name.c_str()) != 0) fail("create symlink", clean, errno);
}

}  // namespace hutch::subcontainer
