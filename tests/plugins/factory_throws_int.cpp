// Broken on purpose: the factory throws something that is not even a std::exception.
#include <sbx/plugin.hpp>

namespace {
std::shared_ptr<sbx::SandboxBackend> make_backend(const sbx::PluginContext&) { throw 42; }
}  // namespace

SBX_PLUGIN(make_backend)
