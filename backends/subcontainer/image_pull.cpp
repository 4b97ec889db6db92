// Pulling images; see image_pull.hpp.
#include "image_pull.hpp"

#include "content_digest.hpp"
#include "image_import.hpp"

#include <hutch/error.hpp>

#include <spdlog/spdlog.h>

#include <cstdio>

namespace hutch::subcontainer {

namespace {

// What a layer may be: a tar, plain or compressed with gzip or zstd (ArchiveReader detects
// which from the bytes). Anything else (a Helm chart, an encrypted layer, a signature) is not
// a filesystem layer.
bool is_layer_type(const std::string& media_type) {
  return media_type.empty() || media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
         media_type == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" ||
         media_type == "application/vnd.oci.image.layer.v1.tar" ||
         media_type == "application/vnd.oci.image.layer.v1.tar+gzip" ||
         media_type == "application/vnd.oci.image.layer.v1.tar+zstd" ||
         media_type == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
}

std::string mib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / 1048576.0);
  return text;
}

std::string short_digest(const std::string& digest) { return digest.substr(0, digest.find(':') + 13); }

}  // namespace

ImagePuller::ImagePuller(ImageStore& store, ImageSettings settings, std::shared_ptr<spdlog::logger> log)
    : store_(store), settings_(std::move(settings)), log_(std::move(log)), blobs_(store.blob_root()) {}

std::string ImagePuller::ensure(const std::string& ref, const PullListener& progress) {
  if (ref.empty() || ref == "host" || ref.front() == '/') return ref;
  ImageReference image;
  try {
    image = parse_image_reference(ref);
  } catch (const Error&) {
    return ref;  // no registry name: resolve says what it is not
  }
  const std::string canonical = image.canonical();
  // Snapshots, imported archives' names and ids are stored as given and never pulled; a name
  // written out in full is what a pull stored, and pull = always asks the registry again.
  if (store_.find_id(ref) && (ref != canonical || settings_.pull != PullPolicy::always)) return ref;
  if (settings_.pull != PullPolicy::always && store_.find_id(canonical)) return canonical;
  if (settings_.pull == PullPolicy::never)
    throw Error(Errc::not_found, "image '" + ref + "' (" + canonical + ") is not in the image store '" +
                                     store_.root().string() + "' and [images] pull is \"never\"; pull it with "
                                     "`hutch pull " + ref + "` or set pull = \"missing\"");
  pull(image, progress);
  return canonical;
}

std::string ImagePuller::pull(const ImageReference& image, const PullListener& progress) {
  const std::string name = image.canonical();
  // A step: told to the listener and logged (byte counts only to the listener).
  const auto say = [&](const std::string& line, const std::string& layer = {}) {
    if (progress) progress(PullProgress{layer, line, 0, 0});
    if (log_) log_->info("pull {}: {}{}", name, layer.empty() ? "" : layer + ": ", line);
  };
  // A client per pull: pulls of several sandboxes' images run side by side.
  const std::shared_ptr<RegistryClient> client = open_registry_client(settings_, log_);
  const ImageManifest manifest = client->manifest(image);
  say("manifest " + manifest.digest + ", " + std::to_string(manifest.layers.size()) + " layers");
  if (!is_well_formed_digest(manifest.config.digest))
    throw Error(Errc::invalid_argument, "image " + name + ": config digest '" + manifest.config.digest + "' is malformed");
  // Docker's image id: the config's digest. Two tags of one image share it and its layer.
  const std::string id = manifest.config.digest.starts_with("sha256:") ? manifest.config.digest.substr(7) : std::string();
  if (id.empty())
    throw Error(Errc::unsupported, "image " + name + ": its config digest is not sha256, which image ids need");
  if (store_.find_id(id)) {
    store_.add_layered_image(id, {}, {}, {}, name, name + "@" + manifest.digest);
    say("up to date (" + id.substr(0, 12) + ")");
    return id;
  }
  const ImageConfig config =
      image_config_from_json(client->small_blob(image, manifest.config), "image " + name + " config " + manifest.config.digest);
  const FileLock no_blob_removal = blobs_.pull_lock();
  std::vector<std::filesystem::path> layers;
  std::vector<std::string> digests;
  for (const BlobDescriptor& layer : manifest.layers) {
    if (!is_layer_type(layer.media_type))
      throw Error(Errc::unsupported, "image " + name + ": layer " + layer.digest + " has media type '" +
                                         layer.media_type + "', which is no filesystem layer hutch can apply");
    const std::string label = short_digest(layer.digest);
    const bool fetched = blobs_.ensure(layer.digest, [&](const std::filesystem::path& temporary) {
      if (log_) log_->info("pull {}: {}: downloading {}", name, label, mib(layer.size));
      if (progress) progress(PullProgress{label, "downloading", 0, layer.size});
      BlobProgress bytes;
      if (progress)
        bytes = [&](std::uint64_t received) { progress(PullProgress{label, "downloading", received, layer.size}); };
      client->fetch_blob(image, layer, temporary, bytes);
    });
    if (fetched && progress) progress(PullProgress{label, "downloaded and verified", layer.size, layer.size});
    if (log_ && fetched) log_->info("pull {}: {}: downloaded and verified", name, label);
    if (!fetched) say("already stored", label);
    layers.push_back(blobs_.path_of(layer.digest));
    digests.push_back(layer.digest);
  }
  say("applying " + std::to_string(layers.size()) + " layers");
  store_.add_layered_image(id, layers, digests, config, name, name + "@" + manifest.digest);
  say("stored as " + id.substr(0, 12));
  return id;
}

}  // namespace hutch::subcontainer
