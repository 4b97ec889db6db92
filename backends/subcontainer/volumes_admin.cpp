#include "volumes_admin.hpp"

#include "tree_removal.hpp"
#include "volumes.hpp"

#include <hutch/error.hpp>
#include <hutch/workspace.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

namespace hutch::subcontainer {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> users_of(const std::string& name, const std::vector<SandboxRecord>& records) {
  std::vector<std::string> ids;
  for (const auto& record : records)
    if (uses_volume(record, name)) ids.push_back(record.id);
  return ids;
}

}  // namespace

bool uses_volume(const SandboxRecord& record, const std::string& name) {
  const Workspace workspace = workspace_of(record.spec);
  if (workspace.kind == WorkspaceKind::named && workspace.volume == name) return true;
  return std::any_of(record.spec.mounts.begin(), record.spec.mounts.end(), [&](const Mount& mount) {
    return (mount.type == MountType::volume || mount.type == MountType::pointer) && mount.source == name;
  });
}

std::vector<VolumeInfo> list_volumes(const Runtime& runtime, const std::vector<SandboxRecord>& records) {
  std::vector<VolumeInfo> out;
  std::error_code error;
  for (fs::directory_iterator it(runtime.config.volumes_dir, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    // ".<name>.new-<pid>": a volume being created (volumes.cpp).
    if (name.starts_with(".") || !it->is_directory()) continue;
    VolumeInfo info;
    info.name = name;
    info.backend = runtime.config.name;
    info.used_by = users_of(name, records);
    struct stat st {};
    if (::stat(it->path().c_str(), &st) == 0)
      info.created = std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec));
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const VolumeInfo& a, const VolumeInfo& b) { return a.name < b.name; });
  return out;
}

void remove_volume(const Runtime& runtime, const std::string& name, const std::vector<SandboxRecord>& records) {
  validate_volume_name(name, "volume");
  const fs::path dir = runtime.config.volumes_dir / name;
  std::error_code error;
  if (!fs::is_directory(fs::symlink_status(dir, error)))
    throw Error(Errc::not_found, "backend '" + runtime.config.name + "': no volume named '" + name + "'");
  const auto users = users_of(name, records);
  if (!users.empty()) {
    std::string list;
    for (const auto& id : users) list += (list.empty() ? "" : ", ") + id;
    throw Error(Errc::state, "volume '" + name + "' is used by sandbox " + list + "; remove " +
                                 (users.size() == 1 ? "it" : "them") + " first (`hutch rm`)");
  }
  remove_tree(dir);
}

}  // namespace hutch::subcontainer
