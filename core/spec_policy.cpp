// [defaults] image_map, env_passthrough and env_block, applied to a spec (<hutch/spec_policy.hpp>).
#include <hutch/env_filter.hpp>
#include <hutch/spec_policy.hpp>

namespace hutch {

SandboxSpec apply_config_policy(SandboxSpec spec, const Config& config, const std::vector<std::string>& command) {
  if (auto image = config.image_map.select(spec.image, command)) spec.image = *image;
  if (!config.env_policy.empty()) {
    Env passed = filter_host_env(config.env_policy, current_environment());
    spec.env.insert(passed.begin(), passed.end());  // keeps the spec's own entries
  }
  return spec;
}

}  // namespace hutch
