// Broken on purpose: the factory returns no backend.
#include <sbx/plugin.hpp>

namespace {
std::shared_ptr<sbx::SandboxBackend> make_backend(const sbx::PluginContext&) { return nullptr; }
}  // namespace

SBX_PLUGIN(make_backend)
