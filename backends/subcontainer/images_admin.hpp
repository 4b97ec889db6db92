// `hutch images`, `hutch image inspect|rm|prune|import` on the subcontainer backend: the
// image store (image_store.hpp) seen through the SDK's ImageInfo, with the sandboxes made from
// each image, and the blob store (blob_store.hpp) pruned with the images.
#pragma once

#include "runtime.hpp"

#include <hutch/types.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hutch::subcontainer {

// Stored image id -> ids of the sandboxes whose root is made from it.
using ImageUsers = std::map<std::string, std::vector<std::string>>;

// Every stored image (snapshots included), sorted by first name, unnamed ones by id.
std::vector<hutch::ImageInfo> list_images(Runtime& runtime, const ImageUsers& users);

// One image by a name, an id, or a registry name as `hutch pull` stores it ("busybox:1" finds
// "docker.io/library/busybox:1"). Errc::not_found when the store has none.
hutch::ImageInfo inspect_image(Runtime& runtime, const std::string& image, const ImageUsers& users);

// Removes an image or one of its names; Errc::state naming the sandboxes made from it.
// `users_now` is asked again by the store after it hid the image (see ImageStore::remove).
void remove_image(Runtime& runtime, const std::string& image, const ImageUsers& users,
                  const std::function<std::string(const std::string&)>& users_now);

// Removes pulled and imported images no sandbox uses and no snapshot stands on, the layers of
// deleted images that became unused, and the blobs no stored image references. Returns the
// image ids removed.
std::vector<std::string> prune_images(Runtime& runtime, const ImageUsers& users,
                                      const std::function<std::string(const std::string&)>& users_now);

// Imports an archive or a rootfs directory under `name`; returns its id.
std::string import_image(Runtime& runtime, const std::string& path, const std::string& name);

}  // namespace hutch::subcontainer
