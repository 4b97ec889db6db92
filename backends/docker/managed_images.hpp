// Which engine images hutch pulled or loaded, so `hutch image prune` can find them again:
// the Engine keeps no record of who pulled an image, and a pull or `docker load` cannot label
// it (imports of rootfs tarballs are labelled hutch.imported as well). Names, not ids: prune
// removes the names hutch gave, so an image that also has names of its own (`docker tag`, a
// pull by the docker CLI) keeps them and stays. Kept as one name per line in
// <state_dir>/docker/images; appends are single small O_APPEND writes, so several hutch
// processes can add at once.
#pragma once

#include "context.hpp"

#include <set>
#include <string>

namespace hutch::docker {

// Records image name `reference` as hutch's, as the engine lists it ("busybox" is recorded
// as "busybox:latest"). Errc::io naming the file when it cannot.
void record_managed_image(const Context& context, const std::string& reference);

// The recorded names.
std::set<std::string> managed_image_names(const Context& context);

// Forgets the recorded names not in `still_present` (called by prune after removing images).
void forget_managed_images_except(const Context& context, const std::set<std::string>& still_present);

}  // namespace hutch::docker
