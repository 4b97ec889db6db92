// The image verbs of the docker backend; see image_verbs.hpp.
#include "image_verbs.hpp"

#include "containers.hpp"

#include "engine/query.hpp"
#include "engine_quirks.hpp"
#include "images.hpp"
#include "labels.hpp"
#include "managed_images.hpp"
#include "tree_tar.hpp"

#include <hutch/archive.hpp>
#include <hutch/error.hpp>
#include <hutch/image_defaults.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace hutch::docker {
namespace {

constexpr Duration kImportTimeout = std::chrono::minutes(30);

std::string text(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

std::vector<std::string> strings(const json::value* value) {
  std::vector<std::string> out;
  if (value != nullptr && value->is_array())
    for (const auto& item : value->as_array())
      if (item.is_string() && item.as_string() != "<none>:<none>") out.emplace_back(item.as_string());
  return out;
}

// Image id -> the containers made from it: a sandbox by its hutch id, another container by name.
std::map<std::string, std::vector<std::string>> containers_by_image(Context& context) {
  Request request;
  request.target = Target("/containers/json").add("all", true).str();
  request.what = "list the containers made from images";
  const json::value containers = context.client->call_json(request);
  std::map<std::string, std::vector<std::string>> users;
  for (const auto& item : containers.as_array()) {
    const auto& container = item.as_object();
    const Labels labels = labels_of(container.if_contains("Labels"));
    std::string who;
    if (auto id = labels.find(kLabelId); id != labels.end()) {
      who = id->second;
    } else {
      const std::vector<std::string> names = strings(container.if_contains("Names"));
      who = "container " + (names.empty() ? text(container, "Id").substr(0, 12) : names.front().substr(names.front().starts_with("/") ? 1 : 0));
    }
    users[text(container, "ImageID")].push_back(std::move(who));
  }
  return users;
}

// Pulled, loaded or imported by hutch; fork and snapshot images belong to their own verbs.
bool is_managed(const std::vector<std::string>& names, const Labels& labels, const std::set<std::string>& recorded) {
  if (labels.contains(label::kKind)) return false;
  return labels.contains(label::kImported) ||
         std::any_of(names.begin(), names.end(), [&](const std::string& name) { return recorded.contains(name); });
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& when) {
  std::tm parts{};
  if (when.size() < 19 || ::strptime(when.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &parts) == nullptr) return std::nullopt;
  return std::chrono::system_clock::from_time_t(::timegm(&parts));
}

json::object inspect_json(Context& context, const std::string& image) {
  Request request;
  request.target = Target("/images").segment(image).str() + "/json";
  request.what = "inspect image '" + image + "'";
  try {
    json::value value = context.client->call_json(request);
    if (!value.is_object()) throw Error(Errc::backend, request.what + ": the engine answered no object");
    return std::move(value.as_object());
  } catch (const Error& e) {
    if (e.code() == Errc::not_found)
      throw Error(Errc::not_found, "image '" + image + "' is not on the docker host (see `hutch images`)");
    throw;
  }
}

// What the archive at `path` holds: "docker save"/OCI layout (for /images/load) or a rootfs.
bool is_image_archive(const fs::path& path) {
  ArchiveReader reader(path);
  while (reader.next() != nullptr) {
    const std::string entry = reader.entry_relative_path();
    if (entry == "manifest.json" || entry == "index.json" || entry == "oci-layout") return true;
  }
  return false;
}

std::string loaded_reference(const std::string& body, const std::string& what) {
  // {"stream":"Loaded image: busybox:latest\n"} or {"stream":"Loaded image ID: sha256:..\n"}
  std::string loaded;
  for (std::size_t start = 0; start < body.size();) {
    std::size_t end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    boost::system::error_code ec;
    const json::value line = json::parse(std::string_view(body).substr(start, end - start), ec);
    start = end + 1;
    if (ec || !line.is_object()) continue;
    if (std::string error = text(line.as_object(), "error"); !error.empty()) throw Error(Errc::invalid_argument, what + ": " + error);
    std::string stream = text(line.as_object(), "stream");
    for (const char* prefix : {"Loaded image ID: ", "Loaded image: "})
      if (stream.starts_with(prefix)) {
        loaded = stream.substr(std::strlen(prefix));
        while (!loaded.empty() && (loaded.back() == '\n' || loaded.back() == ' ')) loaded.pop_back();
      }
  }
  if (loaded.empty()) throw Error(Errc::invalid_argument, what + ": the engine loaded no image from it");
  return loaded;
}

std::string load_archive(Context& context, const fs::path& path, const std::string& name) {
  const std::string what = "load '" + path.string() + "' as image '" + name + "'";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(errno == ENOENT ? Errc::not_found : Errc::io, what + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  Request request;
  request.method = Method::post;
  request.target = Target("/images/load").add("quiet", true).str();
  request.content_type = "application/x-tar";
  request.what = what;
  request.timeout = kImportTimeout;
  auto writer = context.client->open_writer(request);
  std::vector<char> buffer(256 * 1024);
  for (;;) {
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw Error(Errc::io, what + ": reading the archive failed: " + std::strerror(errno));
    if (got == 0) break;
    writer->write(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
  }
  const std::string loaded = loaded_reference(writer->finish().body, what);
  auto [repo, tag] = split_image_reference(name);
  Request tag_request;
  tag_request.method = Method::post;
  tag_request.target =
      Target("/images").segment(loaded).segment("tag").add("repo", repo).add("tag", tag.empty() ? "latest" : tag).str();
  tag_request.what = "tag image '" + loaded + "' as '" + name + "'";
  context.client->call(tag_request);
  return text(inspect_json(context, name), "Id");
}

// An image's names as hutch shows and takes them (short_image_name: Podman lists
// "localhost/NAME" and "docker.io/library/NAME"), sorted.
std::vector<std::string> image_names(Context& context, const json::value* repo_tags) {
  const EngineIdentity engine = context.client->engine();
  std::vector<std::string> names;
  for (const std::string& listed : strings(repo_tags)) names.push_back(short_image_name(listed, engine));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

std::vector<ImageInfo> list_engine_images(Context& context) {
  Request request;
  request.target = "/images/json";
  request.what = "list images";
  const json::value listed = context.client->call_json(request);
  const auto users = containers_by_image(context);
  const std::set<std::string> recorded = managed_image_names(context);
  std::vector<ImageInfo> out;
  for (const auto& item : listed.as_array()) {
    const auto& image = item.as_object();
    ImageInfo info;
    info.id = text(image, "Id");
    info.names = image_names(context, image.if_contains("RepoTags"));
    if (auto* size = image.if_contains("Size"); size && size->is_number()) info.size = size->to_number<std::uint64_t>();
    if (auto* created = image.if_contains("Created"); created && created->is_number())
      info.created = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(created->to_number<std::int64_t>()));
    if (auto found = users.find(info.id); found != users.end()) info.used_by = found->second;
    info.managed = is_managed(info.names, labels_of(image.if_contains("Labels")), recorded);
    out.push_back(std::move(info));
  }
  const auto key = [](const ImageInfo& info) { return info.names.empty() ? "~" + info.id : info.names.front(); };
  std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  return out;
}

ImageInfo inspect_engine_image(Context& context, const std::string& image) {
  const json::object inspect = inspect_json(context, image);
  ImageInfo info;
  info.id = text(inspect, "Id");
  info.names = image_names(context, inspect.if_contains("RepoTags"));
  if (auto* size = inspect.if_contains("Size"); size && size->is_number()) info.size = size->to_number<std::uint64_t>();
  info.created = parse_rfc3339(text(inspect, "Created"));
  const auto users = containers_by_image(context);
  if (auto found = users.find(info.id); found != users.end()) info.used_by = found->second;
  const json::value* config = inspect.if_contains("Config");
  info.managed = is_managed(info.names, labels_of(config && config->is_object() ? config->as_object().if_contains("Labels") : nullptr),
                            managed_image_names(context));
  const std::vector<std::string> digests = strings(inspect.if_contains("RepoDigests"));
  info.source = digests.empty() ? std::string() : digests.front();
  if (const json::value* rootfs = inspect.if_contains("RootFS"); rootfs && rootfs->is_object())
    info.layers = strings(rootfs->as_object().if_contains("Layers"));
  info.config = image_defaults(context, info.id);
  return info;
}

void remove_engine_image(Context& context, const std::string& image) {
  const std::string id = text(inspect_json(context, image), "Id");
  const auto users = containers_by_image(context);
  if (auto found = users.find(id); found != users.end() && !found->second.empty()) {
    std::string names;
    for (const auto& user : found->second) names += (names.empty() ? "" : ", ") + user;
    throw Error(Errc::state, "image '" + image + "' (" + id.substr(0, 19) + ") is used by sandbox " + names +
                                 "; destroy " + (found->second.size() == 1 ? "it" : "them") + " first");
  }
  Request request;
  request.method = Method::delete_;
  request.target = Target("/images").segment(image).str();
  request.what = "remove image '" + image + "'";
  context.client->call(request);  // 409 (Errc::state): a container made meanwhile, or more tags for an id
}

std::vector<std::string> prune_engine_images(Context& context) {
  std::vector<std::string> removed;
  const std::set<std::string> recorded = managed_image_names(context);
  std::set<std::string> present;
  for (const ImageInfo& info : list_engine_images(context)) {
    if (!info.managed || !info.used_by.empty()) {
      for (const auto& name : info.names) present.insert(name);
      continue;
    }
    // The names hutch gave (all of them for an import it labelled); others keep the image.
    const json::object inspect = inspect_json(context, info.id);
    const json::value* config = inspect.if_contains("Config");
    const Labels labels = labels_of(config && config->is_object() ? config->as_object().if_contains("Labels") : nullptr);
    std::vector<std::string> targets;
    for (const auto& name : info.names)
      if (recorded.contains(name) || labels.contains(label::kImported)) targets.push_back(name);
    if (targets.empty()) targets.push_back(info.id);  // an untagged import
    bool gone = true;
    for (const auto& target : targets)
      if (!remove_image(context, target)) {  // used meanwhile
        present.insert(target);
        gone = false;
      }
    for (const auto& name : info.names)
      if (std::find(targets.begin(), targets.end(), name) == targets.end()) present.insert(name), gone = false;
    if (gone) {
      removed.push_back(info.id);
      context.logger->info("image prune: removed image {}", info.id);
    }
  }
  forget_managed_images_except(context, present);
  return removed;
}

std::string import_engine_image(Context& context, const std::string& path, const std::string& name) {
  if (name.empty()) throw Error(Errc::invalid_argument, "import of '" + path + "' needs a name for the image");
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error(Errc::not_found, "image path '" + path + "' does not exist");
  if (fs::is_directory(status)) {
    import_rootfs_stream(context, name, "import the directory '" + path + "' as image '" + name + "'",
                         [&](const ChunkSink& sink) {
                           ArchiveWriter tar(sink, path);
                           write_tree(tar, path);
                           tar.finish();
                         });
    return text(inspect_json(context, name), "Id");
  }
  if (!fs::is_regular_file(status)) throw Error(Errc::invalid_argument, "image path '" + path + "' is neither a file nor a directory");
  if (is_image_archive(path)) {
    const std::string id = load_archive(context, path, name);
    record_managed_image(context, name);
    return id;
  }
  import_rootfs(context, path, name);
  return text(inspect_json(context, name), "Id");
}

}  // namespace hutch::docker
