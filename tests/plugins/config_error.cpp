// Refuses its configuration the way a real backend does: an Errc::config naming the key.
#include <sbx/error.hpp>
#include <sbx/plugin.hpp>

namespace {
std::shared_ptr<sbx::SandboxBackend> make_backend(const sbx::PluginContext& context) {
  throw sbx::Error(sbx::Errc::config,
                   "backends." + context.name + ".socket: expected a path, got nothing");
}
}  // namespace

SBX_PLUGIN(make_backend)
