// `hutch volume ls|rm` on the docker backend: the persistent workspace volumes hutch made
// (labelled hutch.managed and hutch.workspace=persistent), and the sandboxes that mount them.
#pragma once

#include "context.hpp"

#include <hutch/types.hpp>

#include <string>
#include <vector>

namespace hutch::docker {

// Sorted by name.
std::vector<VolumeInfo> list_persistent_volumes(Context& context);

// Errc::not_found when there is no such volume or hutch did not make it as a persistent
// workspace; Errc::state naming the sandboxes (containers) that use it.
void delete_persistent_volume(Context& context, const std::string& name);

}  // namespace hutch::docker
