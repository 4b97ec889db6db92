// Images from OCI registries for the subcontainer backend: the pull policy decides when to
// ask the registry; a pull stores each layer blob once by digest (blob_store.hpp), verified
// while it downloads, then builds the image's flattened layer from the blobs into the image
// store (ImageStore::add_layered_image) under the image's canonical name
// ("127.0.0.1:5000/app:1", "docker.io/library/python:3.12-slim").
#pragma once

#include "blob_store.hpp"
#include "image_store.hpp"

#include <hutch/image_settings.hpp>
#include <hutch/registry.hpp>

#include <functional>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace hutch::subcontainer {

// Each step of a pull (SandboxBackend::pull_image), for `hutch pull`.
using PullListener = std::function<void(const PullProgress&)>;

class ImagePuller {
 public:
  ImagePuller(ImageStore& store, ImageSettings settings, std::shared_ptr<spdlog::logger> log);

  // What to hand ImageStore::resolve for an image ref as a user gave it. "host", paths and the
  // names and ids of stored images pass through (with pull = always, registry names are pulled
  // again: the manifest is fetched, unchanged layers are not). A name that is not stored is
  // pulled unless the policy is never (then Errc::not_found says so). A ref that is no
  // registry name passes through for resolve to report.
  std::string ensure(const std::string& ref, const PullListener& progress = {});

  // Pulls `image` whatever is stored and returns the image id (the hex of its config digest).
  std::string pull(const ImageReference& image, const PullListener& progress = {});

 private:
  ImageStore& store_;
  ImageSettings settings_;
  std::shared_ptr<spdlog::logger> log_;
  BlobStore blobs_;
};

}  // namespace hutch::subcontainer
