// Archive -> flattened rootfs. See image_import.hpp for the accepted formats and the rules.
#include "image_import.hpp"

#include "content_digest.hpp"

#include "unique_fd.hpp"

#include <hutch/archive.hpp>
#include <hutch/error.hpp>
#include <hutch/fs.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace hutch::subcontainer {

namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// --- progress ----------------------------------------------------------------------------

class ProgressBar {
 public:
  ProgressBar(bool wanted, std::uint64_t total, std::string label)
      : enabled_(wanted && ::isatty(STDERR_FILENO) == 1 && total > 0),
        total_(total),
        label_(std::move(label)) {}
  ~ProgressBar() {
    if (enabled_ && drawn_) std::fputs("\n", stderr);
  }

  void update(std::uint64_t done, bool force = false) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    done = std::min(done, total_);
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / total_);
    std::fprintf(stderr, "\r%s [%-*s] %3d%% %.1f/%.1f MiB", label_.c_str(), kWidth,
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 static_cast<int>(100 * done / total_), done / 1048576.0, total_ / 1048576.0);
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  std::uint64_t total_;
  std::string label_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

// --- path checks -------------------------------------------------------------------------

// "./a//b/" -> {"a","b"}; throws for absolute paths and "..".
std::vector<std::string> safe_components(const std::string& raw, const std::string& archive_name) {
  if (!raw.empty() && raw.front() == '/')
    throw Error(Errc::permission_denied, "archive '" + archive_name + "' entry '" + raw +
                                             "' has an absolute path; refusing to import it");
  std::vector<std::string> parts = path_components(raw);
  if (std::find(parts.begin(), parts.end(), "..") != parts.end())
    throw Error(Errc::permission_denied, "archive '" + archive_name + "' entry '" + raw +
                                             "' contains '..'; refusing to import it");
  return parts;
}

std::string join(const std::vector<std::string>& parts, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out;
}

// Refuses when a parent of the entry inside `rootfs` is a symlink or not a directory: writing
// through it could land outside the image.
void check_parents(const fs::path& rootfs, const std::vector<std::string>& parts,
                   const std::string& raw, const std::string& archive_name) {
  fs::path current = rootfs;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    current /= parts[i];
    struct stat st {};
    if (::lstat(current.c_str(), &st) != 0) return;  // missing parents are created as dirs
    if (!S_ISDIR(st.st_mode))
      throw Error(Errc::permission_denied,
                  "archive '" + archive_name + "' entry '" + raw + "' lies below '" +
                      join(parts, i + 1) + "', which is " +
                      (S_ISLNK(st.st_mode) ? "a symlink" : "not a directory") +
                      "; refusing to import it");
  }
}

std::uint32_t shift_id(std::uint32_t id, const OwnershipShift& shift) {
  if (shift.uid_count == 0) return id;
  if (id < shift.uid_count) return shift.uid_base + id;
  return shift.uid_base + std::min<std::uint32_t>(65534, shift.uid_count - 1);
}

void remove_tree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) throw Error(Errc::io, "cannot remove '" + path.string() + "': " + ec.message());
}

// Hides everything below `dir` that this layer did not create (opaque directory).
void make_opaque(const fs::path& rootfs, const std::string& dir,
                 const std::set<std::string>& created) {
  const fs::path host_dir = dir.empty() ? rootfs : rootfs / dir;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(host_dir, ec))) return;
  for (const auto& child : fs::directory_iterator(host_dir)) {
    const std::string rel = (dir.empty() ? "" : dir + "/") + child.path().filename().string();
    if (!created.contains(rel)) {
      remove_tree(child.path());
    } else if (child.is_directory() && !child.is_symlink()) {
      make_opaque(rootfs, rel, created);
    }
  }
}

// --- layer application -------------------------------------------------------------------

}  // namespace

std::optional<std::string> read_small_file(const fs::path& file) {
  const UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return std::nullopt;
    throw Error(Errc::io, "cannot open '" + file.string() + "': " + std::strerror(errno));
  }
  std::string content;
  char buffer[16 * 1024];
  for (;;) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw Error(Errc::io, "cannot read '" + file.string() + "': " + std::strerror(errno));
    }
    if (got == 0) return content;
    content.append(buffer, static_cast<std::size_t>(got));
  }
}

ImageConfig default_image_config() {
  ImageConfig config;
  // No HOME: the agent sets it from the exec's user (its /etc/passwd entry), as Docker does.
  config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  config.user = "root";
  return config;
}

void apply_layer(ArchiveReader& layer, const fs::path& rootfs, bool whiteouts,
                 const ImportOptions& options, const std::function<void()>& on_progress) {
  ArchiveExtractor disk;
  std::set<std::string> created;  // relative paths this layer wrote (for opaque dirs)
  const std::string& name = layer.name();
  while (layer.next() != nullptr) {
    if (on_progress) on_progress();
    const std::string raw = layer.entry_path();
    const std::vector<std::string> parts = safe_components(raw, name);
    const std::string rel = join(parts, parts.size());
    const mode_t type = layer.entry_filetype();

    // The "./" entry names the extraction root, a directory of the store: its mode and owner
    // are the store's (settle_root), never the archive's. A 07777 "./" would let any host
    // user plant files into every sandbox of the image.
    if (parts.empty()) continue;
    check_parents(rootfs, parts, raw, name);

    const std::string& base = parts.back();
    if (whiteouts && base.starts_with(kWhiteoutPrefix)) {
      const std::string parent = join(parts, parts.size() - 1);
      if (base == kOpaqueMarker) {
        make_opaque(rootfs, parent, created);
      } else {
        const std::string victim = base.substr(kWhiteoutPrefix.size());
        if (victim.empty() || victim == "." || victim == "..")
          throw Error(Errc::permission_denied,
                      "archive '" + name + "' has a malformed whiteout '" + raw + "'");
        remove_tree(rootfs / parent / victim);
      }
      continue;
    }

    if (S_ISCHR(type) || S_ISBLK(type) || S_ISSOCK(type)) {
      if (options.log) options.log->warn("image '{}': skipping device node or socket '{}'", name, rel);
      continue;
    }

    const fs::path target = rootfs / rel;
    // A non-directory replacing a directory of a lower layer: libarchive cannot unlink a
    // non-empty directory, so it goes first.
    struct stat existing {};
    if (!S_ISDIR(type) && ::lstat(target.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode))
      remove_tree(target);

    ExtractTarget extract_to;
    extract_to.path = target;
    if (const std::string link = layer.entry_hardlink(); !link.empty()) {
      const std::vector<std::string> link_parts = safe_components(link, name);
      if (link_parts.empty())
        throw Error(Errc::permission_denied,
                    "archive '" + name + "' entry '" + raw + "' is a hardlink to the root");
      check_parents(rootfs, link_parts, link, name);
      const fs::path link_target = rootfs / join(link_parts, link_parts.size());
      struct stat link_st {};
      if (::lstat(link_target.c_str(), &link_st) != 0 || !S_ISREG(link_st.st_mode))
        throw Error(Errc::permission_denied, "archive '" + name + "' entry '" + raw +
                                                 "' is a hardlink to '" + link +
                                                 "', which is not a regular file of the image");
      extract_to.hardlink = link_target;
    }
    const FileStat stat = layer.entry_stat();
    extract_to.uid = shift_id(stat.uid, options.shift);
    extract_to.gid = shift_id(stat.gid, options.shift);
    const std::string warning = disk.extract(layer, extract_to);
    if (!warning.empty() && options.log) options.log->warn("image '{}' entry '{}': {}", name, raw, warning);
    created.insert(rel);
  }
}

namespace {

// --- image formats -----------------------------------------------------------------------

json::value read_json(const fs::path& file, const std::string& what) {
  const std::optional<std::string> text = read_small_file(file);
  if (!text) throw Error(Errc::not_found, what + " '" + file.string() + "' is missing");
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec);
  if (ec) throw Error(Errc::invalid_argument, what + " '" + file.string() + "' is not valid JSON: " + ec.message());
  return value;
}

// A path from an image manifest, confined to the unpacked archive.
fs::path inside(const fs::path& outer, const std::string& relative, const std::string& archive_name) {
  const std::vector<std::string> parts = safe_components(relative, archive_name);
  if (parts.empty())
    throw Error(Errc::invalid_argument, "archive '" + archive_name + "' names an empty path in its manifest");
  // docker >= 25 links the legacy <id>/layer.tar paths to blobs/sha256/...: a symlink is
  // fine as long as it ends at a regular file of the archive.
  std::error_code ec;
  const fs::path out = fs::canonical(outer / join(parts, parts.size()), ec);
  const fs::path root = fs::canonical(outer);
  const auto [root_end, out_it] = std::mismatch(root.begin(), root.end(), out.begin(), out.end());
  struct stat st {};
  if (ec || root_end != root.end() || ::stat(out.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error(Errc::invalid_argument, "archive '" + archive_name + "' manifest names '" +
                                            relative + "', which is not a file in the archive");
  return out;
}

// The blob an OCI descriptor names, after checking that its content matches the descriptor's
// digest (and size, when given).
fs::path blob_path(const fs::path& outer, const json::value& descriptor, const std::string& archive_name) {
  const json::object* object = descriptor.if_object();
  const json::value* digest = object != nullptr ? object->if_contains("digest") : nullptr;
  if (digest == nullptr || !digest->is_string())
    throw Error(Errc::invalid_argument, "archive '" + archive_name + "' has an OCI descriptor without a digest");
  const std::string text(digest->as_string());
  if (!is_well_formed_digest(text))
    throw Error(Errc::invalid_argument, "archive '" + archive_name + "' has a malformed or unsupported digest '" +
                                            text + "' (expected sha256:<64 hex> or sha512:<128 hex>)");
  const auto colon = text.find(':');
  const std::string relative = "blobs/" + text.substr(0, colon) + "/" + text.substr(colon + 1);
  fs::path blob = inside(outer, relative, archive_name);
  std::optional<std::uint64_t> size;
  if (const json::value* declared = object->if_contains("size"); declared != nullptr) {
    if (!declared->is_int64() || declared->as_int64() < 0)
      throw Error(Errc::invalid_argument, "archive '" + archive_name + "': descriptor of " + relative +
                                              " has a size that is not a non-negative integer");
    size = static_cast<std::uint64_t>(declared->as_int64());
  }
  verify_content_digest(blob, text, size, "archive '" + archive_name + "' blob " + relative);
  return blob;
}

std::vector<std::string> string_array(const json::object& object, std::string_view key) {
  std::vector<std::string> out;
  if (const json::value* value = object.if_contains(key); value != nullptr && value->is_array())
    for (const json::value& item : value->as_array())
      if (item.is_string()) out.emplace_back(item.as_string());
  return out;
}

// Docker and OCI image configs share the "config" object (Env, User, WorkingDir, Cmd, ...).
ImageConfig parse_image_config(const json::value& document) {
  ImageConfig config = default_image_config();
  const json::object* top = document.if_object();
  if (top == nullptr) return config;
  const json::value* inner = top->if_contains("config");
  if (inner == nullptr) inner = top->if_contains("Config");
  if (inner == nullptr || !inner->is_object()) return config;
  const json::object& c = inner->as_object();
  if (auto env = string_array(c, "Env"); !env.empty()) config.env = std::move(env);
  if (const json::value* user = c.if_contains("User"); user != nullptr && user->is_string() &&
                                                        !user->as_string().empty())
    config.user = std::string(user->as_string());
  if (const json::value* dir = c.if_contains("WorkingDir"); dir != nullptr && dir->is_string() &&
                                                           !dir->as_string().empty())
    config.workdir = std::string(dir->as_string());
  config.entrypoint = string_array(c, "Entrypoint");
  config.cmd = string_array(c, "Cmd");
  return config;
}

struct LayeredImage {
  std::vector<fs::path> layers;  // bottom-most first
  std::vector<std::string> layer_names;  // as the archive's manifest names them
  ImageConfig config;
  std::vector<std::string> tags;
};

// docker save writes each layer uncompressed, so the config's rootfs.diff_ids are the SHA-256
// of the layer files themselves: check them, one per layer, in order. A config without
// diff_ids (hand-made archives) leaves the layers unchecked.
void verify_diff_ids(const json::value& config, const std::vector<fs::path>& layers,
                     const std::vector<std::string>& layer_names, const std::string& archive_name) {
  const json::object* top = config.if_object();
  const json::value* rootfs = top != nullptr ? top->if_contains("rootfs") : nullptr;
  if (rootfs == nullptr || !rootfs->is_object()) return;
  const json::value* diff_ids = rootfs->as_object().if_contains("diff_ids");
  if (diff_ids == nullptr || !diff_ids->is_array()) return;
  const json::array& ids = diff_ids->as_array();
  if (ids.size() != layers.size())
    throw Error(Errc::invalid_argument, "archive '" + archive_name + "': its manifest lists " +
                                            std::to_string(layers.size()) + " layers, its image config " +
                                            std::to_string(ids.size()) + " diff_ids");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    if (!ids[i].is_string())
      throw Error(Errc::invalid_argument, "archive '" + archive_name + "': diff_id " + std::to_string(i) +
                                              " of its image config is not a string");
    verify_content_digest(layers[i], std::string_view(ids[i].as_string()), std::nullopt,
                          "archive '" + archive_name + "' layer " + layer_names[i]);
  }
}

LayeredImage read_docker_save(const fs::path& outer, const std::string& archive_name) {
  const json::value manifest = read_json(outer / "manifest.json", "docker manifest");
  if (!manifest.is_array() || manifest.as_array().empty() || !manifest.as_array()[0].is_object())
    throw Error(Errc::invalid_argument, "archive '" + archive_name +
                                            "': manifest.json is not a list of images");
  if (manifest.as_array().size() > 1)
    throw Error(Errc::invalid_argument, "archive '" + archive_name + "' holds " +
                                            std::to_string(manifest.as_array().size()) +
                                            " images; save one image per archive");
  const json::object& image = manifest.as_array()[0].as_object();
  LayeredImage out;
  const std::vector<std::string> layer_names = string_array(image, "Layers");
  for (const std::string& layer : layer_names) out.layers.push_back(inside(outer, layer, archive_name));
  out.layer_names = layer_names;
  out.tags = string_array(image, "RepoTags");
  out.config = default_image_config();
  if (const json::value* config = image.if_contains("Config"); config != nullptr && config->is_string()) {
    const json::value document = read_json(inside(outer, std::string(config->as_string()), archive_name), "image config");
    out.config = parse_image_config(document);
    verify_diff_ids(document, out.layers, layer_names, archive_name);
  }
  return out;
}

// Picks the image manifest from an OCI index: the first linux/amd64 one, else the first.
json::value pick_oci_manifest(const fs::path& outer, const json::value& index,
                              const std::string& archive_name, int depth) {
  const json::object* object = index.if_object();
  const json::value* manifests = object != nullptr ? object->if_contains("manifests") : nullptr;
  if (manifests == nullptr || !manifests->is_array() || manifests->as_array().empty())
    throw Error(Errc::invalid_argument, "archive '" + archive_name + "': OCI index lists no manifests");
  const json::value* chosen = &manifests->as_array()[0];
  for (const json::value& candidate : manifests->as_array()) {
    const json::object* c = candidate.if_object();
    const json::value* platform = c != nullptr ? c->if_contains("platform") : nullptr;
    if (platform != nullptr && platform->is_object()) {
      const json::value* os = platform->as_object().if_contains("os");
      const json::value* arch = platform->as_object().if_contains("architecture");
      if (os != nullptr && arch != nullptr && *os == "linux" && *arch == "amd64") {
        chosen = &candidate;
        break;
      }
    }
  }
  json::value document = read_json(blob_path(outer, *chosen, archive_name), "OCI manifest");
  const json::object* doc = document.if_object();
  if (doc != nullptr && doc->contains("manifests")) {
    if (depth > 2)
      throw Error(Errc::invalid_argument, "archive '" + archive_name + "': OCI indexes nest too deep");
    return pick_oci_manifest(outer, document, archive_name, depth + 1);
  }
  return document;
}

std::vector<std::string> oci_ref_names(const json::value& index) {
  std::vector<std::string> names;
  const json::object* object = index.if_object();
  const json::value* manifests = object != nullptr ? object->if_contains("manifests") : nullptr;
  if (manifests == nullptr || !manifests->is_array()) return names;
  for (const json::value& m : manifests->as_array()) {
    const json::object* entry = m.if_object();
    const json::value* annotations = entry != nullptr ? entry->if_contains("annotations") : nullptr;
    if (annotations == nullptr || !annotations->is_object()) continue;
    // docker writes the full name as io.containerd.image.name, the OCI spec only the tag.
    for (const char* key : {"io.containerd.image.name", "org.opencontainers.image.ref.name"}) {
      const json::value* name = annotations->as_object().if_contains(key);
      if (name != nullptr && name->is_string()) {
        names.emplace_back(name->as_string());
        break;
      }
    }
  }
  return names;
}

LayeredImage read_oci_layout(const fs::path& outer, const std::string& archive_name) {
  const json::value index = read_json(outer / "index.json", "OCI index");
  const json::value manifest = pick_oci_manifest(outer, index, archive_name, 0);
  const json::object* object = manifest.if_object();
  LayeredImage out;
  out.tags = oci_ref_names(index);
  out.config = default_image_config();
  if (object == nullptr) return out;
  if (const json::value* layers = object->if_contains("layers"); layers != nullptr && layers->is_array())
    for (const json::value& layer : layers->as_array()) {
      out.layers.push_back(blob_path(outer, layer, archive_name));
      out.layer_names.emplace_back(layer.as_object().at("digest").as_string());  // blob_path checked it
    }
  if (const json::value* config = object->if_contains("config"); config != nullptr)
    out.config = parse_image_config(read_json(blob_path(outer, *config, archive_name), "image config"));
  return out;
}

// The image root as every sandbox sees it: 0755, owned by root inside the sandbox.
void settle_root(const fs::path& rootfs, const OwnershipShift& shift) {
  if (::chmod(rootfs.c_str(), 0755) != 0)
    throw Error(Errc::io, "cannot set the mode of '" + rootfs.string() + "': " + std::strerror(errno));
  if (::geteuid() == 0 && ::lchown(rootfs.c_str(), shift_id(0, shift), shift_id(0, shift)) != 0)
    throw Error(Errc::io, "cannot set the owner of '" + rootfs.string() + "': " + std::strerror(errno));
}

bool is_regular(const fs::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::uint64_t size_on_disk(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

}  // namespace

void build_rootfs(const std::vector<fs::path>& layers, const std::vector<std::string>& layer_names, const fs::path& rootfs,
                  const ImportOptions& options, const std::string& label) {
  if (layer_names.size() != layers.size())
    throw Error(Errc::invalid_argument, "image '" + label + "': " + std::to_string(layers.size()) + " layers but " +
                                            std::to_string(layer_names.size()) + " layer names");
  fs::create_directory(rootfs);
  settle_root(rootfs, options.shift);
  std::uint64_t total = 0;
  for (const fs::path& layer : layers) total += size_on_disk(layer);
  ProgressBar bar(options.progress, total, "applying layers");
  std::uint64_t done_before = 0;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    try {
      ArchiveReader reader(layers[i]);
      apply_layer(reader, rootfs, /*whiteouts=*/true, options,
                  [&] { bar.update(done_before + reader.bytes_consumed()); });
    } catch (const Error& e) {
      // The layer as the image names it (a pulled blob's digest): its file in the blob store
      // or the unpacked archive says little to whoever reads the message.
      throw Error(e.code(), "image '" + label + "' layer " + layer_names[i] + ": " + e.what());
    }
    done_before += size_on_disk(layers[i]);
    if (options.log)
      options.log->debug("image '{}': applied layer {}/{} ({})", label, i + 1, layers.size(),
                         layers[i].filename().string());
  }
  bar.update(total, true);
}

ImageConfig image_config_from_json(std::string_view document, const std::string& what) {
  boost::system::error_code ec;
  const json::value value = json::parse(document, ec);
  if (ec) throw Error(Errc::invalid_argument, what + " is not valid JSON: " + ec.message());
  return parse_image_config(value);
}

ImportedImage import_image(const fs::path& archive_path, const fs::path& staging,
                         const ImportOptions& options) {
  const std::string archive_name = archive_path.string();
  fs::create_directories(staging);
  const fs::path outer = staging / "outer";
  fs::create_directory(outer);

  // Pass 1: unpack the archive as it is. A plain rootfs tar is then already the image; a
  // docker/OCI archive is a directory of layer tars and JSON.
  {
    ArchiveReader reader(archive_path);
    ProgressBar bar(options.progress, size_on_disk(archive_path), "unpacking");
    apply_layer(reader, outer, /*whiteouts=*/false, options,
                [&] { bar.update(reader.bytes_consumed()); });
    bar.update(size_on_disk(archive_path), true);
  }

  const fs::path rootfs = staging / "rootfs";
  LayeredImage image;
  if (is_regular(outer / "manifest.json")) {
    image = read_docker_save(outer, archive_name);
  } else if (is_regular(outer / "index.json") && is_regular(outer / "oci-layout")) {
    image = read_oci_layout(outer, archive_name);
  } else {
    fs::rename(outer, rootfs);
    settle_root(rootfs, options.shift);
    return {default_image_config(), {}};
  }

  // Pass 2: layers in order into one rootfs.
  build_rootfs(image.layers, image.layer_names, rootfs, options, archive_name);
  remove_tree(outer);
  return {image.config, image.tags};
}

}  // namespace hutch::subcontainer
