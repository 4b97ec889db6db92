// `hutch volume ls|rm` on the docker backend: the persistent workspace volumes hutch made
// (labelled hutch.managed and hutch.workspace=persistent), and the sandboxes that mount them.
#pragma once

#include "context.hpp"

#include <hutch/types.hpp>

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace hutch::docker {

// The volumes (GET /volumes entries) carrying every label of `label_filters` ("key=value").
// Only the first goes to the engine as a filter; the rest are checked here (carries_labels,
// labels.hpp): Podman 4.3 lists the volumes that carry ANY of several label filters.
boost::json::array volumes_with_labels(Context& context, const std::vector<std::string>& label_filters,
                                       const std::string& what);

// Sorted by name.
std::vector<VolumeInfo> list_persistent_volumes(Context& context);

// Errc::not_found when there is no such volume or hutch did not make it as a persistent
// workspace; Errc::state naming the sandboxes (containers) that use it.
void delete_persistent_volume(Context& context, const std::string& name);

}  // namespace hutch::docker
