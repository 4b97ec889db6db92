// `hutch images`, `hutch image inspect|rm|prune|import` on the docker backend, through the
// Engine API: GET /images/json, GET /images/{name}/json, DELETE /images/{name}, POST
// /images/load (docker save and OCI archives) and POST /images/create?fromSrc=- (rootfs
// tarballs and directories). What hutch made is found again by label (imports) or in the
// record of pulled and loaded images (managed_images.hpp).
#pragma once

#include "context.hpp"

#include <hutch/types.hpp>

#include <string>
#include <vector>

namespace hutch::docker {

std::vector<ImageInfo> list_engine_images(Context& context);

// Errc::not_found when the engine has no such image.
ImageInfo inspect_engine_image(Context& context, const std::string& image);

// Errc::state naming the sandboxes (or other containers) made from it.
void remove_engine_image(Context& context, const std::string& image);

// Managed images no container uses; returns their ids.
std::vector<std::string> prune_engine_images(Context& context);

// Returns the new image's id.
std::string import_engine_image(Context& context, const std::string& path, const std::string& name);

}  // namespace hutch::docker
