// What the configuration's [defaults] decide about a new sandbox beyond merge_defaults, for
// every backend alike: the image (image_map, also detected from the command) and the host
// variables passed through (env_passthrough / env_block).
#pragma once

#include <hutch/config.hpp>
#include <hutch/export.hpp>
#include <hutch/types.hpp>

#include <string>
#include <vector>

namespace hutch {

// spec.image through config.image_map (an empty image: detected from `command`, the program
// the sandbox is made for, when the map knows it; else the map's default; else left empty for
// the backend's own default), and the host environment filtered by config.env_policy added
// under spec.env (the spec's own entries win).
HUTCH_API SandboxSpec apply_config_policy(SandboxSpec spec, const Config& config,
                                          const std::vector<std::string>& command = {});

}  // namespace hutch
