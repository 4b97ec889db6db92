// Mount policy: from a spec's Mount to the host source to bind. See volumes.hpp.
#include "volumes.hpp"

#include <hutch/error.hpp>
#include <hutch/path_policy.hpp>
#include <hutch/workspace.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cerrno>
#include <cstring>

namespace fs = std::filesystem;

namespace hutch::subcontainer {

namespace {

std::string describe(const hutch::Mount& mount) {
  return std::string("mount ") + to_string(mount.type) + " '" + mount.source + "' -> '" + mount.target + "'";
}

// A directory owned by the backend (volume, backup), created on first use.
fs::path managed_dir(const fs::path& parent, const std::string& name, bool create, const hutch::Mount& mount,
                     const MountPolicy& policy) {
  if (parent.empty())
    throw Error(Errc::invalid_argument, describe(mount) + ": the backend has no directory for this mount type");
  const fs::path dir = parent / name;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      throw Error(Errc::state, describe(mount) + ": '" + dir.string() + "' exists but is not a directory");
    return dir;
  }
  if (!create)
    throw Error(Errc::not_found, describe(mount) + ": no volume named '" + name + "' exists in '" +
                                     parent.string() + "'; a pointer mount needs an existing volume");
  std::error_code ec;
  fs::create_directories(parent, ec);
  // Created under a temporary name and renamed, so a concurrent creator never sees a
  // directory that is not yet chowned.
  const fs::path tmp = parent / ("." + name + ".new-" + std::to_string(::getpid()));
  if (::mkdir(tmp.c_str(), 0755) != 0 && errno != EEXIST)
    throw Error(Errc::io, describe(mount) + ": cannot create '" + tmp.string() + "': " + std::strerror(errno));
  if ((policy.owner_uid || policy.owner_gid) &&
      ::chown(tmp.c_str(), policy.owner_uid ? *policy.owner_uid : static_cast<std::uint32_t>(-1),
              policy.owner_gid ? *policy.owner_gid : static_cast<std::uint32_t>(-1)) != 0) {
    const int err = errno;
    ::rmdir(tmp.c_str());
    throw Error(Errc::io, describe(mount) + ": cannot chown '" + tmp.string() + "': " + std::strerror(err));
  }
  // NOREPLACE: a plain rename would replace a still-empty volume another sandbox just made.
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) != 0) {
    const int err = errno;
    ::rmdir(tmp.c_str());
    // Another sandbox created it first: use theirs.
    if (err != EEXIST && err != ENOTEMPTY)
      throw Error(Errc::io, describe(mount) + ": cannot create '" + dir.string() + "': " + std::strerror(err));
  }
  return dir;
}

// Applies `subpath` inside `source`: relative, no "..", and after resolving symlinks still
// inside the source.
fs::path apply_subpath(const fs::path& source, const std::string& subpath, const hutch::Mount& mount) {
  if (subpath.empty()) return source;
  const fs::path sub(subpath);
  if (sub.is_absolute())
    throw Error(Errc::invalid_argument, describe(mount) + ": subpath '" + subpath + "' must be relative");
  for (const auto& part : sub)
    if (part == "..")
      throw Error(Errc::invalid_argument, describe(mount) + ": subpath '" + subpath + "' may not contain '..'");
  std::error_code ec;
  const fs::path joined = fs::canonical(source / sub, ec);
  if (ec)
    throw Error(Errc::not_found, describe(mount) + ": subpath '" + subpath + "' does not exist in '" +
                                     source.string() + "'");
  if (!path_within(joined.string(), fs::canonical(source).string()))
    throw Error(Errc::permission_denied, describe(mount) + ": subpath '" + subpath +
                                             "' leads outside the mount source (through a symlink)");
  return joined;
}

}  // namespace

void validate_volume_name(const std::string& name, const char* what) { hutch::validate_volume_name(name, what); }

ResolvedMount resolve_mount(const hutch::Mount& mount, const MountPolicy& policy) {
  if (mount.target.empty() || mount.target.front() != '/')
    throw Error(Errc::invalid_argument, describe(mount) + ": the target must be an absolute path");
  ResolvedMount out;
  out.target = mount.target;
  out.read_only = mount.read_only;
  out.idmap = mount.idmap;

  fs::path source;
  switch (mount.type) {
    case MountType::tmpfs:
      if (!mount.subpath.empty())
        throw Error(Errc::invalid_argument, describe(mount) + ": a tmpfs has no subpath");
      out.tmpfs = true;
      out.tmpfs_size = mount.tmpfs_size_bytes.value_or(0);
      return out;
    case MountType::volume:
      validate_volume_name(mount.source, "volume");
      source = managed_dir(policy.volumes_dir, mount.source, /*create=*/true, mount, policy);
      break;
    case MountType::pointer:
      validate_volume_name(mount.source, "volume");
      source = managed_dir(policy.volumes_dir, mount.source, /*create=*/false, mount, policy);
      break;
    case MountType::backup:
      validate_volume_name(mount.source, "backup");
      source = managed_dir(policy.backups_dir, mount.source, /*create=*/true, mount, policy);
      break;
    case MountType::assets:
    case MountType::bind: {
      if (mount.source.empty() || mount.source.front() != '/')
        throw Error(Errc::invalid_argument, describe(mount) + ": the source must be an absolute host path");
      std::error_code ec;
      if (!fs::exists(mount.source, ec))
        throw Error(Errc::not_found, describe(mount) + ": host path '" + mount.source + "' does not exist");
      source = check_host_path_allowed(mount.source, policy.bind_allow, "[backends.subcontainer] bind_allow",
                                       describe(mount));
      if (mount.type == MountType::assets) out.read_only = true;
      break;
    }
  }

  source = apply_subpath(source, mount.subpath, mount);
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0)
    throw Error(Errc::not_found, describe(mount) + ": '" + source.string() + "': " + std::strerror(errno));
  const bool is_dir = S_ISDIR(st.st_mode);
  switch (mount.kind) {
    case MountKind::infer: out.is_file = !is_dir; break;
    case MountKind::directory:
      if (!is_dir) throw Error(Errc::invalid_argument, describe(mount) + ": '" + source.string() + "' is not a directory");
      break;
    case MountKind::file:
      if (is_dir) throw Error(Errc::invalid_argument, describe(mount) + ": '" + source.string() + "' is a directory, kind=file");
      out.is_file = true;
      break;
  }
  out.host_source = source;
  return out;
}

}  // namespace hutch::subcontainer
