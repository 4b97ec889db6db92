#include "ephemeral_dir.hpp"

#include "tree_removal.hpp"

#include <hutch/error.hpp>

#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <cerrno>
#include <cstdlib>
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

void remove_sandbox_dir(const fs::path& dir) {
  std::error_code error;
  if (fs::is_symlink(fs::symlink_status(dir, error))) {
    fs::path target = fs::read_symlink(dir, error);
    if (error) throw Error(Errc::io, "cannot read the link " + dir.string() + ": " + error.message());
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

}  // namespace hutch::subcontainer
