// Images: inspect, pull according to the pull policy, and import a rootfs tarball (so a
// sandbox can start with no registry at all: image "tar:/path/rootfs.tar").
#pragma once

#include "context.hpp"

#include <hutch/fs.hpp>
#include <hutch/types.hpp>

#include <boost/json/array.hpp>

#include <functional>

#include <string>
#include <vector>

namespace hutch::docker {

// "repo/name:tag" -> {"repo/name", "tag"}; a digest reference keeps its "@sha256:..." in the
// name and an empty tag; no tag means "latest".
std::pair<std::string, std::string> split_image_reference(const std::string& reference);

bool image_exists(Context& context, const std::string& reference);

// Pulls `reference` (registry auth from config), records it as hutch's (managed_images.hpp)
// and returns its id. The engine's progress goes to `progress` when given, else is redrawn
// on stderr when that is a TTY. Errc::not_found when the registry has no such image
// or refuses access.
std::string pull_image(Context& context, const std::string& reference,
                       const std::function<void(const PullProgress&)>& progress = {});

// Makes sure `reference` is usable per the pull policy; returns the reference to create from.
// "tar:<path>" imports the tarball once (as hutch-import:<hash of path, size, mtime>).
std::string ensure_image(Context& context, const std::string& reference);

// What an image's config asks of its commands: Entrypoint, Cmd, Env, WorkingDir, User
// (fields it leaves out stay empty).
ImageDefaults image_defaults(Context& context, const std::string& reference);

// The images (GET /images/json entries) carrying every label of `label_filters`
// ("key=value"). Only the first goes to the engine as a filter; the rest are checked here
// (carries_labels, labels.hpp).
boost::json::array images_with_labels(Context& context, const std::vector<std::string>& label_filters,
                                      const std::string& what);

// POST /images/create?fromSrc=- with the tarball at `tar_path` streamed as the body; the
// image is labelled hutch.imported (labels.hpp).
void import_rootfs(Context& context, const std::string& tar_path, const std::string& reference);

// The same with the tar written by `produce` into the sink it is given; `what` names the
// import in errors.
void import_rootfs_stream(Context& context, const std::string& reference, const std::string& what,
                          const std::function<void(const ChunkSink&)>& produce);

}  // namespace hutch::docker
