// The image verbs of the subcontainer backend; see images_admin.hpp.
#include "images_admin.hpp"

#include "blob_store.hpp"
#include "image_store.hpp"

#include <hutch/error.hpp>
#include <hutch/image_defaults.hpp>
#include <hutch/registry.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;

namespace hutch::subcontainer {
namespace {

// The id `image` names in the store, trying it as given first, then as `hutch pull` stores
// a registry name (canonical). The second element is the name or id the store knows it by.
std::optional<std::pair<std::string, std::string>> find_stored(ImageStore& store, const std::string& image) {
  if (auto id = store.find_id(image)) return std::make_pair(*id, image);
  try {
    const std::string canonical = parse_image_reference(image).canonical();
    if (auto id = store.find_id(canonical)) return std::make_pair(*id, canonical);
  } catch (const Error&) {
    // Not a registry name: only the exact name could have matched.
  }
  return std::nullopt;
}

std::pair<std::string, std::string> find_or_throw(ImageStore& store, const std::string& image) {
  if (auto found = find_stored(store, image)) return *found;
  throw Error(Errc::not_found, "image '" + image + "' is not in the image store '" + store.root().string() +
                                   "' (see `hutch images`)");
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

hutch::ImageInfo to_sdk(const subcontainer::ImageInfo& stored, const ImageUsers& users) {
  hutch::ImageInfo info;
  info.id = stored.id;
  info.names = stored.names;
  std::sort(info.names.begin(), info.names.end());
  info.created = std::chrono::system_clock::time_point(std::chrono::seconds(stored.created_unix));
  if (auto found = users.find(stored.id); found != users.end()) info.used_by = found->second;
  info.managed = stored.parent.empty();  // pulled or imported; snapshots have a parent
  return info;
}

}  // namespace

std::vector<hutch::ImageInfo> list_images(Runtime& runtime, const ImageUsers& users) {
  std::vector<hutch::ImageInfo> out;
  for (const auto& stored : runtime.images->images()) {
    hutch::ImageInfo info = to_sdk(stored, users);
    info.size = runtime.images->disk_usage(stored.id);
    out.push_back(std::move(info));
  }
  const auto key = [](const hutch::ImageInfo& info) { return info.names.empty() ? "~" + info.id : info.names.front(); };
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  return out;
}

hutch::ImageInfo inspect_image(Runtime& runtime, const std::string& image, const ImageUsers& users) {
  const std::string id = find_or_throw(*runtime.images, image).first;
  for (const auto& stored : runtime.images->images()) {
    if (stored.id != id) continue;
    hutch::ImageInfo info = to_sdk(stored, users);
    info.size = runtime.images->disk_usage(id);
    info.source = stored.source;
    info.layers = stored.layers;
    const ImageConfig& config = stored.config;
    info.config = ImageDefaults{config.entrypoint, config.cmd, env_from_entries(config.env), config.workdir, config.user};
    return info;
  }
  throw Error(Errc::not_found, "image '" + image + "' was removed from the image store meanwhile");
}

void remove_image(Runtime& runtime, const std::string& image, const ImageUsers& users,
                  const std::function<std::string(const std::string&)>& users_now) {
  const auto [id, stored_as] = find_or_throw(*runtime.images, image);
  if (auto found = users.find(id); found != users.end() && !found->second.empty())
    throw Error(Errc::state, "image '" + image + "' (" + id.substr(0, 12) + ") is used by sandbox " +
                                 joined(found->second) + "; destroy " +
                                 (found->second.size() == 1 ? "it" : "them") + " first");
  runtime.images->remove(stored_as, users_now);
}

std::vector<std::string> prune_images(Runtime& runtime, const ImageUsers& users,
                                      const std::function<std::string(const std::string&)>& users_now) {
  std::vector<std::string> removed;
  const std::vector<subcontainer::ImageInfo> all = runtime.images->images();
  for (const auto& stored : all) {
    if (!stored.parent.empty()) continue;  // a snapshot: `hutch snapshot rm` decides
    if (auto found = users.find(stored.id); found != users.end() && !found->second.empty()) continue;
    const bool has_children = std::any_of(all.begin(), all.end(), [&](const auto& other) { return other.parent == stored.id; });
    if (has_children) continue;
    try {
      runtime.images->remove(stored.id, users_now);
      removed.push_back(stored.id);
      runtime.log->info("image prune: removed image {} ({})", stored.id, joined(stored.names));
    } catch (const Error& e) {
      if (e.code() != Errc::not_found && e.code() != Errc::state) throw;
      runtime.log->debug("image prune: kept {}: {}", stored.id, e.what());  // changed meanwhile
    }
  }
  for (const auto& id : runtime.images->collect_deleted(users_now)) {
    runtime.log->info("image prune: removed the layer of deleted image {}", id);
    if (std::find(removed.begin(), removed.end(), id) == removed.end()) removed.push_back(id);
  }
  BlobStore blobs(runtime.images->blob_root());
  for (const auto& digest : blobs.remove_unreferenced([&] { return runtime.images->referenced_blobs(); }))
    runtime.log->info("image prune: removed blob {}, which no stored image uses", digest);
  return removed;
}

std::string import_image(Runtime& runtime, const std::string& path, const std::string& name) {
  if (name.empty()) throw Error(Errc::invalid_argument, "import of '" + path + "' needs a name for the image");
  if (path.empty() || path.front() != '/')
    throw Error(Errc::invalid_argument, "image path '" + path + "' must be absolute");
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error(Errc::not_found, "image path '" + path + "' does not exist");
  if (fs::is_directory(status)) return runtime.images->import_directory(path, name);
  return runtime.images->import_archive(path, name, /*progress=*/true);
}

}  // namespace hutch::subcontainer
