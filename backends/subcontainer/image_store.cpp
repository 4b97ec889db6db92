// The image store; layout and refs are described in image_store.hpp.
#include "image_store.hpp"

#include "egress_names.hpp"
#include "atomic_file.hpp"
#include "content_digest.hpp"
#include "file_lock.hpp"
#include "image_import.hpp"
#include "layer_copy.hpp"
#include "unique_fd.hpp"

#include <hutch/error.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace fs = std::filesystem;
namespace json = boost::json;

namespace hutch::subcontainer {

namespace {

constexpr const char* kHostRef = "host";
constexpr int kHostSkeletonVersion = 1;
constexpr int kMaxParentDepth = 128;
// In an image's directory: the image was deleted while a sandbox still used it as a lower
// layer. It is no longer listed nor resolvable by name or id; collect_deleted removes it once
// no sandbox uses it.
constexpr const char* kDeletedMarker = "deleted";

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> data(bytes);
  std::size_t filled = 0;
  while (filled < bytes) {
    const ssize_t got = ::getrandom(data.data() + filled, bytes - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_system_error("getrandom", errno);
    }
    filled += static_cast<std::size_t>(got);
  }
  return to_hex(data.data(), data.size());
}

bool is_image_id(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Names: what `docker save` tags look like ("busybox:1.36", "library/x"), never a path.
void validate_image_name(const std::string& name) {
  const bool length_ok = !name.empty() && name.size() <= 255;
  bool chars_ok = true;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == ':' || c == '/' || c == '@'))
      chars_ok = false;
  if (!length_ok || !chars_ok || name.front() == '/' || name == kHostRef ||
      name.find("..") != std::string::npos)
    throw Error(Errc::invalid_argument,
                "image name '" + name + "' is not valid: use 1-255 characters of [A-Za-z0-9_.:/@-], "
                "not starting with '/', without '..', and not 'host'");
}

json::value read_json_file(const fs::path& file) {
  const std::optional<std::string> text = read_small_file(file);
  if (!text) return json::object{};
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec);
  if (ec) throw Error(Errc::io, "image store file '" + file.string() + "' is corrupt: " + ec.message());
  return value;
}

void write_json_atomic(const fs::path& file, const json::value& value) {
  write_file_atomic(file, json::serialize(value) + "\n");
}

json::value config_to_json(const ImageConfig& config) {
  json::object out;
  json::array env;
  for (const auto& item : config.env) env.emplace_back(item);
  out["env"] = std::move(env);
  out["user"] = config.user;
  out["workdir"] = config.workdir;
  for (const auto* key : {"entrypoint", "cmd"}) {
    json::array items;
    for (const auto& item : key == std::string_view("cmd") ? config.cmd : config.entrypoint) items.emplace_back(item);
    out[key] = std::move(items);
  }
  return out;
}

std::vector<std::string> strings_of(const json::object& object, std::string_view key) {
  std::vector<std::string> out;
  if (const json::value* value = object.if_contains(key); value != nullptr && value->is_array())
    for (const auto& item : value->as_array())
      if (item.is_string()) out.emplace_back(item.as_string());
  return out;
}

std::string string_of(const json::object& object, std::string_view key) {
  if (const json::value* value = object.if_contains(key); value != nullptr && value->is_string())
    return std::string(value->as_string());
  return {};
}

std::uint64_t uint_of(const json::object& object, std::string_view key) {
  if (const json::value* value = object.if_contains(key); value != nullptr) {
    if (value->is_uint64()) return value->as_uint64();
    if (value->is_int64() && value->as_int64() >= 0) return static_cast<std::uint64_t>(value->as_int64());
  }
  return 0;
}

ImageConfig config_from_json(const json::value& value) {
  ImageConfig config = default_image_config();
  const json::object* object = value.if_object();
  if (object == nullptr) return config;
  config.env = strings_of(*object, "env");
  config.user = string_of(*object, "user");
  config.workdir = string_of(*object, "workdir");
  config.entrypoint = strings_of(*object, "entrypoint");
  config.cmd = strings_of(*object, "cmd");
  return config;
}

std::uint64_t now_unix() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// The config.json of a stored layer: its image config, where it came from, when, and the
// id shift its files were stored with.
json::object layer_meta(const ImageConfig& config, const std::string& source, const OwnershipShift& shift) {
  json::object meta;
  meta["config"] = config_to_json(config);
  meta["source"] = source;
  meta["created"] = now_unix();
  meta["uid_base"] = shift.uid_base;
  meta["uid_count"] = shift.uid_count;
  return meta;
}

void remove_quietly(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

// Removes a half-built directory unless committed.
class StagingDir {
 public:
  explicit StagingDir(fs::path path) : path_(std::move(path)) {}
  ~StagingDir() {
    if (!committed_) remove_quietly(path_);
  }
  const fs::path& path() const { return path_; }
  void commit_to(const fs::path& final_path) {
    if (::rename(path_.c_str(), final_path.c_str()) != 0)
      throw Error(Errc::io, "cannot move '" + path_.string() + "' to '" + final_path.string() +
                                "': " + std::strerror(errno));
    committed_ = true;
  }

 private:
  fs::path path_;
  bool committed_ = false;
};


// --- the host image ----------------------------------------------------------------------

// The host trees a "host" sandbox sees read-only. Where the host has a symlink (merged /usr:
// /bin -> usr/bin) the skeleton gets the same symlink, else an empty dir to bind onto.
constexpr std::array<const char*, 7> kHostTrees = {"usr", "bin", "lib", "lib32", "lib64", "libx32", "sbin"};

void write_small_file(const fs::path& file, std::string_view content, mode_t mode) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd || ::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size()))
    throw Error(Errc::io, "cannot write '" + file.string() + "': " + std::strerror(errno));
  ::fchmod(fd.get(), mode);
}

void make_dir(const fs::path& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
    throw Error(Errc::io, "cannot create '" + dir.string() + "': " + std::strerror(errno));
  ::chmod(dir.c_str(), mode);
}

void build_host_skeleton(const fs::path& rootfs, const OwnershipShift& shift) {
  make_dir(rootfs, 0755);
  for (const char* tree : kHostTrees) {
    const fs::path host = fs::path("/") / tree;
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0) continue;
    if (S_ISLNK(st.st_mode)) {
      fs::create_symlink(fs::read_symlink(host), rootfs / tree);
    } else if (S_ISDIR(st.st_mode)) {
      make_dir(rootfs / tree, 0755);
    }
  }
  for (const char* dir : {"proc", "dev", "sys", "home", "run", "var", "etc", "mnt", "opt", "srv"})
    make_dir(rootfs / dir, 0755);
  make_dir(rootfs / "root", 0700);
  make_dir(rootfs / "tmp", 01777);
  make_dir(rootfs / "var" / "tmp", 01777);
  const fs::path etc = rootfs / "etc";
  write_small_file(etc / "passwd",
                   "root:x:0:0:root:/root:/bin/sh\n"
                   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n", 0644);
  write_small_file(etc / "group", "root:x:0:\nnogroup:x:65534:\n", 0644);
  write_small_file(etc / "hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0644);
  write_small_file(etc / "hostname", "sandbox\n", 0644);
  write_small_file(etc / "resolv.conf", "", 0644);
  write_small_file(etc / "nsswitch.conf",
                   "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
                   "networks: files\nprotocols: files\nservices: files\n", 0644);
  // The dynamic loader finds multiarch libraries faster with the host's cache; without it
  // the built-in paths still work, so a missing cache is not an error.
  std::error_code ec;
  fs::copy_file("/etc/ld.so.cache", etc / "ld.so.cache", ec);
  // Debian's /usr/bin/awk, editor, ... are links through /etc/alternatives: a bind point.
  if (fs::is_directory("/etc/alternatives", ec)) make_dir(etc / "alternatives", 0755);

  if (::geteuid() == 0 && shift.uid_count > 0) {
    // Root inside the sandbox owns its skeleton, as it would own an image's files.
    ::lchown(rootfs.c_str(), shift.uid_base, shift.uid_base);
    for (const auto& entry : fs::recursive_directory_iterator(rootfs))
      if (::lchown(entry.path().c_str(), shift.uid_base, shift.uid_base) != 0)
        throw Error(Errc::io, "cannot chown '" + entry.path().string() + "': " + std::strerror(errno));
  }
}

std::vector<HostBind> host_binds() {
  std::vector<HostBind> binds;
  for (const char* tree : kHostTrees) {
    const fs::path host = fs::path("/") / tree;
    struct stat st {};
    if (::lstat(host.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      binds.push_back({host, "/" + std::string(tree)});
  }
  std::error_code ec;
  if (fs::is_directory("/etc/alternatives", ec) && !fs::is_symlink("/etc/alternatives", ec))
    binds.push_back({"/etc/alternatives", "/etc/alternatives"});
  return binds;
}

}  // namespace

// An exclusive flock on <root>/.lock for everything that changes the store.
struct ImageStore::Lock {
  explicit Lock(const fs::path& root) : lock(root / ".lock") {}
  FileLock lock;
};

ImageStore::ImageStore(fs::path root, std::shared_ptr<spdlog::logger> log, OwnershipShift shift)
    : root_(std::move(root)), log_(std::move(log)), shift_(shift) {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) throw Error(Errc::io, "cannot create image store '" + root_.string() + "': " + ec.message() +
                                    " (set [backends.subcontainer] image_store to a writable directory)");
  root_ = fs::canonical(root_);
  // Also for a store made by an older hutch, which left it open (0755).
  if (::chmod(root_.c_str(), 0700) != 0)
    throw Error(Errc::io, "cannot chmod the image store '" + root_.string() + "' to 0700: " + std::strerror(errno));
  remove_stale_staging();
}

void ImageStore::remove_stale_staging() {
  // Every staging dir is made under the lock; holding it means none is in use. When another
  // process holds it, leave the leftovers for a later run instead of waiting.
  const std::optional<FileLock> lock = FileLock::try_lock(root_ / ".lock");
  if (!lock) return;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".tmp-") || name.starts_with(".trash-") || name.find(".json.tmp-") != std::string::npos) {
      if (log_) log_->info("image store '{}': removing leftover '{}'", root_.string(), name);
      remove_quietly(entry.path());
    }
  }
}

std::optional<std::string> ImageStore::find_id(const std::string& name_or_id) {
  if (is_image_id(name_or_id) && fs::is_directory(root_ / name_or_id) && !is_deleted(name_or_id)) return name_or_id;
  const json::value names = read_json_file(root_ / "names.json");
  if (const json::object* object = names.if_object())
    if (const json::value* id = object->if_contains(name_or_id); id != nullptr && id->is_string())
      return std::string(id->as_string());
  return std::nullopt;
}

ResolvedImage ImageStore::resolve(const std::string& ref) {
  if (ref.empty() || ref == kHostRef) return resolve_host();
  if (ref.front() == '/') {
    struct stat st {};
    if (::stat(ref.c_str(), &st) != 0)
      throw Error(Errc::not_found, "image '" + ref + "' does not exist: give a rootfs directory, an "
                                   "image archive, 'host', or the name of an imported image");
    if (S_ISDIR(st.st_mode)) {
      ResolvedImage image;
      image.ref = fs::canonical(ref).string();
      image.lower_dirs = {image.ref};
      image.config = default_image_config();
      return image;
    }
    if (!S_ISREG(st.st_mode))
      throw Error(Errc::invalid_argument, "image '" + ref + "' is neither a directory nor an archive file");
    const std::string id = import_archive(ref, "", /*progress=*/true);
    return resolve_stored(id, ref);
  }
  if (auto id = find_id(ref)) return resolve_stored(*id, ref);
  if (ref.find('/') != std::string::npos && fs::exists(ref))
    throw Error(Errc::invalid_argument, "image '" + ref + "' is a relative path; give it as an absolute path");
  throw Error(Errc::not_found, "image '" + ref + "' is not in the image store '" + root_.string() +
                                   "' (no imported image or snapshot has that name or id); give 'host', an "
                                   "absolute path to a rootfs directory or an image archive (imported on first "
                                   "use), or a snapshot id");
}

ResolvedImage ImageStore::resolve_stored(const std::string& id, const std::string& ref) {
  ResolvedImage image;
  image.ref = id;
  std::string current = id;
  bool first = true;
  for (int depth = 0; depth < kMaxParentDepth; ++depth) {
    const fs::path dir = root_ / current;
    const json::value meta = read_json_file(dir / "config.json");
    const json::object* object = meta.if_object();
    if (!fs::is_directory(dir / "rootfs") || object == nullptr || object->empty())
      throw Error(Errc::not_found, "image '" + ref + "': layer '" + current +
                                       "' is missing from the image store '" + root_.string() + "'");
    const std::uint64_t base = uint_of(*object, "uid_base");
    const std::uint64_t count = uint_of(*object, "uid_count");
    if (base != shift_.uid_base || count != shift_.uid_count)
      throw Error(Errc::state, "image '" + ref + "' was stored for uid_base " + std::to_string(base) +
                                   "/uid_count " + std::to_string(count) + " but the backend now uses " +
                                   std::to_string(shift_.uid_base) + "/" + std::to_string(shift_.uid_count) +
                                   "; remove it (hutch image rm " + ref + ") and import it again");
    if (first) {
      if (const json::value* config = object->if_contains("config")) image.config = config_from_json(*config);
      else image.config = default_image_config();
      first = false;
    }
    image.lower_dirs.push_back(dir / "rootfs");
    const std::string parent = string_of(*object, "parent");
    if (parent.empty()) return image;
    if (parent == kHostRef || parent.front() == '/') {
      ResolvedImage below = resolve(parent);
      for (auto& lower : below.lower_dirs) image.lower_dirs.push_back(std::move(lower));
      image.ro_binds = std::move(below.ro_binds);
      return image;
    }
    current = parent;
  }
  throw Error(Errc::state, "image '" + ref + "' has more than " + std::to_string(kMaxParentDepth) +
                               " layers; the store may be corrupt");
}

ResolvedImage ImageStore::resolve_host() {
  const fs::path dir = root_ / kHostRef;
  const auto current = [&] {
    const json::value meta = read_json_file(dir / "config.json");
    const json::object* object = meta.if_object();
    return object != nullptr && uint_of(*object, "version") == kHostSkeletonVersion &&
           uint_of(*object, "uid_base") == shift_.uid_base &&
           uint_of(*object, "uid_count") == shift_.uid_count && fs::is_directory(dir / "rootfs");
  };
  if (!current()) {
    Lock lock(root_);
    if (!current()) {
      StagingDir staging(root_ / (".tmp-host-" + random_hex(6)));
      fs::create_directory(staging.path());
      build_host_skeleton(staging.path() / "rootfs", shift_);
      json::object meta;
      meta["version"] = kHostSkeletonVersion;
      meta["uid_base"] = shift_.uid_base;
      meta["uid_count"] = shift_.uid_count;
      meta["created"] = now_unix();
      write_json_atomic(staging.path() / "config.json", meta);
      if (fs::exists(dir)) {
        const fs::path old = root_ / (".trash-host-" + random_hex(6));
        fs::rename(dir, old);
        remove_quietly(old);
      }
      staging.commit_to(dir);
      if (log_) log_->info("image store '{}': generated the host image skeleton", root_.string());
    }
  }
  ResolvedImage image;
  image.ref = kHostRef;
  image.lower_dirs = {dir / "rootfs"};
  image.ro_binds = host_binds();
  image.config = default_image_config();
  return image;
}

namespace {

struct ArchiveSource {
  std::string key;          // the archive's absolute path
  std::string fingerprint;  // size, mtime and inode: changes whenever the content may have
};

ArchiveSource archive_source(const fs::path& tar) {
  struct stat st {};
  if (::stat(tar.c_str(), &st) != 0)
    throw Error(Errc::not_found, "image archive '" + tar.string() + "' does not exist");
  if (!S_ISREG(st.st_mode))
    throw Error(Errc::invalid_argument, "image archive '" + tar.string() + "' is not a regular file");
  return {fs::absolute(tar).lexically_normal().string(),
          std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
              std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino)};
}

// The id recorded for this archive when its fingerprint still matches, else empty.
std::string known_id(const json::value& sources, const ArchiveSource& source) {
  const json::object* object = sources.if_object();
  if (object == nullptr) return {};
  const json::value* known = object->if_contains(source.key);
  if (known == nullptr || !known->is_object() || string_of(known->as_object(), "fingerprint") != source.fingerprint)
    return {};
  std::string id = string_of(known->as_object(), "id");
  return is_image_id(id) ? id : std::string();
}

}  // namespace

std::string ImageStore::import_archive(const fs::path& tar, const std::string& name, bool progress) {
  if (!name.empty()) validate_image_name(name);
  if (!tar.is_absolute())
    throw Error(Errc::invalid_argument, "image archive '" + tar.string() + "' must be an absolute path");
  // Fast path for `hutch run --image x.tar` on every run: nothing to write, no lock, no hashing.
  if (name.empty()) {
    const std::string id = known_id(read_json_file(root_ / "sources.json"), archive_source(tar));
    if (!id.empty() && fs::is_directory(root_ / id / "rootfs")) return id;
  }
  Lock lock(root_);
  return import_locked(tar, name, progress);
}

std::string ImageStore::import_locked(const fs::path& tar, const std::string& name, bool progress) {
  const ArchiveSource source = archive_source(tar);
  const std::string& key = source.key;
  // The hash of a large archive costs a full read; remember it per (path, size, mtime, inode).
  const fs::path sources_file = root_ / "sources.json";
  json::value sources = read_json_file(sources_file);
  if (!sources.is_object()) sources = json::object{};
  std::string id = known_id(sources, source);
  if (id.empty()) id = sha256_hex_of_file(tar);

  const fs::path dir = root_ / id;
  std::vector<std::string> tags;
  if (!fs::is_directory(dir)) {
    StagingDir staging(root_ / (".tmp-" + id.substr(0, 12) + "-" + random_hex(6)));
    ImportOptions options;
    options.shift = shift_;
    options.progress = progress;
    options.log = log_;
    const ImportedImage imported = import_image(tar, staging.path(), options);
    tags = imported.tags;
    json::object meta = layer_meta(imported.config, key, shift_);
    json::array tag_array;
    for (const auto& tag : imported.tags) tag_array.emplace_back(tag);
    meta["tags"] = std::move(tag_array);
    write_json_atomic(staging.path() / "config.json", meta);
    staging.commit_to(dir);
    if (log_) log_->info("image store '{}': imported '{}' as {}", root_.string(), key, id);
  } else if (log_) {
    log_->debug("image store '{}': '{}' is already imported as {}", root_.string(), key, id);
  }

  json::object entry;
  entry["fingerprint"] = source.fingerprint;
  entry["id"] = id;
  sources.as_object()[key] = std::move(entry);
  write_json_atomic(sources_file, sources);
  // The archive's own tags name the image too, unless the caller chose a name.
  std::vector<std::string> new_names;
  if (!name.empty()) {
    new_names.push_back(name);
  } else {
    for (const std::string& tag : tags) {
      try {
        validate_image_name(tag);
        new_names.push_back(tag);
      } catch (const Error& e) {
        if (log_) log_->warn("image {}: tag not usable as a name: {}", id, e.what());
      }
    }
  }
  add_names(id, new_names);
  return id;
}

void ImageStore::add_names(const std::string& id, const std::vector<std::string>& new_names) {
  if (new_names.empty()) return;
  json::value names = read_json_file(root_ / "names.json");
  if (!names.is_object()) names = json::object{};
  for (const std::string& new_name : new_names) names.as_object()[new_name] = id;
  write_json_atomic(root_ / "names.json", names);
}

bool ImageStore::add_layered_image(const std::string& id, const std::vector<fs::path>& layers,
                                   const std::vector<std::string>& layer_digests, const ImageConfig& config,
                                   const std::string& name, const std::string& source) {
  if (!is_image_id(id)) throw Error(Errc::invalid_argument, "image id '" + id + "' is not 64 hex digits");
  if (!name.empty()) validate_image_name(name);
  Lock lock(root_);
  const fs::path dir = root_ / id;
  // Deleted but kept for a sandbox that still runs on it: the same content, stored again.
  if (fs::is_directory(dir) && is_deleted(id)) fs::remove(dir / kDeletedMarker);
  const bool build = !fs::is_directory(dir);
  if (build) {
    StagingDir staging(root_ / (".tmp-" + id.substr(0, 12) + "-" + random_hex(6)));
    fs::create_directory(staging.path());
    ImportOptions options;
    options.shift = shift_;
    options.log = log_;
    build_rootfs(layers, layer_digests, staging.path() / "rootfs", options, name.empty() ? id : name);
    json::object meta = layer_meta(config, source, shift_);
    json::array digests;
    for (const std::string& digest : layer_digests) digests.emplace_back(digest);
    meta["layers"] = std::move(digests);
    write_json_atomic(staging.path() / "config.json", meta);
    staging.commit_to(dir);
    if (log_) log_->info("image store '{}': stored {} as {}", root_.string(), source, id);
  }
  if (!name.empty()) add_names(id, {name});
  return build;
}

std::string ImageStore::import_directory(const fs::path& dir, const std::string& name) {
  validate_image_name(name);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(Errc::not_found, "image directory '" + dir.string() + "' does not exist or is not a directory");
  const std::string id = random_hex(32);
  Lock lock(root_);
  StagingDir staging(root_ / (".tmp-" + id.substr(0, 12)));
  fs::create_directory(staging.path());
  IdShift to_store;
  if (shift_.uid_count != 0) to_store = {0, 0, shift_.uid_base, shift_.uid_base, shift_.uid_count};
  copy_layer(dir, staging.path() / "rootfs", to_store);
  // The image root is always 0755, as an archive import makes it (image_import.hpp).
  ::chmod((staging.path() / "rootfs").c_str(), 0755);
  write_json_atomic(staging.path() / "config.json",
                    layer_meta(default_image_config(), fs::absolute(dir).lexically_normal().string(), shift_));
  staging.commit_to(root_ / id);
  add_names(id, {name});
  if (log_) log_->info("image store '{}': imported the directory '{}' as {} ({})", root_.string(), dir.string(), id, name);
  return id;
}

std::set<std::string> ImageStore::referenced_blobs() {
  std::set<std::string> out;
  for (const ImageInfo& info : stored_images()) out.insert(info.layers.begin(), info.layers.end());
  return out;
}

std::uint64_t ImageStore::disk_usage(const std::string& id) const {
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root_ / id / "rootfs", fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0) bytes += static_cast<std::uint64_t>(st.st_blocks) * 512;
  }
  return bytes;
}

std::string ImageStore::commit_layer(const fs::path& upper_dir, const std::string& base_ref,
                                     const std::string& label, const std::string& source,
                                     std::uint32_t upper_root_uid, std::uint32_t upper_root_gid) {
  const ResolvedImage base = resolve(base_ref);
  const std::string id = random_hex(32);
  Lock lock(root_);
  StagingDir staging(root_ / (".tmp-" + id.substr(0, 12)));
  fs::create_directory(staging.path());
  IdShift to_store;
  if (shift_.uid_count != 0)
    to_store = {upper_root_uid, upper_root_gid, shift_.uid_base, shift_.uid_base, shift_.uid_count};
  copy_layer(upper_dir, staging.path() / "rootfs", to_store);
  json::object meta = layer_meta(base.config, source, shift_);
  meta["parent"] = base.ref;
  meta["label"] = label;
  write_json_atomic(staging.path() / "config.json", meta);
  staging.commit_to(root_ / id);
  if (!label.empty()) {
    try {
      validate_image_name(label);
      json::value names = read_json_file(root_ / "names.json");
      if (!names.is_object()) names = json::object{};
      names.as_object()[label] = id;
      write_json_atomic(root_ / "names.json", names);
    } catch (const Error& e) {
      if (log_) log_->warn("snapshot {}: label not usable as an image name: {}", id, e.what());
    }
  }
  return id;
}

bool ImageStore::holds(const fs::path& dir) const {
  const fs::path normal = dir.lexically_normal();
  auto [root_end, dir_it] = std::mismatch(root_.begin(), root_.end(), normal.begin(), normal.end());
  return root_end == root_.end() && dir_it != normal.end();
}

bool ImageStore::is_deleted(const std::string& id) const {
  return fs::exists(root_ / id / kDeletedMarker);
}

std::vector<ImageInfo> ImageStore::images() {
  std::vector<ImageInfo> out = stored_images();
  std::erase_if(out, [&](const ImageInfo& info) { return is_deleted(info.id); });
  return out;
}

std::vector<ImageInfo> ImageStore::stored_images() {
  std::vector<ImageInfo> out;
  const json::value names = read_json_file(root_ / "names.json");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const std::string id = entry.path().filename().string();
    if (!is_image_id(id) || !entry.is_directory()) continue;
    const json::value meta = read_json_file(entry.path() / "config.json");
    const json::object* object = meta.if_object();
    if (object == nullptr || object->empty()) continue;
    ImageInfo info;
    info.id = id;
    info.parent = string_of(*object, "parent");
    info.source = string_of(*object, "source");
    info.created_unix = uint_of(*object, "created");
    info.layers = strings_of(*object, "layers");
    if (const json::value* config = object->if_contains("config")) info.config = config_from_json(*config);
    else info.config = default_image_config();
    if (const json::object* n = names.if_object())
      for (const auto& [name, value] : *n)
        if (value.is_string() && value.as_string() == id) info.names.emplace_back(name);
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const ImageInfo& a, const ImageInfo& b) { return a.id < b.id; });
  return out;
}

std::vector<std::string> ImageStore::list() {
  std::vector<std::string> out;
  for (const ImageInfo& info : images()) {
    if (info.names.empty()) out.push_back(info.id);
    for (const std::string& name : info.names) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void ImageStore::remove(const std::string& ref, const InUse& in_use) {
  Lock lock(root_);
  const auto id = find_id(ref);
  if (!id) throw Error(Errc::not_found, "image '" + ref + "' is not in the image store '" + root_.string() + "'");
  const bool by_id = ref == *id;
  json::value names = read_json_file(root_ / "names.json");
  if (!names.is_object()) names = json::object{};
  bool still_named = false;
  for (auto it = names.as_object().begin(); it != names.as_object().end();) {
    const bool points_here = it->value().is_string() && it->value().as_string() == *id;
    if (points_here && (by_id || it->key() == ref)) {
      it = names.as_object().erase(it);
    } else {
      still_named = still_named || points_here;
      ++it;
    }
  }
  bool has_children = false;
  for (const ImageInfo& info : stored_images())  // a deleted child still stands on this layer
    if (info.parent == *id) has_children = true;
  if (by_id && has_children)
    throw Error(Errc::state, "image " + *id + " is the base of other stored images (snapshots); remove those first");
  write_json_atomic(root_ / "names.json", names);
  if (still_named || has_children) return;
  // Hidden first, users asked second: a create that resolved the image and then pinned it
  // (lifecycle.cpp) is either seen here or sees the mark.
  write_file_atomic(root_ / *id / kDeletedMarker, "\n");
  if (in_use) {
    // A sandbox's overlay has the layer as a lower layer, and changing a lower layer under a
    // mounted overlay is undefined (overlayfs docs): hide the image now, remove it later.
    if (std::string user = in_use(*id); !user.empty()) {
      if (log_) log_->info("image {}: deleted, its layer stays until {} is gone", *id, user);
      return;
    }
  }
  remove_layer(*id);
}

bool ImageStore::still_stored(const std::string& ref) const {
  if (!is_image_id(ref)) return true;  // the host image or a directory: not the store's to delete
  return fs::is_directory(root_ / ref) && !is_deleted(ref);
}

void ImageStore::remove_layer(const std::string& id) {
  // Rename first so a concurrent resolve never sees half a tree.
  const fs::path trash = root_ / (".trash-" + id);
  if (::rename((root_ / id).c_str(), trash.c_str()) != 0)
    throw Error(Errc::io, "cannot remove image " + id + ": " + std::strerror(errno));
  std::error_code ec;
  fs::remove_all(trash, ec);
  if (ec) throw Error(Errc::io, "cannot delete '" + trash.string() + "': " + ec.message());
}

std::vector<std::string> ImageStore::collect_deleted(const InUse& in_use) {
  Lock lock(root_);
  std::vector<std::string> removed;
  const std::vector<ImageInfo> all = stored_images();
  for (const ImageInfo& info : all) {
    if (!is_deleted(info.id)) continue;
    const bool has_children =
        std::any_of(all.begin(), all.end(), [&](const ImageInfo& other) { return other.parent == info.id; });
    if (has_children || !in_use(info.id).empty()) continue;
    remove_layer(info.id);
    removed.push_back(info.id);
  }
  return removed;
}

}  // namespace hutch::subcontainer
