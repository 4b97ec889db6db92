#include "snapshot_workspace.hpp"

#include "containers.hpp"
#include "docker_handle.hpp"
#include "engine/query.hpp"
#include "images.hpp"
#include "labels.hpp"
#include "volumes.hpp"

#include <hutch/error.hpp>
#include <hutch/owner.hpp>
#include <hutch/percent_encoding.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace hutch::docker {
namespace json = boost::json;
namespace {

constexpr const char* kCopyKind = "workspace-copy";
// What is in /workspace, named relative to it, unpacked into /workspace: Podman's archive API
// unpacks a tar given for "/" into the container's root filesystem only, not into the volume
// mounted at /workspace of a container that is not running.
constexpr const char* kWorkspaceContent = "/workspace/.";

// A container that only mounts a snapshot's workspace volume, so the archive API can reach the
// volume: created from the snapshot's image, never started, removed with this object.
class CopyContainer {
 public:
  CopyContainer(Context& context, const std::string& image, const std::string& volume, const std::string& snapshot_id)
      : context_(context) {
    json::object mount{{"Type", "volume"},
                       {"Source", volume},
                       {"Target", kWorkspaceTarget},
                       // The image's own /workspace must not be copied into the volume.
                       {"VolumeOptions", json::object{{"NoCopy", true}}}};
    json::object body{{"Image", image},
                      // Never run: the entrypoint only has to be something the create accepts.
                      {"Entrypoint", json::array{"/hutch-workspace-copy"}},
                      {"Cmd", json::array{}},
                      {"Labels", json::object{{kLabelManaged, "true"},
                                              {kLabelOwner, current_owner()},
                                              {label::kKind, kCopyKind},
                                              {kSnapshotOfVolumeLabel, snapshot_id}}},
                      {"HostConfig", json::object{{"NetworkMode", "none"}, {"Mounts", json::array{mount}}}}};
    Request request;
    request.method = Method::post;
    request.target = "/containers/create";
    request.body = json::serialize(body);
    request.what = "create a container to reach the workspace of snapshot " + snapshot_id;
    id_ = std::string(context_.client->call_json(request).as_object().at("Id").as_string());
  }
  ~CopyContainer() {
    try {
      remove_container(context_, id_);
    } catch (const std::exception& error) {
      context_.logger->warn("docker: {} (prune removes it)", error.what());
    }
  }
  CopyContainer(const CopyContainer&) = delete;
  CopyContainer& operator=(const CopyContainer&) = delete;

  const std::string& id() const { return id_; }

  static void remove_container(Context& context, const std::string& id) {
    Request request;
    request.method = Method::delete_;
    request.target = Target("/containers").segment(id).add("force", true).str();
    request.what = "remove the workspace copy container " + id;
    try {
      context.client->call(request);
    } catch (const Error& error) {
      if (error.code() != Errc::not_found) throw;
    }
  }

 private:
  Context& context_;
  std::string id_;
};

bool volume_exists(Context& context, const std::string& name) {
  Request request;
  request.target = Target("/volumes").segment(name).str();
  request.what = "inspect volume '" + name + "'";
  try {
    context.client->call(request);
    return true;
  } catch (const Error& error) {
    if (error.code() == Errc::not_found) return false;
    throw;
  }
}

json::array containers_with_labels(Context& context, const std::vector<std::string>& labels, const std::string& what) {
  Request request;
  request.target = Target("/containers/json").add("all", true).add("filters", filters_json({{"label", labels}})).str();
  request.what = what;
  json::value answer = context.client->call_json(request);
  return answer.is_array() ? answer.as_array() : json::array{};
}

}  // namespace

std::string snapshot_workspace_volume(const std::string& snapshot_id) { return "hutch-snapws-" + snapshot_id; }

void copy_between_containers(Context& context, const std::string& from, const std::string& from_path,
                             const std::string& to, const std::string& to_dir, const std::string& what) {
  Request get;
  get.target = Target("/containers").segment(from).str() + "/archive?path=" + percent_encode(from_path);
  get.what = what + " (read)";
  auto reader = context.client->open_reader(get);
  Request put;
  put.method = Method::put;
  put.target = Target("/containers").segment(to).str() + "/archive?path=" + percent_encode(to_dir);
  put.content_type = "application/x-tar";
  put.what = what + " (write)";
  auto writer = context.client->open_writer(put);
  for (auto piece = reader->next(); !piece.empty(); piece = reader->next()) writer->write(piece);
  writer->finish();
}

void save_snapshot_workspace(Context& context, const std::string& source, const std::string& image,
                             const std::string& snapshot_id) {
  const std::string volume = snapshot_workspace_volume(snapshot_id);
  create_volume(context, volume,
                {{kLabelManaged, "true"},
                 {kLabelOwner, current_owner()},
                 {label::kKind, kSnapshotWorkspaceKind},
                 {kSnapshotOfVolumeLabel, snapshot_id}});
  try {
    CopyContainer copy(context, image, volume, snapshot_id);
    copy_between_containers(context, source, kWorkspaceContent, copy.id(), kWorkspaceTarget,
                            "save the workspace of sandbox " + source + " for snapshot " + snapshot_id);
  } catch (...) {
    remove_volume(context, volume);
    throw;
  }
}

bool restore_snapshot_workspace(Context& context, const std::string& image, const std::string& snapshot_id,
                                const std::string& sandbox) {
  const std::string volume = snapshot_workspace_volume(snapshot_id);
  if (!volume_exists(context, volume)) return false;
  CopyContainer copy(context, image, volume, snapshot_id);
  copy_between_containers(context, copy.id(), kWorkspaceContent, sandbox, kWorkspaceTarget,
                          "restore the workspace of snapshot " + snapshot_id + " into sandbox " + sandbox);
  return true;
}

void remove_snapshot_workspace(Context& context, const std::string& snapshot_id) {
  remove_volume(context, snapshot_workspace_volume(snapshot_id));
}

std::vector<std::string> prune_snapshot_workspaces(Context& context, bool all) {
  const std::string managed = std::string(kLabelManaged) + "=true";
  for (const auto& item : containers_with_labels(context, {managed, std::string(label::kKind) + "=" + kCopyKind},
                                 "list workspace copy containers")) {
    const auto& container = item.as_object();
    Labels labels = labels_of(container.if_contains("Labels"));
    if (!all && !owner_gone(labels[kLabelOwner])) continue;  // a snapshot or restore copying now
    CopyContainer::remove_container(context, std::string(container.at("Id").as_string()));
  }
  std::vector<std::string> removed;
  for (const auto& item : volumes_with_labels(context, {managed, std::string(label::kKind) + "=" + kSnapshotWorkspaceKind},
                                 "list snapshot workspace volumes")) {
    const auto& volume = item.as_object();
    Labels labels = labels_of(volume.if_contains("Labels"));
    const std::string name(volume.at("Name").as_string());
    // A snapshot commits its image before it makes the volume: a volume without its image is
    // left over (from a deleted snapshot, or one interrupted after the volume was made).
    // (One that names no snapshot is left over as well: Podman answers an empty image reference
    // with a 500, not a 404.)
    const std::string& snapshot_id = labels[kSnapshotOfVolumeLabel];
    if (!all && !snapshot_id.empty() && image_exists(context, snapshot_image(snapshot_id))) continue;
    remove_volume(context, name);
    removed.push_back(name);
  }
  return removed;
}

}  // namespace hutch::docker
