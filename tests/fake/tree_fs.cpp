#include "tree_fs.hpp"

#include <hutch/error.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

namespace hutch::fake {
namespace fs = std::filesystem;

namespace {

constexpr int kMaxSymlinkHops = 40;  // as the kernel's ELOOP limit
constexpr std::size_t kChunkSize = 64 * 1024;

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, so a failing close (a lost write) is reported; returns errno or 0.
  int close() {
    int result = ::close(std::exchange(fd_, -1));
    return result == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

FileStat to_file_stat(const struct stat& st, const fs::path& host_path) {
  FileStat out;
  if (S_ISREG(st.st_mode)) out.type = FileType::regular;
  else if (S_ISDIR(st.st_mode)) out.type = FileType::directory;
  else if (S_ISLNK(st.st_mode)) out.type = FileType::symlink;
  else out.type = FileType::other;
  out.size = static_cast<std::uint64_t>(st.st_size);
  out.mode = st.st_mode & 07777;
  out.uid = st.st_uid;
  out.gid = st.st_gid;
  out.mtime = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
  if (out.type == FileType::symlink) {
    std::error_code ec;
    out.link_target = fs::read_symlink(host_path, ec).string();
  }
  return out;
}

}  // namespace

TreeFs::TreeFs(fs::path root, std::string sandbox_id)
    : root_(std::move(root)), sandbox_id_(std::move(sandbox_id)) {}

void TreeFs::require_alive() const {
  std::error_code ec;
  if (!fs::is_directory(root_, ec))
    throw Error(Errc::state, "fake sandbox '" + sandbox_id_ + "' is gone (destroyed)");
}

void TreeFs::fail(const std::string& verb, const std::string& path, int err) const {
  Errc code = Errc::io;
  switch (err) {
    case ENOENT: code = Errc::not_found; break;
    case EEXIST: code = Errc::already_exists; break;
    case EACCES:
    case EPERM: code = Errc::permission_denied; break;
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
    case ELOOP:
    case EINVAL: code = Errc::invalid_argument; break;
    default: break;
  }
  throw Error(code, "cannot " + verb + " '" + path + "' in fake sandbox '" + sandbox_id_ +
                        "': " + std::strerror(err));
}

fs::path TreeFs::resolve(const std::string& path, bool follow_last) const {
  std::string normalized = normalize_sandbox_path(path);
  auto split_path = path_components(normalized);
  std::deque<std::string> pending(split_path.begin(), split_path.end());
  std::vector<std::string> resolved;
  int hops = 0;

  auto host_path = [&](const std::vector<std::string>& parts) {
    fs::path out = root_;
    for (const auto& part : parts) out /= part;
    return out;
  };

  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part == "..") {
      if (resolved.empty())
        throw Error(Errc::permission_denied, "path '" + path + "' leaves the root of fake sandbox '" +
                                                 sandbox_id_ + "'");
      resolved.pop_back();
      continue;
    }
    resolved.push_back(part);
    bool last = pending.empty();
    if (last && !follow_last) break;

    fs::path candidate = host_path(resolved);
    struct stat st {};
    if (::lstat(candidate.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) continue;
    if (++hops > kMaxSymlinkHops) fail("resolve", path, ELOOP);

    std::error_code ec;
    std::string target = fs::read_symlink(candidate, ec).string();
    if (ec) fail("resolve", path, ec.value());
    resolved.pop_back();
    if (!target.empty() && target.front() == '/') resolved.clear();
    auto target_parts = path_components(target);
    pending.insert(pending.begin(), target_parts.begin(), target_parts.end());
  }
  return host_path(resolved);
}

void TreeFs::read_stream(const std::string& path, const ChunkSink& sink) {
  require_alive();
  fs::path host = resolve(path, true);
  // Without blocking, and then only a regular file (as the Fs contract asks): a FIFO would
  // hold this process until some writer came.
  UniqueFd fd(::open(host.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) fail("read", path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("read", path, errno);
  if (S_ISDIR(st.st_mode)) fail("read", path, EISDIR);
  if (!S_ISREG(st.st_mode))
    throw Error(Errc::invalid_argument, "fake sandbox " + sandbox_id_ + ": cannot read '" + path + "': not a regular file");

  std::string buffer(kChunkSize, '\0');
  for (;;) {
    ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      fail("read", path, errno);
    }
    if (got == 0) return;
    if (!sink(std::string_view(buffer.data(), static_cast<std::size_t>(got)))) return;
  }
}

void TreeFs::write_stream(const std::string& path, const ChunkSource& source, std::uint32_t mode) {
  require_alive();
  fs::path host = resolve(path, true);
  if (host == root_) fail("write", path, EISDIR);
  // Not truncated before it is known to be a regular file; a FIFO without a reader fails
  // (ENXIO) instead of being waited for.
  UniqueFd fd(::open(host.c_str(), O_WRONLY | O_CREAT | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC,
                     mode & 07777));
  struct stat st {};
  if (fd.get() >= 0 && ::fstat(fd.get(), &st) != 0) fail("write", path, errno);
  if ((fd.get() < 0 && errno == ENXIO) || (fd.get() >= 0 && !S_ISREG(st.st_mode)))
    throw Error(Errc::invalid_argument, "fake sandbox " + sandbox_id_ + ": cannot write '" + path + "': not a regular file");
  if (fd.get() < 0) fail("write", path, errno);
  if (::ftruncate(fd.get(), 0) != 0) fail("write", path, errno);
  // The umask must not change the mode the caller asked for.
  if (::fchmod(fd.get(), mode & 07777) != 0) fail("write", path, errno);
  const ChunkSource limited =
      limit_file_size(source, max_file_bytes_, "write '" + path + "' in fake sandbox " + sandbox_id_);
  for (;;) {
    std::string_view chunk = limited();
    if (chunk.empty()) break;
    while (!chunk.empty()) {
      ssize_t put = ::write(fd.get(), chunk.data(), chunk.size());
      if (put < 0) {
        if (errno == EINTR) continue;
        fail("write", path, errno);
      }
      chunk.remove_prefix(static_cast<std::size_t>(put));
    }
  }
  if (int err = fd.close(); err != 0) fail("write", path, err);
}

void TreeFs::mkdir(const std::string& path, bool parents, std::uint32_t mode) {
  require_alive();
  auto make = [&](const fs::path& host) {
    if (::mkdir(host.c_str(), mode & 07777) != 0) return errno;
    if (::chmod(host.c_str(), mode & 07777) != 0) return errno;
    return 0;
  };
  if (!parents) {
    if (int err = make(resolve(path, false)); err != 0) fail("create directory", path, err);
    return;
  }
  std::string prefix;
  for (const auto& part : path_components(normalize_sandbox_path(path))) {
    prefix += "/" + part;
    fs::path host = resolve(prefix, true);
    struct stat st {};
    if (::lstat(host.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) fail("create directory", prefix, ENOTDIR);
      continue;
    }
    if (int err = make(host); err != 0 && err != EEXIST) fail("create directory", prefix, err);
  }
}

std::vector<DirEntry> TreeFs::list(const std::string& path) {
  require_alive();
  fs::path host = resolve(path, true);
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(host.c_str()), ::closedir);
  if (!dir) fail("list", path, errno);
  std::vector<DirEntry> entries;
  while (dirent* entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    fs::path child = host / name;
    struct stat st {};
    if (::lstat(child.c_str(), &st) != 0) continue;  // removed while we listed
    entries.push_back(DirEntry{name, to_file_stat(st, child)});
  }
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

FileStat TreeFs::stat(const std::string& path) {
  require_alive();
  fs::path host = resolve(path, false);
  struct stat st {};
  if (::lstat(host.c_str(), &st) != 0) fail("stat", path, errno);
  return to_file_stat(st, host);
}

void TreeFs::remove(const std::string& path, bool recursive) {
  require_alive();
  fs::path host = resolve(path, false);
  if (host == root_)
    throw Error(Errc::permission_denied,
                "cannot remove the root directory of fake sandbox '" + sandbox_id_ + "'");
  struct stat st {};
  if (::lstat(host.c_str(), &st) != 0) fail("remove", path, errno);
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(host.c_str()) != 0) fail("remove", path, errno);
    return;
  }
  if (!recursive) {
    if (::rmdir(host.c_str()) != 0) fail("remove", path, errno);
    return;
  }
  std::error_code ec;
  fs::remove_all(host, ec);
  if (ec) fail("remove", path, ec.value());
}

void TreeFs::rename(const std::string& from, const std::string& to) {
  require_alive();
  fs::path host_from = resolve(from, false);
  fs::path host_to = resolve(to, false);
  if (host_from == root_ || host_to == root_)
    throw Error(Errc::permission_denied,
                "cannot rename the root directory of fake sandbox '" + sandbox_id_ + "'");
  if (::rename(host_from.c_str(), host_to.c_str()) != 0) fail("rename", from + "' to '" + to, errno);
}

void TreeFs::symlink(const std::string& target, const std::string& path) {
  require_alive();
  if (target.empty() || target.find('\0') != std::string::npos)
    throw Error(Errc::invalid_argument, "symlink target for '" + path + "' is empty or has a NUL byte");
  fs::path host = resolve(path, false);
  if (::symlink(target.c_str(), host.c_str()) != 0) fail("create symlink", path, errno);
}

}  // namespace hutch::fake
