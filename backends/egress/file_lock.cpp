#include "file_lock.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>

namespace hutch::egress {

namespace {

UniqueFd open_lock_file(const std::filesystem::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) throw Error(Errc::io, "cannot open the lock file '" + file.string() + "': " + std::strerror(errno));
  return fd;
}

}  // namespace

FileLock::FileLock(const std::filesystem::path& file) : fd_(open_lock_file(file)) {
  while (::flock(fd_.get(), LOCK_EX) != 0)
    if (errno != EINTR) throw Error(Errc::io, "cannot lock '" + file.string() + "': " + std::strerror(errno));
}

std::optional<FileLock> FileLock::try_lock(const std::filesystem::path& file) {
  FileLock lock;
  lock.fd_ = open_lock_file(file);
  while (::flock(lock.fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return std::nullopt;
    if (errno != EINTR) throw Error(Errc::io, "cannot lock '" + file.string() + "': " + std::strerror(errno));
  }
  return lock;
}

FileLock FileLock::shared(const std::filesystem::path& file) {
  FileLock lock;
  lock.fd_ = open_lock_file(file);
  while (::flock(lock.fd_.get(), LOCK_SH) != 0)
    if (errno != EINTR) throw Error(Errc::io, "cannot lock '" + file.string() + "': " + std::strerror(errno));
  return lock;
}

}  // namespace hutch::egress
