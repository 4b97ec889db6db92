#include "tree_tar.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace hutch::docker {
namespace {

ArchiveEntryOptions options_of(const struct stat& st) {
  ArchiveEntryOptions options;
  options.mode = st.st_mode & 07777;
  options.uid = st.st_uid;
  options.gid = st.st_gid;
  options.mtime_unix = st.st_mtim.tv_sec;
  return options;
}

[[noreturn]] void fail(const fs::path& path, const char* what) {
  throw Error(Errc::io, std::string("cannot ") + what + " '" + path.string() + "': " + std::strerror(errno));
}

void add_file(ArchiveWriter& tar, const fs::path& path, const std::string& name, const struct stat& st) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) fail(path, "open");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  std::vector<char> buffer(256 * 1024);
  std::uint64_t left = static_cast<std::uint64_t>(st.st_size);
  tar.add_file_stream(name, left, [&]() -> std::string_view {
    if (left == 0) return {};
    for (;;) {
      const ssize_t got = ::read(fd, buffer.data(), std::min<std::uint64_t>(buffer.size(), left));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) fail(path, "read");
      if (got == 0) throw Error(Errc::io, "'" + path.string() + "' shrank while it was archived");
      left -= static_cast<std::uint64_t>(got);
      return std::string_view(buffer.data(), static_cast<std::size_t>(got));
    }
  }, options_of(st));
}

}  // namespace

void write_tree(ArchiveWriter& tar, const fs::path& dir) {
  std::map<std::pair<dev_t, ino_t>, std::string> linked;  // first path of each multiply linked file
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) throw Error(Errc::io, "cannot read the directory '" + dir.string() + "': " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error(Errc::io, "cannot read '" + dir.string() + "': " + ec.message());
    const fs::path& path = it->path();
    const std::string name = "./" + path.lexically_relative(dir).generic_string();
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) fail(path, "stat");
    if (S_ISDIR(st.st_mode)) {
      tar.add_directory(name, options_of(st));
    } else if (S_ISLNK(st.st_mode)) {
      tar.add_symlink(name, fs::read_symlink(path).string(), options_of(st));
    } else if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto [first, inserted] = linked.emplace(std::make_pair(st.st_dev, st.st_ino), name);
        if (!inserted) {
          tar.add_hardlink(name, first->second, options_of(st));
          continue;
        }
      }
      add_file(tar, path, name, st);
    }
  }
}

}  // namespace hutch::docker
