// The plugin's entry point: reads the backend's config table and makes the backend.
// HUTCH_PLUGIN exports the two symbols the loader looks for (the API version and the factory).
#include "template_backend.hpp"

#include <hutch/plugin.hpp>

#include <memory>

namespace hutch_template {

std::shared_ptr<hutch::SandboxBackend> make_backend(const hutch::PluginContext& context) {
  TemplateOptions options;
  if (auto max = context.config.get_int("max_sandboxes", 1, 100000)) options.max_sandboxes = *max;
  // A misspelt key is an Errc::config error naming file:line:col, not silently ignored.
  context.config.reject_unknown_keys();
  return std::make_shared<TemplateBackend>(context.name.empty() ? "template" : context.name, options);
}

}  // namespace hutch_template

HUTCH_PLUGIN(hutch_template::make_backend)
