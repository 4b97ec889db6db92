// Exact copy of an overlay upper directory; see layer_copy.hpp.
//
// Works on fds (openat/fstatat/mkdirat relative to an open parent) so no path is resolved
// twice, and never follows a symlink inside the tree.
#include "layer_copy.hpp"

#include "unique_fd.hpp"

#include <hutch/error.hpp>

#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace hutch::subcontainer {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw Error(Errc::io, "layer copy: cannot " + what + " '" + path + "': " + std::strerror(err));
}

std::string proc_path(int dir_fd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
}

// The ids inside an xattr value, moved by `shift`: the root id of a namespaced (v3) file
// capability, which says in which user namespace the capability counts, and the uid/gid of
// POSIX ACL entries. Both formats are little-endian on disk and through getxattr.
void shift_ids_in_xattr(const char* key, std::vector<char>& value, const IdShift& shift) {
  if (shift.count == 0) return;
  auto get32 = [&](std::size_t at) {
    std::uint32_t raw;
    std::memcpy(&raw, value.data() + at, 4);
    return le32toh(raw);
  };
  auto put32 = [&](std::size_t at, std::uint32_t id) {
    const std::uint32_t raw = htole32(id);
    std::memcpy(value.data() + at, &raw, 4);
  };
  if (std::strcmp(key, "security.capability") == 0) {
    if (value.size() == sizeof(vfs_ns_cap_data) && (get32(0) & VFS_CAP_REVISION_MASK) == VFS_CAP_REVISION_3)
      put32(offsetof(vfs_ns_cap_data, rootid), shift.uid(get32(offsetof(vfs_ns_cap_data, rootid))));
    return;
  }
  const bool acl = std::strcmp(key, "system.posix_acl_access") == 0 || std::strcmp(key, "system.posix_acl_default") == 0;
  if (!acl) return;
  // A 4-byte version header, then entries of {le16 tag, le16 perm, le32 id}.
  constexpr std::size_t kHeader = 4, kEntry = 8;
  constexpr std::uint16_t kAclUser = 0x02, kAclGroup = 0x08;
  for (std::size_t at = kHeader; at + kEntry <= value.size(); at += kEntry) {
    std::uint16_t tag;
    std::memcpy(&tag, value.data() + at, 2);
    tag = le16toh(tag);
    if (tag == kAclUser) put32(at + 4, shift.uid(get32(at + 4)));
    if (tag == kAclGroup) put32(at + 4, shift.gid(get32(at + 4)));
  }
}

// Copies every xattr of `name` in `from_dir` to `name` in `to_dir`; never follows symlinks.
void copy_xattrs(int from_dir, int to_dir, const std::string& name, const std::string& shown, const IdShift& shift) {
  const std::string src = proc_path(from_dir, name);
  const std::string dst = proc_path(to_dir, name);
  ssize_t size = ::llistxattr(src.c_str(), nullptr, 0);
  if (size < 0) {
    if (errno == ENOTSUP) return;
    fail("list xattrs of", shown, errno);
  }
  if (size == 0) return;
  std::vector<char> names(static_cast<std::size_t>(size));
  size = ::llistxattr(src.c_str(), names.data(), names.size());
  if (size < 0) fail("list xattrs of", shown, errno);
  std::vector<char> value;
  for (const char* key = names.data(); key < names.data() + size; key += std::strlen(key) + 1) {
    ssize_t length = ::lgetxattr(src.c_str(), key, nullptr, 0);
    if (length < 0) fail(std::string("read xattr ") + key + " of", shown, errno);
    value.resize(static_cast<std::size_t>(length));
    length = ::lgetxattr(src.c_str(), key, value.data(), value.size());
    if (length < 0) fail(std::string("read xattr ") + key + " of", shown, errno);
    value.resize(static_cast<std::size_t>(length));
    shift_ids_in_xattr(key, value, shift);
    if (::lsetxattr(dst.c_str(), key, value.data(), static_cast<std::size_t>(length), 0) != 0)
      fail(std::string("set xattr ") + key + " on", shown, errno);
  }
}

void copy_file_data(int from_fd, int to_fd, std::uint64_t size, const std::string& shown) {
  if (size == 0) return;
  if (::ioctl(to_fd, FICLONE, from_fd) == 0) return;
  std::uint64_t left = size;
  while (left > 0) {
    const ssize_t copied = ::copy_file_range(from_fd, nullptr, to_fd, nullptr, left, 0);
    if (copied < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP) break;  // fall back below
      fail("copy data of", shown, errno);
    }
    if (copied == 0) return;  // the file shrank while copying: keep what is there
    left -= static_cast<std::uint64_t>(copied);
  }
  char buffer[64 * 1024];
  while (left > 0) {
    const ssize_t got = ::read(from_fd, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      fail("read", shown, errno);
    }
    if (got == 0) return;
    for (ssize_t off = 0; off < got;) {
      const ssize_t put = ::write(to_fd, buffer + off, static_cast<std::size_t>(got - off));
      if (put < 0) {
        if (errno == EINTR) continue;
        fail("write", shown, errno);
      }
      off += put;
    }
    left -= static_cast<std::uint64_t>(got);
  }
}

class LayerCopier {
 public:
  LayerCopier(fs::path from, fs::path to, const IdShift& shift)
      : from_root_(std::move(from)), to_root_(std::move(to)), shift_(shift) {}

  void run() {
    UniqueFd from_dir(::open(from_root_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!from_dir) fail("open", from_root_.string(), errno);
    struct stat st {};
    if (::fstat(from_dir.get(), &st) != 0) fail("stat", from_root_.string(), errno);
    if (::mkdir(to_root_.c_str(), 0700) != 0) fail("create", to_root_.string(), errno);
    UniqueFd to_dir(::open(to_root_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!to_dir) fail("open", to_root_.string(), errno);
    copy_children(from_dir.get(), to_dir.get(), "");
    finish_directory(from_dir.get(), to_dir.get(), st, from_root_.string(), to_root_.string());
  }

 private:
  void copy_children(int from_dir, int to_dir, const std::string& rel) {
    UniqueFd listing(::openat(from_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!listing) fail("open", shown(rel), errno);
    const UniqueDir dir = open_dir_stream(std::move(listing));
    if (!dir) fail("list", shown(rel), errno);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* entry = ::readdir(dir.get())) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    if (errno != 0) fail("list", shown(rel), errno);
    for (const std::string& name : names) copy_entry(from_dir, to_dir, name, rel.empty() ? name : rel + "/" + name);
  }

  void copy_entry(int from_dir, int to_dir, const std::string& name, const std::string& rel) {
    struct stat st {};
    if (::fstatat(from_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) fail("stat", shown(rel), errno);

    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      const auto key = std::make_pair(st.st_dev, st.st_ino);
      if (auto found = links_.find(key); found != links_.end()) {
        if (::linkat(AT_FDCWD, (to_root_ / found->second).c_str(), to_dir, name.c_str(), 0) != 0)
          fail("hardlink", shown(rel), errno);
        return;
      }
      links_.emplace(key, rel);
    }

    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(to_dir, name.c_str(), 0700) != 0) fail("create directory", shown(rel), errno);
      UniqueFd from_child(::openat(from_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!from_child) fail("open", shown(rel), errno);
      UniqueFd to_child(::openat(to_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!to_child) fail("open copy of", shown(rel), errno);
      copy_children(from_child.get(), to_child.get(), rel);
      finish_directory(from_child.get(), to_child.get(), st, shown(rel), shown(rel));
      return;
    }

    if (S_ISREG(st.st_mode)) {
      UniqueFd in(::openat(from_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!in) fail("open", shown(rel), errno);
      UniqueFd out(::openat(to_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!out) fail("create", shown(rel), errno);
      copy_file_data(in.get(), out.get(), static_cast<std::uint64_t>(st.st_size), shown(rel));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
      const ssize_t length = ::readlinkat(from_dir, name.c_str(), target.data(), target.size());
      if (length < 0) fail("read link", shown(rel), errno);
      target.resize(static_cast<std::size_t>(length));
      if (::symlinkat(target.c_str(), to_dir, name.c_str()) != 0) fail("create symlink", shown(rel), errno);
    } else {
      // Whiteouts (char 0/0), fifos, sockets, devices. A 0/0 whiteout needs no CAP_MKNOD.
      if (::mknodat(to_dir, name.c_str(), st.st_mode, st.st_rdev) != 0) fail("create node", shown(rel), errno);
    }
    apply_metadata(from_dir, to_dir, name, st, shown(rel));
  }

  // Owner first (chown clears setuid bits), then mode, xattrs, and times last.
  void apply_metadata(int from_dir, int to_dir, const std::string& name, const struct stat& st,
                             const std::string& shown_path) const {
    if (::fchownat(to_dir, name.c_str(), shift_.uid(st.st_uid), shift_.gid(st.st_gid), AT_SYMLINK_NOFOLLOW) != 0 &&
        !(errno == EPERM && ::geteuid() != 0))
      fail("chown", shown_path, errno);
    if (!S_ISLNK(st.st_mode) && ::fchmodat(to_dir, name.c_str(), st.st_mode & 07777, 0) != 0)
      fail("chmod", shown_path, errno);
    copy_xattrs(from_dir, to_dir, name, shown_path, shift_);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(to_dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) fail("set times of", shown_path, errno);
  }

  void finish_directory(int from_fd, int to_fd, const struct stat& st, const std::string& from_shown,
                        const std::string& to_shown) const {
    if (::fchown(to_fd, shift_.uid(st.st_uid), shift_.gid(st.st_gid)) != 0 && !(errno == EPERM && ::geteuid() != 0))
      fail("chown", to_shown, errno);
    if (::fchmod(to_fd, st.st_mode & 07777) != 0) fail("chmod", to_shown, errno);
    copy_xattrs(from_fd, to_fd, ".", from_shown, shift_);
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::futimens(to_fd, times) != 0) fail("set times of", to_shown, errno);
  }

  std::string shown(const std::string& rel) const { return (from_root_ / rel).string(); }

  fs::path from_root_;
  fs::path to_root_;
  IdShift shift_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;  // first copy of each hardlinked inode
};

}  // namespace

void copy_layer(const fs::path& from, const fs::path& to, const IdShift& shift) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(to, ec)))
    throw Error(Errc::already_exists, "layer copy: destination '" + to.string() + "' already exists");
  try {
    LayerCopier(from, to, shift).run();
  } catch (...) {
    fs::remove_all(to, ec);
    throw;
  }
}

}  // namespace hutch::subcontainer
