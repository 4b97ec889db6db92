#include "ephemeral_dir.hpp"

#include "tree_removal.hpp"

#include <hutch/error.hpp>
#include <hutch/units.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

namespace hutch::subcontainer {
namespace fs = std::filesystem;
namespace {

bool on_tmpfs(const fs::path& dir) {
  struct statfs info {};
  return ::statfs(dir.c_str(), &info) == 0 && info.f_type == TMPFS_MAGIC;
}

// `dir` made or found as a real directory of ours; a symlink or someone else's is refused.
// As root, mode 0711: the root of each sandbox, a host uid of its own, walks through it to its
// own sandbox directory (0700, its own: lifecycle.cpp), and nobody can list it. Rootless,
// everything is the caller's: 0700.
bool private_dir(const fs::path& dir) {
  const mode_t mode = ::geteuid() == 0 ? 0711 : 0700;
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return false;
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != ::geteuid()) return false;
  return (info.st_mode & 07777) == mode || ::chmod(dir.c_str(), mode) == 0;
}

std::vector<fs::path> tmpfs_candidates() {
  std::vector<fs::path> out;
  const char* runtime_dir = std::getenv("XDG_RUNTIME_DIR");
  if (runtime_dir != nullptr && runtime_dir[0] == '/') out.emplace_back(fs::path(runtime_dir) / "hutch");
  if (::geteuid() == 0) out.emplace_back("/run/hutch");
  out.emplace_back("/dev/shm/hutch-" + std::to_string(::geteuid()));
  return out;
}

}  // namespace

std::optional<fs::path> ephemeral_base(const BackendConfig& config) {
  if (config.ephemeral_dir.empty()) return std::nullopt;
  // A configured directory is taken whatever its filesystem: the user chose it.
  if (config.ephemeral_dir != "auto") {
    if (!private_dir(config.ephemeral_dir))
      throw Error(Errc::backend, "ephemeral_dir " + config.ephemeral_dir + " is not a directory of uid " +
                                     std::to_string(::geteuid()) + " (and cannot be made one); fix it or set ephemeral_dir = \"auto\"");
    return fs::path(config.ephemeral_dir);
  }
  for (const auto& dir : tmpfs_candidates())
    if (on_tmpfs(dir.parent_path()) && private_dir(dir) && on_tmpfs(dir)) return dir;
  return std::nullopt;
}

void mount_ephemeral_tmpfs(const fs::path& dir, std::uint64_t size, const std::string& id) {
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    throw Error(Errc::io, "sandbox " + id + ": " + dir.string() + " is not a directory to mount its tmpfs on");
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
  const std::string options = "size=" + std::to_string(size) + ",mode=" + mode +
                              ",uid=" + std::to_string(info.st_uid) + ",gid=" + std::to_string(info.st_gid);
  if (::mount("hutch-ephemeral", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0)
    throw Error(Errc::io, "sandbox " + id + ": cannot mount a tmpfs of " + format_size(size) + " on " +
                              dir.string() + ": " + std::strerror(errno) +
                              " (set [backends.subcontainer] ephemeral_size = \"0\" to go without)");
}

void remove_sandbox_dir(const fs::path& dir) {
  std::error_code error;
  if (fs::is_symlink(fs::symlink_status(dir, error))) {
    fs::path target = fs::read_symlink(dir, error);
    if (error) throw Error(Errc::io, "cannot read the link " + dir.string() + ": " + error.message());
    // The sandbox's own tmpfs, if it has one: EINVAL when it has none (rootless,
    // ephemeral_size = 0, made before they existed), ENOENT when a reboot took it.
    if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT &&
        errno != EPERM)
      throw Error(Errc::io, "cannot unmount the tmpfs of " + target.string() + ": " + std::strerror(errno));
    remove_tree(target);
    if (fs::exists(fs::symlink_status(target, error)))
      throw Error(Errc::io, "cannot remove " + target.string() + ": it is still there");
    // The link last, so that a failure before leaves something prune finds.
    if (!fs::remove(dir, error) && error) throw Error(Errc::io, "cannot remove " + dir.string() + ": " + error.message());
    return;
  }
  remove_tree(dir);
}

bool dangling_sandbox_link(const fs::path& dir) {
  std::error_code error;
  return fs::is_symlink(fs::symlink_status(dir, error)) && !fs::exists(dir, error);
}

std::vector<std::string> disk_limit_warnings(const BackendConfig& config, bool rootless) {
  std::vector<std::string> warnings;
  if (!config.ephemeral_dir.empty()) {
    if (rootless)
      warnings.push_back("the root of a `hutch run` sandbox is not size-limited: rootless, it cannot have a tmpfs of "
                         "its own and shares the tmpfs of ephemeral_dir (RAM; set a memory limit)");
    else if (config.ephemeral_size == 0)
      warnings.push_back("the root of a `hutch run` sandbox is not size-limited: ephemeral_size = 0");
  }
  warnings.push_back("disk is not limited: the writable layer of a sandbox in " + config.sandboxes_dir.string() +
                     " (every created one) can fill that filesystem");
  return warnings;
}

}  // namespace hutch::subcontainer
