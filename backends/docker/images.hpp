// Images: inspect, pull according to the pull policy, and import a rootfs tarball (so a
// sandbox can start with no registry at all: image "tar:/path/rootfs.tar").
#pragma once

#include "context.hpp"

#include <string>

namespace hutch::docker {

// "repo/name:tag" -> {"repo/name", "tag"}; a digest reference keeps its "@sha256:..." in the
// name and an empty tag; no tag means "latest".
std::pair<std::string, std::string> split_image_reference(const std::string& reference);

bool image_exists(Context& context, const std::string& reference);

// Pulls `reference` (registry auth from config; progress on stderr only when it is a TTY).
// Errc::not_found when the registry has no such image or refuses access.
void pull_image(Context& context, const std::string& reference);

// Makes sure `reference` is usable per the pull policy; returns the reference to create from.
// "tar:<path>" imports the tarball once (as hutch-import:<hash of path, size, mtime>).
std::string ensure_image(Context& context, const std::string& reference);

// The user an image's config runs as ("" when it names none).
std::string image_user(Context& context, const std::string& reference);
// The image's WorkingDir, empty when it sets none.
std::string image_working_dir(Context& context, const std::string& reference);

// POST /images/create?fromSrc=- with the tarball at `tar_path` streamed as the body.
void import_rootfs(Context& context, const std::string& tar_path, const std::string& reference);

}  // namespace hutch::docker
