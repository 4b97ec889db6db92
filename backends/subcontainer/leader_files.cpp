#include "leader_files.hpp"

#include <hutch/error.hpp>

#include <fcntl.h>

#include <cerrno>
#include <string>

namespace hutch::subcontainer {

using agent::UniqueFd;

LeaderFiles open_leader_files(const SandboxRecord& record) {
  const auto gone = [&] {
    return Error(Errc::state, "sandbox " + record.id + " is not running (its leader process is gone); remove it with `hutch rm " +
                                  record.id + "`");
  };
  if (record.leader_pid <= 0) throw gone();
  const std::string dir_path = "/proc/" + std::to_string(record.leader_pid);
  const UniqueFd dir(::open(dir_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  // Checked once the directory is open: from then on it names that process, or nothing.
  if (!dir || !leader_alive(record)) throw gone();
  LeaderFiles files;
  files.user_namespace = UniqueFd(::openat(dir.get(), "ns/user", O_RDONLY | O_CLOEXEC));
  if (files.user_namespace) files.root = UniqueFd(::openat(dir.get(), "root", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (files.root) files.net_namespace = UniqueFd(::openat(dir.get(), "ns/net", O_RDONLY | O_CLOEXEC));
  if (!files.root || !files.net_namespace) {
    if (errno == ENOENT || errno == ESRCH) throw gone();
    throw_system_error("sandbox " + record.id + ": open the leader's user namespace and root in " + dir_path, errno);
  }
  return files;
}

}  // namespace hutch::subcontainer
