#include "host_file.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace hutch::agent {

void replace_host_file(const std::filesystem::path& file, std::string_view content, const std::string& sandbox_id) {
  auto temporary = file;
  temporary += ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw_system_error("sandbox " + sandbox_id + ": write " + temporary.string(), errno);
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  int error = errno;
  ::close(fd);
  if (!ok || ::rename(temporary.c_str(), file.c_str()) != 0) {
    if (ok) error = errno;
    ::unlink(temporary.c_str());
    throw_system_error("sandbox " + sandbox_id + ": write " + file.string(), error);
  }
}

}  // namespace hutch::agent
