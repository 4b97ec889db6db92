#include "atomic_file.hpp"

#include "agent/unique_fd.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hutch::egress {
using agent::UniqueFd;
namespace {

std::string random_suffix() {
  unsigned char bytes[6] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
    throw_system_error("getrandom", errno);
  char hex[sizeof bytes * 2 + 1];
  for (std::size_t i = 0; i < sizeof bytes; ++i) std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return hex;
}

}  // namespace

void write_file_atomic(const std::filesystem::path& file, const std::string& content, mode_t mode,
                       const std::optional<FileOwner>& owner, Durability durability) {
  const std::filesystem::path tmp = file.string() + ".tmp-" + random_suffix();
  auto fail = [&](const std::string& what, int err) {
    ::unlink(tmp.c_str());
    throw Error(Errc::io, "cannot " + what + " '" + tmp.string() + "' (to replace '" + file.string() +
                              "'): " + std::strerror(err));
  };
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (!fd) throw Error(Errc::io, "cannot create '" + tmp.string() + "': " + std::strerror(errno));
    for (std::size_t off = 0; off < content.size();) {
      const ssize_t put = ::write(fd.get(), content.data() + off, content.size() - off);
      if (put < 0) {
        if (errno == EINTR) continue;
        fail("write", errno);
      }
      off += static_cast<std::size_t>(put);
    }
    // The umask may have taken bits away at creation.
    if (::fchmod(fd.get(), mode) != 0) fail("chmod", errno);
    if (owner && ::fchown(fd.get(), owner->uid, owner->gid) != 0) fail("chown", errno);
    if (durability == Durability::machine_crash && ::fsync(fd.get()) != 0) fail("sync", errno);
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw Error(Errc::io, "cannot replace '" + file.string() + "': " + std::strerror(err));
  }
}

}  // namespace hutch::egress
